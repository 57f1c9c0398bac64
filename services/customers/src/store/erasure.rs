//! Erasure: anonymise a customer (and every customer merged into it), keep the id.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Who erased, and why; written to `erasure_log`.
#[derive(Debug)]
pub struct Erasure<'a> {
    pub subject: &'a str,
    pub organization: &'a str,
    pub roles: String,
    pub reason: &'a str,
    pub request_id: &'a str,
    pub at: DateTime<Utc>,
}

/// Anonymises `survivor` and the customers merged into it (their old records hold the same
/// person's data), withdraws their consents, removes contact points and external ids,
/// deletes saved responses about them, and logs the erasure. The survivor becomes ERASED;
/// merged-away records stay MERGED so their ids keep resolving.
pub async fn erase(
    conn: &mut PgConnection,
    survivor: Uuid,
    e: &Erasure<'_>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "WITH RECURSIVE chain AS ( \
             SELECT id FROM customer WHERE id = $1 \
             UNION SELECT c.id FROM customer c JOIN chain ON c.merged_into = chain.id) \
         SELECT id FROM chain",
    )
    .bind(survivor)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE customer SET family_name = '', given_name = '', organization_name = '', \
         display_name = '', name_key = '', name_phonetic = '', province = '', city = '', district = '', street = '', \
         postal_code = '', region_code = '', birthday = NULL, preferred_language = '', \
         national_id_hash = NULL, national_id_last4 = '', preferred_dealer = '', \
         preferred_station = '', version = version + 1, update_time = $2, \
         state = CASE WHEN id = $3 THEN 'ERASED' ELSE state END \
         WHERE id = ANY ($1)",
    )
    .bind(&ids)
    .bind(e.at)
    .bind(survivor)
    .execute(&mut *conn)
    .await?;
    // Who lives with or works for whom is personal data too.
    sqlx::query("DELETE FROM relationship WHERE customer_id = ANY ($1) OR related_id = ANY ($1)")
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    for table in ["customer_phone", "customer_email", "external_id"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE customer_id = ANY ($1)"))
            .bind(&ids)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "INSERT INTO consent_history (customer_id, channel, purpose, status, capture_source, \
         capture_time, valid_until, recorded_by, recorded_by_subject) \
         SELECT customer_id, channel, purpose, 'WITHDRAWN', capture_source, $2, NULL, $3, $4 \
         FROM consent WHERE customer_id = ANY ($1) AND status <> 'WITHDRAWN'",
    )
    .bind(&ids)
    .bind(e.at)
    .bind(e.organization)
    .bind(e.subject)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE consent SET status = 'WITHDRAWN', capture_time = $2, valid_until = NULL, \
         recorded_by = $3, update_time = $2 WHERE customer_id = ANY ($1) AND status <> 'WITHDRAWN'",
    )
    .bind(&ids)
    .bind(e.at)
    .bind(e.organization)
    .execute(&mut *conn)
    .await?;
    let names: Vec<String> = ids.iter().map(|id| format!("customers/{id}")).collect();
    sqlx::query("DELETE FROM idempotency WHERE resource = ANY ($1)")
        .bind(&names)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO erasure_log (customer_id, subject, organization, roles, reason, request_id, erased_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(survivor)
    .bind(e.subject)
    .bind(e.organization)
    .bind(&e.roles)
    .bind(e.reason)
    .bind(e.request_id)
    .bind(e.at)
    .execute(&mut *conn)
    .await?;
    Ok(ids)
}
