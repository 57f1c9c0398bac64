-- LocateOutlets of the 10 nearest SALES outlets within 25 km of a point, statement for
-- statement as api::locator runs it for such a request: one query, services/dealers/sql/
-- locate.sql with the outlet columns of sql/outlet_columns.sql, $1…$9 as named below.
-- Origins: one of twelve big cities uniformly, then uniformly within ±0.15° of its
-- centre, as dealers_loadgen draws them. The bounding box is the one the service computes
-- (domain::geo::BoundingBox::around); its longitude half-width is precomputed per city at
-- the most polar sampled latitude, so it is a hair wider for points nearer the equator —
-- the same exact-distance filter decides, so the rows returned are the same.
-- Every value the service binds is a parameter here too (-M prepared); the capability
-- comes from the command line: -D cap=SALES.
\set radius 25
\set lim 10
\set c random(1, 12)
\if :c = 1
\set lat0 39.9042
\set lng0 116.4074
\set dlng 0.293729
\elif :c = 2
\set lat0 31.2304
\set lng0 121.4737
\set dlng 0.263351
\elif :c = 3
\set lat0 23.1291
\set lng0 113.2644
\set dlng 0.244756
\elif :c = 4
\set lat0 22.5431
\set lng0 114.0579
\set dlng 0.243696
\elif :c = 5
\set lat0 30.5728
\set lng0 104.0668
\set dlng 0.261537
\elif :c = 6
\set lat0 30.2741
\set lng0 120.1551
\set dlng 0.260733
\elif :c = 7
\set lat0 29.563
\set lng0 106.5516
\set dlng 0.258866
\elif :c = 8
\set lat0 32.0603
\set lng0 118.7969
\set dlng 0.265726
\elif :c = 9
\set lat0 31.299
\set lng0 120.5853
\set dlng 0.263544
\elif :c = 10
\set lat0 30.5928
\set lng0 114.3055
\set dlng 0.261592
\elif :c = 11
\set lat0 39.3434
\set lng0 117.3616
\set dlng 0.291345
\elif :c = 12
\set lat0 34.3416
\set lng0 108.9398
\set dlng 0.272783
\endif
\set lat :lat0 + random(-150000, 150000) / 1000000.0
\set lng :lng0 + random(-150000, 150000) / 1000000.0
\set lat_min :lat - 0.224830
\set lat_max :lat + 0.224830
\set lng_min :lng - :dlng
\set lng_max :lng + :dlng
WITH near AS (
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
), chosen AS (
    SELECT near.code, near.distance_km
    FROM near
    WHERE near.distance_km <= :radius
    ORDER BY near.distance_km, near.code
    LIMIT :lim
)
SELECT
       o.code, o.display_name, o.group_code, o.region,
       o.province, o.city, o.district, o.street, o.postal_code, o.region_code,
       o.latitude, o.longitude, o.capabilities, o.brands, o.phone, o.utc_offset_minutes,
       o.status, o.status_reason, o.status_time, o.version, o.create_time, o.update_time,
       ARRAY(SELECT h.weekday FROM outlet_hours h WHERE h.outlet_code = o.code ORDER BY h.weekday, h.opens) AS hour_weekdays,
       ARRAY(SELECT h.opens FROM outlet_hours h WHERE h.outlet_code = o.code ORDER BY h.weekday, h.opens) AS hour_opens,
       ARRAY(SELECT h.closes FROM outlet_hours h WHERE h.outlet_code = o.code ORDER BY h.weekday, h.opens) AS hour_closes,
       ARRAY(SELECT c.day FROM outlet_closure c WHERE c.outlet_code = o.code ORDER BY c.day) AS closed_days,
       chosen.distance_km
FROM chosen
JOIN outlet o ON o.code = chosen.code
ORDER BY chosen.distance_km, o.code;
