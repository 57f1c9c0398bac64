-- Customer value's facts for the benchmark customers, generated set-based (run on the
-- customers schema after `datagen`): per customer about 0.9 sales, 2 closed repair orders,
-- 1 survey answer and 0.2 complaints, over five years, amounts in CNY fen. Deterministic
-- (hash of the customer id), so two loads give the same facts.
-- psql -v ON_ERROR_STOP=1 -c 'SET search_path = customers' -f bench/sql/value_facts.sql
SET search_path = customers;
TRUNCATE value_sale, value_repair, value_survey, value_complaint, customer_value, segment_count;

-- h(c, salt): a stable pseudo-random integer 0..2^31 per customer and salt.
CREATE TEMPORARY TABLE bench_customer AS
SELECT id, abs(hashtext(id::text)::bigint) AS h FROM customer WHERE state = 'ACTIVE';

INSERT INTO value_sale (vin, sold_at, customer_id, outlet, amount_minor)
SELECT 'BENCH' || substr(md5(c.id::text || n), 1, 12),
       timestamptz '2021-01-01' + ((c.h + n * 7919) % (5 * 365)) * interval '1 day',
       c.id, 'D' || (1001 + (c.h % 40)),
       10000000 + ((c.h / 7 + n * 104729) % 30000) * 1000
FROM bench_customer c, generate_series(1, 3) n
WHERE (c.h / (n * 13)) % 10 < CASE n WHEN 1 THEN 6 WHEN 2 THEN 2 ELSE 1 END;

INSERT INTO value_repair (repair_order_id, vin, customer_id, station, amount_minor, closed_at)
SELECT 'bench-' || c.id || '-' || n,
       'BENCH' || substr(md5(c.id::text || (1 + n % 2)), 1, 12),
       c.id, 'S' || (2001 + (c.h % 40)),
       ((c.h / 11 + n * 15485863) % 500000),
       timestamptz '2021-01-01' + ((c.h / 3 + n * 6151) % (5 * 365)) * interval '1 day'
FROM bench_customer c, generate_series(1, 4) n
WHERE (c.h / (n * 17)) % 2 = 0;

INSERT INTO value_survey (survey_response_id, customer_id, satisfaction, nps, answered_at)
SELECT 'bench-' || c.id || '-' || n, c.id,
       1 + (c.h / (n * 19)) % 5, (c.h / (n * 23)) % 11,
       timestamptz '2021-01-01' + ((c.h / 5 + n * 3571) % (5 * 365)) * interval '1 day'
FROM bench_customer c, generate_series(1, 2) n
WHERE (c.h / (n * 29)) % 2 = 0;

INSERT INTO value_complaint (case_id, customer_id, opened_at)
SELECT 'bench-' || c.id, c.id,
       timestamptz '2021-01-01' + ((c.h / 13) % (5 * 365)) * interval '1 day'
FROM bench_customer c
WHERE c.h % 5 = 0;

ANALYZE value_sale;
ANALYZE value_repair;
ANALYZE value_survey;
ANALYZE value_complaint;
SELECT (SELECT count(*) FROM value_sale) AS sales, (SELECT count(*) FROM value_repair) AS repairs,
       (SELECT count(*) FROM value_survey) AS surveys, (SELECT count(*) FROM value_complaint) AS complaints;
