//! The rest of the desk: interactions, the do-not-call list, the hotline's holidays,
//! survey responses and complaint counts.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// An interaction as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Interaction {
    pub id: Uuid,
    pub direction: String,
    pub channel: String,
    pub agent: String,
    pub customer_id: Option<Uuid>,
    pub vin: String,
    pub case_id: Option<Uuid>,
    pub phone: String,
    pub started_at: DateTime<Utc>,
    pub duration_s: i32,
    pub disposition: String,
    pub notes: String,
}

pub async fn insert_interaction(
    conn: &mut PgConnection,
    i: &Interaction,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO interaction (id, direction, channel, agent, customer_id, vin, case_id, phone, started_at, \
         duration_s, disposition, notes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(i.id)
    .bind(&i.direction)
    .bind(&i.channel)
    .bind(&i.agent)
    .bind(i.customer_id)
    .bind(&i.vin)
    .bind(i.case_id)
    .bind(&i.phone)
    .bind(i.started_at)
    .bind(i.duration_s)
    .bind(&i.disposition)
    .bind(&i.notes)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Interactions newest first after the cursor (started_at, id).
pub async fn interactions(
    conn: &mut PgConnection,
    customer: Option<Uuid>,
    case_id: Option<Uuid>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: usize,
) -> Result<Vec<Interaction>, sqlx::Error> {
    let (at, id) = after.unzip();
    sqlx::query_as(
        "SELECT id, direction, channel, agent, customer_id, vin, case_id, phone, started_at, duration_s, \
         disposition, notes FROM interaction \
         WHERE ($1::uuid IS NULL OR customer_id = $1) AND ($2::uuid IS NULL OR case_id = $2) \
           AND ($3::timestamptz IS NULL OR (started_at, id) < ($3, $4)) \
         ORDER BY started_at DESC, id DESC LIMIT $5",
    )
    .bind(customer)
    .bind(case_id)
    .bind(at)
    .bind(id)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await
}

pub async fn is_do_not_call(conn: &mut PgConnection, phone: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM do_not_call WHERE phone = $1)")
        .bind(phone)
        .fetch_one(&mut *conn)
        .await
}

/// Adds the number; false when it was listed already.
pub async fn add_do_not_call(
    conn: &mut PgConnection,
    phone: &str,
    reason: &str,
    by: &str,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO do_not_call (phone, reason, added_by, added_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(phone)
    .bind(reason)
    .bind(by)
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0)
}

/// The hotline's closed dates.
pub async fn holidays(conn: &mut PgConnection) -> Result<Vec<NaiveDate>, sqlx::Error> {
    sqlx::query_scalar("SELECT day FROM hotline_holiday ORDER BY day")
        .fetch_all(&mut *conn)
        .await
}

/// A survey answer as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Survey {
    pub id: Uuid,
    pub case_id: Option<Uuid>,
    pub repair_order: Option<String>,
    pub customer_id: Uuid,
    pub outlet: String,
    pub technician: String,
    pub satisfaction: i32,
    pub nps: i32,
    pub comments: String,
    pub recorded_by: String,
    pub create_time: DateTime<Utc>,
}

/// One page of a customer's survey answers, newest first, after `after` (time, id);
/// only those about `outlet` when given.
pub async fn surveys_of(
    conn: &mut PgConnection,
    customer: Uuid,
    outlet: Option<&str>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: usize,
) -> Result<Vec<Survey>, sqlx::Error> {
    let (at, id) = after.unzip();
    sqlx::query_as(
        "SELECT id, case_id, repair_order, customer_id, outlet, technician, satisfaction, nps, \
         comments, recorded_by, create_time FROM survey_response \
         WHERE customer_id = $1 AND ($2::text IS NULL OR outlet = $2) \
           AND ($3::timestamptz IS NULL OR (create_time, id) < ($3, $4)) \
         ORDER BY create_time DESC, id DESC LIMIT $5",
    )
    .bind(customer)
    .bind(outlet)
    .bind(at)
    .bind(id)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await
}

pub async fn insert_survey(conn: &mut PgConnection, s: &Survey) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO survey_response (id, case_id, repair_order, customer_id, outlet, technician, satisfaction, \
         nps, comments, recorded_by, create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(s.id)
    .bind(s.case_id)
    .bind(&s.repair_order)
    .bind(s.customer_id)
    .bind(&s.outlet)
    .bind(&s.technician)
    .bind(s.satisfaction)
    .bind(s.nps)
    .bind(&s.comments)
    .bind(&s.recorded_by)
    .bind(s.create_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Per outlet or technician (`by` is a column name chosen by the caller, never input):
/// (key, responses, mean satisfaction, promoters, detractors).
pub async fn survey_results(
    conn: &mut PgConnection,
    by: &'static str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    outlet: Option<&str>,
) -> Result<Vec<(String, i64, f64, i64, i64)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {by}, count(*), avg(satisfaction)::float8, count(*) FILTER (WHERE nps >= 9), \
         count(*) FILTER (WHERE nps <= 6) FROM survey_response \
         WHERE create_time >= $1 AND create_time < $2 AND {by} <> '' AND ($3::text IS NULL OR outlet = $3) \
         GROUP BY 1 ORDER BY 1"
    ))
    .bind(from)
    .bind(to)
    .bind(outlet)
    .fetch_all(&mut *conn)
    .await
}

/// Complaints per (period start, category, model, outlet); `unit` is day, week or month.
pub async fn complaint_counts(
    conn: &mut PgConnection,
    unit: &'static str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, String, String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        // Periods are local (+08:00) days, weeks and months, returned as instants.
        "SELECT (date_trunc($1, (create_time AT TIME ZONE 'UTC') + interval '8 hours') - interval '8 hours') \
                AT TIME ZONE 'UTC' AS period, \
                category, model_code, outlet, count(*) \
         FROM support_case WHERE case_type = 'COMPLAINT' AND create_time >= $2 AND create_time < $3 \
         GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
    )
    .bind(unit)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await
}

pub async fn add_holiday(
    conn: &mut PgConnection,
    day: NaiveDate,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO hotline_holiday (day, name) VALUES ($1, $2) ON CONFLICT (day) DO UPDATE SET name = EXCLUDED.name",
    )
    .bind(day)
    .bind(name)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
