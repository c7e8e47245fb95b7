-- Security: second factor (TOTP), recovery codes, sign-in throttling that survives
-- restarts, per-tenant MFA policy and address allowlist, the previous sign-in shown
-- after signing in, and indexes for searching the audit log.

-- One TOTP secret per user, sealed with AES-256-GCM (context tenant:T:user:U:totp);
-- the plain seed is never stored. Unconfirmed until the first code is entered.
CREATE TABLE user_mfa (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id),
    tenant_id     INTEGER NOT NULL REFERENCES tenants (id),
    secret_sealed BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    confirmed_at  TEXT,
    last_step     INTEGER                   -- last accepted time step: codes are single-use
);

-- Single-use recovery codes, stored as keyed hashes.
CREATE TABLE mfa_recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users (id),
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    code_hash BLOB NOT NULL,
    used_at   TEXT,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;

-- Consecutive sign-in failures per account name (organisation + e-mail, keyed hash),
-- known or not, so delays and locks behave alike for both and survive restarts.
CREATE TABLE sign_in_failures (
    account_hash BLOB PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_at      TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sign_in_failures_by_time ON sign_in_failures (last_at);

ALTER TABLE tenants ADD COLUMN mfa_policy TEXT NOT NULL DEFAULT 'none'
    CHECK (mfa_policy IN ('none', 'admins', 'everyone'));
-- Allowed networks, one canonical CIDR per line; empty: no restriction.
ALTER TABLE tenants ADD COLUMN ip_allowlist TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN ip_allowlist_scope TEXT NOT NULL DEFAULT 'admins'
    CHECK (ip_allowlist_scope IN ('admins', 'everyone'));

-- What the user is told after signing in: the sign-in before this one and the
-- failed attempts on the account since then.
ALTER TABLE sessions ADD COLUMN previous_sign_in_at TEXT;
ALTER TABLE sessions ADD COLUMN previous_sign_in_ip TEXT;
ALTER TABLE sessions ADD COLUMN failures_since INTEGER NOT NULL DEFAULT 0;

-- Audit search by person and by action within a tenant.
CREATE INDEX audit_by_actor ON audit_log (tenant_id, actor_kind, actor_id, at);
CREATE INDEX audit_by_target ON audit_log (tenant_id, target_kind, target_id, at);
CREATE INDEX audit_by_action ON audit_log (tenant_id, action, at);
