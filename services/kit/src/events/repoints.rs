//! The registry's merges as a consuming service applies them to its own references:
//! every column naming a merged customer re-pointed to the survivor, each change
//! remembered in the service's `customer_repoint` table, so that the merge's undo puts
//! exactly those rows back. Shared by every consumer of CustomerMerged/CustomerUnmerged.

use dealernet_proto::customers::v1::customer_service_event::Kind;
use sqlx::PgConnection;
use uuid::Uuid;

use super::ApplyError;

/// A column of the consumer's schema holding a customer id, and its table's key columns.
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    pub table: &'static str,
    pub column: &'static str,
    pub keys: &'static [&'static str],
    /// The table's change counter behind its etag, if it has one: a re-pointed row has
    /// changed, so a client holding the old etag must not overwrite it unseen.
    pub version: Option<&'static str>,
}

/// `, v = t.v + 1` for a table with a change counter.
fn bump(version: Option<&str>) -> String {
    version
        .map(|v| format!(", {v} = t.{v} + 1"))
        .unwrap_or_default()
}

/// `customers/{id}` as a uuid; a malformed name cannot apply (poison).
pub fn customer_id(name: &str, field: &str) -> Result<Uuid, ApplyError> {
    name.strip_prefix("customers/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| ApplyError::Poison(format!("{field}: '{name}' is not a customer name")))
}

/// `merges/{id}` as a uuid; a malformed name cannot apply (poison).
pub fn merge_id(name: &str) -> Result<Uuid, ApplyError> {
    name.strip_prefix("merges/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| ApplyError::Poison(format!("merge: '{name}' is not a merge name")))
}

/// `t.a::text || '/' || t.b::text`: a row's key as the text kept in `row_key`.
fn key_text(alias: &str, keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("{alias}.{k}::text"))
        .collect::<Vec<_>>()
        .join(" || '/' || ")
}

/// Re-points every reference to a `merged` customer at `survivor`, remembering each row
/// under `merge`. Applied again, it finds nothing left to move.
pub async fn repoint(
    conn: &mut PgConnection,
    references: &[Reference],
    merge: Uuid,
    survivor: Uuid,
    merged: &[Uuid],
) -> Result<(), sqlx::Error> {
    for Reference {
        table,
        column,
        keys,
        version,
    } in references
    {
        let join: Vec<String> = keys.iter().map(|k| format!("t.{k} = o.{k}")).collect();
        // The rows still naming a merged customer, locked, with the id they named; each
        // re-pointed and remembered.
        let sql = format!(
            "WITH old AS ( \
                 SELECT {keys}, {column} AS from_customer FROM {table} \
                 WHERE {column} = ANY ($3) FOR UPDATE \
             ), moved AS ( \
                 UPDATE {table} t SET {column} = $2{bump} FROM old o WHERE {join} \
                 RETURNING {key_o} AS row_key, o.from_customer \
             ) \
             INSERT INTO customer_repoint (merge_id, reference, row_key, from_customer, survivor) \
             SELECT $1, '{table}.{column}', row_key, from_customer, $2 FROM moved \
             ON CONFLICT DO NOTHING",
            keys = keys.join(", "),
            join = join.join(" AND "),
            key_o = key_text("o", keys),
            bump = bump(*version),
        );
        sqlx::query(&sql)
            .bind(merge)
            .bind(survivor)
            .bind(merged)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Puts back what `merge` re-pointed and forgets it. Only rows that still name the
/// survivor go back: one changed since (a resale, say) stays as it is.
pub async fn restore(
    conn: &mut PgConnection,
    references: &[Reference],
    merge: Uuid,
) -> Result<(), sqlx::Error> {
    for Reference {
        table,
        column,
        keys,
        version,
    } in references
    {
        let sql = format!(
            "UPDATE {table} t SET {column} = r.from_customer{bump} FROM customer_repoint r \
             WHERE r.merge_id = $1 AND r.reference = '{table}.{column}' \
               AND r.row_key = {key_t} AND t.{column} = r.survivor",
            key_t = key_text("t", keys),
            bump = bump(*version),
        );
        sqlx::query(&sql).bind(merge).execute(&mut *conn).await?;
    }
    sqlx::query("DELETE FROM customer_repoint WHERE merge_id = $1")
        .bind(merge)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Applies a registry event to `references`: CustomerMerged re-points, CustomerUnmerged
/// restores. Returns false, having done nothing, for any other event.
pub async fn apply(
    conn: &mut PgConnection,
    references: &[Reference],
    event: &Kind,
) -> Result<bool, ApplyError> {
    match event {
        Kind::CustomerMerged(m) => {
            let survivor = customer_id(&m.survivor, "survivor")?;
            let merged = m
                .merged
                .iter()
                .map(|n| customer_id(n, "merged"))
                .collect::<Result<Vec<_>, _>>()?;
            repoint(conn, references, merge_id(&m.merge)?, survivor, &merged).await?;
            Ok(true)
        }
        Kind::CustomerUnmerged(u) => {
            restore(conn, references, merge_id(&u.merge)?).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}
