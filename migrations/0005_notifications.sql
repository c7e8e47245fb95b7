-- Notifications: more channels per tenant, alert contacts per site, hosts who are
-- away with a delegate, host replies served to kiosks, per-tenant message
-- templates, reminders and no-show notices, and a finer delivery ledger.

-- Channel settings of a tenant, one row per channel ('slack_bot', 'teams',
-- 'chatwork', 'webhook'): AES-256-GCM sealed JSON (tokens, URLs, secrets).
CREATE TABLE tenant_channels (
    tenant_id  INTEGER NOT NULL REFERENCES tenants (id),
    channel    TEXT NOT NULL CHECK (channel IN ('slack_bot', 'teams', 'chatwork', 'webhook')),
    config     BLOB NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, channel)
) WITHOUT ROWID;

-- Reminder the day before (local hour of the site's zone) and no-show notices.
ALTER TABLE tenants ADD COLUMN reminder_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN reminder_hour INTEGER NOT NULL DEFAULT 17 CHECK (reminder_hour BETWEEN 0 AND 23);
ALTER TABLE tenants ADD COLUMN no_show_minutes INTEGER NOT NULL DEFAULT 0 CHECK (no_show_minutes BETWEEN 0 AND 1440);

-- Reception / fallback contacts alerted on every arrival at the site, and the
-- site's own Slack webhook (sealed) used instead of the tenant's.
ALTER TABLE sites ADD COLUMN alert_emails TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN alert_slack_channel TEXT NOT NULL DEFAULT '';
ALTER TABLE sites ADD COLUMN slack_webhook BLOB;

-- A host who is away has their alerts sent to their delegate.
ALTER TABLE users ADD COLUMN away INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN delegate_id INTEGER REFERENCES users (id);

-- Ledger: "delivered" when the channel itself confirms (Slack API, Chatwork,
-- webhook answer), "acknowledged" when the host replied to the alert.
ALTER TABLE outbox ADD COLUMN delivered_at TEXT;
ALTER TABLE outbox ADD COLUMN acknowledged_at TEXT;
-- Scheduled messages (reminders, no-shows) are queued at most once per key.
ALTER TABLE outbox ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX outbox_dedupe ON outbox (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL;

-- Host replies to arrival alerts; the kiosk shows the latest one of its visit.
CREATE TABLE host_replies (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants (id),
    visit_id       INTEGER NOT NULL REFERENCES visits (id),
    kind           TEXT NOT NULL CHECK (kind IN ('coming', 'wait')),
    responder_name TEXT NOT NULL,
    channel        TEXT NOT NULL CHECK (channel IN ('email', 'slack')),
    message_id     INTEGER,
    created_at     TEXT NOT NULL
);
CREATE INDEX host_replies_by_visit ON host_replies (tenant_id, visit_id, id);

-- Signed reply links are single-use: the hash of each used link.
CREATE TABLE reply_links_used (
    link_hash  BLOB PRIMARY KEY,
    tenant_id  INTEGER NOT NULL,
    used_at    TEXT NOT NULL
) WITHOUT ROWID;

-- Per-tenant overrides of the built-in message templates (minijinja source).
CREATE TABLE message_templates (
    tenant_id  INTEGER NOT NULL REFERENCES tenants (id),
    kind       TEXT NOT NULL,
    locale     TEXT NOT NULL CHECK (locale IN ('ja', 'en')),
    part       TEXT NOT NULL CHECK (part IN ('subject', 'text', 'html')),
    source     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, locale, part)
) WITHOUT ROWID;
