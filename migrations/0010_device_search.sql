-- Visit history filtered by kiosk (device), as fast as by person. (The audit log's
-- filter by kiosk uses `audit_by_actor` from 0007: actor kind and id lead it.)
CREATE INDEX visits_by_kiosk ON visits (tenant_id, kiosk_id, checked_in_at);
