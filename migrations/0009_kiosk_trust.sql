-- Kiosks hold no code verifier any more, and journal replays are bound to rosters.
--
-- Offline rosters used to carry each pass's code as SHA-256(tenant roster key ||
-- digits) together with the key, so a stolen kiosk recovered every code of today and
-- tomorrow offline in seconds. Codes are now checked by the server only: the tenants'
-- roster keys and the passes' roster code digests are wiped (freed space zeroed) and
-- their columns dropped.
PRAGMA secure_delete = ON;
UPDATE tenants SET roster_key = NULL WHERE roster_key IS NOT NULL;
UPDATE passes SET roster_code_hash = NULL WHERE roster_code_hash IS NOT NULL;
ALTER TABLE tenants DROP COLUMN roster_key;
ALTER TABLE passes DROP COLUMN roster_code_hash;
PRAGMA secure_delete = FAST;

-- Which passes each kiosk's rosters listed, and when (server time): the first and the
-- latest roster issued to that kiosk that listed the pass. A journal replay is accepted
-- only for a pass listed here, at an arrival time after its first listing and before
-- its latest listing's roster stopped being trusted (genkan_core::offline). Rows are
-- dropped once no replay could use them any more.
CREATE TABLE kiosk_roster_passes (
    kiosk_id   INTEGER NOT NULL REFERENCES kiosks (id) ON DELETE CASCADE,
    pass_id    INTEGER NOT NULL REFERENCES passes (id) ON DELETE CASCADE,
    tenant_id  INTEGER NOT NULL REFERENCES tenants (id),
    first_at   TEXT NOT NULL,
    last_at    TEXT NOT NULL,
    PRIMARY KEY (kiosk_id, pass_id)
) WITHOUT ROWID;
CREATE INDEX kiosk_roster_passes_by_last ON kiosk_roster_passes (last_at);
