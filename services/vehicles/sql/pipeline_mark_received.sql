-- store::vehicle::mark_received: closes a vehicle's open shipment and, if no outlet
-- holds it (an override left it so), moves its pipeline count from the destination it
-- was heading for to no outlet. A received car usually has its holder set already, and
-- then nothing moves. $1 shipment id, $2 vin, $3 received at.
WITH received AS (
    UPDATE shipment_vehicle SET received_at = $3
    WHERE shipment_id = $1 AND vin = $2 AND received_at IS NULL
    RETURNING vin
), car AS (
    SELECT v.state, v.model_code FROM vehicle v JOIN received USING (vin) WHERE v.holder_outlet = ''
), moves AS (
    SELECT c.state, c.model_code, s.destination_outlet AS outlet, -1 AS n FROM car c JOIN shipment s ON s.id = $1
    UNION ALL
    SELECT state, model_code, '', 1 FROM car
)
INSERT INTO pipeline_count (state, model_code, outlet_code, vehicles)
SELECT state, model_code, outlet, sum(n)
FROM moves
GROUP BY 1, 2, 3
HAVING sum(n) <> 0
ORDER BY 1, 2, 3
ON CONFLICT (state, model_code, outlet_code)
DO UPDATE SET vehicles = pipeline_count.vehicles + excluded.vehicles
