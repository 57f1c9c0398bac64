//! The registry's merges, unmerges and erasures as the dealer network applies them: leads
//! of merged customers re-pointed to the survivor and remembered in `customer_repoint`
//! (so an unmerge puts exactly those back), and an erased customer's personal data in
//! leads and saved responses dropped (`sql/erase_customer.sql`). `lead.customer_id` is the
//! schema's only customer reference.

use dealernet_kit::events::{
    Apply, ApplyError,
    repoints::{self, Reference},
};
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

/// `lead.customer_id`, the schema's only customer reference.
const REFERENCES: &[Reference] = &[Reference {
    table: "lead",
    column: "customer_id",
    keys: &["id"],
    version: Some("version"),
}];

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
            Some(merge @ (Kind::CustomerMerged(_) | Kind::CustomerUnmerged(_))) => {
                repoints::apply(conn, REFERENCES, merge).await?;
            }
            Some(Kind::CustomerErased(e)) => {
                let customer = uuid_in(&e.customer, "customers/", "customer")?;
                sqlx::query(include_str!("../../sql/erase_customer.sql"))
                    .bind(customer)
                    .execute(conn)
                    .await?;
            }
            // Not asked for (event_types): nothing of the dealer network follows birthdays.
            Some(Kind::CustomerBirthday(_)) => {}
            None => return Err(poison("the event has no payload".to_owned())),
        }
        Ok(())
    }
}
