-- LocateOutlets: the ACTIVE outlets with a capability nearest to a point, without PostGIS.
--   $1, $2  origin latitude, longitude (degrees)
--   $3, $4  bounding-box latitude range   } the box holds the circle of radius $8, so
--   $5, $6  bounding-box longitude range  } the (latitude, longitude) index prefilters
--   $7      capability ('SALES', 'SERVICE', 'PARTS' or 'SURVEY')
--   $8      radius in km
--   $9      how many
WITH near AS (
    SELECT o.code,
           -- Haversine, mean earth radius 6371.0088 km (as domain::geo::haversine_km).
           2 * 6371.0088 * asin(least(1, sqrt(
               power(sin(radians(o.latitude - $1) / 2), 2)
               + cos(radians($1)) * cos(radians(o.latitude))
                 * power(sin(radians(o.longitude - $2) / 2), 2)))) AS distance_km
    FROM outlet o
    WHERE o.latitude BETWEEN $3 AND $4      -- index range
      AND o.longitude BETWEEN $5 AND $6     -- checked inside the same index
      AND o.status = 'ACTIVE'
      AND $7 = ANY (o.capabilities)
), chosen AS (
    SELECT near.code, near.distance_km
    FROM near
    WHERE near.distance_km <= $8           -- the box's corners lie outside the circle
    ORDER BY near.distance_km, near.code
    LIMIT $9
)
-- Whole outlets only for the chosen few.
SELECT {outlet_columns},
       chosen.distance_km
FROM chosen
JOIN outlet o ON o.code = chosen.code
ORDER BY chosen.distance_km, o.code
