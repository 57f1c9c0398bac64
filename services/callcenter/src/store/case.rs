//! Cases, their notes, SLA policies and the sweeper's queries.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::{
    case::{Case, CaseType, Priority, Status, Team},
    sla::{Clock, SlaState, Targets},
};

const COLUMNS: &str = "id, case_type, priority, status, customer_id, vin, outlet, team, assignee, subject, \
                       description, category, model_code, lead, calendar, first_response_warn, first_response_due, \
                       first_response_at, resolution_warn, resolution_due, paused_at, next_check_at, sla_state, escalations, created_by, create_time, update_time, \
                       resolve_time, close_time, version";

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    case_type: String,
    priority: String,
    status: String,
    customer_id: Option<Uuid>,
    vin: String,
    outlet: String,
    team: String,
    assignee: String,
    subject: String,
    description: String,
    category: String,
    model_code: String,
    lead: String,
    calendar: String,
    first_response_warn: DateTime<Utc>,
    first_response_due: DateTime<Utc>,
    first_response_at: Option<DateTime<Utc>>,
    resolution_warn: DateTime<Utc>,
    resolution_due: DateTime<Utc>,
    paused_at: Option<DateTime<Utc>>,
    next_check_at: Option<DateTime<Utc>>,
    sla_state: String,
    escalations: i32,
    created_by: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    resolve_time: Option<DateTime<Utc>>,
    close_time: Option<DateTime<Utc>>,
    version: i64,
}

fn corrupt(what: &str, v: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected case {what} '{v}'").into())
}

impl Row {
    fn into_case(self) -> Result<Case, sqlx::Error> {
        Ok(Case {
            id: self.id,
            case_type: CaseType::parse(&self.case_type)
                .ok_or_else(|| corrupt("type", &self.case_type))?,
            priority: Priority::parse(&self.priority)
                .ok_or_else(|| corrupt("priority", &self.priority))?,
            status: Status::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))?,
            customer: self.customer_id,
            vin: self.vin,
            outlet: self.outlet,
            team: Team::parse(&self.team).ok_or_else(|| corrupt("team", &self.team))?,
            assignee: self.assignee,
            subject: self.subject,
            description: self.description,
            category: self.category,
            model_code: self.model_code,
            lead: self.lead,
            calendar: self.calendar,
            clock: Clock {
                first_response_warn: self.first_response_warn,
                first_response_due: self.first_response_due,
                resolution_warn: self.resolution_warn,
                resolution_due: self.resolution_due,
            },
            first_response_at: self.first_response_at,
            paused_at: self.paused_at,
            next_check_at: self.next_check_at,
            sla_state: SlaState::parse(&self.sla_state)
                .ok_or_else(|| corrupt("sla state", &self.sla_state))?,
            escalations: self.escalations,
            created_by: self.created_by,
            create_time: self.create_time,
            update_time: self.update_time,
            resolve_time: self.resolve_time,
            close_time: self.close_time,
            version: self.version,
        })
    }
}

/// Writes a new case (and counts it when it is a complaint).
pub async fn insert(conn: &mut PgConnection, c: &Case) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "{count} INSERT INTO support_case ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)",
        count = super::complaint_trend::COUNT_OPENED,
    ))
    .bind(c.id)
    .bind(c.case_type.as_str())
    .bind(c.priority.as_str())
    .bind(c.status.as_str())
    .bind(c.customer)
    .bind(&c.vin)
    .bind(&c.outlet)
    .bind(c.team.as_str())
    .bind(&c.assignee)
    .bind(&c.subject)
    .bind(&c.description)
    .bind(&c.category)
    .bind(&c.model_code)
    .bind(&c.lead)
    .bind(&c.calendar)
    .bind(c.clock.first_response_warn)
    .bind(c.clock.first_response_due)
    .bind(c.first_response_at)
    .bind(c.clock.resolution_warn)
    .bind(c.clock.resolution_due)
    .bind(c.paused_at)
    .bind(c.next_check_at)
    .bind(c.sla_state.as_str())
    .bind(c.escalations)
    .bind(&c.created_by)
    .bind(c.create_time)
    .bind(c.update_time)
    .bind(c.resolve_time)
    .bind(c.close_time)
    .bind(c.version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes every mutable column (and moves a complaint whose category or model changed
/// between its monthly counts).
pub async fn update(conn: &mut PgConnection, c: &Case) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "{moved} UPDATE support_case SET priority = $2, status = $3, vin = $4, outlet = $5, team = $6, assignee = $7, \
         subject = $8, description = $9, category = $10, model_code = $11, lead = $12, calendar = $13, \
         first_response_warn = $14, first_response_due = $15, first_response_at = $16, \
         resolution_warn = $17, resolution_due = $18, paused_at = $19, next_check_at = $20, \
         sla_state = $21, escalations = $22, update_time = $23, resolve_time = $24, close_time = $25, \
         version = $26 WHERE id = $1",
        moved = super::complaint_trend::MOVE_UPDATED,
    ))
    .bind(c.id)
    .bind(c.priority.as_str())
    .bind(c.status.as_str())
    .bind(&c.vin)
    .bind(&c.outlet)
    .bind(c.team.as_str())
    .bind(&c.assignee)
    .bind(&c.subject)
    .bind(&c.description)
    .bind(&c.category)
    .bind(&c.model_code)
    .bind(&c.lead)
    .bind(&c.calendar)
    .bind(c.clock.first_response_warn)
    .bind(c.clock.first_response_due)
    .bind(c.first_response_at)
    .bind(c.clock.resolution_warn)
    .bind(c.clock.resolution_due)
    .bind(c.paused_at)
    .bind(c.next_check_at)
    .bind(c.sla_state.as_str())
    .bind(c.escalations)
    .bind(c.update_time)
    .bind(c.resolve_time)
    .bind(c.close_time)
    .bind(c.version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn load(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<Case>, sqlx::Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM support_case WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(Row::into_case).transpose()
}

/// ListCases filters; `visible_to_outlet` narrows an outlet's view to its cases.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub statuses: Vec<Status>,
    pub case_type: Option<CaseType>,
    pub team: Option<Team>,
    pub assignee: Option<String>,
    pub customer: Option<Uuid>,
    pub vin: Option<String>,
    pub outlet: Option<String>,
    pub sla_state: Option<SlaState>,
}

