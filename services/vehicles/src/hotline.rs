//! The call center as the vehicle service sees it: after a repair order completes, the
//! hotline schedules the follow-up (survey) call. The call carries the vehicle service's
//! own `system` token and a request id derived from the order, so a repeat schedules
//! nothing twice; the hotline checks the customer's consent and its do-not-call list.

use dealernet_kit::auth::{Principal, Role, TokenKeys};
use dealernet_kit::telemetry::{TracedChannel, traced};
use dealernet_proto::callcenter::v1::{
    self as pb, call_center_service_client::CallCenterServiceClient,
};
use secrecy::SecretString;
use tonic::{Code, Request, transport::Channel};
use tracing::Instrument;

use crate::domain::repair::RepairOrder;

const SELF_ORG: &str = "VEHICLES";
const TOKEN_TTL_SECS: i64 = 300;

/// Asks the hotline for follow-up calls; does nothing when no hotline is configured.
#[derive(Debug, Clone)]
pub struct FollowUps {
    client: Option<CallCenterServiceClient<TracedChannel>>,
    keys: TokenKeys,
}

impl FollowUps {
    /// Follow-ups through the call center at `url`, or none.
    pub fn new(url: Option<&str>, jwt_secret: SecretString) -> Result<FollowUps, String> {
        let client = match url {
            Some(url) => Some(CallCenterServiceClient::new(traced(
                Channel::from_shared(url.to_owned())
                    .map_err(|e| format!("callcenter_url '{url}': {e}"))?
                    .connect_lazy(),
            ))),
            None => None,
        };
        Ok(FollowUps {
            client,
            keys: TokenKeys::new(jwt_secret),
        })
    }

    /// Schedules the survey call after `order` completed, in the background: the
    /// workshop's answer does not wait for the hotline. A refusal (no consent, do-not-call)
    /// is the hotline's decision and only logged.
    pub fn survey_after_repair(&self, order: &RepairOrder) {
        let (Some(client), Some(customer)) = (self.client.clone(), order.customer) else {
            return;
        };
        let Ok(principal) = Principal::new("vehicles-service", SELF_ORG, &[Role::System]) else {
            return;
        };
        let mut request = Request::new(pb::ScheduleCallbackRequest {
            callback: Some(pb::Callback {
                customer: format!("customers/{customer}"),
                reason: format!(
                    "follow-up call after the repair of vehicles/{} at {}",
                    order.vin, order.station
                ),
                purpose: pb::CallbackPurpose::Survey as i32,
                repair_order: format!("repairOrders/{}", order.id),
                outlet: order.station.clone(),
                ..Default::default()
            }),
            request_id: format!("repair-survey-{}", order.id),
        });
        let bearer = format!("Bearer {}", self.keys.mint(&principal, TOKEN_TTL_SECS));
        let Ok(value) = bearer.parse() else {
            return;
        };
        request.metadata_mut().insert("authorization", value);
        let order_id = order.id;
        tokio::spawn(async move {
            match client.clone().schedule_callback(request).await {
                Ok(_) => tracing::debug!(repair_order = %order_id, "survey call scheduled"),
                Err(s) if s.code() == Code::FailedPrecondition => {
                    tracing::info!(repair_order = %order_id, reason = %s.message(), "no survey call")
                }
                Err(s) => tracing::warn!(
                    repair_order = %order_id, code = ?s.code(), status = %s.message(),
                    "the hotline could not schedule the survey call"
                ),
            }
        }
        // Still part of the repair call's trace, though it may finish after the reply.
        .in_current_span());
    }
}
