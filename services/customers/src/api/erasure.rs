//! EraseCustomer.

use dealernet_kit::{error::FieldViolations, idempotency::IdempotencyKey};
use dealernet_proto::customers::v1 as pb;

use super::{
    Caller, Result,
    access::require_hq,
    convert::{parse_name, resource_name, to_proto},
    remember, replay,
};
use crate::{
    Error, Service,
    domain::profile::clean_text,
    store::{self, erasure::Erasure},
};

const MAX_REASON: usize = 500;

impl Service {
    pub(super) async fn erase(
        &self,
        caller: &Caller,
        req: pb::EraseCustomerRequest,
    ) -> Result<pb::EraseCustomerResponse> {
        let principal = &caller.principal;
        // Erasure is irreversible: only head office decides it.
        require_hq(principal, "erasing a customer")?;
        let key = IdempotencyKey::new(principal, "EraseCustomer", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let id = parse_name(&req.name, "name").map_err(|e| v.append(e)).ok();
        match clean_text(&req.reason, MAX_REASON) {
            Ok(reason) if reason.is_empty() => {
                v.add("reason", "required: why the customer is erased")
            }
            Ok(_) => {}
            Err(e) => v.add("reason", e),
        }
        v.into_result()?;
        let id = id.unwrap_or_default();
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let _customer = super::active_customer(&mut tx, id, true).await?;
        let erasure = Erasure {
            subject: principal.subject(),
            organization: principal.organization(),
            roles: principal
                .roles()
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(","),
            reason: req.reason.trim(),
            request_id: &req.request_id,
            at: store::now(),
        };
        let erased = store::erasure::erase(&mut tx, id, &erasure).await?;
        // An erased customer leaves the segments (its facts stay, like its id).
        store::value::recompute(&mut tx, &[id], &self.value_rules).await?;
        crate::events::customer_erased(&mut tx, principal, id, erasure.at).await?;
        tracing::info!(customer = %id, records = erased.len(), "customer erased");
        let customer = store::load(&mut tx, id, false)
            .await?
            .ok_or_else(|| Error::NotFound(req.name.clone()))?;
        let response = pb::EraseCustomerResponse {
            customer: Some(to_proto(&customer)),
        };
        remember(&mut tx, key.as_ref(), &response, &resource_name(id)).await?;
        tx.commit().await?;
        dealernet_kit::events::published();
        Ok(response)
    }
}
