//! The registry's erasures as the call center applies them: its own copies of the
//! customer's phone numbers and free text dropped (`sql/erase_customer.sql`).

use dealernet_kit::events::{Apply, ApplyError};
use dealernet_proto::customers::v1::{self as pb, customer_service_event::Kind};
use sqlx::PgConnection;
use uuid::Uuid;

/// The consumer's name at the registry.
pub const CONSUMER: &str = "callcenter-erasures";

/// Applies CustomerErased.
#[derive(Debug, Clone, Copy, Default)]
pub struct Erasures;

impl Apply for Erasures {
    type Delivery = pb::StreamEventsResponse;

    fn event_types(&self) -> &'static [&'static str] {
        &["CustomerErased"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        delivery: &pb::StreamEventsResponse,
    ) -> Result<(), ApplyError> {
        let Some(Kind::CustomerErased(erased)) =
            delivery.event.as_ref().and_then(|e| e.kind.as_ref())
        else {
            return Ok(());
        };
        let id = erased
            .customer
            .strip_prefix("customers/")
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| {
                ApplyError::Poison(format!("'{}' is not a customer name", erased.customer))
            })?;
        sqlx::query(include_str!("../sql/erase_customer.sql"))
            .bind(id)
            .execute(conn)
            .await?;
        Ok(())
    }
}
