//! Merge records: the snapshot taken before a merge and its exact restoration.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Every column of `customer`, in one place for the snapshot and its restoration. A
/// migration that adds a column to `customer` adds it to `merge_customer` and here.
const CUSTOMER_COLUMNS: &str = "id, kind, family_name, given_name, organization_name, display_name, name_key, \
     province, city, district, street, postal_code, region_code, birthday, preferred_language, \
     source_channel, created_by_org, national_id_hash, national_id_last4, state, merged_into, \
     version, create_time, update_time, preferred_dealer, preferred_station, name_phonetic";
const PHONE_COLUMNS: &str = "customer_id, position, e164, kind";
const EMAIL_COLUMNS: &str = "customer_id, position, address";
const CONSENT_COLUMNS: &str = "customer_id, channel, purpose, status, capture_source, capture_time, \
     valid_until, recorded_by, update_time";

/// A stored merge.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MergeRecord {
    pub id: Uuid,
    pub survivor_id: Uuid,
    pub duplicate_ids: Vec<Uuid>,
    pub merged_at: DateTime<Utc>,
    pub merged_by: String,
    pub survivor_version: i64,
    pub unmerged_at: Option<DateTime<Utc>>,
}

/// Saves the rows a merge of `duplicates` into `survivor` will change.
pub async fn snapshot(
    conn: &mut PgConnection,
    merge: Uuid,
    survivor: Uuid,
    duplicates: &[Uuid],
) -> Result<(), sqlx::Error> {
    let all: Vec<Uuid> = std::iter::once(survivor)
        .chain(duplicates.iter().copied())
        .collect();
    sqlx::query(&format!(
        "INSERT INTO merge_customer ({CUSTOMER_COLUMNS}, merge_id) SELECT {CUSTOMER_COLUMNS}, $1 FROM customer WHERE id = ANY ($2)"
    ))
    .bind(merge)
    .bind(&all)
    .execute(&mut *conn)
    .await?;
    for (table, columns, source) in [
        ("merge_phone", PHONE_COLUMNS, "customer_phone"),
        ("merge_email", EMAIL_COLUMNS, "customer_email"),
        ("merge_consent", CONSENT_COLUMNS, "consent"),
    ] {
        sqlx::query(&format!(
            "INSERT INTO {table} ({columns}, merge_id) SELECT {columns}, $1 FROM {source} WHERE customer_id = $2"
        ))
        .bind(merge)
        .bind(survivor)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Moves the duplicates' external ids off them (recording where they came from) so the
/// survivor can take them: ids are unique per issuer.
pub async fn release_external_ids(
    conn: &mut PgConnection,
    merge: Uuid,
    duplicates: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH moved AS (DELETE FROM external_id WHERE customer_id = ANY ($2) RETURNING issuer, value, customer_id) \
         INSERT INTO merge_external_id (merge_id, issuer, value, from_customer) SELECT $1, issuer, value, customer_id FROM moved",
    )
    .bind(merge)
    .bind(duplicates)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Gives the survivor every consent answer of the duplicates that is newer than its own
/// for the same channel and purpose, with a history entry each.
pub async fn unite_consents(
    conn: &mut PgConnection,
    record: &MergeRecord,
    org: &str,
    subject: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH newest AS ( \
           SELECT DISTINCT ON (channel, purpose) channel, purpose, status, capture_source, capture_time, valid_until \
           FROM consent WHERE customer_id = ANY ($2) ORDER BY channel, purpose, capture_time DESC), \
         taken AS ( \
           INSERT INTO consent (customer_id, channel, purpose, status, capture_source, capture_time, valid_until, recorded_by, update_time) \
           SELECT $1, n.channel, n.purpose, n.status, n.capture_source, n.capture_time, n.valid_until, $3, $5 FROM newest n \
           ON CONFLICT (customer_id, channel, purpose) DO UPDATE SET status = excluded.status, \
             capture_source = excluded.capture_source, capture_time = excluded.capture_time, \
             valid_until = excluded.valid_until, recorded_by = excluded.recorded_by, update_time = excluded.update_time \
           WHERE consent.capture_time < excluded.capture_time \
           RETURNING channel, purpose, status, capture_source, capture_time, valid_until) \
         INSERT INTO consent_history (customer_id, channel, purpose, status, capture_source, capture_time, valid_until, recorded_by, recorded_by_subject) \
         SELECT $1, channel, purpose, status, capture_source, capture_time, valid_until, $3, $4 FROM taken",
    )
    .bind(record.survivor_id)
    .bind(&record.duplicate_ids)
    .bind(org)
    .bind(subject)
    .bind(record.merged_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A duplicate's relationship re-pointed at the survivor: (subject, related, type,
/// valid from, valid to, recorded by).
type RelationshipCopy = (
    Uuid,
    Uuid,
    String,
    Option<chrono::NaiveDate>,
    Option<chrono::NaiveDate>,
    String,
);

/// Copies the duplicates' relationships onto the survivor (skipping ones it would have
/// twice or with itself) and their organisation links; both recorded for undo.
pub async fn unite_relations(
    conn: &mut PgConnection,
    merge: Uuid,
    survivor: Uuid,
    duplicates: &[Uuid],
) -> Result<(), sqlx::Error> {
    let rows: Vec<RelationshipCopy> = sqlx::query_as(
        "SELECT CASE WHEN customer_id = ANY ($2) THEN $1 ELSE customer_id END, \
                CASE WHEN related_id = ANY ($2) THEN $1 ELSE related_id END, \
                type, valid_from, valid_to, recorded_by \
         FROM relationship WHERE customer_id = ANY ($2) OR related_id = ANY ($2) ORDER BY id",
    )
    .bind(survivor)
    .bind(duplicates)
    .fetch_all(&mut *conn)
    .await?;
    for (from, to, kind, valid_from, valid_to, recorded_by) in rows {
        if from == to {
            continue;
        }
        let id = Uuid::now_v7();
        let inserted = sqlx::query(
            "INSERT INTO relationship (id, customer_id, related_id, type, valid_from, valid_to, recorded_by, create_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, now()) ON CONFLICT (customer_id, related_id, type) DO NOTHING",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(&kind)
        .bind(valid_from)
        .bind(valid_to)
        .bind(&recorded_by)
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() == 1 {
            sqlx::query(
                "INSERT INTO merge_added_relationship (merge_id, relationship_id) VALUES ($1, $2)",
            )
            .bind(merge)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
    }
    sqlx::query(
        "WITH added AS ( \
           INSERT INTO customer_link (customer_id, organization, reason) \
           SELECT DISTINCT $1::uuid, organization, 'MERGED' FROM customer_link WHERE customer_id = ANY ($2) \
           ON CONFLICT (customer_id, organization) DO NOTHING RETURNING organization) \
         INSERT INTO merge_added_link (merge_id, organization) SELECT $3, organization FROM added",
    )
    .bind(survivor)
    .bind(duplicates)
    .bind(merge)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores the merge record; first, since the snapshot rows refer to it.
pub async fn open(
    conn: &mut PgConnection,
    record: &MergeRecord,
    subject: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO merge_record (id, survivor_id, duplicate_ids, merged_at, merged_by, merged_by_subject, survivor_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(record.id)
    .bind(record.survivor_id)
    .bind(&record.duplicate_ids)
    .bind(record.merged_at)
    .bind(&record.merged_by)
    .bind(subject)
    .bind(record.survivor_version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks the duplicates merged into the survivor and notes the survivor's new version.
pub async fn close(conn: &mut PgConnection, record: &MergeRecord) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE customer SET state = 'MERGED', merged_into = $1, version = version + 1, update_time = $3 WHERE id = ANY ($2)",
    )
    .bind(record.survivor_id)
    .bind(&record.duplicate_ids)
    .bind(record.merged_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE merge_record SET survivor_version = $2 WHERE id = $1")
        .bind(record.id)
        .bind(record.survivor_version)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A merge record, locked for the rest of the transaction.
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Option<MergeRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, survivor_id, duplicate_ids, merged_at, merged_by, survivor_version, unmerged_at \
         FROM merge_record WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
}

/// Whether the survivor's consents changed after the merge (an unmerge would lose that).
pub async fn consents_changed_since(
    conn: &mut PgConnection,
    record: &MergeRecord,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM consent WHERE customer_id = $1 AND update_time > $2)",
    )
    .bind(record.survivor_id)
    .bind(record.merged_at)
    .fetch_one(&mut *conn)
    .await
}

/// Puts every row the merge changed back as the snapshot recorded it.
pub async fn restore(
    conn: &mut PgConnection,
    record: &MergeRecord,
    org: &str,
) -> Result<(), sqlx::Error> {
    let (merge, survivor) = (record.id, record.survivor_id);
    let statements = [
        "DELETE FROM relationship WHERE id IN (SELECT relationship_id FROM merge_added_relationship WHERE merge_id = $1)",
        "DELETE FROM customer_link WHERE customer_id = $2 AND reason = 'MERGED' \
         AND organization IN (SELECT organization FROM merge_added_link WHERE merge_id = $1)",
        "DELETE FROM external_id WHERE (issuer, value) IN (SELECT issuer, value FROM merge_external_id WHERE merge_id = $1)",
        "INSERT INTO external_id (issuer, value, customer_id) SELECT issuer, value, from_customer FROM merge_external_id WHERE merge_id = $1",
        "DELETE FROM customer_phone WHERE customer_id = $2",
        "DELETE FROM customer_email WHERE customer_id = $2",
        "DELETE FROM consent WHERE customer_id = $2",
    ];
    for sql in statements {
        sqlx::query(sql)
            .bind(merge)
            .bind(survivor)
            .execute(&mut *conn)
            .await?;
    }
    for (table, columns, target) in [
        ("merge_phone", PHONE_COLUMNS, "customer_phone"),
        ("merge_email", EMAIL_COLUMNS, "customer_email"),
        ("merge_consent", CONSENT_COLUMNS, "consent"),
    ] {
        sqlx::query(&format!(
            "INSERT INTO {target} ({columns}) SELECT {columns} FROM {table} WHERE merge_id = $1"
        ))
        .bind(merge)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(&format!(
        "UPDATE customer c SET ({CUSTOMER_COLUMNS}) = (SELECT {CUSTOMER_COLUMNS} FROM merge_customer s \
         WHERE s.merge_id = $1 AND s.id = c.id) WHERE c.id IN (SELECT id FROM merge_customer WHERE merge_id = $1)"
    ))
    .bind(merge)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE merge_record SET unmerged_at = now(), unmerged_by = $2 WHERE id = $1")
        .bind(merge)
        .bind(org)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
