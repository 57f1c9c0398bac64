-- Every answer that carried a customer's unmasked personal data: who, which customer,
-- which fields, why, when, and the call's request id. Written before the answer leaves
-- the service (see audit.rs); append-only.
CREATE TABLE access_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL,
    subject      text NOT NULL,
    organization text NOT NULL,
    roles        text[] NOT NULL,
    customer_id  uuid NOT NULL,
    fields       text[] NOT NULL,
    purpose      text NOT NULL,
    request_id   text NOT NULL,
    method       text NOT NULL
);
CREATE INDEX access_log_customer ON access_log (customer_id, id);
CREATE INDEX access_log_organization ON access_log (organization, id);
CREATE INDEX access_log_at ON access_log (at);
