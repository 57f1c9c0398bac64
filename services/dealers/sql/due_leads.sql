-- The sweeper's work list: uncontacted leads still being routed that must move on now,
-- because their deadline passed ($1 = now) or because their outlet may no longer receive
-- them (suspended, closed, or the capability removed). At most $2 of each kind; rows are
-- locked one by one afterwards (lock_due), so this read takes no locks.
(SELECT l.id
 FROM lead l
 WHERE l.status = 'NEW' AND l.escalate_time IS NULL AND l.respond_before <= $1
 ORDER BY l.respond_before
 LIMIT $2)
UNION
(SELECT l.id
 FROM lead l
 JOIN outlet o ON o.code = l.outlet_code
 WHERE l.status = 'NEW' AND l.escalate_time IS NULL
   AND (o.status <> 'ACTIVE' OR NOT (l.capability = ANY (o.capabilities)))
 LIMIT $2)
