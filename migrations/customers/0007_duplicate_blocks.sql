-- Name blocks refined by birthday and by city: a common name alone can hold thousands of
-- customers, a common name with one birthday or in one city only a few.
DROP INDEX customer_name_phonetic;
CREATE INDEX customer_name_birthday ON customer (name_phonetic, birthday) WHERE state = 'ACTIVE';
CREATE INDEX customer_name_city ON customer (name_phonetic, city) WHERE state = 'ACTIVE';
