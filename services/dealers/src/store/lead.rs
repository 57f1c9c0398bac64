//! Leads, their assignments, the router's candidate search and the sweeper's work list.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use super::{bad_value, outlet::longitude_range};
use crate::domain::{
    geo::{BoundingBox, Point},
    lead::{Assignment, Interest, Lead, RoutingReason, Source, Status},
    outlet::Capability,
};

const COLUMNS: &str = "id, customer_id, interest, capability, model_code, source, campaign, \
    preferred_outlet, latitude, longitude, city, notes, response_window_secs, status, outlet_code, \
    respond_before, escalate_time, staff_id, first_contact_time, appointment_time, lost_reason, \
    close_time, created_by, version, create_time, update_time";

#[derive(FromRow)]
struct LeadRow {
    id: Uuid,
    customer_id: Uuid,
    interest: String,
    model_code: Option<String>,
    source: String,
    campaign: Option<String>,
    preferred_outlet: Option<String>,
    latitude: f64,
    longitude: f64,
    city: String,
    notes: String,
    response_window_secs: i32,
    status: String,
    outlet_code: String,
    respond_before: DateTime<Utc>,
    escalate_time: Option<DateTime<Utc>>,
    staff_id: Option<Uuid>,
    first_contact_time: Option<DateTime<Utc>>,
    appointment_time: Option<DateTime<Utc>>,
    lost_reason: Option<String>,
    close_time: Option<DateTime<Utc>>,
    created_by: String,
    version: i64,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

impl TryFrom<LeadRow> for Lead {
    type Error = sqlx::Error;

