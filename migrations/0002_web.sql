-- Web application: sessions, single-use links (invitations, password resets),
-- groups, tenant branding and policies.

CREATE TABLE sessions (
    id_hash      BLOB PRIMARY KEY,          -- SHA-256 of the cookie value; the value itself is never stored
    tenant_id    INTEGER NOT NULL REFERENCES tenants (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,             -- absolute limit
    ip           TEXT,
    user_agent   TEXT,
    mfa_pending  INTEGER NOT NULL DEFAULT 0,
    revoked_at   TEXT
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id);

-- Single-use links sent by e-mail: invitations (72 h) and password resets (30 min).
CREATE TABLE user_links (
    token_hash BLOB PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    purpose    TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) WITHOUT ROWID;
CREATE INDEX user_links_by_user ON user_links (tenant_id, user_id);

CREATE TABLE groups (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE group_members (
    group_id  INTEGER NOT NULL REFERENCES groups (id),
    user_id   INTEGER NOT NULL REFERENCES users (id),
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;

ALTER TABLE tenants ADD COLUMN accent_color TEXT NOT NULL DEFAULT '#0f766e';
ALTER TABLE tenants ADD COLUMN logo_png BLOB;
ALTER TABLE tenants ADD COLUMN pass_policy TEXT NOT NULL DEFAULT 'day' CHECK (pass_policy IN ('day', 'window'));
ALTER TABLE tenants ADD COLUMN pass_early_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN notify_email INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tenants ADD COLUMN notify_slack INTEGER NOT NULL DEFAULT 1;

ALTER TABLE users ADD COLUMN last_sign_in_at TEXT;
ALTER TABLE users ADD COLUMN last_sign_in_ip TEXT;

-- Visit history search: visitor names and companies are searched within a date range.
CREATE INDEX visits_by_site_time ON visits (tenant_id, site_id, checked_in_at);

-- Messages to staff (invitations, password resets) refer to the user.
ALTER TABLE outbox ADD COLUMN user_id INTEGER REFERENCES users (id);
