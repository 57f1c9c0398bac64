-- StreamProduction, per item: production_item → register_production without a request id,
-- in its own transaction, statement for statement: BEGIN, store::load_model,
-- store::vehicle::load(vin, lock = true) (no such vehicle yet), store::vehicle::insert,
-- store::vehicle::append_event (REGISTER_PRODUCTION, sequence 1), COMMIT.
-- Each client registers its own run of new vehicles: n = first + (i - 1) * clients +
-- client_id, i counting the client's transactions (pgbench keeps variables between them).
-- Run with: pgbench -n -M prepared -D first=F -D clients=C -D i=0 -D models='{…}' -c C
--   -f vehicle_production.sql (search_path=vehicles), F from `copy_production --print-next-free`
--   and the model codes from `vehicle_datagen --print-models` (index order).
-- Plant, line and colour are constants: the statements cost the same whatever they say.
-- VIN of vehicle n: see vehicle_get.sql.
\set i :i + 1
\set n :first + (:i - 1) * :clients + :client_id
\set m (:n - 1) % 20
\set mm :m + 1
\set y :m * 9 / 20
\set yv case when :y = 0 then 2 when :y = 1 then 3 when :y = 2 then 4 when :y = 3 then 5 when :y = 4 then 7 when :y = 5 then 9 when :y = 6 then 2 when :y = 7 then 3 else 5 end
\set c (121 + 4 * (:mm / 10) + 3 * (:mm % 10) + 9 * :yv + 8 * (:n / 1000000) + 7 * (:n / 100000 % 10) + 6 * (:n / 10000 % 10) + 5 * (:n / 1000 % 10) + 4 * (:n / 100 % 10) + 3 * (:n / 10 % 10) + 2 * (:n % 10)) % 11
BEGIN;
SELECT code, brand, series, body, powertrain, model_year, warranty_months, warranty_km, create_time FROM model
WHERE code = (:models::text[])[:mm];
SELECT vin, model_code, state, plant, line, built_at, engine_number, colour, holder_outlet, owner_id, odometer_km, version, create_time, update_time, reserved_for, reserved_until, odometer_rollback_suspected FROM vehicle
WHERE vin = 'LDNV' || lpad(:mm::text, 2, '0') || 'B1' || substr('0123456789X', :c + 1, 1) || substr('KLMNPRSTV', :y + 1, 1) || lpad(:n::text, 7, '0') FOR UPDATE;
INSERT INTO vehicle (vin, model_code, state, plant, line, built_at, engine_number, colour, holder_outlet, owner_id, odometer_km, version, create_time, update_time, reserved_for, reserved_until, odometer_rollback_suspected)
VALUES ('LDNV' || lpad(:mm::text, 2, '0') || 'B1' || substr('0123456789X', :c + 1, 1) || substr('KLMNPRSTV', :y + 1, 1) || lpad(:n::text, 7, '0'),
        (:models::text[])[:mm], 'PRODUCED', 'CN-SH-01', 'L1', now() - interval '30 minutes', 'DN15T' || lpad(:n::text, 8, '0'), 'White', '', NULL, 0, 1, now(), now(), NULL, NULL, false);
INSERT INTO vehicle_event (vin, sequence, at, action, state_after, actor_org, actor_subject, details)
VALUES ('LDNV' || lpad(:mm::text, 2, '0') || 'B1' || substr('0123456789X', :c + 1, 1) || substr('KLMNPRSTV', :y + 1, 1) || lpad(:n::text, 7, '0'),
        1, now(), 'REGISTER_PRODUCTION', 'PRODUCED', 'PLANT-SH', 'mes.line-feed', ARRAY['plant', 'CN-SH-01', 'line', 'L1', 'model', (:models::text[])[:mm]]);
COMMIT;
