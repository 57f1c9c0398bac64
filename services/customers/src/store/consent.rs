//! Consent rows: the current answer per channel × purpose and the append-only history.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{Channel, Consent, Purpose, SourceChannel, consent::Status};

const COLUMNS: &str = "customer_id, channel, purpose, status, capture_source, capture_time, \
                       valid_until, recorded_by, update_time";

type Row = (
    Uuid,
    String,
    String,
    String,
    String,
    chrono::DateTime<chrono::Utc>,
    Option<chrono::DateTime<chrono::Utc>>,
    String,
    chrono::DateTime<chrono::Utc>,
);

fn from_row(r: Row) -> Result<Consent, sqlx::Error> {
    let bad = |what: &str, v: &str| {
        sqlx::Error::Decode(format!("unexpected consent {what} '{v}'").into())
    };
    Ok(Consent {
        customer_id: r.0,
        channel: Channel::parse(&r.1).ok_or_else(|| bad("channel", &r.1))?,
        purpose: Purpose::parse(&r.2).ok_or_else(|| bad("purpose", &r.2))?,
        status: Status::parse(&r.3).ok_or_else(|| bad("status", &r.3))?,
        capture_source: SourceChannel::parse(&r.4).ok_or_else(|| bad("capture source", &r.4))?,
        capture_time: r.5,
        valid_until: r.6,
        recorded_by: r.7,
        update_time: r.8,
    })
}

/// Replaces the current answer for the consent's channel and purpose and appends it to
/// the history, in the caller's transaction.
pub async fn record(
    conn: &mut PgConnection,
    c: &Consent,
    subject: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO consent ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (customer_id, channel, purpose) DO UPDATE SET status = excluded.status, \
         capture_source = excluded.capture_source, capture_time = excluded.capture_time, \
         valid_until = excluded.valid_until, recorded_by = excluded.recorded_by, \
         update_time = excluded.update_time"
    ))
    .bind(c.customer_id)
    .bind(c.channel.as_str())
    .bind(c.purpose.as_str())
    .bind(c.status.as_str())
    .bind(c.capture_source.as_str())
    .bind(c.capture_time)
    .bind(c.valid_until)
    .bind(&c.recorded_by)
    .bind(c.update_time)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO consent_history (customer_id, channel, purpose, status, capture_source, \
         capture_time, valid_until, recorded_by, recorded_by_subject) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(c.customer_id)
    .bind(c.channel.as_str())
    .bind(c.purpose.as_str())
    .bind(c.status.as_str())
    .bind(c.capture_source.as_str())
    .bind(c.capture_time)
    .bind(c.valid_until)
    .bind(&c.recorded_by)
    .bind(subject)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The current answer for one channel and purpose.
pub async fn get(
    conn: &mut PgConnection,
    customer: Uuid,
    channel: Channel,
    purpose: Purpose,
) -> Result<Option<Consent>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM consent WHERE customer_id = $1 AND channel = $2 AND purpose = $3"
    ))
    .bind(customer)
    .bind(channel.as_str())
    .bind(purpose.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(from_row).transpose()
}

/// A page of a customer's answers ordered by (channel, purpose), after `after`.
pub async fn list(
    conn: &mut PgConnection,
    customer: Uuid,
    after: Option<(String, String)>,
    limit: usize,
) -> Result<Vec<Consent>, sqlx::Error> {
    let (channel, purpose) = after.unwrap_or_default();
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM consent WHERE customer_id = $1 AND (channel, purpose) > ($2, $3) \
         ORDER BY channel, purpose LIMIT $4"
    ))
    .bind(customer)
    .bind(channel)
    .bind(purpose)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}
