-- The next events after a cursor, and the stream's high-water mark, under one snapshot.
WITH horizon AS (
    -- Every transaction below this id has ended: committed rows below it are all visible
    -- now, and any transaction still able to write has an id at or above it.
    SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin
),
batch AS (
    SELECT e.tx_id, e.position, e.event_id, e.aggregate_type, e.aggregate_id,
           e.event_type, e.payload, e.occurred_at, e.actor, e.request_id, e.traceparent
    FROM outbox_event e, horizon h
    WHERE (e.tx_id, e.position) > ($1::text::xid8, $2)
      AND e.tx_id < h.xmin
      -- the requested event types, if any
      AND (cardinality($3::text[]) = 0 OR e.event_type = ANY ($3))
      -- an outlet's stream: events about that outlet only
      AND ($4::text IS NULL OR $4 = ANY (e.outlets))
    ORDER BY e.tx_id, e.position
    LIMIT $5
),
high_water AS (
    -- The last event below the horizon, whatever its type: with a short batch, nothing
    -- matching lies between the batch's end and this.
    SELECT e.tx_id, e.position
    FROM outbox_event e, horizon h
    WHERE e.tx_id < h.xmin
    ORDER BY e.tx_id DESC, e.position DESC
    LIMIT 1
)
SELECT tx_id::text AS tx, position, event_id, aggregate_type, aggregate_id, event_type,
       payload, occurred_at, actor, request_id, traceparent
FROM batch
UNION ALL
SELECT tx_id::text, position, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM high_water
