-- Blocking key for duplicate detection: the name's parts in toneless pinyin, sorted
-- (domain::matching::phonetic_key). Computed by the service on every write; rows written
-- before this migration are filled in by the service's background backfill (NULL = to do).
ALTER TABLE customer ADD COLUMN name_phonetic text;
CREATE INDEX customer_name_phonetic ON customer (name_phonetic) WHERE state = 'ACTIVE';
CREATE INDEX customer_name_phonetic_todo ON customer (id) WHERE name_phonetic IS NULL;
