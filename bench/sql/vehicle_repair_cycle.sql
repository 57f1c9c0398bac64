-- repair-cycle: the statements the vehicle service runs for one workshop visit
-- (services/vehicles/src/api/repair.rs and the store functions it calls), one pgbench
-- transaction per cycle of seven service transactions:
--   OpenRepairOrder: the dealers service's outlet check (REPAIR); lock the vehicle; insert the order (customer = the owner); record the
--     check-in reading (store::vehicle::add_odometer_reading + latest_odometer); write the
--     vehicle and its REPAIR_ORDER_OPENED timeline entry (Service::record).
--   AddRepairOrderLine ×3 (1.2 h labour, a filter, 4 L oil; CUSTOMER): lock the order, add
--     the line (numbered in the same INSERT), join open part-batch recalls for parts with a
--     batch (store::recall::add_fitted), write the order, read the lines back.
--   SetRepairOrderStatus IN_PROGRESS, COMPLETED, CLOSED: lock the order, read the lines,
--     COMPLETED and CLOSED also lock the vehicle and add a timeline entry, write the order.
-- Every mutation carries a request id (idempotency begin + finish, 400-byte response).
-- The events go to the outbox in the transaction of their change, as the service writes
-- them: a timeline entry's VehicleChanged at open, completion and close, and the order's
-- RepairOrderClosed at close. Each row carries -D payload (hex): a real VehicleChanged
-- payload of the service's (run_vehicles.sh takes the latest), and all four are typed
-- VehicleChanged, which no consumer reads, so that the consumers stay idle while pgbench
-- runs. -D outbox=0 leaves them out: the cycle's SQL without the outbox.
-- The VIN and the order id come from one extra round trip before the cycle (the server
-- computes the VIN's text and the order's UUIDv7 in-process).
-- Vehicles: one of the older models (m < 16), all DELIVERED, as
-- dealernet_bench::vehicles::random_repairable picks them.
-- Run with: pgbench -n -M prepared -D vehicles=N -D station=S3001 -D outbox=1 -D payload=HEX -f vehicle_repair_cycle.sql
--   (search_path=vehicles). VIN of vehicle n: see vehicle_get.sql.
\set n 20 * random(0, :vehicles / 20 - 1) + random(1, 16)
\set m (:n - 1) % 20
\set mm :m + 1
\set y :m * 9 / 20
\set yv case when :y = 0 then 2 when :y = 1 then 3 when :y = 2 then 4 when :y = 3 then 5 when :y = 4 then 7 when :y = 5 then 9 when :y = 6 then 2 when :y = 7 then 3 else 5 end
\set c (121 + 4 * (:mm / 10) + 3 * (:mm % 10) + 9 * :yv + 8 * (:n / 1000000) + 7 * (:n / 100000 % 10) + 6 * (:n / 10000 % 10) + 5 * (:n / 1000 % 10) + 4 * (:n / 100 % 10) + 3 * (:n / 10 % 10) + 2 * (:n % 10)) % 11
\set r random(1, 9000000000000000000)
\set hi random(0, 4294967295)
\set lo random(0, 281474976710655)
\set km random(200000, 400000)
SELECT 'LDNV' || lpad(:mm::text, 2, '0') || 'B1' || substr('0123456789X', :c + 1, 1) || substr('KLMNPRSTV', :y + 1, 1) || lpad(:n::text, 7, '0') AS vin,
       lpad(to_hex(:hi::bigint), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(:lo::bigint), 12, '0') AS ro \gset
