//! PostgreSQL persistence of API keys in the `gateway` schema; every function takes the
//! caller's connection.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// One stored key (never its secret, only the secret's hash).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub prefix: String,
    pub secret_sha256: Vec<u8>,
    pub display_name: String,
    pub organization: String,
    pub roles: Vec<String>,
    pub expire_time: Option<DateTime<Utc>>,
    pub create_time: DateTime<Utc>,
    pub creator: String,
    pub request_key: String,
    pub revoke_time: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "prefix, secret_sha256, display_name, organization, roles, expire_time, \
                       create_time, creator, request_key, revoke_time";

/// Inserts `row`; false when a key was already issued for its request key.
pub async fn insert(conn: &mut PgConnection, row: &ApiKeyRow) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO api_key (prefix, secret_sha256, display_name, organization, roles, \
         expire_time, create_time, creator, request_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (request_key) DO NOTHING",
    )
    .bind(&row.prefix)
    .bind(&row.secret_sha256)
    .bind(&row.display_name)
    .bind(&row.organization)
    .bind(&row.roles)
    .bind(row.expire_time)
    .bind(row.create_time)
    .bind(&row.creator)
    .bind(&row.request_key)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn by_request_key(conn: &mut PgConnection, key: &str) -> sqlx::Result<Option<ApiKeyRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_key WHERE request_key = $1"
    ))
    .bind(key)
    .fetch_optional(conn)
    .await
}

pub async fn get(conn: &mut PgConnection, prefix: &str) -> sqlx::Result<Option<ApiKeyRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_key WHERE prefix = $1"))
        .bind(prefix)
        .fetch_optional(conn)
        .await
}

/// Marks the key revoked now, or keeps its first revocation time.
pub async fn revoke(
    conn: &mut PgConnection,
    prefix: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<ApiKeyRow>> {
    sqlx::query_as(&format!(
        "UPDATE api_key SET revoke_time = coalesce(revoke_time, $2) WHERE prefix = $1 \
         RETURNING {COLUMNS}"
    ))
    .bind(prefix)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Which keys a listing asks for.
#[derive(Debug, Clone)]
pub struct ListFilter {
    pub organization: Option<String>,
    pub show_inactive: bool,
    /// Keys strictly after this (create_time, prefix), newest first.
    pub after: Option<(DateTime<Utc>, String)>,
    pub limit: i64,
}

pub async fn list(
    conn: &mut PgConnection,
    filter: &ListFilter,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<ApiKeyRow>> {
    let (after_time, after_prefix) = filter.after.clone().unzip();
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_key \
         WHERE ($1::text IS NULL OR organization = $1) \
           AND ($2 OR (revoke_time IS NULL AND (expire_time IS NULL OR expire_time > $3))) \
           AND ($4::timestamptz IS NULL OR (create_time, prefix) < ($4, $5)) \
         ORDER BY create_time DESC, prefix DESC LIMIT $6"
    ))
    .bind(&filter.organization)
    .bind(filter.show_inactive)
    .bind(now)
    .bind(after_time)
    .bind(after_prefix)
    .bind(filter.limit)
    .fetch_all(conn)
    .await
}
