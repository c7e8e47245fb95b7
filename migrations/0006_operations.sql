-- Operations: backups and their restore drills, contract ends and purges, visitor
-- retention and erasure, operator notices.

-- Every backup run and the restore drill that followed it. No personal data.
CREATE TABLE backup_runs (
    id           INTEGER PRIMARY KEY,
    trigger      TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    started_at   TEXT NOT NULL,
    finished_at  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    file_name    TEXT,
    sha256       TEXT,
    size_bytes   INTEGER,
    destinations TEXT NOT NULL DEFAULT '[]',   -- JSON array of the directories written
    error        TEXT,
    drill_status TEXT CHECK (drill_status IN ('ok', 'failed')),
    drill_ms     INTEGER,
    drill_detail TEXT
);
CREATE INDEX backup_runs_by_time ON backup_runs (finished_at);

-- Contract end: the last day of the contract (the tenant's local date) and the
-- instant the tenant becomes read-only (the start of the next local day, UTC).
ALTER TABLE tenants ADD COLUMN contract_ends_on TEXT;
ALTER TABLE tenants ADD COLUMN read_only_from TEXT;
-- Visitor retention: names, e-mail addresses, phone numbers and companies are
-- anonymised this many days after the visit (NULL: kept).
ALTER TABLE tenants ADD COLUMN visitor_retention_days INTEGER CHECK (visitor_retention_days BETWEEN 1 AND 3650);
ALTER TABLE visitors ADD COLUMN anonymised_at TEXT;

-- Tombstones of purged tenants: no personal data, only what proves the purge and
-- lets backup rotation drop every generation that still holds the tenant.
CREATE TABLE tenant_purges (
    former_tenant_id INTEGER PRIMARY KEY,
    ended_on         TEXT NOT NULL,
    purged_at        TEXT NOT NULL,
    backups_clear_by TEXT NOT NULL,            -- no backup generation holds the tenant after this
    rows_deleted     INTEGER NOT NULL
);

-- The one exception to the append-only audit log: a purge marks its tenant here,
-- deletes the tenant's chain and removes the mark, all in one transaction. A mark
-- can only be set for a tenant whose contract has ended.
CREATE TABLE purge_in_progress (
    tenant_id INTEGER PRIMARY KEY
);

-- Always empty: a purge or an erasure fills the free pages of the file with a
-- zero blob here and deletes it again, so no earlier content survives in free pages.
CREATE TABLE free_page_scrub (filler BLOB NOT NULL);

CREATE TRIGGER purge_only_ended_tenants BEFORE INSERT ON purge_in_progress
WHEN NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = NEW.tenant_id AND t.read_only_from IS NOT NULL)
BEGIN
    SELECT RAISE(ABORT, 'only a tenant whose contract ended can be purged');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.chain = 0 OR NOT EXISTS (SELECT 1 FROM purge_in_progress p WHERE p.tenant_id = OLD.chain)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Operator notices (incidents, maintenance, SLA changes, end of service) and the
-- tenants each one is addressed to.
CREATE TABLE notices (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('incident', 'maintenance', 'sla_change', 'end_of_service')),
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    published_at TEXT NOT NULL,
    shown_until  TEXT NOT NULL,
    all_tenants  INTEGER NOT NULL
);

CREATE TABLE notice_targets (
    notice_id INTEGER NOT NULL REFERENCES notices (id),
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    PRIMARY KEY (notice_id, tenant_id)
) WITHOUT ROWID;
CREATE INDEX notice_targets_by_tenant ON notice_targets (tenant_id, notice_id);

-- Messages that deliver a notice (publication-to-delivery times) or alert the operator.
ALTER TABLE outbox ADD COLUMN notice_id INTEGER REFERENCES notices (id);
CREATE INDEX outbox_by_notice ON outbox (notice_id) WHERE notice_id IS NOT NULL;
