-- GetVehicle: store::vehicle::load(vin, lock = false), the handler's only statement.
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
SELECT vin, model_code, state, plant, line, built_at, engine_number, colour, holder_outlet, owner_id, odometer_km, version, create_time, update_time, reserved_for, reserved_until, odometer_rollback_suspected FROM vehicle
WHERE vin = 'LDNV' || lpad(:mm::text, 2, '0') || 'B1' || substr('0123456789X', :c + 1, 1) || substr('KLMNPRSTV', :y + 1, 1) || lpad(:n::text, 7, '0');
