-- GetVehiclePipeline without filters: store::insights::pipeline's statement.
SELECT state, model_code, outlet_code, vehicles FROM pipeline_count
WHERE vehicles <> 0 AND (NULL::text IS NULL OR model_code = NULL)
  AND (cardinality('{}'::text[]) = 0 OR state = ANY('{}'::text[]))
  AND (NULL::text[] IS NULL OR outlet_code = ANY(NULL::text[]))
ORDER BY 1, 2, 3;
