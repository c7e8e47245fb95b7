-- Visit history search by visitor name and company: an FTS5 index of the ordered
-- character bigrams of each name (bigrams make Japanese names searchable without a
-- word segmenter; phrase queries over them match exact substrings).
-- rowid = visitors.id; maintained by the store whenever a visitor is written.
CREATE VIRTUAL TABLE visitor_search USING fts5(name_tokens, company_tokens, tokenize = 'unicode61 remove_diacritics 2');

-- Covers the history filters, so a search for a few visitors never reads their rows
-- until the page's 50 are chosen.
CREATE INDEX visits_search ON visits (tenant_id, visitor_id, checked_in_at, site_id, host_id, status);
CREATE INDEX visits_by_appointment ON visits (tenant_id, appointment_id);

-- Period passes: the local dates chosen (NULL for a single visit).
ALTER TABLE appointments ADD COLUMN period_from TEXT;
ALTER TABLE appointments ADD COLUMN period_until TEXT;
