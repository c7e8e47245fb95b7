-- Genkan initial schema. Migrations are append-only: never edit one that was released.
-- Times are UTC text in one fixed format (YYYY-MM-DDTHH:MM:SS.ffffffZ) so they sort as text.
-- Every table holding tenant data carries tenant_id; every query filters on it.

CREATE TABLE tenants (
    id               INTEGER PRIMARY KEY,
    slug             TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    default_locale   TEXT NOT NULL DEFAULT 'ja' CHECK (default_locale IN ('ja', 'en')),
    time_zone        TEXT NOT NULL DEFAULT 'Asia/Tokyo',
    primary_color    TEXT NOT NULL DEFAULT '#1d4ed8',
    checkout_enabled INTEGER NOT NULL DEFAULT 1,
    slack_webhook    BLOB,            -- AES-256-GCM sealed URL
    created_at       TEXT NOT NULL
);

CREATE TABLE sites (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    time_zone  TEXT NOT NULL DEFAULT 'Asia/Tokyo',
    address    TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants (id),
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'receptionist', 'host')),
    locale        TEXT CHECK (locale IN ('ja', 'en')),
    password_hash TEXT,
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'invited', 'disabled')),
    created_at    TEXT NOT NULL,
    UNIQUE (tenant_id, email)
);

CREATE TABLE appointments (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants (id),
    site_id    INTEGER NOT NULL REFERENCES sites (id),
    host_id    INTEGER NOT NULL REFERENCES users (id),
    title      TEXT,
    starts_at  TEXT NOT NULL,
    ends_at    TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    created_by INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX appointments_by_start ON appointments (tenant_id, starts_at);
CREATE INDEX appointments_by_host ON appointments (tenant_id, host_id, starts_at);

CREATE TABLE visitors (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants (id),
    appointment_id INTEGER NOT NULL REFERENCES appointments (id),
    name           TEXT NOT NULL,
    company        TEXT,
    email          TEXT,
    phone          TEXT,
    locale         TEXT NOT NULL CHECK (locale IN ('ja', 'en')),
    created_at     TEXT NOT NULL
);
CREATE INDEX visitors_by_appointment ON visitors (tenant_id, appointment_id);

-- Only hashes of pass secrets are kept: SHA-256 of the QR token, HMAC of the 8-digit code.
CREATE TABLE passes (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    visitor_id  INTEGER NOT NULL REFERENCES visitors (id),
    site_id     INTEGER NOT NULL REFERENCES sites (id),
    token_hash  BLOB NOT NULL UNIQUE,
    code_hash   BLOB NOT NULL,
    valid_from  TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    revoked_at  TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX passes_by_code ON passes (tenant_id, code_hash);
CREATE INDEX passes_by_visitor ON passes (tenant_id, visitor_id);

CREATE TABLE kiosks (
    id                 INTEGER PRIMARY KEY,
    tenant_id          INTEGER NOT NULL REFERENCES tenants (id),
    site_id            INTEGER NOT NULL REFERENCES sites (id),
    name               TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
    pairing_code_hash  BLOB UNIQUE,
    pairing_expires_at TEXT,
    credential_hash    BLOB UNIQUE,
    device_name        TEXT,
    last_seen_at       TEXT,
    heartbeat          TEXT,
    created_at         TEXT NOT NULL,
    revoked_at         TEXT
);
CREATE INDEX kiosks_by_tenant ON kiosks (tenant_id, site_id);

CREATE TABLE visits (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants (id),
    site_id        INTEGER NOT NULL REFERENCES sites (id),
    appointment_id INTEGER REFERENCES appointments (id),
    visitor_id     INTEGER REFERENCES visitors (id),
    pass_id        INTEGER REFERENCES passes (id),
    host_id        INTEGER REFERENCES users (id),
    kiosk_id       INTEGER REFERENCES kiosks (id),
    method         TEXT NOT NULL CHECK (method IN ('qr', 'code', 'manual', 'offline')),
    status         TEXT NOT NULL CHECK (status IN ('inside', 'checked_out')),
    checked_in_at  TEXT NOT NULL,
    checked_out_at TEXT,
    created_at     TEXT NOT NULL
);
-- A pass can be inside at most once: the database itself refuses a second open visit.
CREATE UNIQUE INDEX visits_one_open_per_pass ON visits (pass_id) WHERE status = 'inside';
CREATE INDEX visits_by_time ON visits (tenant_id, checked_in_at);
CREATE INDEX visits_by_host ON visits (tenant_id, host_id, checked_in_at);
CREATE INDEX visits_by_status ON visits (tenant_id, status, site_id);

-- Kiosk requests already answered, so a retried scan gets the same answer.
CREATE TABLE kiosk_requests (
    kiosk_id    INTEGER NOT NULL,
    request_id  TEXT NOT NULL,
    tenant_id   INTEGER NOT NULL,
    outcome     TEXT NOT NULL,        -- 'ok' or the refusal's error code
    body        TEXT NOT NULL,        -- the answer as sent, JSON
    created_at  TEXT NOT NULL,
    PRIMARY KEY (kiosk_id, request_id)
) WITHOUT ROWID;

-- Notification outbox: written in the same transaction as the event that causes it.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER REFERENCES tenants (id),
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    locale          TEXT NOT NULL,
    appointment_id  INTEGER,
    visitor_id      INTEGER,
    visit_id        INTEGER,
    payload         BLOB,            -- AES-256-GCM sealed JSON; cleared once delivered
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (status, channel, next_attempt_at);
CREATE INDEX outbox_leases ON outbox (status, channel, lease_until) WHERE status = 'sending';
CREATE INDEX outbox_by_appointment ON outbox (tenant_id, appointment_id);
CREATE INDEX outbox_by_visit ON outbox (tenant_id, visit_id);

-- Every delivery attempt, for the delivery ledger.
CREATE TABLE outbox_attempts (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES outbox (id),
    tenant_id  INTEGER,
    at         TEXT NOT NULL,
    outcome    TEXT NOT NULL CHECK (outcome IN ('sent', 'retry', 'dead')),
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_attempts_by_message ON outbox_attempts (message_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT,
    last_used_at TEXT,
    created_at   TEXT NOT NULL
);

-- Audit log: one hash chain per tenant (chain 0 = operator and system events).
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    chain       INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    tenant_id   INTEGER,
    at          TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    INTEGER,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT,
    outcome     TEXT NOT NULL,
    ip          TEXT,
    request_id  TEXT,
    details     TEXT NOT NULL DEFAULT '{}',
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL,
    UNIQUE (chain, seq)
);
CREATE INDEX audit_by_tenant_time ON audit_log (tenant_id, at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
