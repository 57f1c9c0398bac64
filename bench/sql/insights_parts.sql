-- RankFailingParts over the last 36 months, all models, top 10: store::insights::
-- top_failing_parts, then part_failure_months for the ten pairs (here a subquery).
WITH failures AS (
    SELECT model_code, part_number, sum(lines)::bigint AS lines, sum(quantity)::bigint AS quantity
    FROM part_failure_month
    WHERE month BETWEEN (date_trunc('month', now() AT TIME ZONE 'UTC' + interval '8 hours') - interval '35 months')::date
                    AND current_date AND (NULL::text IS NULL OR model_code = NULL)
    GROUP BY 1, 2),
built AS (SELECT model_code, sum(vehicles)::bigint AS cars FROM pipeline_count GROUP BY 1)
SELECT f.model_code, f.part_number, f.lines, f.quantity, b.cars
FROM failures f JOIN built b USING (model_code) WHERE b.cars > 0
ORDER BY f.lines::float8 / b.cars DESC, f.model_code, f.part_number LIMIT 10;
SELECT f.model_code, f.part_number, f.month, f.lines, f.quantity
FROM part_failure_month f
JOIN (SELECT model_code, part_number FROM part_failure_month GROUP BY 1, 2 ORDER BY sum(lines) DESC LIMIT 10) p
  USING (model_code, part_number)
WHERE f.month BETWEEN (date_trunc('month', now() AT TIME ZONE 'UTC' + interval '8 hours') - interval '35 months')::date AND current_date
ORDER BY 1, 2, 3;