-- OpenRepairOrder: first the dealer network's CheckOutletPermission (REPAIR) for the
-- station — its one statement, in the dealers schema, outside the transaction.
SELECT status, capabilities FROM dealers.outlet WHERE code = :station;
BEGIN;
INSERT INTO idempotency (scope, request_id, method, request_hash)
VALUES (:station, 'pgbench-' || :client_id || '-' || :r || '-open', 'OpenRepairOrder', sha256(('pgbench' || :r || 'open')::bytea))
ON CONFLICT (scope, request_id) DO NOTHING;
SELECT vin, model_code, state, plant, line, built_at, engine_number, colour, holder_outlet, owner_id, odometer_km, version, create_time, update_time, reserved_for, reserved_until, odometer_rollback_suspected FROM vehicle WHERE vin = :vin FOR UPDATE \gset v_
INSERT INTO repair_order (id, vin, station, customer_id, service_advisor, complaint, diagnosis, odometer_km, status, currency_code, opened_at, version, update_time)
VALUES (:ro, :vin, :station, :v_owner_id, 'SA0001', '定期保养', '', :km, 'OPEN', 'CNY', now(), 1, now());
SELECT max(km) FROM odometer_reading WHERE vin = :vin AND at <= now();
UPDATE odometer_reading SET suspected_rollback = true WHERE vin = :vin AND at > now() AND km < :km;
INSERT INTO odometer_reading (vin, at, km, source, suspected_rollback, recorded_by) VALUES (:vin, now(), :km, 'REPAIR_ORDER', false, :station);
SELECT km FROM odometer_reading WHERE vin = :vin ORDER BY at DESC LIMIT 1;
UPDATE vehicle SET state = :v_state, holder_outlet = :v_holder_outlet, owner_id = :v_owner_id, odometer_km = :km,
    reserved_for = NULL, reserved_until = NULL, version = version + 1, update_time = now(), odometer_rollback_suspected = false
WHERE vin = :vin;
SELECT coalesce(max(sequence), 0) + 1 AS seq FROM vehicle_event WHERE vin = :vin \gset
INSERT INTO vehicle_event (vin, sequence, at, action, state_after, actor_org, actor_subject, details)
VALUES (:vin, :seq, now(), 'REPAIR_ORDER_OPENED', :v_state, :station, 'station.advisor', ARRAY['repair_order', 'repairOrders/' || :ro, 'station', :station, 'odometer_km', :km::text]);
\if :outbox
INSERT INTO outbox_event (event_id, aggregate_type, aggregate_id, event_type, payload, outlets, occurred_at, actor, request_id, traceparent)
VALUES ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 19))::uuid,
    'vehicle', 'vehicles/' || :vin, 'VehicleChanged', decode(:payload, 'hex'), '{}', now(), 'S3001/station.advisor', 'pgbench-' || :client_id || '-' || :r || '-open', '');
\endif
UPDATE idempotency SET response = decode(repeat('5a', 400), 'hex'), resource = 'repairOrders/' || :ro
WHERE scope = :station AND request_id = 'pgbench-' || :client_id || '-' || :r || '-open';
COMMIT;
-- AddRepairOrderLine (line0)
BEGIN;
INSERT INTO idempotency (scope, request_id, method, request_hash)
VALUES (:station, 'pgbench-' || :client_id || '-' || :r || '-line0', 'AddRepairOrderLine', sha256(('pgbench' || :r || 'line0')::bytea))
ON CONFLICT (scope, request_id) DO NOTHING;
SELECT id, vin, station, customer_id, service_advisor, complaint, diagnosis, odometer_km, status, currency_code, opened_at, completed_at, closed_at, labour_hundredths, labour_minor, parts_minor, customer_minor, warranty_minor, goodwill_minor, recall_minor, version, update_time FROM repair_order WHERE id = :ro FOR UPDATE;
INSERT INTO repair_order_line (repair_order_id, line_no, kind, pay_type, fault_code, description, operation_code, labour_hundredths, technician, part_number, part_batch, part_serial, quantity, unit_minor, amount_minor, recall_campaign, create_time)
SELECT :ro, coalesce(max(line_no), 0) + 1, 'LABOUR', 'CUSTOMER', '', '更换机油及机油滤清器', 'LOF-01', 120, 'T00001', NULL, NULL, NULL, NULL, 28000, 33600, NULL, now()
FROM repair_order_line WHERE repair_order_id = :ro RETURNING line_no;
UPDATE repair_order SET status = 'OPEN', diagnosis = diagnosis, completed_at = completed_at, closed_at = closed_at,
    labour_hundredths = NULL, labour_minor = NULL, parts_minor = NULL, customer_minor = NULL,
    warranty_minor = NULL, goodwill_minor = NULL, recall_minor = NULL, version = version + 1, update_time = now()
