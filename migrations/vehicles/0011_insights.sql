-- HQ insights read maintained aggregates instead of scanning millions of vehicles and
-- repair lines. The service shifts them in the statement that changes what they count
-- (store/pipeline.rs, store/insights.rs), so they are exact at every commit. Months are
-- local (+08:00) calendar months, as the call center's complaint periods are.

-- Vehicles by pipeline position. `outlet_code` is the outlet holding the car, else the
-- destination of its open shipment (the outlet it is heading for), else ''.
CREATE TABLE pipeline_count (
    state       text NOT NULL,
    model_code  text NOT NULL,
    outlet_code text NOT NULL,
    vehicles    bigint NOT NULL,
    PRIMARY KEY (state, model_code, outlet_code)
);

-- Part lines of closed repair orders by the car's model, the part and the month the
-- order closed.
CREATE TABLE part_failure_month (
    month       date NOT NULL,
    model_code  text NOT NULL,
    part_number text NOT NULL,
    lines       bigint NOT NULL,
    quantity    bigint NOT NULL,
    PRIMARY KEY (month, model_code, part_number)
);

-- A deployment with data is counted once here (the bench loader runs the same
-- statements after its COPY: services/vehicles/sql/insights_refill.sql).
INSERT INTO pipeline_count (state, model_code, outlet_code, vehicles)
SELECT v.state, v.model_code,
       CASE WHEN v.holder_outlet <> '' THEN v.holder_outlet ELSE coalesce(s.destination_outlet, '') END,
       count(*)
FROM vehicle v
LEFT JOIN shipment_vehicle sv ON sv.vin = v.vin AND sv.received_at IS NULL
LEFT JOIN shipment s ON s.id = sv.shipment_id
GROUP BY 1, 2, 3;

INSERT INTO part_failure_month (month, model_code, part_number, lines, quantity)
SELECT date_trunc('month', (o.closed_at AT TIME ZONE 'UTC') + interval '8 hours')::date,
       v.model_code, l.part_number, count(*), sum(l.quantity)
FROM repair_order o
JOIN repair_order_line l ON l.repair_order_id = o.id
JOIN vehicle v ON v.vin = o.vin
WHERE o.status = 'CLOSED' AND l.kind = 'PART'
GROUP BY 1, 2, 3;
