//! HQ insights: the pipeline counts, cars past their ETA, and part failures per model and
//! month, read from the aggregates the write paths keep (see `pipeline.rs`).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::vehicle::corrupt;
use crate::domain::lifecycle::State;

/// Recounts every aggregate from the rows (`sql/insights_refill.sql`), for loaders that
/// COPY rows past the service's own statements. Run it in the loading transaction or
/// after the last one.
pub const REFILL: &str = include_str!("../../sql/insights_refill.sql");

/// The local (+08:00) month of an instant, as the aggregates key it.
const LOCAL_MONTH: &str = "date_trunc('month', ($1 AT TIME ZONE 'UTC') + interval '8 hours')::date";

/// One pipeline group: (state, model code, outlet code or '', vehicles).
pub type PipelineGroup = (State, String, String, i64);

/// The non-empty pipeline groups, optionally of one model, of some states and of some
/// outlets (`None`: every outlet).
pub async fn pipeline(
    conn: &mut PgConnection,
    model: Option<&str>,
    states: &[State],
    outlets: Option<&[String]>,
) -> Result<Vec<PipelineGroup>, sqlx::Error> {
    let states: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT state, model_code, outlet_code, vehicles FROM pipeline_count \
         WHERE vehicles <> 0 AND ($1::text IS NULL OR model_code = $1) \
           AND (cardinality($2::text[]) = 0 OR state = ANY($2)) \
           AND ($3::text[] IS NULL OR outlet_code = ANY($3)) \
         ORDER BY 1, 2, 3",
    )
    .bind(model)
    .bind(&states)
    .bind(outlets)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(state, model, outlet, n)| {
            let state = State::parse(&state).ok_or_else(|| corrupt("state", &state))?;
            Ok((state, model, outlet, n))
        })
        .collect()
}

/// A car on an open shipment whose ETA has passed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OverdueCar {
    pub vin: String,
    pub model_code: String,
    pub shipment: Uuid,
    pub destination_outlet: String,
    pub eta: DateTime<Utc>,
}

/// Which overdue cars: of one model, heading for some outlets (`None`: any).
#[derive(Debug, Clone, Default)]
pub struct OverdueFilter {
    pub model: Option<String>,
    pub destinations: Option<Vec<String>>,
}

// Open shipments are few (cars in transit now), and `shipment_vehicle_open` indexes
// exactly them; each joins its shipment and car by primary key.
const OVERDUE_FROM: &str = "FROM shipment_vehicle sv \
     JOIN shipment s ON s.id = sv.shipment_id \
     JOIN vehicle v ON v.vin = sv.vin \
     WHERE sv.received_at IS NULL AND v.state = 'IN_TRANSIT' AND s.eta < $1 \
       AND ($2::text IS NULL OR v.model_code = $2) \
       AND ($3::text[] IS NULL OR s.destination_outlet = ANY($3))";

/// In-transit cars whose shipment's ETA is before `now`, by ETA then VIN, after the
/// cursor (ETA, VIN).
pub async fn overdue(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    f: &OverdueFilter,
    after: Option<(DateTime<Utc>, &str)>,
    limit: usize,
) -> Result<Vec<OverdueCar>, sqlx::Error> {
    let (after_eta, after_vin) = after.unzip();
    sqlx::query_as(&format!(
        "SELECT sv.vin, v.model_code, s.id AS shipment, s.destination_outlet, s.eta {OVERDUE_FROM} \
           AND ($4::timestamptz IS NULL OR (s.eta, sv.vin) > ($4, $5)) \
         ORDER BY s.eta, sv.vin LIMIT $6"
    ))
    .bind(now)
    .bind(f.model.as_deref())
    .bind(f.destinations.as_deref())
    .bind(after_eta)
    .bind(after_vin)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await
}

/// How many cars `overdue` lists in all.
pub async fn count_overdue(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    f: &OverdueFilter,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!("SELECT count(*) {OVERDUE_FROM}"))
        .bind(now)
        .bind(f.model.as_deref())
        .bind(f.destinations.as_deref())
        .fetch_one(&mut *conn)
        .await
}

/// Adds the part lines of a repair order that just closed to its month's part failures
/// (the caller's transaction closes the order; a closed order's lines never change).
pub async fn count_part_failures(
    conn: &mut PgConnection,
    order: Uuid,
    model_code: &str,
    closed_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO part_failure_month (month, model_code, part_number, lines, quantity) \
         SELECT {LOCAL_MONTH}, $2, part_number, count(*), sum(quantity) \
         FROM repair_order_line WHERE repair_order_id = $3 AND kind = 'PART' \
         GROUP BY part_number ORDER BY part_number \
         ON CONFLICT (month, model_code, part_number) DO UPDATE SET \
             lines = part_failure_month.lines + excluded.lines, \
             quantity = part_failure_month.quantity + excluded.quantity"
    ))
    .bind(closed_at)
    .bind(model_code)
    .bind(order)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A part's failures over a month range: (model code, part number, lines, quantity,
/// cars of the model).
pub type FailingPart = (String, String, i64, i64, i64);

/// The `top` (model, part) pairs with the most part lines per car of the model between
/// two months (inclusive), optionally of one model. The denominator is every car of the
/// model the pipeline counts (built, in any state).
pub async fn top_failing_parts(
    conn: &mut PgConnection,
    (from, to): (NaiveDate, NaiveDate),
    model: Option<&str>,
    top: usize,
) -> Result<Vec<FailingPart>, sqlx::Error> {
    sqlx::query_as(
        "WITH failures AS ( \
             SELECT model_code, part_number, sum(lines)::bigint AS lines, sum(quantity)::bigint AS quantity \
             FROM part_failure_month \
             WHERE month BETWEEN $1 AND $2 AND ($3::text IS NULL OR model_code = $3) \
             GROUP BY 1, 2), \
         built AS ( \
             SELECT model_code, sum(vehicles)::bigint AS cars FROM pipeline_count \
             WHERE $3::text IS NULL OR model_code = $3 GROUP BY 1) \
         SELECT f.model_code, f.part_number, f.lines, f.quantity, b.cars \
         FROM failures f JOIN built b USING (model_code) \
         WHERE b.cars > 0 \
         ORDER BY f.lines::float8 / b.cars DESC, f.model_code, f.part_number \
         LIMIT $4",
    )
    .bind(from)
    .bind(to)
    .bind(model)
    .bind(top as i64)
    .fetch_all(&mut *conn)
    .await
}

/// The months of some (model, part) pairs between two months: (model code, part number,
/// month, lines, quantity), by pair then month.
pub async fn part_failure_months(
    conn: &mut PgConnection,
    (from, to): (NaiveDate, NaiveDate),
    pairs: &[(String, String)],
) -> Result<Vec<(String, String, NaiveDate, i64, i64)>, sqlx::Error> {
    let (models, parts): (Vec<&str>, Vec<&str>) =
        pairs.iter().map(|(m, p)| (m.as_str(), p.as_str())).unzip();
    sqlx::query_as(
        "SELECT f.model_code, f.part_number, f.month, f.lines, f.quantity \
         FROM part_failure_month f \
         JOIN unnest($3::text[], $4::text[]) AS p(model_code, part_number) USING (model_code, part_number) \
         WHERE f.month BETWEEN $1 AND $2 \
         ORDER BY 1, 2, 3",
    )
    .bind(from)
    .bind(to)
    .bind(&models)
    .bind(&parts)
    .fetch_all(&mut *conn)
    .await
}
