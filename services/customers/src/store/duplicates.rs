//! Blocking for duplicate detection, and the backfill of the phonetic name key.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{CustomerRow, MatchKeys, SELECT_CUSTOMER};
use crate::domain::{Customer, matching::phonetic_key};

/// Most customers taken from one name block: a very common name in a big registry must
/// not turn one lookup into a scan.
const NAME_BLOCK_LIMIT: i64 = 100;

/// The name blocks of a profile: its phonetic name key with its birthday, and with its city.
#[derive(Debug, Clone, Copy)]
pub struct NameBlocks<'a> {
    pub phonetic: &'a str,
    pub birthday: Option<chrono::NaiveDate>,
    pub city: &'a str,
}

/// Ids of active customers sharing an identifier, or the phonetic name key together with
/// the birthday or the city (each an index lookup, never a scan). A profile with neither
/// birthday nor city is blocked on the name alone.
pub async fn candidates(
    conn: &mut PgConnection,
    keys: &MatchKeys,
    names: NameBlocks<'_>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let issuers: Vec<&str> = keys.external_ids.iter().map(|(i, _)| i.as_str()).collect();
    let values: Vec<&str> = keys.external_ids.iter().map(|(_, v)| v.as_str()).collect();
    sqlx::query_scalar(
        "SELECT DISTINCT id FROM ( \
           (SELECT c.id FROM customer c WHERE c.name_phonetic = $6 AND c.birthday = $8 \
              AND c.state = 'ACTIVE' LIMIT $7) \
           UNION ALL (SELECT c.id FROM customer c WHERE c.name_phonetic = $6 AND c.city = $9 \
              AND c.state = 'ACTIVE' LIMIT $7) \
           UNION ALL (SELECT c.id FROM customer c WHERE $8::date IS NULL AND $9 IS NULL \
              AND c.name_phonetic = $6 AND c.state = 'ACTIVE' LIMIT $7) \
           UNION ALL SELECT p.customer_id FROM customer_phone p WHERE p.e164 = ANY ($4) \
           UNION ALL SELECT e.customer_id FROM customer_email e WHERE e.address = ANY ($5) \
           UNION ALL SELECT c.id FROM customer c WHERE c.national_id_hash = $3 \
           UNION ALL SELECT x.customer_id FROM external_id x \
             JOIN unnest($1::text[], $2::text[]) AS k(issuer, value) ON x.issuer = k.issuer AND x.value = k.value \
         ) AS found(id)",
    )
    .bind(issuers)
    .bind(values)
    .bind(keys.national_id_hash.as_deref())
    .bind(&keys.phones)
    .bind(&keys.emails)
    .bind((!names.phonetic.is_empty()).then_some(names.phonetic))
    .bind(NAME_BLOCK_LIMIT)
    .bind(names.birthday)
    .bind((!names.city.is_empty()).then_some(names.city))
    .fetch_all(&mut *conn)
    .await
}

/// The active customers among `ids`.
pub async fn load_active(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<Vec<Customer>, sqlx::Error> {
    let rows: Vec<CustomerRow> = sqlx::query_as(&format!(
        "{SELECT_CUSTOMER} WHERE c.id = ANY ($1) AND c.state = 'ACTIVE'"
    ))
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(CustomerRow::into_customer).collect()
}

/// Computes the phonetic key of up to `batch` rows that lack one; returns how many.
pub async fn backfill_phonetic(pool: &PgPool, batch: i64) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let rows: Vec<CustomerRow> = sqlx::query_as(&format!(
        "{SELECT_CUSTOMER} WHERE c.name_phonetic IS NULL ORDER BY c.id LIMIT $1 FOR UPDATE OF c SKIP LOCKED"
    ))
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    for row in rows {
        let customer = row.into_customer()?;
        ids.push(customer.id);
        keys.push(phonetic_key(&customer.profile));
    }
    sqlx::query(
        "UPDATE customer c SET name_phonetic = t.key FROM unnest($1::uuid[], $2::text[]) AS t(id, key) WHERE c.id = t.id",
    )
    .bind(&ids)
    .bind(&keys)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids.len())
}
