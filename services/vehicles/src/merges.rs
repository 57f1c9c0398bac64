//! The registry's merges as the vehicle service applies them: references to merged
//! customers (owner, reservation, sale, ownership history, repair orders) re-pointed to
//! the survivor, each remembered so that an unmerge puts exactly those back
//! (`dealernet_kit::events::repoints`).

use dealernet_kit::events::{
    Apply, ApplyError,
    repoints::{self, Reference},
};
use dealernet_proto::customers::v1 as pb;
use sqlx::PgConnection;

/// Every column of this schema holding a customer id.
const REFERENCES: &[Reference] = &[
    Reference {
        table: "vehicle",
        column: "owner_id",
        keys: &["vin"],
        version: Some("version"),
    },
    Reference {
        table: "vehicle",
        column: "reserved_for",
        keys: &["vin"],
        version: Some("version"),
    },
    Reference {
        table: "sale",
        column: "customer_id",
        keys: &["vin"],
        version: None,
    },
    Reference {
        table: "ownership",
        column: "customer_id",
        keys: &["vin", "sequence"],
        version: None,
    },
    Reference {
        table: "repair_order",
        column: "customer_id",
        keys: &["id"],
        version: Some("version"),
    },
];

/// The customers stream's consumer name at the registry.
pub const CONSUMER: &str = "vehicles";

/// Applies CustomerMerged and CustomerUnmerged.
#[derive(Debug, Clone, Copy, Default)]
pub struct CustomerMerges;

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
        // Other types are not asked for; nothing of theirs to do here.
        if let Some(kind) = delivery.event.as_ref().and_then(|e| e.kind.as_ref()) {
            repoints::apply(conn, REFERENCES, kind).await?;
        }
        Ok(())
    }
}
