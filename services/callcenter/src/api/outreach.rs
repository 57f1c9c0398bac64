//! Other services' events as the hotline acts on them: a closed repair order gets its
//! satisfaction-survey call, a new recall campaign a reminder call to each affected
//! owner, a suspected odometer rollback a case for the operations desk, and a
//! customer's birthday (the registry's event) a greeting call on the day. All go through
//! the hotline's own handlers (ScheduleCallback's rules — consent, do-not-call, calling
//! hours —, OpenCase's routing and SLA) under the call center's system principal, with
//! request ids derived from the event's object, so an event applied again changes
//! nothing.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use dealernet_kit::{
    auth::{Principal, Role},
    calendar::Calendar,
    events::{Apply, ApplyError, repoints::customer_id},
};
use dealernet_proto::{
    callcenter::v1 as pb,
    customers::v1 as cpb,
    vehicles::v1::{self as vpb, vehicle_service_event::Kind},
};
use sqlx::PgConnection;
use tonic::Code;

use super::timestamp;
use crate::{Error, Service};

/// The consumer's name at the vehicle service.
pub const CONSUMER: &str = "callcenter-outreach";

fn principal() -> Result<Principal, ApplyError> {
    Principal::new("callcenter-events", "CALLCENTER", &[Role::System]).map_err(ApplyError::Poison)
}

/// A handler's refusal (no consent, do-not-call, no number, an unknown or erased
/// customer, no calling window) is a decision, not a failure; bad input cannot apply.
fn outcome<T>(result: Result<T, Error>, what: &str) -> Result<(), ApplyError> {
    let Err(error) = result else {
        return Ok(());
    };
    let status = tonic::Status::from(error);
    match status.code() {
        Code::FailedPrecondition | Code::NotFound | Code::PermissionDenied => {
            tracing::debug!(code = ?status.code(), message = status.message(), what, "event outreach declined");
            Ok(())
        }
        Code::InvalidArgument | Code::Internal => {
            Err(ApplyError::Poison(status.message().to_owned()))
        }
        _ => Err(ApplyError::Transient(status.message().to_owned())),
    }
}

impl Service {
    async fn schedule_for_event(
        &self,
        callback: pb::Callback,
        request_id: String,
    ) -> Result<(), ApplyError> {
        let request = pb::ScheduleCallbackRequest {
            callback: Some(callback),
            request_id,
        };
        outcome(
            self.schedule_callback(&principal()?, request).await,
            "callback",
        )
    }

    /// A greeting call on the customer's birthday: a MARKETING call (so it needs their
    /// consent to marketing calls, and the do-not-call list stops it), due from the
    /// start of the hotline's day and expiring at its end. One per customer and year.
    pub(crate) async fn birthday_greeting(
        &self,
        birthday: &cpb::CustomerBirthday,
    ) -> Result<(), ApplyError> {
        let customer = customer_id(&birthday.customer, "customer")?;
        let day = birthday
            .greeting_date
            .as_ref()
            .and_then(|d| NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32))
            .ok_or_else(|| ApplyError::Poison("greeting_date: not a date".into()))?;
        let start: DateTime<Utc> = Calendar::china_offset()
            .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
            .single()
            .ok_or_else(|| ApplyError::Poison("greeting_date: no such local day".into()))?
            .with_timezone(&Utc);
        let end = start + Duration::days(1);
        if end <= self.clock.now() {
            // Delivered after the day (the call center was down): a late greeting is
            // no greeting.
            tracing::debug!(customer = %customer, "birthday passed before its event applied");
            return Ok(());
        }
        let callback = pb::Callback {
            customer: birthday.customer.clone(),
            reason: "birthday greeting".into(),
            purpose: pb::CallbackPurpose::Marketing as i32,
            next_attempt_time: Some(timestamp(start)),
            policy: Some(pb::RetryPolicy {
                expire_time: Some(timestamp(end)),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.schedule_for_event(
            callback,
            format!("birthday-{customer}-{}", day.format("%Y")),
        )
        .await
    }
}

/// Applies RepairOrderClosed, RecallCampaignCreated and OdometerRollbackSuspected.
#[derive(Debug, Clone)]
pub struct Outreach {
    service: Service,
}

impl Outreach {
    pub fn new(service: Service) -> Outreach {
        Outreach { service }
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
        self.service
            .schedule_for_event(callback, format!("repair-survey-{id}"))
            .await
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
                self.service
                    .schedule_for_event(callback, format!("recall-{}-{vin}", campaign.code))
                    .await?;
            }
            if next.is_empty() {
                return Ok(());
            }
            page = next;
        }
    }

