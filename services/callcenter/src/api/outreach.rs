//! The vehicle service's events as the hotline acts on them: a closed repair order gets
//! its satisfaction-survey call, a new recall campaign a reminder call to each affected
//! owner. Both go through ScheduleCallback's own rules (consent, do-not-call, calling
//! hours) under the call center's system principal, with request ids derived from the
//! event's object, so an event applied again schedules nothing twice.

use dealernet_kit::{
    auth::{Principal, Role},
    events::{Apply, ApplyError},
};
use dealernet_proto::{
    callcenter::v1 as pb,
    vehicles::v1::{self as vpb, vehicle_service_event::Kind},
};
use sqlx::PgConnection;
use tonic::Code;

use crate::Service;

/// The consumer's name at the vehicle service.
pub const CONSUMER: &str = "callcenter-outreach";

/// Applies RepairOrderClosed and RecallCampaignCreated.
#[derive(Debug, Clone)]
pub struct Outreach {
    service: Service,
}

impl Outreach {
    pub fn new(service: Service) -> Outreach {
        Outreach { service }
    }

    fn principal() -> Result<Principal, ApplyError> {
        Principal::new("callcenter-events", "CALLCENTER", &[Role::System])
            .map_err(ApplyError::Poison)
    }

    /// Schedules one call; the hotline's refusals (no consent, do-not-call, no number,
    /// an unknown or erased customer) are decisions, not failures.
    async fn schedule(&self, callback: pb::Callback, request_id: String) -> Result<(), ApplyError> {
        let principal = Self::principal()?;
        let request = pb::ScheduleCallbackRequest {
            callback: Some(callback),
            request_id,
        };
        match self.service.schedule_callback(&principal, request).await {
            Ok(_) => Ok(()),
            Err(error) => {
                let status = tonic::Status::from(error);
                match status.code() {
                    Code::FailedPrecondition | Code::NotFound | Code::PermissionDenied => {
                        tracing::debug!(code = ?status.code(), message = status.message(), "outreach call declined");
                        Ok(())
                    }
                    Code::InvalidArgument | Code::Internal => {
                        Err(ApplyError::Poison(status.message().to_owned()))
                    }
                    _ => Err(ApplyError::Transient(status.message().to_owned())),
                }
            }
        }
    }

    async fn survey_after_repair(&self, order: &vpb::RepairOrderClosed) -> Result<(), ApplyError> {
        if order.customer.is_empty() {
            return Ok(());
        }
        let id = order.repair_order.trim_start_matches("repairOrders/");
        let callback = pb::Callback {
            customer: order.customer.clone(),
            reason: format!(
                "follow-up call after the repair of {} at {}",
                order.vehicle, order.station
            ),
            purpose: pb::CallbackPurpose::Survey as i32,
            repair_order: order.repair_order.clone(),
            outlet: order.station.clone(),
            ..Default::default()
        };
        self.schedule(callback, format!("repair-survey-{id}")).await
    }

    async fn recall_reminders(
        &self,
        campaign: &vpb::RecallCampaignCreated,
    ) -> Result<(), ApplyError> {
        let Some(fleet) = self.service.fleet.as_ref() else {
            return Err(ApplyError::Transient(
                "no vehicle service is configured to list the campaign's cars".into(),
            ));
        };
        let mut page = String::new();
        loop {
            let (owners, next) = fleet
                .recall_owners(&campaign.recall_campaign, &page)
                .await
                .map_err(|s| match s.code() {
                    Code::NotFound | Code::InvalidArgument => {
                        ApplyError::Poison(s.message().to_owned())
                    }
                    _ => ApplyError::Transient(s.message().to_owned()),
                })?;
            for owner in owners {
                let vin = owner.vehicle.trim_start_matches("vehicles/");
                let callback = pb::Callback {
                    customer: owner.owner.clone(),
                    reason: format!(
                        "recall {}: {} ({})",
                        campaign.code, campaign.title, owner.vehicle
                    ),
                    purpose: pb::CallbackPurpose::ServiceReminder as i32,
                    outlet: owner.outlet.clone(),
                    ..Default::default()
                };
                self.schedule(callback, format!("recall-{}-{vin}", campaign.code))
                    .await?;
            }
            if next.is_empty() {
                return Ok(());
            }
            page = next;
        }
    }
}

impl Apply for Outreach {
    type Delivery = vpb::StreamEventsResponse;

    fn event_types(&self) -> &'static [&'static str] {
        &["RepairOrderClosed", "RecallCampaignCreated"]
    }

    /// Works through the hotline's own handlers (their own transactions, idempotent by
    /// request id), not on `conn`.
    async fn apply(
        &self,
        _conn: &mut PgConnection,
        delivery: &vpb::StreamEventsResponse,
    ) -> Result<(), ApplyError> {
        match delivery.event.as_ref().and_then(|e| e.kind.as_ref()) {
            Some(Kind::RepairOrderClosed(order)) => self.survey_after_repair(order).await,
            Some(Kind::RecallCampaignCreated(campaign)) => self.recall_reminders(campaign).await,
            _ => Ok(()),
        }
    }
}
