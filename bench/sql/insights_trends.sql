-- GetComplaintTrends over the last 36 months without filters: store::complaint_trend::trends.
SELECT month, category, model_code, complaints FROM complaint_month
WHERE month BETWEEN (date_trunc('month', now() AT TIME ZONE 'UTC' + interval '8 hours') - interval '35 months')::date
                AND current_date
  AND complaints <> 0 AND (NULL::text IS NULL OR category = NULL) AND (NULL::text IS NULL OR model_code = NULL)
ORDER BY 1, 2, 3;
