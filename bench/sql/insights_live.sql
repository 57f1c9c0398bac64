-- What the maintained aggregates replace: the same answers counted live from the rows,
-- each run twice (the second warm), timed by psql (\timing). Not run by the service.
\timing on
\echo live pipeline (vehicle LEFT JOIN open shipments, GROUP BY state, model, outlet)
SELECT count(*) FROM (
    SELECT v.state, v.model_code,
           CASE WHEN v.holder_outlet <> '' THEN v.holder_outlet ELSE coalesce(s.destination_outlet, '') END, count(*)
    FROM vehicles.vehicle v
    LEFT JOIN vehicles.shipment_vehicle sv ON sv.vin = v.vin AND sv.received_at IS NULL
    LEFT JOIN vehicles.shipment s ON s.id = sv.shipment_id
    GROUP BY 1, 2, 3) g;
SELECT count(*) FROM (
    SELECT v.state, v.model_code,
           CASE WHEN v.holder_outlet <> '' THEN v.holder_outlet ELSE coalesce(s.destination_outlet, '') END, count(*)
    FROM vehicles.vehicle v
    LEFT JOIN vehicles.shipment_vehicle sv ON sv.vin = v.vin AND sv.received_at IS NULL
    LEFT JOIN vehicles.shipment s ON s.id = sv.shipment_id
    GROUP BY 1, 2, 3) g;
\echo live part failures (closed orders JOIN lines JOIN vehicle, GROUP BY month, model, part)
SELECT count(*) FROM (
    SELECT date_trunc('month', (o.closed_at AT TIME ZONE 'UTC') + interval '8 hours')::date, v.model_code, l.part_number, count(*)
    FROM vehicles.repair_order o JOIN vehicles.repair_order_line l ON l.repair_order_id = o.id
    JOIN vehicles.vehicle v ON v.vin = o.vin
    WHERE o.status = 'CLOSED' AND l.kind = 'PART' GROUP BY 1, 2, 3) g;
SELECT count(*) FROM (
    SELECT date_trunc('month', (o.closed_at AT TIME ZONE 'UTC') + interval '8 hours')::date, v.model_code, l.part_number, count(*)
    FROM vehicles.repair_order o JOIN vehicles.repair_order_line l ON l.repair_order_id = o.id
    JOIN vehicles.vehicle v ON v.vin = o.vin
    WHERE o.status = 'CLOSED' AND l.kind = 'PART' GROUP BY 1, 2, 3) g;
\echo live complaint trends (support_case GROUP BY month, category, model)
SELECT count(*) FROM (
    SELECT date_trunc('month', (create_time AT TIME ZONE 'UTC') + interval '8 hours')::date, category, model_code, count(*)
    FROM callcenter.support_case WHERE case_type = 'COMPLAINT' GROUP BY 1, 2, 3) g;
SELECT count(*) FROM (
    SELECT date_trunc('month', (create_time AT TIME ZONE 'UTC') + interval '8 hours')::date, category, model_code, count(*)
    FROM callcenter.support_case WHERE case_type = 'COMPLAINT' GROUP BY 1, 2, 3) g;
\echo aggregates equal the live counts (each must say t)
SELECT (SELECT array_agg(x ORDER BY x) FROM (SELECT (state, model_code, outlet_code, vehicles)::text AS x FROM vehicles.pipeline_count WHERE vehicles <> 0) a)
     = (SELECT array_agg(x ORDER BY x) FROM (
           SELECT (state, model_code, outlet, count(*))::text AS x FROM (
               SELECT v.state, v.model_code,
                      CASE WHEN v.holder_outlet <> '' THEN v.holder_outlet ELSE coalesce(s.destination_outlet, '') END AS outlet
               FROM vehicles.vehicle v
               LEFT JOIN vehicles.shipment_vehicle sv ON sv.vin = v.vin AND sv.received_at IS NULL
               LEFT JOIN vehicles.shipment s ON s.id = sv.shipment_id) r
           GROUP BY state, model_code, outlet) b) AS pipeline_equal;
SELECT (SELECT sum(lines) FROM vehicles.part_failure_month)
     = (SELECT count(*) FROM vehicles.repair_order o JOIN vehicles.repair_order_line l ON l.repair_order_id = o.id
        WHERE o.status = 'CLOSED' AND l.kind = 'PART') AS part_lines_equal;
SELECT (SELECT sum(complaints) FROM callcenter.complaint_month)
     = (SELECT count(*) FROM callcenter.support_case WHERE case_type = 'COMPLAINT') AS complaints_equal;
