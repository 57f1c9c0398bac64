-- Shipments (factory → outlet, outlet → outlet) and reservations.
CREATE TABLE shipment (
    id                 uuid PRIMARY KEY,
    carrier            text NOT NULL,
    origin             text NOT NULL,
    destination_outlet text NOT NULL,
    eta                timestamptz NOT NULL,
    created_by         text NOT NULL,
    create_time        timestamptz NOT NULL
);

-- Which vehicles travel on which shipment; `received_at` is set when the destination
-- outlet receives the vehicle. A vehicle has at most one open (unreceived) shipment.
CREATE TABLE shipment_vehicle (
    shipment_id uuid NOT NULL REFERENCES shipment (id),
    vin         text NOT NULL REFERENCES vehicle (vin),
    received_at timestamptz,
    PRIMARY KEY (shipment_id, vin)
);
CREATE UNIQUE INDEX shipment_vehicle_open ON shipment_vehicle (vin) WHERE received_at IS NULL;

ALTER TABLE vehicle
    ADD COLUMN reserved_for uuid,            -- a customer of the registry
    ADD COLUMN reserved_until timestamptz;
