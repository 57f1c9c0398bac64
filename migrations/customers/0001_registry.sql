-- The customer registry. Every table lives in the `customers` schema (the service's
-- connections have search_path = customers and nothing else).

-- One row per person or organisation. Merged and erased customers keep their row so that
-- their id keeps resolving (merged) or keeps the history without the person (erased).
CREATE TABLE customer (
    id                 uuid PRIMARY KEY,            -- UUIDv7: creation order, index-friendly
    kind               text NOT NULL CHECK (kind IN ('PERSON', 'ORGANIZATION')),
    family_name        text NOT NULL DEFAULT '',
    given_name         text NOT NULL DEFAULT '',
    organization_name  text NOT NULL DEFAULT '',
    display_name       text NOT NULL,
    name_key           text NOT NULL,                -- lower-case display name without spaces
    province           text NOT NULL DEFAULT '',
    city               text NOT NULL DEFAULT '',
    district           text NOT NULL DEFAULT '',
    street             text NOT NULL DEFAULT '',
    postal_code        text NOT NULL DEFAULT '',
    region_code        text NOT NULL DEFAULT '',
    birthday           date,
    preferred_language text NOT NULL DEFAULT '',
    source_channel     text NOT NULL CHECK (source_channel IN
                           ('DEALER_POS', 'SERVICE_STATION', 'HOTLINE', 'WEB', 'IMPORT')),
    created_by_org     text NOT NULL,
    national_id_hash   bytea,                        -- HMAC-SHA256 under the id hash key
    national_id_last4  text NOT NULL DEFAULT '',
    state              text NOT NULL DEFAULT 'ACTIVE' CHECK (state IN ('ACTIVE', 'MERGED', 'ERASED')),
    merged_into        uuid REFERENCES customer (id),
    version            bigint NOT NULL DEFAULT 1,
    create_time        timestamptz NOT NULL DEFAULT now(),
    update_time        timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'MERGED') = (merged_into IS NOT NULL))
);

CREATE INDEX customer_national_id ON customer (national_id_hash) WHERE national_id_hash IS NOT NULL;
-- Name search is a prefix match; text_pattern_ops makes LIKE 'x%' indexable in any collation.
CREATE INDEX customer_name_key ON customer (name_key text_pattern_ops);
CREATE INDEX customer_place ON customer (province, city, id);
CREATE INDEX customer_merged_into ON customer (merged_into) WHERE merged_into IS NOT NULL;

-- Contact points in canonical form, one row each, indexed for exact matching.
CREATE TABLE customer_phone (
    customer_id uuid NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
    position    smallint NOT NULL,
    e164        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('MOBILE', 'HOME', 'WORK')),
    PRIMARY KEY (customer_id, position)
);
CREATE INDEX customer_phone_e164 ON customer_phone (e164, customer_id);

CREATE TABLE customer_email (
    customer_id uuid NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
    position    smallint NOT NULL,
    address     text NOT NULL,
    PRIMARY KEY (customer_id, position)
);
CREATE INDEX customer_email_address ON customer_email (address, customer_id);

-- Identifiers issued by other systems: unique per issuer across the whole registry.
CREATE TABLE external_id (
    issuer      text NOT NULL,
    value       text NOT NULL,
    customer_id uuid NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
    PRIMARY KEY (issuer, value)
);
CREATE INDEX external_id_customer ON external_id (customer_id);

-- Which organisations have a relationship with a customer (created, resolved, sold,
-- repaired, …). Object-level visibility of personal data is decided from these rows.
CREATE TABLE customer_link (
    customer_id  uuid NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
    organization text NOT NULL,
    reason       text NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, organization)
);
CREATE INDEX customer_link_organization ON customer_link (organization, customer_id);

-- Lock rows for match-or-create: ResolveCustomer locks one row per identifier it would
-- create a customer with, so concurrent resolves of the same new identifier serialise
-- without advisory locks (not available on distributed PostgreSQL engines). Rows are
-- only needed while a resolve runs and are purged after an hour.
CREATE TABLE resolve_claim (
    key        text PRIMARY KEY,
    claimed_at timestamptz NOT NULL DEFAULT now()
);

-- Idempotency keys of mutations (see dealernet_kit::idempotency).
CREATE TABLE idempotency (
    scope        text NOT NULL,
    request_id   text NOT NULL,
    method       text NOT NULL,
    request_hash bytea NOT NULL,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, request_id)
);
CREATE INDEX idempotency_created_at ON idempotency (created_at);
