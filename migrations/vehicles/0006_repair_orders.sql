-- Repair orders of service stations, and their lines. Money is in minor units of the
-- order's currency; labour hours in hundredths.
CREATE TABLE repair_order (
    id              uuid PRIMARY KEY,
    vin             text NOT NULL REFERENCES vehicle (vin),
    station         text NOT NULL,
    customer_id     uuid,                -- the owner when opened, unless another was named
    service_advisor text NOT NULL,
    complaint       text NOT NULL,
    diagnosis       text NOT NULL DEFAULT '',
    odometer_km     bigint NOT NULL CHECK (odometer_km >= 0),
    status          text NOT NULL CHECK (status IN
                        ('OPEN', 'IN_PROGRESS', 'WAITING_PARTS', 'COMPLETED', 'CLOSED')),
    currency_code   text NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
    opened_at       timestamptz NOT NULL,
    completed_at    timestamptz,
    closed_at       timestamptz,
    -- Totals, written when the order closes.
    labour_hundredths bigint,
    labour_minor    bigint,
    parts_minor     bigint,
    customer_minor  bigint,
    warranty_minor  bigint,
    goodwill_minor  bigint,
    recall_minor    bigint,
    version         bigint NOT NULL DEFAULT 1,
    update_time     timestamptz NOT NULL
);
CREATE INDEX repair_order_vin ON repair_order (vin, opened_at);
CREATE INDEX repair_order_station ON repair_order (station, opened_at);
CREATE INDEX repair_order_customer ON repair_order (customer_id, opened_at) WHERE customer_id IS NOT NULL;
CREATE INDEX repair_order_opened ON repair_order (opened_at);

-- A line is labour (operation, hours, technician, hourly rate) or a part (number,
-- batch/serial, quantity, unit price); `amount_minor` is computed when it is added.
CREATE TABLE repair_order_line (
    repair_order_id uuid NOT NULL REFERENCES repair_order (id),
    line_no         integer NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('LABOUR', 'PART')),
    pay_type        text NOT NULL CHECK (pay_type IN ('CUSTOMER', 'WARRANTY', 'GOODWILL', 'RECALL')),
    fault_code      text NOT NULL,
    description     text NOT NULL,
    operation_code  text,
    labour_hundredths integer CHECK (labour_hundredths > 0),
    technician      text,
    part_number     text,
    part_batch      text,
    part_serial     text,
    quantity        integer CHECK (quantity > 0),
    unit_minor      bigint NOT NULL CHECK (unit_minor >= 0),
    amount_minor    bigint NOT NULL CHECK (amount_minor >= 0),
    recall_campaign text,
    create_time     timestamptz NOT NULL,
    PRIMARY KEY (repair_order_id, line_no),
    CHECK ((kind = 'LABOUR') = (operation_code IS NOT NULL AND technician IS NOT NULL AND labour_hundredths IS NOT NULL)),
    CHECK ((kind = 'PART') = (part_number IS NOT NULL AND quantity IS NOT NULL)),
    CHECK ((pay_type = 'RECALL') = (recall_campaign IS NOT NULL))
);
-- Recall selection by a fitted part batch.
CREATE INDEX repair_order_line_part ON repair_order_line (part_number, part_batch) WHERE kind = 'PART';
