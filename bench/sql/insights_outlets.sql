-- Puts the vehicle bench's outlets (dealers D1000…D2999, stations S3000…S3999) into the
-- dealer network with one of seven sales regions, so that the insights resolve regions as
-- in production (about 3,000 outlets: three ListOutlets pages). Each is a copy of the
-- first existing outlet (dev mode's demo network) under its own code; codes already there
-- stay as they are. Run with search_path dealers.
INSERT INTO outlet (code, display_name, group_code, region, province, city, district, street,
       postal_code, region_code, latitude, longitude, capabilities, brands, phone,
       utc_offset_minutes, status, status_reason, status_time, version, create_time, update_time)
SELECT x.code, 'Bench ' || x.code, NULL,
       (ARRAY['EAST', 'NORTH', 'SOUTH', 'CENTRAL', 'SOUTHWEST', 'NORTHWEST', 'NORTHEAST'])[1 + n % 7],
       o.province, o.city, o.district, o.street, o.postal_code, o.region_code, o.latitude, o.longitude,
       CASE WHEN n < 3000 THEN ARRAY['SALES', 'SERVICE', 'PARTS', 'SURVEY'] ELSE ARRAY['SERVICE', 'PARTS'] END,
       o.brands, o.phone, o.utc_offset_minutes, 'ACTIVE', '', now(), 1, now(), now()
FROM (SELECT * FROM outlet ORDER BY code LIMIT 1) o,
     generate_series(1000, 3999) AS n,
     LATERAL (SELECT CASE WHEN n < 3000 THEN 'D' ELSE 'S' END || n AS code) x
ON CONFLICT (code) DO NOTHING;
