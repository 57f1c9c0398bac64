-- Odometer readings from every source; a reading below an earlier one is kept but
-- flagged, and the vehicle shows that a rollback is suspected.
CREATE TABLE odometer_reading (
    vin                text NOT NULL REFERENCES vehicle (vin),
    at                 timestamptz NOT NULL,
    km                 bigint NOT NULL CHECK (km >= 0),
    source             text NOT NULL CHECK (source IN ('DELIVERY', 'REPAIR_ORDER', 'INSPECTION', 'TELEMATICS')),
    suspected_rollback boolean NOT NULL,
    recorded_by        text NOT NULL
);
CREATE INDEX odometer_reading_vin ON odometer_reading (vin, at);

ALTER TABLE vehicle ADD COLUMN odometer_rollback_suspected boolean NOT NULL DEFAULT false;
