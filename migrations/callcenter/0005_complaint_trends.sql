-- Complaints by category × model × local (+08:00) month of opening, for GetComplaintTrends.
-- The case store shifts it in the statement that opens a complaint or changes its
-- category or model (store/case.rs, store/complaint_trend.rs), so it is exact at every
-- commit.
CREATE TABLE complaint_month (
    month      date NOT NULL,
    category   text NOT NULL,
    model_code text NOT NULL,
    complaints bigint NOT NULL,
    PRIMARY KEY (month, category, model_code)
);

INSERT INTO complaint_month (month, category, model_code, complaints)
SELECT date_trunc('month', (create_time AT TIME ZONE 'UTC') + interval '8 hours')::date,
       category, model_code, count(*)
FROM support_case
WHERE case_type = 'COMPLAINT'
GROUP BY 1, 2, 3;
