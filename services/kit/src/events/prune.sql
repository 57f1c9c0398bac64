-- Deletes up to $2 events older than $1 that every registered consumer has passed.
DELETE FROM outbox_event
WHERE (tx_id, position) IN (
    SELECT o.tx_id, o.position
    FROM outbox_event o
    WHERE o.occurred_at < $1
      AND NOT EXISTS (
          SELECT 1 FROM outbox_consumer c
          WHERE (c.tx_id, c.position) < (o.tx_id, o.position)
      )
    ORDER BY o.tx_id, o.position
    LIMIT $2
)
