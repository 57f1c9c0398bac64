-- The dealer network: groups, outlets with hours and closures, status history, staff.
-- Every table lives in the `dealers` schema.

CREATE TABLE dealer_group (
    code         text PRIMARY KEY,
    display_name text NOT NULL,
    create_time  timestamptz NOT NULL
);

CREATE TABLE outlet (
    code               text PRIMARY KEY,
    display_name       text NOT NULL,
    group_code         text REFERENCES dealer_group (code),
    region             text NOT NULL,
    province           text NOT NULL,
    city               text NOT NULL,
    district           text NOT NULL,
    street             text NOT NULL,
    postal_code        text NOT NULL,
    region_code        text NOT NULL,
    latitude           double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude          double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    capabilities       text[] NOT NULL
        CHECK (cardinality(capabilities) > 0
               AND capabilities <@ ARRAY['SALES', 'SERVICE', 'PARTS', 'SURVEY']),
    brands             text[] NOT NULL,
    phone              text NOT NULL,
    utc_offset_minutes integer NOT NULL CHECK (utc_offset_minutes BETWEEN -840 AND 840),
    status             text NOT NULL CHECK (status IN ('ACTIVE', 'SUSPENDED', 'CLOSED')),
    status_reason      text NOT NULL,
    status_time        timestamptz NOT NULL,
    version            bigint NOT NULL,
    create_time        timestamptz NOT NULL,
    update_time        timestamptz NOT NULL
);
-- The locator's and the router's bounding-box prefilter: a range on latitude, the
-- longitude range checked inside the index (no PostGIS).
CREATE INDEX outlet_position ON outlet (latitude, longitude);
-- ListOutlets filters, each with the paging key.
CREATE INDEX outlet_city ON outlet (city, code);
CREATE INDEX outlet_province ON outlet (province, code);
CREATE INDEX outlet_region ON outlet (region, code);
CREATE INDEX outlet_group ON outlet (group_code, code) WHERE group_code IS NOT NULL;

-- Weekly opening periods in the outlet's local time, minutes since midnight.
CREATE TABLE outlet_hours (
    outlet_code text NOT NULL REFERENCES outlet (code) ON DELETE CASCADE,
    weekday     smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7), -- ISO: 1 = Monday
    opens       smallint NOT NULL CHECK (opens BETWEEN 0 AND 1439),
    closes      smallint NOT NULL CHECK (closes BETWEEN 1 AND 1440),
    PRIMARY KEY (outlet_code, weekday, opens),
    CHECK (opens < closes)
);

-- Local dates the outlet is closed (holidays).
CREATE TABLE outlet_closure (
    outlet_code text NOT NULL REFERENCES outlet (code) ON DELETE CASCADE,
    day         date NOT NULL,
    PRIMARY KEY (outlet_code, day)
);

-- Every status change, who made it and why (append-only).
CREATE TABLE outlet_status_change (
    outlet_code   text NOT NULL REFERENCES outlet (code),
    change_time   timestamptz NOT NULL,
    change        text NOT NULL,
    from_status   text NOT NULL,
    to_status     text NOT NULL,
    reason        text NOT NULL,
    actor_org     text NOT NULL,
    actor_subject text NOT NULL
);
CREATE INDEX outlet_status_change_outlet ON outlet_status_change (outlet_code, change_time);

CREATE TABLE staff_member (
    id              uuid PRIMARY KEY,  -- UUIDv7: creation order
    outlet_code     text NOT NULL REFERENCES outlet (code),
    display_name    text NOT NULL,
    role            text NOT NULL
        CHECK (role IN ('SALES_PERSON', 'SERVICE_ADVISOR', 'TECHNICIAN', 'MANAGER')),
    employee_number text,
    active          boolean NOT NULL,
    version         bigint NOT NULL,
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL
);
CREATE INDEX staff_member_outlet ON staff_member (outlet_code, id);
CREATE UNIQUE INDEX staff_member_employee_number
    ON staff_member (outlet_code, employee_number) WHERE employee_number IS NOT NULL;

-- Idempotency keys of mutations (see dealernet_kit::idempotency).
CREATE TABLE idempotency (
    scope        text NOT NULL,
    request_id   text NOT NULL,
    method       text NOT NULL,
    request_hash bytea NOT NULL,
    response     bytea,
    resource     text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, request_id)
);
CREATE INDEX idempotency_created_at ON idempotency (created_at);
