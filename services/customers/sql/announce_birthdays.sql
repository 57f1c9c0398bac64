-- Claims up to $4 of the day's birthdays not yet announced this year, by writing their
-- announcement rows: $1 the day's month-days (month × 100 + day; 28 February also asks
-- for 29 February in a common year), $2 the year, $3 now. The month-day expression is
-- the one `customer_birthday_month_day` indexes, and so is the partial condition. A row
-- another transaction (a second replica) inserted first makes this one wait for it and
-- then skip the customer (ON CONFLICT DO NOTHING): each birthday is announced once.
WITH due AS (
    SELECT c.id
    FROM customer c
    WHERE (EXTRACT(MONTH FROM c.birthday) * 100 + EXTRACT(DAY FROM c.birthday))
              = ANY ($1::int4[]::numeric[])
      AND c.birthday IS NOT NULL AND c.state = 'ACTIVE' AND c.kind = 'PERSON'
      AND NOT EXISTS (
          SELECT 1 FROM birthday_announcement a WHERE a.customer_id = c.id AND a.year = $2
      )
    ORDER BY c.id
    LIMIT $4
)
INSERT INTO birthday_announcement (customer_id, year, announced_at)
SELECT id, $2, $3 FROM due
ON CONFLICT DO NOTHING
RETURNING customer_id
