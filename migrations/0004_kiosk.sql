-- Reception kiosks: offline rosters, health reports, walk-in and silence settings.

-- The tenant's roster key: 32 random bytes, AES-256-GCM sealed with the key file's
-- secrets key (context `roster-key:<tenant id>`), created with the first pass issued.
-- It is the `code_salt` of the tenant's offline rosters.
ALTER TABLE tenants ADD COLUMN roster_key BLOB;
-- SHA-256(roster key || the 8 code digits), computed when the pass is issued: the
-- only form in which an offline kiosk can check a typed code. The code itself is
-- never stored. NULL for passes issued before this migration (offline, those work
-- by QR code only).
ALTER TABLE passes ADD COLUMN roster_code_hash BLOB;
-- Rosters list a site's passes still valid at a given time.
CREATE INDEX passes_by_site_validity ON passes (tenant_id, site_id, valid_until);

-- Kiosk health: the last heartbeat (JSON, in the existing `heartbeat` column) and
-- when it came; when the admins were last told the kiosk went silent (one alert per
-- silence: a new one only after the kiosk was seen again).
ALTER TABLE kiosks ADD COLUMN heartbeat_at TEXT;
ALTER TABLE kiosks ADD COLUMN silence_alerted_at TEXT;

-- The tenant's kiosk settings: the walk-in form and its fields, and after how many
-- minutes without a sign of life a kiosk is reported to the admins (0: never).
ALTER TABLE tenants ADD COLUMN walk_in_enabled INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tenants ADD COLUMN walk_in_company INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tenants ADD COLUMN walk_in_phone INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN kiosk_silence_minutes INTEGER NOT NULL DEFAULT 15
    CHECK (kiosk_silence_minutes BETWEEN 0 AND 1440);
