-- store::vehicle::update: writes what actions change on a vehicle and, when its state or
-- holder changed, moves it from its old pipeline count to its new one. Every part of the
-- statement sees the snapshot from before the UPDATE, so `before` is the old row.
-- $1 vin, $2 state, $3 holder_outlet, $4 owner_id, $5 odometer_km, $6 reserved_for,
-- $7 reserved_until, $8 version, $9 update_time, $10 odometer_rollback_suspected.
WITH before AS (
    SELECT state, model_code, holder_outlet FROM vehicle WHERE vin = $1
), after AS (
    UPDATE vehicle SET state = $2, holder_outlet = $3, owner_id = $4, odometer_km = $5,
           reserved_for = $6, reserved_until = $7, version = $8, update_time = $9,
           odometer_rollback_suspected = $10
    WHERE vin = $1
    RETURNING state, model_code, holder_outlet
), heading AS (
    -- The destination of the car's open shipment, which this statement leaves alone.
    SELECT s.destination_outlet
    FROM shipment_vehicle sv JOIN shipment s ON s.id = sv.shipment_id
    WHERE sv.vin = $1 AND sv.received_at IS NULL
), moves AS (
    SELECT b.state, b.model_code,
           CASE WHEN b.holder_outlet <> '' THEN b.holder_outlet ELSE coalesce(h.destination_outlet, '') END AS outlet,
           -1 AS n
    FROM before b LEFT JOIN heading h ON true
    UNION ALL
    SELECT a.state, a.model_code,
           CASE WHEN a.holder_outlet <> '' THEN a.holder_outlet ELSE coalesce(h.destination_outlet, '') END,
           1
    FROM after a LEFT JOIN heading h ON true
)
-- Nothing is written when the car stays where it was (the -1 and +1 cancel); rows are
-- taken in key order so that concurrent statements lock counts in one order.
INSERT INTO pipeline_count (state, model_code, outlet_code, vehicles)
SELECT state, model_code, outlet, sum(n)
FROM moves
GROUP BY 1, 2, 3
HAVING sum(n) <> 0
ORDER BY 1, 2, 3
ON CONFLICT (state, model_code, outlet_code)
DO UPDATE SET vehicles = pipeline_count.vehicles + excluded.vehicles
