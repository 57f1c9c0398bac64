-- Loads :complaints closed complaint cases into the call center for the insights bench,
-- opened over the last 36 months (+08:00), by bench customers 1..:customers about one of
-- the bench models (:models, a text[] literal from `vehicle_datagen --print-models`) at
-- one of the bench dealers D1000…D2999, in eight categories; then counts complaint_month
-- afresh exactly as migration 0005 does. Run with psql -v complaints=… -v customers=…
-- -v models=… (search_path callcenter).
BEGIN;
INSERT INTO support_case (id, case_type, priority, status, customer_id, vin, outlet, team, assignee, subject,
       description, category, model_code, lead, calendar, first_response_warn, first_response_due,
       first_response_at, resolution_warn, resolution_due, paused_at, next_check_at, sla_state, escalations,
       created_by, create_time, update_time, resolve_time, close_time, version)
SELECT ('00000000-0000-7000-9000-' || lpad(g::text, 12, '0'))::uuid, 'COMPLAINT', 'NORMAL', 'CLOSED',
       ('00000000-0000-7000-8000-' || lpad((1 + g % :customers)::text, 12, '0'))::uuid,
       '', 'D' || (1000 + g % 2000), 'COMPLAINTS', 'agent.' || (g % 60), '投诉', '',
       (ARRAY['QUALITY', 'SERVICE', 'SALES', 'DELIVERY', 'PARTS', 'BILLING', 'STAFF', 'OTHER'])[1 + (g::bigint * 7919) % 8],
       (:'models'::text[])[1 + (g::bigint * 104729) % cardinality(:'models'::text[])],
       '', 'HOTLINE', t + interval '3 hours', t + interval '4 hours', t + interval '1 hour',
       t + interval '40 hours', t + interval '48 hours', NULL, NULL, 'OK', 0,
       'CALLCENTER', t, t + interval '2 days', t + interval '2 days', t + interval '2 days', 5
FROM generate_series(1, :complaints) AS g,
     LATERAL (SELECT now() - (g % 1096) * interval '1 day' - (g % 86400) * interval '1 second' AS t) AS opened;
DELETE FROM complaint_month;
INSERT INTO complaint_month (month, category, model_code, complaints)
SELECT date_trunc('month', (create_time AT TIME ZONE 'UTC') + interval '8 hours')::date,
       category, model_code, count(*)
FROM support_case
WHERE case_type = 'COMPLAINT'
GROUP BY 1, 2, 3;
COMMIT;
VACUUM (ANALYZE) support_case, complaint_month;
