-- Visit history search by visitor name and company: an FTS5 index of word and
-- bigram tokens (bigrams make Japanese names searchable without a word segmenter).
-- rowid = visitors.id; maintained by the store whenever a visitor is written.
CREATE VIRTUAL TABLE visitor_search USING fts5(name_tokens, company_tokens, tokenize = 'unicode61 remove_diacritics 2');

CREATE INDEX visits_by_visitor ON visits (tenant_id, visitor_id);
CREATE INDEX visits_by_appointment ON visits (tenant_id, appointment_id);

-- Period passes: the local dates chosen (NULL for a single visit).
ALTER TABLE appointments ADD COLUMN period_from TEXT;
ALTER TABLE appointments ADD COLUMN period_until TEXT;
