//! Reading the access log (writing is the audit writer's, see `audit.rs`).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

/// Filters of an access-log listing; every `Some` must match.
#[derive(Debug, Default, Clone)]
pub struct AccessFilter {
    pub customer: Option<Uuid>,
    pub organization: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// A dealer's view: reads of customers linked to this organisation by anyone else.
    pub outsiders_of: Option<String>,
}

/// One stored record.
#[derive(Debug, sqlx::FromRow)]
pub struct AccessRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub subject: String,
    pub organization: String,
    pub roles: Vec<String>,
    pub customer_id: Uuid,
    pub fields: Vec<String>,
    pub purpose: String,
    pub request_id: String,
    pub method: String,
}

/// A page of records, newest first, older than `before`.
pub async fn list(
    conn: &mut PgConnection,
    f: &AccessFilter,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<AccessRow>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT id, at, subject, organization, roles, customer_id, fields, purpose, request_id, method \
         FROM access_log WHERE true",
    );
    if let Some(customer) = f.customer {
        q.push(" AND customer_id = ").push_bind(customer);
    }
    if let Some(org) = &f.organization {
        q.push(" AND organization = ").push_bind(org.clone());
    }
    if let Some(start) = f.start {
        q.push(" AND at >= ").push_bind(start);
    }
    if let Some(end) = f.end {
        q.push(" AND at < ").push_bind(end);
    }
    if let Some(org) = &f.outsiders_of {
        q.push(" AND organization <> ")
            .push_bind(org.clone())
            .push(
                " AND customer_id IN (SELECT customer_id FROM customer_link WHERE organization = ",
            )
            .push_bind(org.clone())
            .push(" UNION SELECT customer_id FROM external_id WHERE issuer = ")
            .push_bind(org.clone())
            .push(")");
    }
    if let Some(before) = before {
        q.push(" AND id < ").push_bind(before);
    }
    q.push(" ORDER BY id DESC LIMIT ").push_bind(limit as i64);
    q.build_query_as().fetch_all(&mut *conn).await
}
