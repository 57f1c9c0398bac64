-- Moves a consumer's registered position forward (never back), registering it if new.
INSERT INTO outbox_consumer AS c (name, tx_id, position, acked_at)
VALUES ($1, $2::text::xid8, $3, now())
ON CONFLICT (name) DO UPDATE SET
    tx_id = CASE WHEN (EXCLUDED.tx_id, EXCLUDED.position) > (c.tx_id, c.position)
                 THEN EXCLUDED.tx_id ELSE c.tx_id END,
    position = CASE WHEN (EXCLUDED.tx_id, EXCLUDED.position) > (c.tx_id, c.position)
                    THEN EXCLUDED.position ELSE c.position END,
    acked_at = now()
RETURNING tx_id::text, position
