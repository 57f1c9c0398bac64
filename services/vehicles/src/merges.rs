//! The registry's merges as the vehicle service applies them: references to merged
//! customers (owner, reservation, sale, ownership history, repair orders) re-pointed to
//! the survivor, each remembered so that an unmerge puts exactly those back.

use dealernet_kit::events::{Apply, ApplyError};
use dealernet_proto::customers::v1::{self as pb, customer_service_event::Kind};
use sqlx::PgConnection;
use uuid::Uuid;

/// Every column of this schema holding a customer id: (table, column, key columns).
const REFERENCES: &[(&str, &str, &[&str])] = &[
    ("vehicle", "owner_id", &["vin"]),
    ("vehicle", "reserved_for", &["vin"]),
    ("sale", "customer_id", &["vin"]),
    ("ownership", "customer_id", &["vin", "sequence"]),
    ("repair_order", "customer_id", &["id"]),
];

/// The customers stream's consumer name at the registry.
pub const CONSUMER: &str = "vehicles";

/// Applies CustomerMerged and CustomerUnmerged.
#[derive(Debug, Clone, Copy, Default)]
pub struct CustomerMerges;

fn customer(name: &str, field: &str) -> Result<Uuid, ApplyError> {
    name.strip_prefix("customers/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| ApplyError::Poison(format!("{field}: '{name}' is not a customer name")))
}

fn merge_id(name: &str) -> Result<Uuid, ApplyError> {
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

async fn repoint(
    conn: &mut PgConnection,
    merge: Uuid,
    survivor: Uuid,
    merged: &[Uuid],
) -> Result<(), sqlx::Error> {
    for (table, column, keys) in REFERENCES {
        let join: Vec<String> = keys.iter().map(|k| format!("t.{k} = o.{k}")).collect();
        // The rows still naming a merged customer, locked, with the id they named; each
        // re-pointed and remembered.
        let sql = format!(
            "WITH old AS ( \
                 SELECT {keys}, {column} AS from_customer FROM {table} \
                 WHERE {column} = ANY ($3) FOR UPDATE \
             ), moved AS ( \
                 UPDATE {table} t SET {column} = $2 FROM old o WHERE {join} \
                 RETURNING {key_o} AS row_key, o.from_customer \
             ) \
             INSERT INTO customer_repoint (merge_id, reference, row_key, from_customer, survivor) \
             SELECT $1, '{table}.{column}', row_key, from_customer, $2 FROM moved \
             ON CONFLICT DO NOTHING",
            keys = keys.join(", "),
            join = join.join(" AND "),
            key_o = key_text("o", keys),
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

async fn restore(conn: &mut PgConnection, merge: Uuid) -> Result<(), sqlx::Error> {
    for (table, column, keys) in REFERENCES {
        // Only rows that still name the survivor: one changed since (a resale) stays.
        let sql = format!(
            "UPDATE {table} t SET {column} = r.from_customer FROM customer_repoint r \
             WHERE r.merge_id = $1 AND r.reference = '{table}.{column}' \
               AND r.row_key = {key_t} AND t.{column} = r.survivor",
            key_t = key_text("t", keys),
        );
        sqlx::query(&sql).bind(merge).execute(&mut *conn).await?;
    }
    sqlx::query("DELETE FROM customer_repoint WHERE merge_id = $1")
        .bind(merge)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Apply for CustomerMerges {
    type Delivery = pb::StreamEventsResponse;

    fn event_types(&self) -> &'static [&'static str] {
        &["CustomerMerged", "CustomerUnmerged"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        delivery: &pb::StreamEventsResponse,
    ) -> Result<(), ApplyError> {
        match delivery.event.as_ref().and_then(|e| e.kind.as_ref()) {
            Some(Kind::CustomerMerged(m)) => {
                let survivor = customer(&m.survivor, "survivor")?;
                let merged = m
                    .merged
                    .iter()
                    .map(|n| customer(n, "merged"))
                    .collect::<Result<Vec<_>, _>>()?;
                repoint(conn, merge_id(&m.merge)?, survivor, &merged).await?;
            }
            Some(Kind::CustomerUnmerged(u)) => restore(conn, merge_id(&u.merge)?).await?,
            // Other types are not asked for; nothing of theirs to do here.
            Some(Kind::CustomerErased(_)) | None => {}
        }
        Ok(())
    }
}
