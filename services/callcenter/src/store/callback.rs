//! Callbacks and their attempts. The queue is one partial index on `due_at`.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::callback::{Outcome, Policy, Purpose, Status};

/// A callback as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub id: Uuid,
    pub customer: Uuid,
    pub phone: String,
    pub reason: String,
    pub purpose: Purpose,
    pub case_id: Option<Uuid>,
    pub repair_order: String,
    pub outlet: String,
    pub status: Status,
    /// The next attempt while PENDING, the lease's end while CLAIMED.
    pub due_at: DateTime<Utc>,
    pub attempts: i32,
    pub last_outcome: Option<Outcome>,
    pub stop_reason: String,
    pub stop_note: String,
    pub claimed_by: String,
    pub policy: Policy,
    pub created_by: String,
    pub create_time: DateTime<Utc>,
    pub version: i64,
}

const COLUMNS: &str = "id, customer_id, phone, reason, purpose, case_id, repair_order, outlet, status, due_at, \
                       attempts, last_outcome, stop_reason, stop_note, claimed_by, max_attempts, expire_at, calling_start, \
                       calling_end, created_by, create_time, version";

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    customer_id: Uuid,
    phone: String,
    reason: String,
    purpose: String,
    case_id: Option<Uuid>,
    repair_order: String,
    outlet: String,
    status: String,
    due_at: DateTime<Utc>,
    attempts: i32,
    last_outcome: String,
    stop_reason: String,
    stop_note: String,
    claimed_by: String,
    max_attempts: i32,
    expire_at: DateTime<Utc>,
    calling_start: i32,
    calling_end: i32,
    created_by: String,
    create_time: DateTime<Utc>,
    version: i64,
}

fn corrupt(what: &str, v: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected callback {what} '{v}'").into())
}

impl Row {
    fn into_callback(self) -> Result<Callback, sqlx::Error> {
        Ok(Callback {
            id: self.id,
            customer: self.customer_id,
            phone: self.phone,
            reason: self.reason,
            purpose: Purpose::parse(&self.purpose)
                .ok_or_else(|| corrupt("purpose", &self.purpose))?,
            case_id: self.case_id,
            repair_order: self.repair_order,
            outlet: self.outlet,
            status: Status::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))?,
            due_at: self.due_at,
            attempts: self.attempts,
            last_outcome: Outcome::parse(&self.last_outcome),
            stop_reason: self.stop_reason,
            stop_note: self.stop_note,
            claimed_by: self.claimed_by,
            policy: Policy {
                max_attempts: self.max_attempts,
                expire_at: self.expire_at,
                calling_start: self.calling_start as u32,
                calling_end: self.calling_end as u32,
            },
            created_by: self.created_by,
            create_time: self.create_time,
            version: self.version,
        })
    }
}

pub async fn insert(conn: &mut PgConnection, c: &Callback) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO callback ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, $18, $19, $20, $21, $22)"
    ))
    .bind(c.id)
    .bind(c.customer)
    .bind(&c.phone)
    .bind(&c.reason)
    .bind(c.purpose.as_str())
    .bind(c.case_id)
    .bind(&c.repair_order)
    .bind(&c.outlet)
    .bind(c.status.as_str())
    .bind(c.due_at)
    .bind(c.attempts)
    .bind(c.last_outcome.map(Outcome::as_str).unwrap_or_default())
    .bind(&c.stop_reason)
    .bind(&c.stop_note)
    .bind(&c.claimed_by)
    .bind(c.policy.max_attempts)
    .bind(c.policy.expire_at)
    .bind(c.policy.calling_start as i32)
    .bind(c.policy.calling_end as i32)
    .bind(&c.created_by)
    .bind(c.create_time)
    .bind(c.version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes what changes after scheduling.
pub async fn update(conn: &mut PgConnection, c: &Callback) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE callback SET status = $2, due_at = $3, attempts = $4, last_outcome = $5, stop_reason = $6, \
         claimed_by = $7, version = $8, stop_note = $9 WHERE id = $1",
    )
    .bind(c.id)
    .bind(c.status.as_str())
    .bind(c.due_at)
    .bind(c.attempts)
    .bind(c.last_outcome.map(Outcome::as_str).unwrap_or_default())
    .bind(&c.stop_reason)
    .bind(&c.claimed_by)
    .bind(c.version)
    .bind(&c.stop_note)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn load(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<Callback>, sqlx::Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM callback WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(Row::into_callback).transpose()
}

/// Claims the callback due first — a PENDING one whose attempt is due, or a CLAIMED one
/// whose lease lapsed — whose calling hours include `local_hour` (the customer's local
/// hour now), for `agent` until `lease_until`, in one statement — none on a hotline
/// holiday (`local_date`). Rows other claimers hold are skipped, so two agents never get
/// the same callback.
pub async fn claim_next(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    local_date: chrono::NaiveDate,
    local_hour: i32,
    agent: &str,
    lease_until: DateTime<Utc>,
) -> Result<Option<Callback>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE callback SET status = 'CLAIMED', claimed_by = $2, due_at = $3, version = version + 1 \
         WHERE id = (SELECT id FROM callback WHERE status IN ('PENDING', 'CLAIMED') AND due_at <= $1 \
                       AND calling_start <= $4 AND calling_end > $4 \
                       AND NOT EXISTS (SELECT 1 FROM hotline_holiday WHERE day = $5) \
                     ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING {COLUMNS}"
    ))
    .bind(now)
    .bind(agent)
    .bind(lease_until)
    .bind(local_hour)
    .bind(local_date)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(Row::into_callback).transpose()
}

pub async fn add_attempt(
    conn: &mut PgConnection,
    id: Uuid,
    attempt: i32,
    at: DateTime<Utc>,
    agent: &str,
    outcome: Outcome,
    notes: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO call_attempt (callback_id, attempt, at, agent, outcome, notes) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(attempt)
    .bind(at)
    .bind(agent)
    .bind(outcome.as_str())
    .bind(notes)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Callbacks by (due_at, id) after the cursor.
pub async fn list(
    conn: &mut PgConnection,
    statuses: &[Status],
    customer: Option<Uuid>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: usize,
) -> Result<Vec<Callback>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {COLUMNS} FROM callback WHERE true"));
    if !statuses.is_empty() {
        let s: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        q.push(" AND status = ANY(").push_bind(s).push(")");
    }
    if let Some(c) = customer {
        q.push(" AND customer_id = ").push_bind(c);
    }
    if let Some((at, id)) = after {
        q.push(" AND (due_at, id) > (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    q.push(" ORDER BY due_at, id LIMIT ")
        .push_bind(limit as i64);
    let rows: Vec<Row> = q.build_query_as().fetch_all(&mut *conn).await?;
    rows.into_iter().map(Row::into_callback).collect()
}

/// Stops every open callback to `phone` that honours the do-not-call list.
pub async fn stop_for_phone(conn: &mut PgConnection, phone: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE callback SET status = 'STOPPED', stop_reason = 'DO_NOT_CALL', claimed_by = '', version = version + 1 \
         WHERE phone = $1 AND status IN ('PENDING', 'CLAIMED') AND purpose <> 'CUSTOMER_REQUEST'",
    )
    .bind(phone)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}
