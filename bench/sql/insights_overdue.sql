-- ListOverdueTransits, first page of 50 and its total: store::insights::overdue and
-- count_overdue without filters.
SELECT sv.vin, v.model_code, s.id AS shipment, s.destination_outlet, s.eta
FROM shipment_vehicle sv JOIN shipment s ON s.id = sv.shipment_id JOIN vehicle v ON v.vin = sv.vin
WHERE sv.received_at IS NULL AND v.state = 'IN_TRANSIT' AND s.eta < now()
  AND (NULL::text IS NULL OR v.model_code = NULL) AND (NULL::text[] IS NULL OR s.destination_outlet = ANY(NULL::text[]))
  AND (NULL::timestamptz IS NULL OR (s.eta, sv.vin) > (NULL::timestamptz, NULL::text))
ORDER BY s.eta, sv.vin LIMIT 51;
SELECT count(*)
FROM shipment_vehicle sv JOIN shipment s ON s.id = sv.shipment_id JOIN vehicle v ON v.vin = sv.vin
WHERE sv.received_at IS NULL AND v.state = 'IN_TRANSIT' AND s.eta < now()
  AND (NULL::text IS NULL OR v.model_code = NULL) AND (NULL::text[] IS NULL OR s.destination_outlet = ANY(NULL::text[]));
