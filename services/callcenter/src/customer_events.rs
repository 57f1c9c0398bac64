//! The registry's events as the call center applies them:
//! - CustomerErased: its own copies of the customer's phone numbers and free text dropped
//!   (`sql/erase_customer.sql`);
//! - CustomerMerged / CustomerUnmerged: every reference to a merged customer (cases,
//!   interactions, callbacks, survey answers) re-pointed to the survivor and remembered
//!   in `customer_repoint`, so the unmerge puts exactly those rows back;
//! - CustomerBirthday: a greeting call on the day, through ScheduleCallback's own rules
//!   (`api::outreach`).

use dealernet_kit::events::{
    Apply, ApplyError,
    repoints::{self, Reference, customer_id},
};
use dealernet_proto::customers::v1::{self as pb, customer_service_event::Kind};
use sqlx::PgConnection;

use crate::Service;

/// The consumer's name at the registry. It was named when it applied erasures only and
/// stays so: the registry keeps its outbox for every registered name (retention), and the
/// durable cursor (`event_cursor`, one row per source) is this consumer's.
pub const CONSUMER: &str = "callcenter-erasures";

/// Every column of this schema holding a customer id.
const REFERENCES: &[Reference] = &[
    Reference {
        table: "support_case",
        column: "customer_id",
        keys: &["id"],
        version: Some("version"),
    },
    Reference {
        table: "interaction",
        column: "customer_id",
        keys: &["id"],
        version: None,
    },
    Reference {
        table: "callback",
        column: "customer_id",
        keys: &["id"],
        version: Some("version"),
    },
    Reference {
        table: "survey_response",
        column: "customer_id",
        keys: &["id"],
        version: None,
    },
];

/// Applies the registry's erasures, merges, unmerges and birthdays.
#[derive(Debug, Clone)]
pub struct CustomerEvents {
    service: Service,
}

impl CustomerEvents {
    pub fn new(service: Service) -> CustomerEvents {
        CustomerEvents { service }
    }
}

impl Apply for CustomerEvents {
    type Delivery = pb::StreamEventsResponse;

    fn event_types(&self) -> &'static [&'static str] {
        &[
            "CustomerErased",
            "CustomerMerged",
            "CustomerUnmerged",
            "CustomerBirthday",
        ]
    }

    /// Erasures and merges change rows on `conn`; a birthday works through the hotline's
    /// own handler (its own transaction, idempotent by request id).
    async fn apply(
        &self,
        conn: &mut PgConnection,
        delivery: &pb::StreamEventsResponse,
    ) -> Result<(), ApplyError> {
        match delivery.event.as_ref().and_then(|e| e.kind.as_ref()) {
            Some(Kind::CustomerErased(erased)) => {
                let id = customer_id(&erased.customer, "customer")?;
                sqlx::query(include_str!("../sql/erase_customer.sql"))
                    .bind(id)
                    .execute(conn)
                    .await?;
            }
            Some(merge @ (Kind::CustomerMerged(_) | Kind::CustomerUnmerged(_))) => {
                repoints::apply(conn, REFERENCES, merge).await?;
            }
            Some(Kind::CustomerBirthday(birthday)) => {
                self.service.birthday_greeting(birthday).await?
            }
            None => {}
        }
        Ok(())
    }
}
