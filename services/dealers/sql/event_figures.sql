-- Event figures of outlets ($1, codes) for the local days $2 to $3 inclusive, from the
-- aggregates the consumers keep per outlet and local day (sales, surveys, remedies) and
-- the closed repair orders kept one row each (an exact median). Recall completion counts
-- everything up to the period's last day: remedies performed and cars answerable for.
SELECT o.code AS outlet,
       coalesce(d.vehicles_sold, 0) AS vehicles_sold,
       coalesce(d.surveys, 0) AS surveys,
       coalesce(d.satisfaction_sum, 0) AS satisfaction_sum,
       r.median_turnaround_secs,
       coalesce(rem.remedies, 0) AS recall_remedies,
       coalesce(ans.affected, 0) AS recall_answerable
FROM unnest($1::text[]) AS o(code)
LEFT JOIN LATERAL (
    SELECT sum(f.vehicles_sold)::bigint AS vehicles_sold, sum(f.surveys)::bigint AS surveys,
           sum(f.satisfaction_sum)::bigint AS satisfaction_sum
    FROM outlet_day_figures f
    WHERE f.outlet_code = o.code AND f.day BETWEEN $2 AND $3
) d ON true
LEFT JOIN LATERAL (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY rf.turnaround_secs) AS median_turnaround_secs
    FROM repair_fact rf
    WHERE rf.station = o.code AND rf.day BETWEEN $2 AND $3
) r ON true
LEFT JOIN LATERAL (
    SELECT sum(f.recall_remedies)::bigint AS remedies
    FROM outlet_day_figures f
    WHERE f.outlet_code = o.code AND f.day <= $3
) rem ON true
LEFT JOIN LATERAL (
    SELECT sum(a.affected)::bigint AS affected
    FROM recall_answerable a
    WHERE a.outlet_code = o.code AND a.day <= $3
) ans ON true
ORDER BY o.code
