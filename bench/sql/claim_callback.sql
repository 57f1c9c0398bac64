-- ClaimNextCallback, the handler's one statement: store::callback::claim_next (autocommit).
-- The oldest due callback — PENDING, or CLAIMED with a lapsed lease — is locked (skipping
-- rows other claimers hold) and claimed for this client's agent until now + lease, in one
-- UPDATE, only inside the callback's calling hours and not on a hotline holiday. The
-- service binds its own clock for "now", the local hour and date; here they come from the
-- transaction's now(). Nothing else runs for the loaded purposes (CUSTOMER_REQUEST and
-- CASE_FOLLOW_UP need no consent check; none has expired).
-- Run with: pgbench -n -M prepared -D lease=300 -f claim_callback.sql (search_path=callcenter).
-- Client c claims as agent.<c + 1>, like loadgen's worker c.
\set agent :client_id + 1
UPDATE callback SET status = 'CLAIMED', claimed_by = 'agent.' || (:agent)::text,
       due_at = now() + make_interval(secs => :lease), version = version + 1
WHERE id = (SELECT id FROM callback WHERE status IN ('PENDING', 'CLAIMED') AND due_at <= now()
              AND calling_start <= extract(hour FROM now() AT TIME ZONE 'Asia/Shanghai')::int
              AND calling_end > extract(hour FROM now() AT TIME ZONE 'Asia/Shanghai')::int
              AND NOT EXISTS (SELECT 1 FROM hotline_holiday
                              WHERE day = (now() AT TIME ZONE 'Asia/Shanghai')::date)
            ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id, customer_id, phone, reason, purpose, case_id, repair_order, outlet, status, due_at,
          attempts, last_outcome, stop_reason, stop_note, claimed_by, max_attempts, expire_at,
          calling_start, calling_end, created_by, create_time, version;
