-- Checks that the VIN formula of the vehicle_*.sql scripts finds loaded vehicles: divides
-- by zero (and aborts pgbench) when a VIN computed for 1 <= n <= :vehicles does not exist.
-- Run with: pgbench -n -M prepared -D vehicles=N -t 20000 -f vehicle_vin_check.sql.
\set n random(1, :vehicles)
\set m (:n - 1) % 20
\set mm :m + 1
\set y :m * 9 / 20
\set yv case when :y = 0 then 2 when :y = 1 then 3 when :y = 2 then 4 when :y = 3 then 5 when :y = 4 then 7 when :y = 5 then 9 when :y = 6 then 2 when :y = 7 then 3 else 5 end
\set c (121 + 4 * (:mm / 10) + 3 * (:mm % 10) + 9 * :yv + 8 * (:n / 1000000) + 7 * (:n / 100000 % 10) + 6 * (:n / 10000 % 10) + 5 * (:n / 1000 % 10) + 4 * (:n / 100 % 10) + 3 * (:n / 10 % 10) + 2 * (:n % 10)) % 11
SELECT 1 / count(*)::int FROM vehicle
WHERE vin = 'LDNV' || lpad(:mm::text, 2, '0') || 'B1' || substr('0123456789X', :c + 1, 1) || substr('KLMNPRSTV', :y + 1, 1) || lpad(:n::text, 7, '0');
