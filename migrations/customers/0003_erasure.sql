-- Erasure on request: who erased which customer, why, when. The row holds no personal data.
CREATE TABLE erasure_log (
    customer_id  uuid PRIMARY KEY REFERENCES customer (id),
    subject      text NOT NULL,
    organization text NOT NULL,
    roles        text NOT NULL,
    reason       text NOT NULL,
    request_id   text NOT NULL DEFAULT '',
    erased_at    timestamptz NOT NULL DEFAULT now()
);

-- Saved idempotent responses can hold personal data; remembering which resource a response
-- is about lets an erasure delete them too.
ALTER TABLE idempotency ADD COLUMN resource text;
CREATE INDEX idempotency_resource ON idempotency (resource) WHERE resource IS NOT NULL;