    fn try_from(r: LeadRow) -> Result<Lead, sqlx::Error> {
        Ok(Lead {
            interest: Interest::parse(&r.interest)
                .ok_or_else(|| bad_value("interest", &r.interest))?,
            source: Source::parse(&r.source).ok_or_else(|| bad_value("lead source", &r.source))?,
            status: Status::parse(&r.status).ok_or_else(|| bad_value("lead status", &r.status))?,
            id: r.id,
            customer_id: r.customer_id,
            model_code: r.model_code,
            campaign: r.campaign,
            preferred_outlet: r.preferred_outlet,
            location: Point {
                lat: r.latitude,
                lng: r.longitude,
            },
            city: r.city,
            notes: r.notes,
            response_window: TimeDelta::seconds(i64::from(r.response_window_secs)),
            outlet: r.outlet_code,
            respond_before: r.respond_before,
            escalate_time: r.escalate_time,
            staff_id: r.staff_id,
            first_contact_time: r.first_contact_time,
            appointment_time: r.appointment_time,
            lost_reason: r.lost_reason,
            close_time: r.close_time,
            created_by: r.created_by,
            version: r.version,
            create_time: r.create_time,
            update_time: r.update_time,
        })
    }
}

pub async fn insert(conn: &mut PgConnection, l: &Lead) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO lead ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)"
    ))
    .bind(l.id)
    .bind(l.customer_id)
    .bind(l.interest.as_str())
    .bind(l.interest.action().capability().as_str())
    .bind(&l.model_code)
    .bind(l.source.as_str())
    .bind(&l.campaign)
    .bind(&l.preferred_outlet)
    .bind(l.location.lat)
    .bind(l.location.lng)
    .bind(&l.city)
    .bind(&l.notes)
    .bind(l.response_window.num_seconds() as i32)
    .bind(l.status.as_str())
    .bind(&l.outlet)
    .bind(l.respond_before)
    .bind(l.escalate_time)
    .bind(l.staff_id)
    .bind(l.first_contact_time)
    .bind(l.appointment_time)
    .bind(&l.lost_reason)
    .bind(l.close_time)
    .bind(&l.created_by)
    .bind(l.version)
    .bind(l.create_time)
    .bind(l.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the columns that change after creation.
pub async fn update(conn: &mut PgConnection, l: &Lead) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE lead SET status = $2, outlet_code = $3, respond_before = $4, escalate_time = $5, \
         staff_id = $6, first_contact_time = $7, appointment_time = $8, lost_reason = $9, \
         close_time = $10, version = $11, update_time = $12 WHERE id = $1",
    )
    .bind(l.id)
    .bind(l.status.as_str())
    .bind(&l.outlet)
    .bind(l.respond_before)
    .bind(l.escalate_time)
    .bind(l.staff_id)
    .bind(l.first_contact_time)
    .bind(l.appointment_time)
    .bind(&l.lost_reason)
    .bind(l.close_time)
    .bind(l.version)
    .bind(l.update_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One lead; `lock` holds its row (FOR UPDATE) until the caller commits.
pub async fn load(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<Lead>, sqlx::Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<LeadRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM lead WHERE id = $1{lock}"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    row.map(Lead::try_from).transpose()
}

/// The lead if it is still NEW and being routed, locked; `None` when another sweeper or
/// a handler holds it (SKIP LOCKED) or it was contacted, escalated or moved meanwhile.
/// PostgreSQL re-checks the condition on the newest row version after locking, so a
/// lead changed by a transaction that committed in between is not returned.
pub async fn lock_if_routable(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<Lead>, sqlx::Error> {
    let row: Option<LeadRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM lead WHERE id = $1 AND status = 'NEW' AND escalate_time IS NULL \
         FOR UPDATE SKIP LOCKED"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(Lead::try_from).transpose()
}

/// Ids of leads the sweeper must move now (sql/due_leads.sql), at most `limit` of each kind.
pub async fn due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows: Vec<(Uuid,)> = sqlx::query_as(include_str!("../../sql/due_leads.sql"))
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

type AssignmentRow = (
    Uuid,
    i32,
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    f64,
    Option<DateTime<Utc>>,
);

/// The assignments of `leads`, oldest first per lead.
pub async fn assignments(
    conn: &mut PgConnection,
    leads: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Assignment>>, sqlx::Error> {
    let rows: Vec<AssignmentRow> = sqlx::query_as(
        "SELECT lead_id, seq, outlet_code, reason, assign_time, respond_before, distance_km, end_time \
         FROM lead_assignment WHERE lead_id = ANY ($1) ORDER BY lead_id, seq",
    )
    .bind(leads)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: HashMap<Uuid, Vec<Assignment>> = HashMap::new();
    for r in rows {
        out.entry(r.0).or_default().push(Assignment {
            reason: RoutingReason::parse(&r.3).ok_or_else(|| bad_value("routing reason", &r.3))?,
            seq: r.1,
            outlet: r.2,
            assign_time: r.4,
            respond_before: r.5,
            distance_km: r.6,
            end_time: r.7,
        });
    }
    Ok(out)
}

pub async fn insert_assignment(
    conn: &mut PgConnection,
    lead: Uuid,
    a: &Assignment,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO lead_assignment (lead_id, seq, outlet_code, reason, assign_time, respond_before, \
         distance_km) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(lead)
    .bind(a.seq)
    .bind(&a.outlet)
    .bind(a.reason.as_str())
    .bind(a.assign_time)
    .bind(a.respond_before)
    .bind(a.distance_km)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends the current assignment of `lead`: the outlet lost it at `at` for `why`.
pub async fn end_assignment(
    conn: &mut PgConnection,
    lead: Uuid,
    at: DateTime<Utc>,
    why: RoutingReason,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE lead_assignment SET end_time = $2, end_reason = $3 WHERE lead_id = $1 AND end_time IS NULL",
    )
    .bind(lead)
    .bind(at)
    .bind(why.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An outlet the router might choose.
#[derive(Debug, Clone, PartialEq)]
pub struct NearbyOutlet {
    pub code: String,
    pub distance_km: f64,
    pub open_leads: i64,
}

/// Up to `limit` ACTIVE outlets with `capability` within `radius_km` of `origin` that are
/// not in `excluded`, nearest first, with their open leads (sql/route_candidates.sql).
pub async fn candidates(
    conn: &mut PgConnection,
    origin: Point,
    capability: Capability,
    radius_km: f64,
    limit: usize,
    excluded: &[String],
) -> Result<Vec<NearbyOutlet>, sqlx::Error> {
    let bbox = BoundingBox::around(origin, radius_km);
    let (lng_min, lng_max) = longitude_range(&bbox);
    let rows: Vec<(String, f64, i64)> =
        sqlx::query_as(include_str!("../../sql/route_candidates.sql"))
            .bind(origin.lat)
            .bind(origin.lng)
            .bind(bbox.lat_min)
            .bind(bbox.lat_max)
            .bind(lng_min)
            .bind(lng_max)
            .bind(capability.as_str())
            .bind(radius_km)
            .bind(limit as i64)
            .bind(excluded)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(code, distance_km, open_leads)| NearbyOutlet {
            code,
            distance_km,
            open_leads,
        })
        .collect())
}

/// ListLeads filters; `None` means any.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub outlet: Option<String>,
    pub status: Option<Status>,
    pub customer: Option<Uuid>,
    /// Only NEW leads whose deadline is before this instant.
    pub overdue_at: Option<DateTime<Utc>>,
}

/// A page of leads in creation order, after `after`.
pub async fn list(
    conn: &mut PgConnection,
    f: &Filter,
    after: Option<Uuid>,
    limit: usize,
) -> Result<Vec<Lead>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {COLUMNS} FROM lead WHERE true"));
    if let Some(outlet) = &f.outlet {
        q.push(" AND outlet_code = ").push_bind(outlet.clone());
    }
    if let Some(status) = f.status {
        q.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(customer) = f.customer {
        q.push(" AND customer_id = ").push_bind(customer);
    }
    if let Some(now) = f.overdue_at {
        q.push(" AND status = 'NEW' AND respond_before < ")
            .push_bind(now);
    }
    if let Some(after) = after {
        q.push(" AND id > ").push_bind(after);
    }
    q.push(" ORDER BY id LIMIT ").push_bind(limit as i64);
    let rows: Vec<LeadRow> = q.build_query_as().fetch_all(&mut *conn).await?;
    rows.into_iter().map(Lead::try_from).collect()
}
