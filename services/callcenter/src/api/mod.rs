//! The gRPC face of the call center: the `CallCenterService` trait, and what every
//! handler shares (who may do what, parsing of common fields).

mod callback;
mod callback_view;
mod case;
mod case_view;
mod complaint_trends;
mod desk;
mod events;
mod outreach;
mod phone_reads;
mod sla;
mod survey_call;
mod survey_list;

use chrono::{DateTime, Utc};
use dealernet_kit::{
    auth::{Principal, Role},
    error::FieldViolations,
    idempotency::{self, IdempotencyKey},
};
use dealernet_proto::callcenter::v1::{self as pb, call_center_service_server::CallCenterService};
use prost::Message;
use sqlx::PgConnection;
use tonic::{Request, Response, Status};
use uuid::Uuid;

pub use outreach::{CONSUMER as OUTREACH_CONSUMER, Outreach};

use crate::{Error, Service};

type Result<T> = std::result::Result<T, Error>;

async fn replay<R: Message + Default>(
    tx: &mut PgConnection,
    key: Option<&IdempotencyKey>,
) -> Result<Option<R>> {
    Ok(idempotency::replay(tx, key).await?)
}

async fn commit<R: Message>(
    tx: sqlx::Transaction<'_, sqlx::Postgres>,
    key: Option<&IdempotencyKey>,
    response: R,
    resource: &str,
) -> Result<R> {
    Ok(idempotency::commit(tx, key, response, resource).await?)
}

/// The hotline's own people and systems: agents, HQ, platform services.
fn is_desk(p: &Principal) -> bool {
    p.has_role(Role::Agent) || p.is_head_office() || p.has_role(Role::System)
}

fn require_desk(p: &Principal, what: &str) -> Result<()> {
    if is_desk(p) {
        return Ok(());
    }
    Err(Error::denied(
        "HOTLINE_ROLE_REQUIRED",
        format!("{what} is for hotline agents and HQ"),
    ))
}

fn require_head_office(p: &Principal, what: &str) -> Result<()> {
    if p.is_head_office() {
        return Ok(());
    }
    Err(Error::denied(
        "HQ_ROLE_REQUIRED",
        format!("{what} needs an HQ principal with role hq or steward"),
    ))
}

/// `customers/{uuid}`.
fn customer_id(v: &mut FieldViolations, field: &str, name: &str) -> Option<Uuid> {
    let id = name
        .strip_prefix("customers/")
        .and_then(|id| Uuid::parse_str(id).ok());
    if id.is_none() {
        v.add(
            field,
            format!("'{name}' is not a customer name (customers/{{uuid}})"),
        );
    }
    id
}

/// `{collection}/{uuid}`.
fn resource_id(v: &mut FieldViolations, field: &str, name: &str, collection: &str) -> Option<Uuid> {
    let id = name
        .strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|id| Uuid::parse_str(id).ok());
    if id.is_none() {
        v.add(
            field,
            format!("'{name}' is not a {collection}/{{uuid}} name"),
        );
    }
    id
}

/// An optional `vehicles/{vin}`: the VIN (17 characters of A-Z and 0-9, no I, O, Q).
fn vehicle_vin(v: &mut FieldViolations, field: &str, name: &str) -> String {
    if name.is_empty() {
        return String::new();
    }
    match name.strip_prefix("vehicles/") {
        Some(vin)
            if vin.len() == 17
                && vin.bytes().all(|b| {
                    (b.is_ascii_uppercase() || b.is_ascii_digit()) && !b"IOQ".contains(&b)
                }) =>
        {
            vin.to_owned()
        }
        _ => {
            v.add(
                field,
                format!("'{name}' is not a vehicle name (vehicles/{{vin}})"),
            );
            String::new()
        }
    }
}

/// An optional outlet code: 1 to 32 characters of A-Z, 0-9, '-' or '_'.
fn outlet_code(v: &mut FieldViolations, field: &str, code: &str) -> String {
    let ok = code.is_empty()
        || ((1..=32).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_'));
    if !ok {
        v.add(
            field,
            "must be an outlet code: 1 to 32 characters of A-Z, 0-9, '-' or '_'",
        );
    }
    code.to_owned()
}

/// Free text; `required` refuses an empty one.
fn text(v: &mut FieldViolations, field: &str, value: &str, required: bool, max: usize) -> String {
    let t = value.trim();
    if required && t.is_empty() {
        v.add(field, "required");
    } else if t.chars().count() > max {
        v.add(field, format!("at most {max} characters"));
    } else if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        v.add(field, "must not contain control characters");
    }
    t.to_owned()
}

