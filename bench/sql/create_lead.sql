-- CreateLead of a buy lead from the hotline with a request id, statement for statement as
-- api::lead::create_lead runs it when the customer's location is given and outlets are
-- near (the router's first, local search finds candidates — always so for these
-- origins): idempotency::begin, store::lead::candidates (services/dealers/sql/
-- route_candidates.sql: 30 km, 20 rows, nobody excluded), store::outlet::load_outlet
-- FOR SHARE of the chosen outlet (router::lock_eligible), store::lead::insert,
-- store::lead::insert_assignment, idempotency::finish, COMMIT.
-- Differences, none of them a round trip: the service chooses the candidate with the
-- fewest open leads, pgbench keeps the last row (\aset) — either way one outlet row is
-- locked; the lead id is a sequence-ordered UUID-shaped value rather than a UUIDv7, and
-- the deadline is now() + 4 h rather than the outlet's opening hours (the service computes
-- it in memory); the saved idempotent response is a 450-byte constant.
-- Locations are drawn as in locate.sql (and dealers_loadgen), with the 30 km box. The
-- candidate search's values are parameters as in the service; capability and exclusions
-- come from the command line: -D cap=SALES -D excluded='{}'.
\set radius 30
\set lim 20
\set c random(1, 12)
\if :c = 1
\set lat0 39.9042
\set lng0 116.4074
\set dlng 0.352475
\elif :c = 2
\set lat0 31.2304
\set lng0 121.4737
\set dlng 0.316021
\elif :c = 3
\set lat0 23.1291
\set lng0 113.2644
\set dlng 0.293707
\elif :c = 4
\set lat0 22.5431
\set lng0 114.0579
\set dlng 0.292435
\elif :c = 5
\set lat0 30.5728
\set lng0 104.0668
\set dlng 0.313845
\elif :c = 6
\set lat0 30.2741
\set lng0 120.1551
\set dlng 0.312880
\elif :c = 7
\set lat0 29.563
\set lng0 106.5516
\set dlng 0.310640
\elif :c = 8
\set lat0 32.0603
\set lng0 118.7969
\set dlng 0.318872
\elif :c = 9
\set lat0 31.299
\set lng0 120.5853
\set dlng 0.316252
\elif :c = 10
\set lat0 30.5928
\set lng0 114.3055
\set dlng 0.313910
\elif :c = 11
\set lat0 39.3434
\set lng0 117.3616
\set dlng 0.349615
\elif :c = 12
\set lat0 34.3416
\set lng0 108.9398
\set dlng 0.327340
\endif
\set lat :lat0 + random(-150000, 150000) / 1000000.0
\set lng :lng0 + random(-150000, 150000) / 1000000.0
\set lat_min :lat - 0.269796
\set lat_max :lat + 0.269796
\set lng_min :lng - :dlng
\set lng_max :lng + :dlng
\set customer random(1, 1000000000)
-- Keys grow as the service's do (request ids per worker and sequence, UUIDv7 lead ids in
-- time order), so both append to the right of their indexes instead of writing at random
-- places: per-client sequence :seq (client variables persist across transactions; -D
-- seq=0 starts it) and a per-invocation :run (-D run=…).
\set seq :seq + 1
BEGIN;
INSERT INTO idempotency (scope, request_id, method, request_hash)
VALUES ('CALLCENTER', 'pgbench-' || :run || '-' || :client_id || '-' || :seq, 'CreateLead',
        sha256(('pgbench-' || :run || '-' || :client_id || '-' || :seq)::bytea))
ON CONFLICT (scope, request_id) DO NOTHING;
SELECT c.code, c.distance_km,
       (SELECT count(*) FROM lead l
        WHERE l.outlet_code = c.code AND l.status IN ('NEW', 'CONTACTED', 'APPOINTMENT')) AS open_leads
FROM (
    SELECT o.code,
           2 * 6371.0088 * asin(least(1, sqrt(
               power(sin(radians(o.latitude - :lat) / 2), 2)
               + cos(radians(:lat)) * cos(radians(o.latitude))
                 * power(sin(radians(o.longitude - :lng) / 2), 2)))) AS distance_km
    FROM outlet o
    WHERE o.latitude BETWEEN :lat_min AND :lat_max
      AND o.longitude BETWEEN :lng_min AND :lng_max
      AND o.status = 'ACTIVE'
      AND :cap = ANY (o.capabilities)
      AND NOT (o.code = ANY (:excluded::text[]))
) c
WHERE c.distance_km <= :radius
ORDER BY c.distance_km, c.code
LIMIT :lim \aset
SELECT
       o.code, o.display_name, o.group_code, o.region,
       o.province, o.city, o.district, o.street, o.postal_code, o.region_code,
       o.latitude, o.longitude, o.capabilities, o.brands, o.phone, o.utc_offset_minutes,
       o.status, o.status_reason, o.status_time, o.version, o.create_time, o.update_time,
       ARRAY(SELECT h.weekday FROM outlet_hours h WHERE h.outlet_code = o.code ORDER BY h.weekday, h.opens) AS hour_weekdays,
       ARRAY(SELECT h.opens FROM outlet_hours h WHERE h.outlet_code = o.code ORDER BY h.weekday, h.opens) AS hour_opens,
       ARRAY(SELECT h.closes FROM outlet_hours h WHERE h.outlet_code = o.code ORDER BY h.weekday, h.opens) AS hour_closes,
       ARRAY(SELECT c.day FROM outlet_closure c WHERE c.outlet_code = o.code ORDER BY c.day) AS closed_days
FROM outlet o WHERE o.code = :code FOR SHARE;
INSERT INTO lead (id, customer_id, interest, capability, model_code, source, campaign,
    preferred_outlet, latitude, longitude, city, notes, response_window_secs, status, outlet_code,
    respond_before, escalate_time, staff_id, first_contact_time, appointment_time, lost_reason,
    close_time, created_by, version, create_time, update_time)
VALUES ((lpad(:seq::text, 8, '0') || '-' || lpad(:client_id::text, 4, '0') || '-7000-8000-' || :run)::uuid,
        ('00000000-0000-7000-8000-' || lpad(:customer::text, 12, '0'))::uuid,
        'BUY', 'SALES', 'DA7-2026', 'HOTLINE', NULL, NULL, :lat, :lng, '', '', 14400, 'NEW', :code,
        now() + interval '4 hours', NULL, NULL, NULL, NULL, NULL, NULL, 'CALLCENTER', 1, now(), now());
INSERT INTO lead_assignment (lead_id, seq, outlet_code, reason, assign_time, respond_before, distance_km)
VALUES ((lpad(:seq::text, 8, '0') || '-' || lpad(:client_id::text, 4, '0') || '-7000-8000-' || :run)::uuid, 1, :code, 'NEAREST', now(),
        now() + interval '4 hours', :distance_km);
UPDATE idempotency SET response = decode(repeat('5a', 450), 'hex'),
       resource = 'leads/' || (lpad(:seq::text, 8, '0') || '-' || lpad(:client_id::text, 4, '0') || '-7000-8000-' || :run)::uuid::text
WHERE scope = 'CALLCENTER' AND request_id = 'pgbench-' || :run || '-' || :client_id || '-' || :seq;
COMMIT;
