-- GetVehicle: store::vehicle::load_with_context, the handler's only statement (the
-- vehicle, its model's warranty terms, its sale and its open recalls in one round trip).
-- Run with: pgbench -n -M prepared -D vehicles=N -f vehicle_get.sql (search_path=vehicles).
-- The VIN of vehicle n, computed as in bench/src/vehicles/mod.rs: model m = (n - 1) % 20,
-- model year 2019 + m * 9 / 20 (code K…V, ISO 3779 value yv), then the check digit c over
-- 'LDN' 'V' <m + 1> 'B1' <c> <year code> <n in 7 digits> (121 = the constant characters).
\set n random(1, :vehicles)
\set m (:n - 1) % 20
\set mm :m + 1
\set y :m * 9 / 20
\set yv case when :y = 0 then 2 when :y = 1 then 3 when :y = 2 then 4 when :y = 3 then 5 when :y = 4 then 7 when :y = 5 then 9 when :y = 6 then 2 when :y = 7 then 3 else 5 end
\set c (121 + 4 * (:mm / 10) + 3 * (:mm % 10) + 9 * :yv + 8 * (:n / 1000000) + 7 * (:n / 100000 % 10) + 6 * (:n / 10000 % 10) + 5 * (:n / 1000 % 10) + 4 * (:n / 100 % 10) + 3 * (:n / 10 % 10) + 2 * (:n % 10)) % 11
SELECT v.vin, v.model_code, v.state, v.plant, v.line, v.built_at, v.engine_number, v.colour, v.holder_outlet, v.owner_id, v.odometer_km, v.version, v.create_time, v.update_time, v.reserved_for, v.reserved_until, v.odometer_rollback_suspected, m.warranty_months, m.warranty_km, s.outlet AS sale_outlet, s.sold_at,
       ARRAY(SELECT c.code FROM recall_vehicle rv JOIN recall_campaign c ON c.code = rv.campaign_code
             WHERE rv.vin = v.vin AND rv.completed_at IS NULL AND c.status = 'OPEN' ORDER BY c.code) AS open_recalls
FROM vehicle v JOIN model m ON m.code = v.model_code LEFT JOIN sale s ON s.vin = v.vin
WHERE v.vin = 'LDNV' || lpad(:mm::text, 2, '0') || 'B1' || substr('0123456789X', :c + 1, 1) || substr('KLMNPRSTV', :y + 1, 1) || lpad(:n::text, 7, '0');
