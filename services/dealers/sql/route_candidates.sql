-- The router's candidates: ACTIVE outlets with the lead's capability nearest to the
-- customer that have not had the lead yet, with their load (open leads), nearest first.
--   $1, $2  customer latitude, longitude       $7  capability
--   $3, $4  bounding box latitude range        $8  radius in km
--   $5, $6  bounding box longitude range       $9  how many
--   $10     outlet codes that already had the lead
SELECT c.code, c.distance_km,
       -- Counted only for the few rows that survive the LIMIT (partial index on open leads).
       (SELECT count(*) FROM lead l
        WHERE l.outlet_code = c.code AND l.status IN ('NEW', 'CONTACTED', 'APPOINTMENT')) AS open_leads
FROM (
    SELECT o.code,
           2 * 6371.0088 * asin(least(1, sqrt(
               power(sin(radians(o.latitude - $1) / 2), 2)
               + cos(radians($1)) * cos(radians(o.latitude))
                 * power(sin(radians(o.longitude - $2) / 2), 2)))) AS distance_km
    FROM outlet o
    WHERE o.latitude BETWEEN $3 AND $4
      AND o.longitude BETWEEN $5 AND $6
      AND o.status = 'ACTIVE'
      AND $7 = ANY (o.capabilities)
      AND NOT (o.code = ANY ($10::text[]))
) c
WHERE c.distance_km <= $8
ORDER BY c.distance_km, c.code
LIMIT $9