WHERE id = :ro;
SELECT line_no, kind, pay_type, fault_code, description, operation_code, labour_hundredths, technician, part_number, part_batch, part_serial, quantity, unit_minor, amount_minor, recall_campaign FROM repair_order_line WHERE repair_order_id = :ro ORDER BY line_no;
UPDATE idempotency SET response = decode(repeat('5a', 400), 'hex'), resource = 'repairOrders/' || :ro
WHERE scope = :station AND request_id = 'pgbench-' || :client_id || '-' || :r || '-line0';
COMMIT;
-- AddRepairOrderLine (line1)
BEGIN;
INSERT INTO idempotency (scope, request_id, method, request_hash)
VALUES (:station, 'pgbench-' || :client_id || '-' || :r || '-line1', 'AddRepairOrderLine', sha256(('pgbench' || :r || 'line1')::bytea))
ON CONFLICT (scope, request_id) DO NOTHING;
SELECT id, vin, station, customer_id, service_advisor, complaint, diagnosis, odometer_km, status, currency_code, opened_at, completed_at, closed_at, labour_hundredths, labour_minor, parts_minor, customer_minor, warranty_minor, goodwill_minor, recall_minor, version, update_time FROM repair_order WHERE id = :ro FOR UPDATE;
INSERT INTO repair_order_line (repair_order_id, line_no, kind, pay_type, fault_code, description, operation_code, labour_hundredths, technician, part_number, part_batch, part_serial, quantity, unit_minor, amount_minor, recall_campaign, create_time)
SELECT :ro, coalesce(max(line_no), 0) + 1, 'PART', 'CUSTOMER', '', '机油滤清器', NULL, NULL, NULL, '15400-DN-003', 'B2611-01', '', 1, 4800, 4800, NULL, now()
FROM repair_order_line WHERE repair_order_id = :ro RETURNING line_no;
INSERT INTO recall_vehicle (campaign_code, vin)
SELECT code, :vin FROM recall_campaign
WHERE selection = 'PART_BATCH' AND status = 'OPEN' AND part_number = '15400-DN-003' AND part_batch = 'B2611-01'
ON CONFLICT DO NOTHING RETURNING campaign_code;
UPDATE repair_order SET status = 'OPEN', diagnosis = diagnosis, completed_at = completed_at, closed_at = closed_at,
    labour_hundredths = NULL, labour_minor = NULL, parts_minor = NULL, customer_minor = NULL,
    warranty_minor = NULL, goodwill_minor = NULL, recall_minor = NULL, version = version + 1, update_time = now()
