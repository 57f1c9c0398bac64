-- Consent: the current answer per customer × contact channel × purpose ...
CREATE TABLE consent (
    customer_id    uuid NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
    channel        text NOT NULL CHECK (channel IN ('phone', 'sms', 'email', 'mail', 'app')),
    purpose        text NOT NULL CHECK (purpose IN ('service_reminders', 'marketing', 'surveys', 'research')),
    status         text NOT NULL CHECK (status IN ('GRANTED', 'DENIED', 'WITHDRAWN')),
    capture_source text NOT NULL,
    capture_time   timestamptz NOT NULL,
    valid_until    timestamptz,
    recorded_by    text NOT NULL,
    update_time    timestamptz NOT NULL,
    PRIMARY KEY (customer_id, channel, purpose)
);

-- ... and every answer ever recorded, append-only: the proof of what the customer said,
-- when, and who wrote it down.
CREATE TABLE consent_history (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id    uuid NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
    channel        text NOT NULL,
    purpose        text NOT NULL,
    status         text NOT NULL,
    capture_source text NOT NULL,
    capture_time   timestamptz NOT NULL,
    valid_until    timestamptz,
    recorded_by    text NOT NULL,
    recorded_by_subject text NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_history_customer ON consent_history (customer_id, recorded_at);
