//! Other services' events as the dealer network applies them, one consumer per source
//! (each source has one cursor row): the vehicle service's sales, closed repair orders
//! and recall campaigns and the call center's survey answers become scorecard figures per
//! outlet and local day; the registry's merges, unmerges and erasures reach the leads.
//!
//! Every fact is kept as a row keyed by its object's id and added to the day's aggregate
//! only when that row is new, so an event applied twice (a redelivery, a retried parked
//! event) changes nothing.

pub mod customers;
pub mod surveys;
pub mod vehicles;

use chrono::{DateTime, NaiveDate, Utc};
use dealernet_kit::events::ApplyError;
use sqlx::PgConnection;

use crate::domain::scorecard::local_day;

/// The service's consumer name at each publisher (for their retention).
pub const CONSUMER: &str = "dealers";

/// The sources the service consumes, as ListParkedEvents and RetryParkedEvent name them.
pub const SOURCES: &[&str] = &["vehicles", "callcenter", "customers"];

fn poison(message: String) -> ApplyError {
    ApplyError::Poison(message)
}

/// The id in a resource name `{prefix}{id}`, not empty.
fn id_in<'a>(name: &'a str, prefix: &str, field: &str) -> Result<&'a str, ApplyError> {
    name.strip_prefix(prefix)
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| poison(format!("{field}: '{name}' is not a {prefix}{{id}} name")))
}

fn required_time(
    t: Option<&prost_types::Timestamp>,
    field: &str,
) -> Result<DateTime<Utc>, ApplyError> {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?))
        .ok_or_else(|| poison(format!("{field}: a valid time is required")))
}

/// The outlet's local day of `at`. An outlet the network does not know cannot have a
/// local day: its event is parked until the outlet exists and the event is retried.
async fn outlet_day(
    conn: &mut PgConnection,
    outlet: &str,
    at: DateTime<Utc>,
) -> Result<NaiveDate, ApplyError> {
    let offset: Option<i32> =
        sqlx::query_scalar("SELECT utc_offset_minutes FROM outlet WHERE code = $1")
            .bind(outlet)
            .fetch_optional(&mut *conn)
            .await?;
    let offset =
        offset.ok_or_else(|| poison(format!("outlet '{outlet}' is not in the network")))?;
    Ok(local_day(at, offset))
}

/// Amounts added to one outlet's day.
#[derive(Debug, Clone, Copy, Default)]
struct DayFigures {
    vehicles_sold: i64,
    surveys: i64,
    satisfaction_sum: i64,
    recall_remedies: i64,
}

async fn add_to_day(
    conn: &mut PgConnection,
    outlet: &str,
    day: NaiveDate,
    f: DayFigures,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outlet_day_figures \
             (outlet_code, day, vehicles_sold, surveys, satisfaction_sum, recall_remedies) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (outlet_code, day) DO UPDATE SET \
             vehicles_sold = outlet_day_figures.vehicles_sold + EXCLUDED.vehicles_sold, \
             surveys = outlet_day_figures.surveys + EXCLUDED.surveys, \
             satisfaction_sum = outlet_day_figures.satisfaction_sum + EXCLUDED.satisfaction_sum, \
             recall_remedies = outlet_day_figures.recall_remedies + EXCLUDED.recall_remedies",
    )
    .bind(outlet)
    .bind(day)
    .bind(f.vehicles_sold)
    .bind(f.surveys)
    .bind(f.satisfaction_sum)
    .bind(f.recall_remedies)
    .execute(conn)
    .await?;
    Ok(())
}
