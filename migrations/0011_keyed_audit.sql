-- Keyed audit chains: from this version every audit row is linked with
-- HMAC-SHA-256 under a key derived from the key file's MAC key. A chain that held
-- rows before keeps their unkeyed links up to the boundary recorded here: its last
-- row at the time (sequence number and link), sealed under the same key. The
-- boundaries are written by the program in this migration's transaction.
-- `tenant_id` (NULL for the system chain) lets a tenant's purge remove its row.
CREATE TABLE audit_keying (
    chain     INTEGER PRIMARY KEY,
    tenant_id INTEGER,
    seq       INTEGER NOT NULL,
    link      BLOB NOT NULL,
    seal      BLOB NOT NULL
);

-- Like the audit log itself: never changed, removed only by a tenant's purge.
CREATE TRIGGER audit_keying_no_update BEFORE UPDATE ON audit_keying
BEGIN
    SELECT RAISE(ABORT, 'the audit keying record is append-only');
END;

CREATE TRIGGER audit_keying_no_delete BEFORE DELETE ON audit_keying
WHEN OLD.chain = 0 OR NOT EXISTS (SELECT 1 FROM purge_in_progress p WHERE p.tenant_id = OLD.chain)
BEGIN
    SELECT RAISE(ABORT, 'the audit keying record is append-only');
END;

-- API tokens of users disabled before disabling revoked them: revoked now, so
-- re-enabling such a user never brings them back.
-- (The time in the fixed-width form stored everywhere: microseconds, UTC.)
UPDATE api_tokens
   SET revoked_at = strftime('%Y-%m-%dT%H:%M:%S', 'now') || substr(strftime('%f', 'now'), 3) || '000Z'
 WHERE revoked_at IS NULL
   AND user_id IN (SELECT id FROM users WHERE status = 'disabled');