WHERE id = :ro;
SELECT line_no, kind, pay_type, fault_code, description, operation_code, labour_hundredths, technician, part_number, part_batch, part_serial, quantity, unit_minor, amount_minor, recall_campaign FROM repair_order_line WHERE repair_order_id = :ro ORDER BY line_no;
UPDATE idempotency SET response = decode(repeat('5a', 400), 'hex'), resource = 'repairOrders/' || :ro
WHERE scope = :station AND request_id = 'pgbench-' || :client_id || '-' || :r || '-line1';
COMMIT;
-- AddRepairOrderLine (line2)
BEGIN;
INSERT INTO idempotency (scope, request_id, method, request_hash)
VALUES (:station, 'pgbench-' || :client_id || '-' || :r || '-line2', 'AddRepairOrderLine', sha256(('pgbench' || :r || 'line2')::bytea))
ON CONFLICT (scope, request_id) DO NOTHING;
SELECT id, vin, station, customer_id, service_advisor, complaint, diagnosis, odometer_km, status, currency_code, opened_at, completed_at, closed_at, labour_hundredths, labour_minor, parts_minor, customer_minor, warranty_minor, goodwill_minor, recall_minor, version, update_time FROM repair_order WHERE id = :ro FOR UPDATE;
INSERT INTO repair_order_line (repair_order_id, line_no, kind, pay_type, fault_code, description, operation_code, labour_hundredths, technician, part_number, part_batch, part_serial, quantity, unit_minor, amount_minor, recall_campaign, create_time)
SELECT :ro, coalesce(max(line_no), 0) + 1, 'PART', 'CUSTOMER', '', '机油 5W-30 1L', NULL, NULL, NULL, '08880-DN-5W30', 'B2611-01', '', 4, 6500, 26000, NULL, now()
FROM repair_order_line WHERE repair_order_id = :ro RETURNING line_no;
INSERT INTO recall_vehicle (campaign_code, vin)
SELECT code, :vin FROM recall_campaign
WHERE selection = 'PART_BATCH' AND status = 'OPEN' AND part_number = '08880-DN-5W30' AND part_batch = 'B2611-01'
ON CONFLICT DO NOTHING RETURNING campaign_code;
UPDATE repair_order SET status = 'OPEN', diagnosis = diagnosis, completed_at = completed_at, closed_at = closed_at,
    labour_hundredths = NULL, labour_minor = NULL, parts_minor = NULL, customer_minor = NULL,
    warranty_minor = NULL, goodwill_minor = NULL, recall_minor = NULL, version = version + 1, update_time = now()
WHERE id = :ro;
SELECT line_no, kind, pay_type, fault_code, description, operation_code, labour_hundredths, technician, part_number, part_batch, part_serial, quantity, unit_minor, amount_minor, recall_campaign FROM repair_order_line WHERE repair_order_id = :ro ORDER BY line_no;
UPDATE idempotency SET response = decode(repeat('5a', 400), 'hex'), resource = 'repairOrders/' || :ro
WHERE scope = :station AND request_id = 'pgbench-' || :client_id || '-' || :r || '-line2';
COMMIT;
-- SetRepairOrderStatus IN_PROGRESS
BEGIN;
INSERT INTO idempotency (scope, request_id, method, request_hash)
VALUES (:station, 'pgbench-' || :client_id || '-' || :r || '-progress', 'SetRepairOrderStatus', sha256(('pgbench' || :r || 'progress')::bytea))
ON CONFLICT (scope, request_id) DO NOTHING;
SELECT id, vin, station, customer_id, service_advisor, complaint, diagnosis, odometer_km, status, currency_code, opened_at, completed_at, closed_at, labour_hundredths, labour_minor, parts_minor, customer_minor, warranty_minor, goodwill_minor, recall_minor, version, update_time FROM repair_order WHERE id = :ro FOR UPDATE;
SELECT line_no, kind, pay_type, fault_code, description, operation_code, labour_hundredths, technician, part_number, part_batch, part_serial, quantity, unit_minor, amount_minor, recall_campaign FROM repair_order_line WHERE repair_order_id = :ro ORDER BY line_no;
UPDATE repair_order SET status = 'IN_PROGRESS', diagnosis = diagnosis, completed_at = completed_at, closed_at = closed_at,
    labour_hundredths = NULL, labour_minor = NULL, parts_minor = NULL, customer_minor = NULL,
    warranty_minor = NULL, goodwill_minor = NULL, recall_minor = NULL, version = version + 1, update_time = now()
