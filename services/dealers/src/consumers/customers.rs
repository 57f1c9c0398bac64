//! The registry's merges, unmerges and erasures as the dealer network applies them: leads
//! of merged customers re-pointed to the survivor and remembered in `customer_repoint`
//! (so an unmerge puts exactly those back), and an erased customer's personal data in
//! leads and saved responses dropped (`sql/erase_customer.sql`). `lead.customer_id` is the
//! schema's only customer reference.

use dealernet_kit::events::{Apply, ApplyError};
use dealernet_proto::customers::v1::{self as pb, customer_service_event::Kind};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{id_in, poison};

/// Applies CustomerMerged, CustomerUnmerged and CustomerErased.
#[derive(Debug, Clone, Copy, Default)]
pub struct CustomerChanges;

fn uuid_in(name: &str, prefix: &str, field: &str) -> Result<Uuid, ApplyError> {
    Uuid::parse_str(id_in(name, prefix, field)?)
        .map_err(|_| poison(format!("{field}: '{name}' does not hold a UUID")))
}

/// Leads naming a merged customer, locked, re-pointed to the survivor and remembered.
async fn repoint(
    conn: &mut PgConnection,
    merge: Uuid,
    survivor: Uuid,
    merged: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH old AS ( \
             SELECT id, customer_id AS from_customer FROM lead \
             WHERE customer_id = ANY ($3) FOR UPDATE \
         ), moved AS ( \
             UPDATE lead l SET customer_id = $2, version = l.version + 1 \
             FROM old o WHERE l.id = o.id \
             RETURNING o.id::text AS row_key, o.from_customer \
         ) \
         INSERT INTO customer_repoint (merge_id, reference, row_key, from_customer, survivor) \
         SELECT $1, 'lead.customer_id', row_key, from_customer, $2 FROM moved \
         ON CONFLICT DO NOTHING",
    )
    .bind(merge)
    .bind(survivor)
    .bind(merged)
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts back the leads a merge re-pointed that still name its survivor.
async fn restore(conn: &mut PgConnection, merge: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE lead l SET customer_id = r.from_customer, version = l.version + 1 \
         FROM customer_repoint r \
         WHERE r.merge_id = $1 AND r.reference = 'lead.customer_id' \
           AND r.row_key = l.id::text AND l.customer_id = r.survivor",
    )
    .bind(merge)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM customer_repoint WHERE merge_id = $1")
        .bind(merge)
        .execute(conn)
        .await?;
    Ok(())
}

impl Apply for CustomerChanges {
    type Delivery = pb::StreamEventsResponse;

    fn event_types(&self) -> &'static [&'static str] {
        &["CustomerMerged", "CustomerUnmerged", "CustomerErased"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        delivery: &pb::StreamEventsResponse,
    ) -> Result<(), ApplyError> {
        match delivery.event.as_ref().and_then(|e| e.kind.as_ref()) {
            Some(Kind::CustomerMerged(m)) => {
                let survivor = uuid_in(&m.survivor, "customers/", "survivor")?;
                let merged = m
                    .merged
                    .iter()
                    .map(|n| uuid_in(n, "customers/", "merged"))
                    .collect::<Result<Vec<_>, _>>()?;
                repoint(
                    conn,
                    uuid_in(&m.merge, "merges/", "merge")?,
                    survivor,
                    &merged,
                )
                .await?;
            }
            Some(Kind::CustomerUnmerged(u)) => {
                restore(conn, uuid_in(&u.merge, "merges/", "merge")?).await?
            }
            Some(Kind::CustomerErased(e)) => {
                let customer = uuid_in(&e.customer, "customers/", "customer")?;
                sqlx::query(include_str!("../../sql/erase_customer.sql"))
                    .bind(customer)
                    .execute(conn)
                    .await?;
            }
            None => return Err(poison("the event has no payload".to_owned())),
        }
        Ok(())
    }
}