/// A code such as a category or disposition: A-Z, 0-9 and '_', at most 40.
fn code(v: &mut FieldViolations, field: &str, value: &str, required: bool) -> String {
    let ok = if value.is_empty() {
        !required
    } else {
        value.len() <= 40
            && value
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    };
    if !ok {
        v.add(
            field,
            if required {
                "required: at most 40 characters of A-Z, 0-9 and '_'"
            } else {
                "at most 40 characters of A-Z, 0-9 and '_'"
            },
        );
    }
    value.to_owned()
}

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn time(
    v: &mut FieldViolations,
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> Option<DateTime<Utc>> {
    let t = t?;
    let at = u32::try_from(t.nanos)
        .ok()
        .and_then(|n| DateTime::from_timestamp(t.seconds, n));
    if at.is_none() {
        v.add(field, "is not a valid timestamp");
    }
    at
}

fn required_time(
    v: &mut FieldViolations,
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> Option<DateTime<Utc>> {
    if t.is_none() {
        v.add(field, "required");
    }
    time(v, field, t)
}

/// A phone number normalised as the registry does (E.164).
fn phone(v: &mut FieldViolations, field: &str, raw: &str) -> Option<String> {
    match dealernet_customers::domain::contact::normalize_phone(raw, None) {
        Ok(p) => Some(p.e164),
        Err(e) => {
            v.add(field, e);
            None
        }
    }
}

#[tonic::async_trait]
impl CallCenterService for Service {
    async fn identify_caller(
        &self,
        request: Request<pb::IdentifyCallerRequest>,
    ) -> std::result::Result<Response<pb::IdentifyCallerResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        let caller = request.metadata().clone();
        Ok(Response::new(
            self.identify_caller(&principal, &caller, request.into_inner())
                .await?,
        ))
    }

    async fn log_interaction(
        &self,
        request: Request<pb::LogInteractionRequest>,
    ) -> std::result::Result<Response<pb::LogInteractionResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.log_interaction(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn list_interactions(
        &self,
        request: Request<pb::ListInteractionsRequest>,
    ) -> std::result::Result<Response<pb::ListInteractionsResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        let reading = phone_reads::Reading::of(&request)?;
        Ok(Response::new(
            self.list_interactions(&principal, &reading, request.into_inner())
                .await?,
        ))
    }

    async fn open_case(
        &self,
        request: Request<pb::OpenCaseRequest>,
    ) -> std::result::Result<Response<pb::OpenCaseResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.open_case(&principal, request.into_inner()).await?,
        ))
    }

    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> std::result::Result<Response<pb::GetCaseResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.get_case(&principal, request.into_inner()).await?,
        ))
    }

    async fn update_case(
        &self,
        request: Request<pb::UpdateCaseRequest>,
    ) -> std::result::Result<Response<pb::UpdateCaseResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.update_case(&principal, request.into_inner()).await?,
        ))
    }

    async fn transition_case(
        &self,
        request: Request<pb::TransitionCaseRequest>,
    ) -> std::result::Result<Response<pb::TransitionCaseResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.transition_case(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn add_case_note(
        &self,
        request: Request<pb::AddCaseNoteRequest>,
    ) -> std::result::Result<Response<pb::AddCaseNoteResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.add_case_note(&principal, request.into_inner()).await?,
        ))
    }

    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> std::result::Result<Response<pb::ListCasesResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.list_cases(&principal, request.into_inner()).await?,
        ))
    }

    async fn set_sla_policy(
        &self,
        request: Request<pb::SetSlaPolicyRequest>,
    ) -> std::result::Result<Response<pb::SetSlaPolicyResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.set_sla_policy(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn list_sla_policies(
        &self,
        request: Request<pb::ListSlaPoliciesRequest>,
    ) -> std::result::Result<Response<pb::ListSlaPoliciesResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.list_sla_policies(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn add_hotline_holiday(
        &self,
        request: Request<pb::AddHotlineHolidayRequest>,
    ) -> std::result::Result<Response<pb::AddHotlineHolidayResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.add_hotline_holiday(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn list_hotline_holidays(
        &self,
        request: Request<pb::ListHotlineHolidaysRequest>,
    ) -> std::result::Result<Response<pb::ListHotlineHolidaysResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.list_hotline_holidays(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn sweep_sla(
        &self,
        request: Request<pb::SweepSlaRequest>,
    ) -> std::result::Result<Response<pb::SweepSlaResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.sweep_sla(&principal, request.into_inner()).await?,
        ))
    }

    async fn schedule_callback(
        &self,
        request: Request<pb::ScheduleCallbackRequest>,
    ) -> std::result::Result<Response<pb::ScheduleCallbackResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.schedule_callback(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn claim_next_callback(
        &self,
        request: Request<pb::ClaimNextCallbackRequest>,
    ) -> std::result::Result<Response<pb::ClaimNextCallbackResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.claim_next_callback(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn record_call_attempt(
        &self,
        request: Request<pb::RecordCallAttemptRequest>,
    ) -> std::result::Result<Response<pb::RecordCallAttemptResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.record_call_attempt(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn cancel_callback(
        &self,
        request: Request<pb::CancelCallbackRequest>,
    ) -> std::result::Result<Response<pb::CancelCallbackResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.cancel_callback(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn get_callback(
        &self,
        request: Request<pb::GetCallbackRequest>,
    ) -> std::result::Result<Response<pb::GetCallbackResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        let reading = phone_reads::Reading::of(&request)?;
        Ok(Response::new(
            self.get_callback(&principal, &reading, request.into_inner())
                .await?,
        ))
    }

    async fn list_callbacks(
        &self,
        request: Request<pb::ListCallbacksRequest>,
    ) -> std::result::Result<Response<pb::ListCallbacksResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        let reading = phone_reads::Reading::of(&request)?;
        Ok(Response::new(
            self.list_callbacks(&principal, &reading, request.into_inner())
                .await?,
        ))
    }

    async fn add_do_not_call(
        &self,
        request: Request<pb::AddDoNotCallRequest>,
    ) -> std::result::Result<Response<pb::AddDoNotCallResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.add_do_not_call(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn submit_survey_response(
        &self,
        request: Request<pb::SubmitSurveyResponseRequest>,
    ) -> std::result::Result<Response<pb::SubmitSurveyResponseResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.submit_survey_response(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn list_survey_responses(
        &self,
        request: Request<pb::ListSurveyResponsesRequest>,
    ) -> std::result::Result<Response<pb::ListSurveyResponsesResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.list_survey_responses(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn get_survey_results(
        &self,
        request: Request<pb::GetSurveyResultsRequest>,
    ) -> std::result::Result<Response<pb::GetSurveyResultsResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.get_survey_results(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn count_complaints(
        &self,
        request: Request<pb::CountComplaintsRequest>,
    ) -> std::result::Result<Response<pb::CountComplaintsResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.count_complaints(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn get_complaint_trends(
        &self,
        request: Request<pb::GetComplaintTrendsRequest>,
    ) -> std::result::Result<Response<pb::GetComplaintTrendsResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.get_complaint_trends(&principal, request.into_inner())
                .await?,
        ))
    }

    type StreamEventsStream = tokio_stream::wrappers::ReceiverStream<
        std::result::Result<pb::StreamEventsResponse, Status>,
    >;

    async fn stream_events(
        &self,
        request: Request<pb::StreamEventsRequest>,
    ) -> std::result::Result<Response<Self::StreamEventsStream>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.stream_events(&principal, request.into_inner()).await?,
        ))
    }

    async fn ack_events(
        &self,
        request: Request<pb::AckEventsRequest>,
    ) -> std::result::Result<Response<pb::AckEventsResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.ack_events(&principal, request.into_inner()).await?,
        ))
    }

    async fn list_parked_events(
        &self,
        request: Request<pb::ListParkedEventsRequest>,
    ) -> std::result::Result<Response<pb::ListParkedEventsResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.list_parked_events(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn retry_parked_event(
        &self,
        request: Request<pb::RetryParkedEventRequest>,
    ) -> std::result::Result<Response<pb::RetryParkedEventResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.retry_parked_event(&principal, request.into_inner())
                .await?,
        ))
    }
}
