-- Events: the transactional outbox this service publishes from, and the cursors and
-- parked events of the streams it consumes. The same tables exist in every service's
-- schema (each service owns its copy; nothing reads another schema).

-- Published events, written in the transaction of the change they describe.
-- The stream's order is (tx_id, position): tx_id is the writing transaction's id, known
-- at insert time; a reader only goes up to the oldest transaction still running
-- (pg_snapshot_xmin), so a transaction that took its position early but commits late is
-- never jumped over.
CREATE TABLE outbox_event (
    tx_id          xid8        NOT NULL DEFAULT pg_current_xact_id(),
    position       bigint      GENERATED ALWAYS AS IDENTITY,
    event_id       uuid        NOT NULL UNIQUE,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    event_type     text        NOT NULL,
    -- The service's event message (its `*Event` oneof), protobuf-encoded.
    payload        bytea       NOT NULL,
    -- Outlet codes the event is about: an outlet's stream carries only these.
    outlets        text[]      NOT NULL DEFAULT '{}',
    occurred_at    timestamptz NOT NULL,
    actor          text        NOT NULL,
    request_id     text        NOT NULL DEFAULT '',
    traceparent    text        NOT NULL DEFAULT '',
    PRIMARY KEY (tx_id, position)
);
CREATE INDEX outbox_event_occurred_at ON outbox_event (occurred_at);

-- Consumers registered for retention: nothing they have not passed is pruned.
CREATE TABLE outbox_consumer (
    name      text        PRIMARY KEY,
    tx_id     xid8        NOT NULL,
    position  bigint      NOT NULL,
    acked_at  timestamptz NOT NULL
);

-- How far this service has applied another service's stream (one row per source).
CREATE TABLE event_cursor (
    source     text        PRIMARY KEY,
    tx_id      xid8        NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Events this service could not apply, kept with their error until retried.
CREATE TABLE parked_event (
    source          text        NOT NULL,
    event_id        uuid        NOT NULL,
    tx_id           xid8        NOT NULL,
    position        bigint      NOT NULL,
    event_type      text        NOT NULL,
    aggregate_id    text        NOT NULL,
    -- The whole delivered message (the source's StreamEventsResponse), protobuf-encoded.
    delivery        bytea       NOT NULL,
    error           text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 1,
    parked_at       timestamptz NOT NULL,
    last_attempt_at timestamptz NOT NULL,
    PRIMARY KEY (source, event_id)
);