/// Cases newest first after the cursor (create_time, id).
pub async fn list(
    conn: &mut PgConnection,
    f: &Filter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: usize,
) -> Result<Vec<Case>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {COLUMNS} FROM support_case WHERE true"));
    if !f.statuses.is_empty() {
        let s: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
        q.push(" AND status = ANY(").push_bind(s).push(")");
    }
    if let Some(t) = f.case_type {
        q.push(" AND case_type = ").push_bind(t.as_str());
    }
    if let Some(t) = f.team {
        q.push(" AND team = ").push_bind(t.as_str());
    }
    if let Some(a) = &f.assignee {
        q.push(" AND assignee = ").push_bind(a.clone());
    }
    if let Some(c) = f.customer {
        q.push(" AND customer_id = ").push_bind(c);
    }
    if let Some(v) = &f.vin {
        q.push(" AND vin = ").push_bind(v.clone());
    }
    if let Some(o) = &f.outlet {
        q.push(" AND outlet = ").push_bind(o.clone());
    }
    if let Some(s) = f.sla_state {
        q.push(" AND sla_state = ").push_bind(s.as_str());
    }
    if let Some((at, id)) = after {
        q.push(" AND (create_time, id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    q.push(" ORDER BY create_time DESC, id DESC LIMIT ")
        .push_bind(limit as i64);
    let rows: Vec<Row> = q.build_query_as().fetch_all(&mut *conn).await?;
    rows.into_iter().map(Row::into_case).collect()
}

/// A note on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub sequence: i32,
    pub at: DateTime<Utc>,
    pub author: String,
    pub organization: String,
    pub text: String,
}

/// Adds a note after the last (the caller holds the case's lock).
pub async fn add_note(
    conn: &mut PgConnection,
    case: Uuid,
    at: DateTime<Utc>,
    author: &str,
    organization: &str,
    text: &str,
) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO case_note (case_id, sequence, at, author, organization, text) \
         SELECT $1, coalesce(max(sequence), 0) + 1, $2, $3, $4, $5 FROM case_note WHERE case_id = $1 \
         RETURNING sequence",
    )
    .bind(case)
    .bind(at)
    .bind(author)
    .bind(organization)
    .bind(text)
    .fetch_one(&mut *conn)
    .await
}

pub async fn notes(conn: &mut PgConnection, case: Uuid) -> Result<Vec<Note>, sqlx::Error> {
    let rows: Vec<(i32, DateTime<Utc>, String, String, String)> = sqlx::query_as(
        "SELECT sequence, at, author, organization, text FROM case_note WHERE case_id = $1 ORDER BY sequence",
    )
    .bind(case)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Note {
            sequence: r.0,
            at: r.1,
            author: r.2,
            organization: r.3,
            text: r.4,
        })
        .collect())
}

/// The policy of a type × priority: (targets, runs on the outlet's calendar).
pub async fn policy(
    conn: &mut PgConnection,
    t: CaseType,
    p: Priority,
) -> Result<Option<(Targets, bool)>, sqlx::Error> {
    let row: Option<(i32, i32, bool)> = sqlx::query_as(
        "SELECT first_response_minutes, resolution_minutes, outlet_calendar FROM sla_policy \
         WHERE case_type = $1 AND priority = $2",
    )
    .bind(t.as_str())
    .bind(p.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(f, r, o)| {
        (
            Targets {
                first_response_minutes: i64::from(f),
                resolution_minutes: i64::from(r),
            },
            o,
        )
    }))
}

pub async fn set_policy(
    conn: &mut PgConnection,
    t: CaseType,
    p: Priority,
    targets: Targets,
    outlet_calendar: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sla_policy (case_type, priority, first_response_minutes, resolution_minutes, outlet_calendar) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (case_type, priority) DO UPDATE SET \
         first_response_minutes = EXCLUDED.first_response_minutes, \
         resolution_minutes = EXCLUDED.resolution_minutes, outlet_calendar = EXCLUDED.outlet_calendar",
    )
    .bind(t.as_str())
    .bind(p.as_str())
    .bind(targets.first_response_minutes as i32)
    .bind(targets.resolution_minutes as i32)
    .bind(outlet_calendar)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every policy: (type, priority, targets, outlet calendar).
pub async fn policies(
    conn: &mut PgConnection,
) -> Result<Vec<(String, String, i32, i32, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT case_type, priority, first_response_minutes, resolution_minutes, outlet_calendar \
         FROM sla_policy ORDER BY case_type, priority",
    )
    .fetch_all(&mut *conn)
    .await
}

/// Cases whose SLA state may have changed by `now`, locked, skipping rows another
/// sweeper holds, so that two sweepers never handle one case at once.
pub async fn sweep_candidates(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Case>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM support_case WHERE next_check_at <= $1 \
         ORDER BY next_check_at LIMIT $2 FOR UPDATE SKIP LOCKED"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(Row::into_case).collect()
}
