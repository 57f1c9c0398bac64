-- The figures of each active customer among $1 that has at least one fact, counting the
-- facts of every customer merged into it (directly or through a chain of merges).
-- $2: how many of the latest survey answers are "recent".
WITH RECURSIVE member (root, id) AS (
    SELECT c.id, c.id FROM customer c WHERE c.id = ANY ($1) AND c.state = 'ACTIVE'
    UNION ALL
    -- customer_merged_into indexes this step.
    SELECT m.root, c.id FROM member m JOIN customer c ON c.merged_into = m.id
),
sales AS (
    SELECT m.root, count(*) AS purchases, sum(s.amount_minor)::bigint AS sales_minor,
           min(s.sold_at) AS first_at, max(s.sold_at) AS last_at
    FROM member m JOIN value_sale s ON s.customer_id = m.id
    GROUP BY m.root
),
repairs AS (
    SELECT m.root, count(*) AS visits, sum(r.amount_minor)::bigint AS service_minor,
           min(r.closed_at) AS first_at, max(r.closed_at) AS last_at
    FROM member m JOIN value_repair r ON r.customer_id = m.id
    GROUP BY m.root
),
-- Every car known for the customer (bought, or repaired for it) and whether a station
-- repaired it.
car AS (
    SELECT root, vin, bool_or(serviced) AS serviced
    FROM (
        SELECT m.root, s.vin, false AS serviced
        FROM member m JOIN value_sale s ON s.customer_id = m.id
        UNION ALL
        SELECT m.root, r.vin, true
        FROM member m JOIN value_repair r ON r.customer_id = m.id
    ) known
    GROUP BY root, vin
),
cars AS (
    SELECT root, count(*) AS cars, count(*) FILTER (WHERE serviced) AS cars_serviced
    FROM car GROUP BY root
),
-- Answers newest first (the response id breaks ties of the same instant).
answer AS (
    SELECT m.root, v.satisfaction, v.nps, v.answered_at,
           row_number() OVER (PARTITION BY m.root
                              ORDER BY v.answered_at DESC, v.survey_response_id DESC) AS n
    FROM member m JOIN value_survey v ON v.customer_id = m.id
),
surveys AS (
    SELECT root, count(*) AS surveys, max(answered_at) AS last_at,
           count(*) FILTER (WHERE n <= $2) AS recent,
           coalesce(sum(satisfaction) FILTER (WHERE n <= $2), 0)::bigint AS recent_sum,
           count(*) FILTER (WHERE n <= $2 AND nps >= 9) AS promoters,
           count(*) FILTER (WHERE n <= $2 AND nps <= 6) AS detractors
    FROM answer GROUP BY root
),
complaints AS (
    SELECT m.root, count(*) AS complaints,
           count(*) FILTER (WHERE s.last_at IS NULL OR v.opened_at > s.last_at) AS since_survey
    FROM member m
    JOIN value_complaint v ON v.customer_id = m.id
    LEFT JOIN surveys s ON s.root = m.root
    GROUP BY m.root
)
SELECT c.id,
       c.province,
       coalesce(sa.purchases, 0) AS purchases,
       coalesce(sa.sales_minor, 0) AS sales_minor,
       coalesce(re.visits, 0) AS service_visits,
       coalesce(re.service_minor, 0) AS service_minor,
       coalesce(ca.cars, 0) AS cars,
       coalesce(ca.cars_serviced, 0) AS cars_serviced,
       -- least and greatest skip NULLs: a customer with sales only has the sales' dates.
       least(sa.first_at, re.first_at) AS first_activity_at,
       greatest(sa.last_at, re.last_at) AS last_activity_at,
       coalesce(su.surveys, 0) AS surveys,
       coalesce(su.recent, 0) AS recent_surveys,
       coalesce(su.recent_sum, 0) AS recent_satisfaction_sum,
       coalesce(su.promoters, 0) AS recent_promoters,
       coalesce(su.detractors, 0) AS recent_detractors,
       coalesce(co.complaints, 0) AS complaints,
       coalesce(co.since_survey, 0) AS complaints_since_survey
FROM customer c
LEFT JOIN sales sa ON sa.root = c.id
LEFT JOIN repairs re ON re.root = c.id
LEFT JOIN cars ca ON ca.root = c.id
LEFT JOIN surveys su ON su.root = c.id
LEFT JOIN complaints co ON co.root = c.id
WHERE c.id = ANY ($1) AND c.state = 'ACTIVE'
  AND (sa.root IS NOT NULL OR re.root IS NOT NULL OR su.root IS NOT NULL OR co.root IS NOT NULL)
