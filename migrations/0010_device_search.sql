-- Visit history and the audit log filtered by kiosk (device), as fast as by person.
CREATE INDEX visits_by_kiosk ON visits (tenant_id, kiosk_id, checked_in_at);
CREATE INDEX IF NOT EXISTS audit_by_actor ON audit_log (tenant_id, actor_kind, actor_id, at);
