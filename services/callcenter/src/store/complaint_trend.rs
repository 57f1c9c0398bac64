//! Complaints by category × model × local (+08:00) month of opening (`complaint_month`),
//! shifted by the very statements that open a case or change its category or model
//! (`store::case::insert` / `update` put these in front as CTEs), so the counts are exact
//! at every commit and a rolled-back change leaves them as they were.

use chrono::NaiveDate;
use sqlx::PgConnection;

/// The local month of a `support_case` timestamp column or parameter.
macro_rules! local_month {
    ($t:literal) => {
        concat!(
            "date_trunc('month', (",
            $t,
            " AT TIME ZONE 'UTC') + interval '8 hours')::date"
        )
    };
}

/// Counts a new case (the INSERT's parameters: $2 type, $12 category, $13 model,
/// $26 create time) when it is a complaint.
pub(super) const COUNT_OPENED: &str = concat!(
    "WITH counted AS ( \
         INSERT INTO complaint_month (month, category, model_code, complaints) \
         SELECT ",
    local_month!("$26::timestamptz"),
    ", $12::text, $13::text, 1 WHERE $2::text = 'COMPLAINT' \
         ON CONFLICT (month, category, model_code) \
         DO UPDATE SET complaints = complaint_month.complaints + 1) "
);

/// Moves a complaint whose category or model changes (the UPDATE's parameters: $1 id,
/// $10 category, $11 model); the CTE reads the row as it was before the UPDATE.
pub(super) const MOVE_UPDATED: &str = concat!(
    "WITH old AS ( \
         SELECT ",
    local_month!("create_time"),
    " AS month, category, model_code FROM support_case \
         WHERE id = $1 AND case_type = 'COMPLAINT' \
           AND (category, model_code) IS DISTINCT FROM ($10::text, $11::text)), \
     moved AS ( \
         INSERT INTO complaint_month (month, category, model_code, complaints) \
         SELECT month, category, model_code, n FROM ( \
             SELECT month, category, model_code, -1 AS n FROM old \
             UNION ALL SELECT month, $10::text, $11::text, 1 FROM old) m \
         ORDER BY 1, 2, 3 \
         ON CONFLICT (month, category, model_code) \
         DO UPDATE SET complaints = complaint_month.complaints + excluded.complaints) "
);

/// One month of one category and model: (month, category, model code, complaints).
pub type Trend = (NaiveDate, String, String, i64);

/// The non-empty counts between two months (inclusive), optionally of one category and
/// one model, by month, category and model.
pub async fn trends(
    conn: &mut PgConnection,
    (from, to): (NaiveDate, NaiveDate),
    category: Option<&str>,
    model: Option<&str>,
) -> Result<Vec<Trend>, sqlx::Error> {
    sqlx::query_as(
        "SELECT month, category, model_code, complaints FROM complaint_month \
         WHERE month BETWEEN $1 AND $2 AND complaints <> 0 \
           AND ($3::text IS NULL OR category = $3) AND ($4::text IS NULL OR model_code = $4) \
         ORDER BY 1, 2, 3",
    )
    .bind(from)
    .bind(to)
    .bind(category)
    .bind(model)
    .fetch_all(&mut *conn)
    .await
}

/// Counts every complaint afresh from `support_case` (as migration 0005 does), for
/// loaders that COPY cases past the service's statements.
pub const REFILL: &str = concat!(
    "DELETE FROM complaint_month; \
     INSERT INTO complaint_month (month, category, model_code, complaints) \
     SELECT ",
    local_month!("create_time"),
    ", category, model_code, count(*) FROM support_case WHERE case_type = 'COMPLAINT' \
     GROUP BY 1, 2, 3"
);
