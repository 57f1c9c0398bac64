-- GetVehicleTimeline (first page, default page size 50) for a dealer: store::vehicle::events
-- (after = 0, limit = 50 + 1 — one more to know whether a page follows; the existence check
-- runs only when that comes back empty, which a loaded vehicle never does), then
-- store::vehicle::is_holder_or_seller, which decides whether the outlet may see the
-- entries' commercial details. Two statements, no transaction, one pooled connection.
-- Run with: pgbench -n -M prepared -D vehicles=N -D outlet=D1001 -f vehicle_timeline.sql
-- (search_path=vehicles). VIN of vehicle n: see vehicle_get.sql.
\set n random(1, :vehicles)
\set m (:n - 1) % 20
\set mm :m + 1
\set y :m * 9 / 20
\set yv case when :y = 0 then 2 when :y = 1 then 3 when :y = 2 then 4 when :y = 3 then 5 when :y = 4 then 7 when :y = 5 then 9 when :y = 6 then 2 when :y = 7 then 3 else 5 end
\set c (121 + 4 * (:mm / 10) + 3 * (:mm % 10) + 9 * :yv + 8 * (:n / 1000000) + 7 * (:n / 100000 % 10) + 6 * (:n / 10000 % 10) + 5 * (:n / 1000 % 10) + 4 * (:n / 100 % 10) + 3 * (:n / 10 % 10) + 2 * (:n % 10)) % 11
\set after 0
\set page 51
SELECT sequence, at, action, state_after, actor_org, actor_subject, details FROM vehicle_event
WHERE vin = 'LDNV' || lpad(:mm::text, 2, '0') || 'B1' || substr('0123456789X', :c + 1, 1) || substr('KLMNPRSTV', :y + 1, 1) || lpad(:n::text, 7, '0')
  AND sequence > :after ORDER BY sequence LIMIT :page;
SELECT EXISTS (SELECT 1 FROM vehicle WHERE vin = 'LDNV' || lpad(:mm::text, 2, '0') || 'B1' || substr('0123456789X', :c + 1, 1) || substr('KLMNPRSTV', :y + 1, 1) || lpad(:n::text, 7, '0') AND holder_outlet = :outlet)
    OR EXISTS (SELECT 1 FROM sale WHERE vin = 'LDNV' || lpad(:mm::text, 2, '0') || 'B1' || substr('0123456789X', :c + 1, 1) || substr('KLMNPRSTV', :y + 1, 1) || lpad(:n::text, 7, '0') AND outlet = :outlet);