WHERE id = :ro;
UPDATE idempotency SET response = decode(repeat('5a', 400), 'hex'), resource = 'repairOrders/' || :ro
WHERE scope = :station AND request_id = 'pgbench-' || :client_id || '-' || :r || '-progress';
COMMIT;
-- SetRepairOrderStatus COMPLETED (no recall lines: nothing to remedy)
BEGIN;
INSERT INTO idempotency (scope, request_id, method, request_hash)
VALUES (:station, 'pgbench-' || :client_id || '-' || :r || '-complete', 'SetRepairOrderStatus', sha256(('pgbench' || :r || 'complete')::bytea))
ON CONFLICT (scope, request_id) DO NOTHING;
SELECT id, vin, station, customer_id, service_advisor, complaint, diagnosis, odometer_km, status, currency_code, opened_at, completed_at, closed_at, labour_hundredths, labour_minor, parts_minor, customer_minor, warranty_minor, goodwill_minor, recall_minor, version, update_time FROM repair_order WHERE id = :ro FOR UPDATE;
SELECT line_no, kind, pay_type, fault_code, description, operation_code, labour_hundredths, technician, part_number, part_batch, part_serial, quantity, unit_minor, amount_minor, recall_campaign FROM repair_order_line WHERE repair_order_id = :ro ORDER BY line_no;
SELECT vin, model_code, state, plant, line, built_at, engine_number, colour, holder_outlet, owner_id, odometer_km, version, create_time, update_time, reserved_for, reserved_until, odometer_rollback_suspected FROM vehicle WHERE vin = :vin FOR UPDATE \gset v_
UPDATE vehicle SET state = :v_state, holder_outlet = :v_holder_outlet, owner_id = :v_owner_id, odometer_km = :km,
    reserved_for = NULL, reserved_until = NULL, version = version + 1, update_time = now(), odometer_rollback_suspected = false
WHERE vin = :vin;
SELECT coalesce(max(sequence), 0) + 1 AS seq FROM vehicle_event WHERE vin = :vin \gset
INSERT INTO vehicle_event (vin, sequence, at, action, state_after, actor_org, actor_subject, details)
VALUES (:vin, :seq, now(), 'REPAIR_ORDER_COMPLETED', :v_state, :station, 'station.advisor', ARRAY['repair_order', 'repairOrders/' || :ro, 'station', :station, 'diagnosis', '按保养手册完成定期保养，车辆状况良好', 'line_1', 'labour LOF-01 by T00001', 'line_2', 'part 15400-DN-003 × 1', 'line_3', 'part 08880-DN-5W30 × 4']);
UPDATE repair_order SET status = 'COMPLETED', diagnosis = '按保养手册完成定期保养，车辆状况良好', completed_at = now(), closed_at = closed_at,
    labour_hundredths = NULL, labour_minor = NULL, parts_minor = NULL, customer_minor = NULL,
    warranty_minor = NULL, goodwill_minor = NULL, recall_minor = NULL, version = version + 1, update_time = now()
WHERE id = :ro;
\if :outbox
INSERT INTO outbox_event (event_id, aggregate_type, aggregate_id, event_type, payload, outlets, occurred_at, actor, request_id, traceparent)
VALUES ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 19))::uuid,
    'vehicle', 'vehicles/' || :vin, 'VehicleChanged', decode(:payload, 'hex'), '{}', now(), 'S3001/station.advisor', 'pgbench-' || :client_id || '-' || :r || '-complete', '');
