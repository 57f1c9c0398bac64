-- Counts the insight aggregates afresh from the rows (as migration 0011 does), for
-- loaders that COPY rows past the service's statements (the bench data generator).
-- One transaction; the caller runs it after its last COPY.
DELETE FROM pipeline_count;
DELETE FROM part_failure_month;

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
