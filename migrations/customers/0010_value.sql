-- Customer value: the facts other services' events report about a customer (sales and
-- closed repair orders from vehicles, surveys and complaints from the call center), the
-- value computed from them, and the per-segment counts GetSegmentSummary reads.
-- A fact keeps the customer id the event named; a merged customer's facts count for its
-- survivor through `customer.merged_into`, so merges and unmerges move no fact.

-- A sale: one per car and sell time (a car may be sold again later).
CREATE TABLE value_sale (
    vin          text        NOT NULL,
    sold_at      timestamptz NOT NULL,
    customer_id  uuid        NOT NULL REFERENCES customer (id),
    outlet       text        NOT NULL,
    amount_minor bigint      NOT NULL,
    PRIMARY KEY (vin, sold_at)
);
CREATE INDEX value_sale_customer ON value_sale (customer_id);

-- A closed repair order: a service visit and what the customer paid for it.
CREATE TABLE value_repair (
    repair_order_id text        PRIMARY KEY,
    vin             text        NOT NULL,
    customer_id     uuid        NOT NULL REFERENCES customer (id),
    station         text        NOT NULL,
    amount_minor    bigint      NOT NULL,
    closed_at       timestamptz NOT NULL
);
CREATE INDEX value_repair_customer ON value_repair (customer_id);

-- A survey answer.
CREATE TABLE value_survey (
    survey_response_id text        PRIMARY KEY,
    customer_id        uuid        NOT NULL REFERENCES customer (id),
    satisfaction       smallint    NOT NULL CHECK (satisfaction BETWEEN 1 AND 5),
    nps                smallint    NOT NULL CHECK (nps BETWEEN 0 AND 10),
    answered_at        timestamptz NOT NULL
);
CREATE INDEX value_survey_customer ON value_survey (customer_id, answered_at);

-- A complaint case.
CREATE TABLE value_complaint (
    case_id     text        PRIMARY KEY,
    customer_id uuid        NOT NULL REFERENCES customer (id),
    opened_at   timestamptz NOT NULL
);
CREATE INDEX value_complaint_customer ON value_complaint (customer_id);

-- The value of each active customer with at least one fact (its own or a merged
-- customer's). Every column is a function of the facts, the customer's province and the
-- thresholds only (no clock), so recomputing one customer and rebuilding all agree.
-- Amounts are in CNY fen.
CREATE TABLE customer_value (
    customer_id          uuid        PRIMARY KEY REFERENCES customer (id),
    province             text        NOT NULL,
    tier                 text        NOT NULL CHECK (tier IN ('TRANSACTIONAL', 'RELATIONSHIP', 'KEY_ACCOUNT')),
    purchases            integer     NOT NULL,
    sales_minor          bigint      NOT NULL,
    service_visits       integer     NOT NULL,
    service_minor        bigint      NOT NULL,
    contribution_minor   bigint      NOT NULL,
    cars                 integer     NOT NULL,
    cars_serviced        integer     NOT NULL,
    first_activity_at    timestamptz,
    last_activity_at     timestamptz,
    tenure_days          integer     NOT NULL,
    surveys              integer     NOT NULL,
    recent_surveys       integer     NOT NULL,
    recent_satisfaction_centi integer,
    recent_nps           integer,
    complaints           integer     NOT NULL,
    complaints_since_survey integer  NOT NULL,
    satisfaction_score   smallint    NOT NULL,
    loyalty_score        smallint    NOT NULL,
    frequency_score      smallint    NOT NULL,
    monetary_score       smallint    NOT NULL,
    computed_at          timestamptz NOT NULL
);
-- ListSegmentMembers pages in customer id order: by tier, or by province (the other
-- filter, when both are given, is checked on the rows the index yields).
CREATE INDEX customer_value_tier ON customer_value (tier, customer_id);
CREATE INDEX customer_value_province ON customer_value (province, customer_id);

-- Customers per tier and province, changed in the same statement as the value rows, so
-- GetSegmentSummary reads a few dozen rows instead of counting a million. A cell that
-- empties stays with 0 (and is not reported).
CREATE TABLE segment_count (
    tier      text   NOT NULL,
    province  text   NOT NULL,
    customers bigint NOT NULL,
    PRIMARY KEY (tier, province)
);