\endif
UPDATE idempotency SET response = decode(repeat('5a', 400), 'hex'), resource = 'repairOrders/' || :ro
WHERE scope = :station AND request_id = 'pgbench-' || :client_id || '-' || :r || '-complete';
COMMIT;
-- SetRepairOrderStatus CLOSED (the totals are summed in the service from the lines read)
BEGIN;
INSERT INTO idempotency (scope, request_id, method, request_hash)
VALUES (:station, 'pgbench-' || :client_id || '-' || :r || '-close', 'SetRepairOrderStatus', sha256(('pgbench' || :r || 'close')::bytea))
ON CONFLICT (scope, request_id) DO NOTHING;
SELECT id, vin, station, customer_id, service_advisor, complaint, diagnosis, odometer_km, status, currency_code, opened_at, completed_at, closed_at, labour_hundredths, labour_minor, parts_minor, customer_minor, warranty_minor, goodwill_minor, recall_minor, version, update_time FROM repair_order WHERE id = :ro FOR UPDATE;
SELECT line_no, kind, pay_type, fault_code, description, operation_code, labour_hundredths, technician, part_number, part_batch, part_serial, quantity, unit_minor, amount_minor, recall_campaign FROM repair_order_line WHERE repair_order_id = :ro ORDER BY line_no;
SELECT vin, model_code, state, plant, line, built_at, engine_number, colour, holder_outlet, owner_id, odometer_km, version, create_time, update_time, reserved_for, reserved_until, odometer_rollback_suspected FROM vehicle WHERE vin = :vin FOR UPDATE \gset v_
UPDATE vehicle SET state = :v_state, holder_outlet = :v_holder_outlet, owner_id = :v_owner_id, odometer_km = :km,
    reserved_for = NULL, reserved_until = NULL, version = version + 1, update_time = now(), odometer_rollback_suspected = false
WHERE vin = :vin;
SELECT coalesce(max(sequence), 0) + 1 AS seq FROM vehicle_event WHERE vin = :vin \gset
INSERT INTO vehicle_event (vin, sequence, at, action, state_after, actor_org, actor_subject, details)
VALUES (:vin, :seq, now(), 'REPAIR_ORDER_CLOSED', :v_state, :station, 'station.advisor', ARRAY['repair_order', 'repairOrders/' || :ro, 'station', :station, 'total_minor', '64400', 'currency_code', 'CNY']);
UPDATE repair_order SET status = 'CLOSED', diagnosis = diagnosis, completed_at = completed_at, closed_at = now(),
    labour_hundredths = 120, labour_minor = 33600, parts_minor = 30800, customer_minor = 64400,
    warranty_minor = 0, goodwill_minor = 0, recall_minor = 0, version = version + 1, update_time = now()
WHERE id = :ro;
INSERT INTO part_failure_month (month, model_code, part_number, lines, quantity)
SELECT date_trunc('month', (now() AT TIME ZONE 'UTC') + interval '8 hours')::date, :v_model_code, part_number, count(*), sum(quantity)
FROM repair_order_line WHERE repair_order_id = :ro AND kind = 'PART'
GROUP BY part_number ORDER BY part_number
ON CONFLICT (month, model_code, part_number) DO UPDATE SET
    lines = part_failure_month.lines + excluded.lines, quantity = part_failure_month.quantity + excluded.quantity;
\if :outbox
INSERT INTO outbox_event (event_id, aggregate_type, aggregate_id, event_type, payload, outlets, occurred_at, actor, request_id, traceparent)
VALUES ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 19))::uuid,
    'vehicle', 'vehicles/' || :vin, 'VehicleChanged', decode(:payload, 'hex'), '{}', now(), 'S3001/station.advisor', 'pgbench-' || :client_id || '-' || :r || '-close', '');
\endif
\if :outbox
INSERT INTO outbox_event (event_id, aggregate_type, aggregate_id, event_type, payload, outlets, occurred_at, actor, request_id, traceparent)
VALUES ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 19))::uuid,
    'repairOrder', 'repairOrders/' || :ro, 'VehicleChanged', decode(:payload, 'hex'), ARRAY[:station], now(), 'S3001/station.advisor', 'pgbench-' || :client_id || '-' || :r || '-close', '');
\endif
UPDATE idempotency SET response = decode(repeat('5a', 400), 'hex'), resource = 'repairOrders/' || :ro
WHERE scope = :station AND request_id = 'pgbench-' || :client_id || '-' || :r || '-close';
COMMIT;
