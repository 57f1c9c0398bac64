-- OpenCase of a NORMAL INQUIRY for customer n, statement for statement as the whole call
-- runs it (search_path=callcenter; the registry's tables are schema-qualified):
--   1. the registry's GetCustomer, asked by the call center as its `system` principal
--      (customers.rs::contact): store::load = select_customer.sql + WHERE c.id = $1, then
--      the access-log record of the unmasked answer (audit.rs: INSERT … SELECT FROM unnest,
--      autocommit). The registry groups the records of concurrent reads into one INSERT
--      and one WAL flush; here every call makes its own, so pgbench pays the most it can.
--   2. the case transaction (api/case.rs::open_case): BEGIN; idempotency begin (INSERT …
--      ON CONFLICT DO NOTHING); the SLA policy (store::case::policy); the hotline's
--      holidays (store::desk::holidays); INSERT support_case (store::case::insert; the id
--      comes back with \gset in the same round trip, as the service knows it already);
--      idempotency finish (UPDATE with the encoded response, -D response_bytes long);
--      COMMIT.
-- Not included: the gRPC hop from the call center to the registry, and the SLA clock's
-- arithmetic (the service computes the due times on the hotline calendar; here they are
-- now() plus the policy's minutes).
-- Run with: pgbench -n -M prepared -D customers=N -D response_bytes=B -f open_case.sql
-- Customer n's id is 00000000-0000-7000-8000-<n in 12 digits> (see bench/src/lib.rs).
-- The subjects and descriptions are loadgen's (bench/src/callcenter.rs INQUIRY_TEXTS).
\set n random(1, :customers)
\set r random(1, 9000000000000000000)
\set t random(1, 4)
\set agent :client_id + 1
SELECT c.id, c.kind, c.family_name, c.given_name, c.organization_name,
       c.province, c.city, c.district, c.street, c.postal_code, c.region_code,
       c.birthday, c.preferred_language, c.source_channel, c.created_by_org,
       c.national_id_hash, c.national_id_last4, c.state, c.merged_into, c.version,
       c.create_time, c.update_time, c.preferred_dealer, c.preferred_station,
       ARRAY(SELECT p.e164 FROM customers.customer_phone p WHERE p.customer_id = c.id ORDER BY p.position) AS phone_numbers,
       ARRAY(SELECT p.kind FROM customers.customer_phone p WHERE p.customer_id = c.id ORDER BY p.position) AS phone_kinds,
       ARRAY(SELECT e.address FROM customers.customer_email e WHERE e.customer_id = c.id ORDER BY e.position) AS emails,
       ARRAY(SELECT x.issuer FROM customers.external_id x WHERE x.customer_id = c.id ORDER BY x.issuer, x.value) AS external_issuers,
       ARRAY(SELECT x.value FROM customers.external_id x WHERE x.customer_id = c.id ORDER BY x.issuer, x.value) AS external_values
FROM customers.customer c
WHERE c.id = ('00000000-0000-7000-8000-' || lpad(:n::text, 12, '0'))::uuid;
INSERT INTO customers.access_log (at, subject, organization, roles, customer_id, fields, purpose, request_id, method)
SELECT t.at, t.subject, t.organization, string_to_array(t.roles, ','), t.customer_id,
       string_to_array(t.fields, ','), t.purpose, t.request_id, t.method
FROM unnest(ARRAY[now()]::timestamptz[], ARRAY['callcenter-service']::text[], ARRAY['CALLCENTER']::text[],
            ARRAY['system']::text[], ARRAY[('00000000-0000-7000-8000-' || lpad(:n::text, 12, '0'))::uuid]::uuid[],
            ARRAY['name,phones,address,birthday']::text[], ARRAY['hotline case']::text[],
            ARRAY[md5(:r::text)::uuid::text]::text[], ARRAY['GetCustomer']::text[])
     AS t(at, subject, organization, roles, customer_id, fields, purpose, request_id, method);
BEGIN;
INSERT INTO idempotency (scope, request_id, method, request_hash)
VALUES ('CALLCENTER', 'pgbench-' || :client_id || '-' || :r, 'OpenCase', sha256(('pgbench' || :r)::bytea))
ON CONFLICT (scope, request_id) DO NOTHING;
SELECT first_response_minutes, resolution_minutes, outlet_calendar FROM sla_policy
WHERE case_type = 'INQUIRY' AND priority = 'NORMAL';
SELECT day FROM hotline_holiday ORDER BY day;
INSERT INTO support_case (id, case_type, priority, status, customer_id, vin, outlet, team, assignee, subject,
       description, category, model_code, lead, calendar, first_response_warn, first_response_due,
       first_response_at, resolution_warn, resolution_due, paused_at, next_check_at, sla_state, escalations,
       created_by, create_time, update_time, resolve_time, close_time, version)
VALUES (
    -- a UUIDv7 of the current millisecond, as the service's Uuid::now_v7()
    (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7'
        || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid,
    'INQUIRY', 'NORMAL', 'NEW', ('00000000-0000-7000-8000-' || lpad(:n::text, 12, '0'))::uuid, '', '',
    'CUSTOMER_SUPPORT', '',
    (ARRAY['咨询保养周期', '咨询延保政策', '咨询充电桩安装', '咨询车机升级'])[:t],
    (ARRAY['客户询问新车首保时间及之后的保养间隔里程，希望了解保养项目和大致费用。',
           '客户想了解原厂延保的价格、年限和覆盖范围，以及购买后能否转让给下一任车主。',
           '客户新购电动车，询问家用充电桩的申请流程、安装条件和预计安装时间。',
           '客户询问车机系统最新版本的升级方式，是否需要到店，以及升级后新增的功能。'])[:t],
    '', '', '', 'HOTLINE',
    now() + interval '192 minutes', now() + interval '240 minutes', NULL,
    now() + interval '2304 minutes', now() + interval '2880 minutes', NULL,
    now() + interval '192 minutes', 'OK', 0,
    'agent.' || (:agent)::text, now(), now(), NULL, NULL, 1)
RETURNING id AS case_id \gset
UPDATE idempotency SET response = decode(repeat('5a', :response_bytes), 'hex'), resource = 'cases/' || :case_id
WHERE scope = 'CALLCENTER' AND request_id = 'pgbench-' || :client_id || '-' || :r;
COMMIT;
