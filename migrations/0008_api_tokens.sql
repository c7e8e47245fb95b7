-- API tokens with refresh: an integration holds a short-lived access token and a
-- refresh token; each refresh replaces both. Tokens of one chain share a family, so
-- reusing an old refresh token (a sign it was stolen) revokes the whole family.
ALTER TABLE api_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'access' CHECK (kind IN ('access', 'refresh'));
ALTER TABLE api_tokens ADD COLUMN family INTEGER;
ALTER TABLE api_tokens ADD COLUMN used_at TEXT;
CREATE INDEX api_tokens_by_family ON api_tokens (tenant_id, family);
