-- Preferred outlets: dealer and service-station codes owned by the dealers service (no
-- foreign key across services; the code is checked for shape only).
ALTER TABLE customer
    ADD COLUMN preferred_dealer text NOT NULL DEFAULT '',
    ADD COLUMN preferred_station text NOT NULL DEFAULT '';

-- Typed, dated links between two customers. Directed: "customer is <type> of related".
CREATE TABLE relationship (
    id          uuid PRIMARY KEY,                 -- UUIDv7: creation order, paging key
    customer_id uuid NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
    related_id  uuid NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
    type        text NOT NULL CHECK (type IN ('HOUSEHOLD_MEMBER', 'SPOUSE', 'EMPLOYER', 'FLEET_MANAGER')),
    valid_from  date,
    valid_to    date,
    recorded_by text NOT NULL,
    create_time timestamptz NOT NULL,
    CHECK (customer_id <> related_id),
    CHECK (valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to),
    UNIQUE (customer_id, related_id, type)
);
CREATE INDEX relationship_related ON relationship (related_id);
