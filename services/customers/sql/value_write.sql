-- Replaces the value rows of the customers $1 by the computed ones ($2.. as parallel
-- arrays; a customer of $1 missing there loses its row) and moves segment_count by the
-- difference, in one statement. Callers hold the customers' rows locked, so the old rows
-- read here are the current ones and no other writer moves these counts meanwhile.
WITH old AS (
    SELECT customer_id, tier, province FROM customer_value WHERE customer_id = ANY ($1)
),
computed AS (
    SELECT *
    FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::int[],
                $8::bigint[], $9::bigint[], $10::int[], $11::int[], $12::timestamptz[],
                $13::timestamptz[], $14::int[], $15::int[], $16::int[], $17::int[],
                $18::int[], $19::int[], $20::int[], $21::smallint[], $22::smallint[],
                $23::smallint[], $24::smallint[])
         AS n (customer_id, province, tier, purchases, sales_minor, service_visits,
               service_minor, contribution_minor, cars, cars_serviced, first_activity_at,
               last_activity_at, tenure_days, surveys, recent_surveys,
               recent_satisfaction_centi, recent_nps, complaints, complaints_since_survey,
               satisfaction_score, loyalty_score, frequency_score, monetary_score)
),
removed AS (
    DELETE FROM customer_value v
    WHERE v.customer_id = ANY ($1)
      AND NOT EXISTS (SELECT 1 FROM computed n WHERE n.customer_id = v.customer_id)
),
written AS (
    INSERT INTO customer_value (customer_id, province, tier, purchases, sales_minor,
        service_visits, service_minor, contribution_minor, cars, cars_serviced,
        first_activity_at, last_activity_at, tenure_days, surveys, recent_surveys,
        recent_satisfaction_centi, recent_nps, complaints, complaints_since_survey,
        satisfaction_score, loyalty_score, frequency_score, monetary_score, computed_at)
    SELECT n.*, $25 FROM computed n
    ON CONFLICT (customer_id) DO UPDATE SET
        province = EXCLUDED.province,
        tier = EXCLUDED.tier,
        purchases = EXCLUDED.purchases,
        sales_minor = EXCLUDED.sales_minor,
        service_visits = EXCLUDED.service_visits,
        service_minor = EXCLUDED.service_minor,
        contribution_minor = EXCLUDED.contribution_minor,
        cars = EXCLUDED.cars,
        cars_serviced = EXCLUDED.cars_serviced,
        first_activity_at = EXCLUDED.first_activity_at,
        last_activity_at = EXCLUDED.last_activity_at,
        tenure_days = EXCLUDED.tenure_days,
        surveys = EXCLUDED.surveys,
        recent_surveys = EXCLUDED.recent_surveys,
        recent_satisfaction_centi = EXCLUDED.recent_satisfaction_centi,
        recent_nps = EXCLUDED.recent_nps,
        complaints = EXCLUDED.complaints,
        complaints_since_survey = EXCLUDED.complaints_since_survey,
        satisfaction_score = EXCLUDED.satisfaction_score,
        loyalty_score = EXCLUDED.loyalty_score,
        frequency_score = EXCLUDED.frequency_score,
        monetary_score = EXCLUDED.monetary_score,
        computed_at = EXCLUDED.computed_at
),
-- Leaving a segment counts −1, entering +1; a customer that stays nets to nothing.
delta AS (
    SELECT tier, province, sum(d) AS d
    FROM (
        SELECT tier, province, -1 AS d FROM old
        UNION ALL
        SELECT tier, province, 1 FROM computed
    ) moves
    GROUP BY tier, province
    HAVING sum(d) <> 0
)
INSERT INTO segment_count (tier, province, customers)
SELECT tier, province, d FROM delta
ON CONFLICT (tier, province) DO UPDATE SET customers = segment_count.customers + EXCLUDED.customers
