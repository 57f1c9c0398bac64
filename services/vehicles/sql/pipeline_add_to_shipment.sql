-- store::vehicle::add_to_shipment: puts a vehicle on a shipment and, if no outlet holds
-- it, moves its pipeline count from no outlet to the shipment's destination (a car has
-- one open shipment at most, so before this it had none to head for).
-- $1 shipment id, $2 vin.
WITH added AS (
    INSERT INTO shipment_vehicle (shipment_id, vin) VALUES ($1, $2) RETURNING vin
), car AS (
    SELECT v.state, v.model_code FROM vehicle v JOIN added USING (vin) WHERE v.holder_outlet = ''
), moves AS (
    SELECT state, model_code, '' AS outlet, -1 AS n FROM car
    UNION ALL
    SELECT c.state, c.model_code, s.destination_outlet, 1 FROM car c JOIN shipment s ON s.id = $1
)
INSERT INTO pipeline_count (state, model_code, outlet_code, vehicles)
SELECT state, model_code, outlet, sum(n)
FROM moves
GROUP BY 1, 2, 3
HAVING sum(n) <> 0
ORDER BY 1, 2, 3
ON CONFLICT (state, model_code, outlet_code)
DO UPDATE SET vehicles = pipeline_count.vehicles + excluded.vehicles