    /// A case for the operations desk about the car alone (no customer): the reading is
    /// the case's object, so one reading opens one case however often it is delivered.
    async fn odometer_rollback_case(
        &self,
        rollback: &vpb::OdometerRollbackSuspected,
    ) -> Result<(), ApplyError> {
        let vin = rollback
            .vehicle
            .strip_prefix("vehicles/")
            .filter(|vin| !vin.is_empty())
            .ok_or_else(|| {
                ApplyError::Poison(format!(
                    "vehicle: '{}' is not a vehicle name",
                    rollback.vehicle
                ))
            })?;
        let read = rollback
            .read_time
            .as_ref()
            .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32))
            .ok_or_else(|| ApplyError::Poison("read_time: required".into()))?;
        let case = pb::Case {
            r#type: pb::CaseType::OdometerRollback as i32,
            priority: pb::Priority::High as i32,
            vehicle: rollback.vehicle.clone(),
            subject: format!(
                "odometer rollback suspected on {vin}: {} km after {} km",
                rollback.reading_km, rollback.previous_km
            ),
            description: format!(
                "reading of {} km recorded by {} on {}, below the highest earlier reading of {} km",
                rollback.reading_km,
                rollback.recorded_by,
                read.to_rfc3339(),
                rollback.previous_km
            ),
            ..Default::default()
        };
        let request = pb::OpenCaseRequest {
            case: Some(case),
            request_id: format!(
                "odometer-rollback-{vin}-{}-{}",
                read.timestamp_micros(),
                rollback.reading_km
            ),
            ..Default::default()
        };
        outcome(
            self.service.open_case(&principal()?, request).await,
            "odometer case",
        )
    }
}

impl Apply for Outreach {
    type Delivery = vpb::StreamEventsResponse;

    fn event_types(&self) -> &'static [&'static str] {
        &[
            "RepairOrderClosed",
            "RecallCampaignCreated",
            "OdometerRollbackSuspected",
        ]
    }

    /// Works through the hotline's own handlers (their own transactions, idempotent by
    /// request id), not on `conn`.
    async fn apply(
        &self,
        _conn: &mut PgConnection,
        delivery: &vpb::StreamEventsResponse,
    ) -> Result<(), ApplyError> {
        self.act_on(delivery).await
    }

    /// A batch's events at once: each goes through its own handler and transaction, so
    /// none waits for another (no event here depends on an earlier one), and the
    /// consumer's transaction moves the cursor when all are done. On any failure the
    /// consumer applies the batch again one by one; what was done is not done twice (the
    /// request ids).
    async fn apply_all(
        &self,
        _conn: &mut PgConnection,
        deliveries: &[&vpb::StreamEventsResponse],
    ) -> Result<(), ApplyError> {
        let mut tasks = tokio::task::JoinSet::new();
        for delivery in deliveries {
            let (outreach, delivery) = (self.clone(), (*delivery).clone());
            tasks.spawn(async move { outreach.act_on(&delivery).await });
        }
        let mut result = Ok(());
        while let Some(done) = tasks.join_next().await {
            let done = done.unwrap_or_else(|e| Err(ApplyError::Transient(e.to_string())));
            if result.is_ok() {
                result = done;
            }
        }
        result
    }
}

impl Outreach {
    async fn act_on(&self, delivery: &vpb::StreamEventsResponse) -> Result<(), ApplyError> {
        match delivery.event.as_ref().and_then(|e| e.kind.as_ref()) {
            Some(Kind::RepairOrderClosed(order)) => self.survey_after_repair(order).await,
            Some(Kind::RecallCampaignCreated(campaign)) => self.recall_reminders(campaign).await,
            Some(Kind::OdometerRollbackSuspected(rollback)) => {
                self.odometer_rollback_case(rollback).await
            }
            _ => Ok(()),
        }
    }
}
