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

/// Every block of active customers (of `province`, if given) that share the phonetic name
/// and birthday, the phonetic name and city, a phone, an e-mail or a national-ID hash.
/// Blocks larger than `max_block` are skipped: a shared switchboard number or a very
/// common name with an empty city says nothing about identity.
pub async fn blocks(
    conn: &mut PgConnection,
    province: Option<&str>,
    max_block: i64,
) -> Result<Vec<Vec<Uuid>>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH scope AS (SELECT id, name_phonetic, birthday, city, national_id_hash FROM customer \
                        WHERE state = 'ACTIVE' AND ($1::text IS NULL OR province = $1)) \
         SELECT ids FROM ( \
           SELECT array_agg(id ORDER BY id) AS ids FROM scope \
             WHERE name_phonetic <> '' AND birthday IS NOT NULL GROUP BY name_phonetic, birthday \
             HAVING count(*) BETWEEN 2 AND $2 \
           UNION ALL SELECT array_agg(id ORDER BY id) FROM scope \
             WHERE name_phonetic <> '' AND city <> '' GROUP BY name_phonetic, city \
             HAVING count(*) BETWEEN 2 AND $2 \
           UNION ALL SELECT array_agg(id ORDER BY id) FROM scope \
             WHERE national_id_hash IS NOT NULL GROUP BY national_id_hash HAVING count(*) BETWEEN 2 AND $2 \
           UNION ALL SELECT array_agg(DISTINCT s.id) FROM customer_phone p JOIN scope s ON s.id = p.customer_id \
             GROUP BY p.e164 HAVING count(DISTINCT s.id) BETWEEN 2 AND $2 \
           UNION ALL SELECT array_agg(DISTINCT s.id) FROM customer_email e JOIN scope s ON s.id = e.customer_id \
             GROUP BY e.address HAVING count(DISTINCT s.id) BETWEEN 2 AND $2 \
         ) b",
    )
    .bind(province)
    .bind(max_block)
    .fetch_all(&mut *conn)
    .await
}
