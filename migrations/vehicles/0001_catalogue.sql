-- The maker's catalogue and price list. Every table lives in the `vehicles` schema.

CREATE TABLE model (
    code            text PRIMARY KEY,
    brand           text NOT NULL,
    series          text NOT NULL,
    body            text NOT NULL CHECK (body IN ('SEDAN', 'HATCHBACK', 'SUV', 'MPV', 'PICKUP', 'VAN')),
    powertrain      text NOT NULL CHECK (powertrain IN ('ICE', 'HEV', 'PHEV', 'BEV')),
    model_year      integer NOT NULL,
    warranty_months integer NOT NULL CHECK (warranty_months > 0),
    warranty_km     integer NOT NULL CHECK (warranty_km > 0),
    create_time     timestamptz NOT NULL
);
CREATE INDEX model_brand_year ON model (brand, model_year, code);

-- Retail prices per model and period. Periods of one model never overlap; CreateModelPrice
-- checks that under a lock on the model row (an exclusion constraint would need the
-- btree_gist extension, which the service must not depend on).
CREATE TABLE model_price (
    model_code    text NOT NULL REFERENCES model (code),
    valid_from    date NOT NULL,
    valid_to      date,
    currency_code text NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
    minor_units   bigint NOT NULL CHECK (minor_units > 0),
    create_time   timestamptz NOT NULL,
    PRIMARY KEY (model_code, valid_from),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);

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
