-- One row per VIN, and its history.
CREATE TABLE vehicle (
    vin           text PRIMARY KEY,
    model_code    text NOT NULL REFERENCES model (code),
    state         text NOT NULL CHECK (state IN
                      ('PRODUCED', 'IN_TRANSIT', 'IN_STOCK', 'RESERVED', 'SOLD', 'DELIVERED', 'SCRAPPED')),
    plant         text NOT NULL,
    line          text NOT NULL,
    built_at      timestamptz NOT NULL,
    engine_number text NOT NULL,
    colour        text NOT NULL,
    holder_outlet text NOT NULL DEFAULT '',
    owner_id      uuid,                 -- a customer of the registry (no cross-schema key)
    odometer_km   bigint NOT NULL DEFAULT 0,
    version       bigint NOT NULL DEFAULT 1,
    create_time   timestamptz NOT NULL,
    update_time   timestamptz NOT NULL
);
CREATE INDEX vehicle_model ON vehicle (model_code);
CREATE INDEX vehicle_holder ON vehicle (holder_outlet) WHERE holder_outlet <> '';
CREATE INDEX vehicle_owner ON vehicle (owner_id) WHERE owner_id IS NOT NULL;

-- Every action on a vehicle, in order: the timeline. `sequence` counts per vehicle.
CREATE TABLE vehicle_event (
    vin           text NOT NULL REFERENCES vehicle (vin),
    sequence      bigint NOT NULL,
    at            timestamptz NOT NULL,
    action        text NOT NULL,
    state_after   text NOT NULL,
    actor_org     text NOT NULL,
    actor_subject text NOT NULL,
    details       text[] NOT NULL,      -- alternating keys and values
    PRIMARY KEY (vin, sequence)
);
