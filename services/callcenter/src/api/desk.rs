//! The agent's desk: who is calling, the contact log, survey answers and the HQ reports.

use chrono::{DateTime, Duration, Utc};
use dealernet_kit::{
    auth::Principal,
    error::FieldViolations,
    idempotency::IdempotencyKey,
    paging::{TimeIdCursor, time_id, time_id_cursor},
};
use dealernet_proto::callcenter::v1 as pb;
use prost::Message;
use tonic::metadata::MetadataMap;
use uuid::Uuid;

use super::{
    Result, code, commit, customer_id, is_desk, outlet_code, phone, phone_reads::Reading, replay,
    require_desk, require_head_office, required_time, resource_id, text, timestamp, vehicle_vin,
};
use crate::{Error, Service, store, store::desk::Interaction};

const MAX_DURATION_S: i32 = 86_400;

fn interaction_to_proto(i: &Interaction) -> pb::Interaction {
    let direction = match i.direction.as_str() {
        "INBOUND" => pb::Direction::Inbound,
        _ => pb::Direction::Outbound,
    };
    let channel = match i.channel.as_str() {
        "PHONE" => pb::Channel::Phone,
        "SMS" => pb::Channel::Sms,
        "EMAIL" => pb::Channel::Email,
        "WEB" => pb::Channel::Web,
        _ => pb::Channel::Chat,
    };
    pb::Interaction {
        name: format!("interactions/{}", i.id),
        direction: direction as i32,
        channel: channel as i32,
        agent: i.agent.clone(),
        customer: i
            .customer_id
            .map(|c| format!("customers/{c}"))
            .unwrap_or_default(),
        vehicle: if i.vin.is_empty() {
            String::new()
        } else {
            format!("vehicles/{}", i.vin)
        },
        case: i.case_id.map(|c| format!("cases/{c}")).unwrap_or_default(),
        start_time: Some(timestamp(i.started_at)),
        duration_seconds: i.duration_s,
        disposition: i.disposition.clone(),
        notes: i.notes.clone(),
        phone: i.phone.clone(),
    }
}

/// The start and end of a reporting window: both required, end after start.
fn window(
    v: &mut FieldViolations,
    start: Option<&prost_types::Timestamp>,
    end: Option<&prost_types::Timestamp>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let from = required_time(v, "start_time", start);
    let to = required_time(v, "end_time", end);
    let (from, to) = (from?, to?);
    if to <= from {
        v.add("end_time", "must be after start_time");
        return None;
    }
    Some((from, to))
}

impl Service {
    pub(super) async fn identify_caller(
        &self,
        principal: &Principal,
        caller: &MetadataMap,
        req: pb::IdentifyCallerRequest,
    ) -> Result<pb::IdentifyCallerResponse> {
        require_desk(principal, "identifying callers")?;
        let mut v = FieldViolations::new();
        let number = phone(&mut v, "phone", &req.phone);
        let Some(number) = number else {
            return Err(Error::InvalidArgument(v));
        };
        let matches = self.registry.by_phone_as_caller(caller, &number).await?;
        let mut conn = self.pool.acquire().await?;
        let do_not_call = store::desk::is_do_not_call(&mut conn, &number).await?;
        Ok(pb::IdentifyCallerResponse {
            phone: number,
            matches: matches
                .into_iter()
                .map(|c| pb::CallerMatch {
                    customer: c.name,
                    display_name: c.display_name,
                })
                .collect(),
            do_not_call,
        })
    }

    pub(super) async fn log_interaction(
        &self,
        principal: &Principal,
        req: pb::LogInteractionRequest,
    ) -> Result<pb::LogInteractionResponse> {
        require_desk(principal, "logging contacts")?;
        let key = IdempotencyKey::new(principal, "LogInteraction", &req.request_id, &req)?;
        let Some(i) = req.interaction.as_ref() else {
            return Err(FieldViolations::one("interaction", "required").into());
        };
        let now = self.clock.now();
        let mut v = FieldViolations::new();
        let direction = match pb::Direction::try_from(i.direction) {
            Ok(pb::Direction::Inbound) => "INBOUND",
            Ok(pb::Direction::Outbound) => "OUTBOUND",
            _ => {
                v.add(
                    "interaction.direction",
                    "required: one of the DIRECTION_* values",
                );
                ""
            }
        };
        let channel = match pb::Channel::try_from(i.channel) {
            Ok(pb::Channel::Phone) => "PHONE",
            Ok(pb::Channel::Sms) => "SMS",
            Ok(pb::Channel::Email) => "EMAIL",
            Ok(pb::Channel::Web) => "WEB",
            Ok(pb::Channel::Chat) => "CHAT",
            _ => {
                v.add(
                    "interaction.channel",
                    "required: one of the CHANNEL_* values",
                );
                ""
            }
        };
        let customer = if i.customer.is_empty() {
            None
        } else {
            customer_id(&mut v, "interaction.customer", &i.customer)
        };
        let vin = vehicle_vin(&mut v, "interaction.vehicle", &i.vehicle);
        let case_id = if i.case.is_empty() {
            None
        } else {
            resource_id(&mut v, "interaction.case", &i.case, "cases")
        };
        let started_at = required_time(&mut v, "interaction.start_time", i.start_time.as_ref());
        if started_at.is_some_and(|t| t > now + Duration::minutes(5)) {
            v.add("interaction.start_time", "must not be in the future");
        }
        if !(0..=MAX_DURATION_S).contains(&i.duration_seconds) {
            v.add(
                "interaction.duration_seconds",
                format!("must be 0 to {MAX_DURATION_S}"),
            );
        }
        let disposition = code(&mut v, "interaction.disposition", &i.disposition, true);
        let notes = text(&mut v, "interaction.notes", &i.notes, false, 4_000);
        let number = if i.phone.is_empty() {
            String::new()
        } else {
            phone(&mut v, "interaction.phone", &i.phone).unwrap_or_default()
        };
        v.into_result()?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        if let Some(id) = case_id
            && store::case::load(&mut tx, id, false).await?.is_none()
        {
            return Err(Error::case_not_found(&i.case));
        }
        let row = Interaction {
            id: Uuid::now_v7(),
            direction: direction.into(),
            channel: channel.into(),
            agent: principal.subject().to_owned(),
            customer_id: customer,
            vin,
            case_id,
            phone: number,
            started_at: started_at.unwrap_or(now),
            duration_s: i.duration_seconds,
            disposition,
            notes,
        };
        store::desk::insert_interaction(&mut tx, &row).await?;
        let name = format!("interactions/{}", row.id);
        let response = pb::LogInteractionResponse {
            interaction: Some(interaction_to_proto(&row)),
        };
        commit(tx, key.as_ref(), response, &name).await
    }

    pub(super) async fn list_interactions(
        &self,
        principal: &Principal,
        reading: &Reading,
        req: pb::ListInteractionsRequest,
    ) -> Result<pb::ListInteractionsResponse> {
        require_desk(principal, "the contact log")?;
        let mut v = FieldViolations::new();
        let customer = if req.customer.is_empty() {
            None
        } else {
            customer_id(&mut v, "customer", &req.customer)
        };
        let case_id = if req.case.is_empty() {
            None
        } else {
            resource_id(&mut v, "case", &req.case, "cases")
        };
        let bound = pb::ListInteractionsRequest {
            page_size: 0,
            page_token: String::new(),
            ..req.clone()
        }
        .encode_to_vec();
        let (size, after) =
            self.page_tokens
                .page::<TimeIdCursor>(&mut v, req.page_size, &req.page_token, &bound);
        let after = after.and_then(time_id);
        v.into_result()?;
        let mut rows = {
            let mut conn = self.pool.acquire().await?;
            store::desk::interactions(&mut conn, customer, case_id, after, size + 1).await?
        };
        let next_page_token = self.page_tokens.next_page(&mut rows, size, &bound, |i| {
            time_id_cursor(i.started_at, i.id)
        });
        // A number logged without a known customer names nobody in the registry.
        let phones_of = rows
            .iter()
            .filter(|i| !i.phone.is_empty())
            .filter_map(|i| i.customer_id);
        self.audit_phone_read(principal, reading, "ListInteractions", phones_of)
            .await?;
        Ok(pb::ListInteractionsResponse {
            interactions: rows.iter().map(interaction_to_proto).collect(),
            next_page_token,
        })
    }

    pub(super) async fn submit_survey_response(
        &self,
        principal: &Principal,
        req: pb::SubmitSurveyResponseRequest,
    ) -> Result<pb::SubmitSurveyResponseResponse> {
        require_desk(principal, "recording surveys")?;
        let key = IdempotencyKey::new(principal, "SubmitSurveyResponse", &req.request_id, &req)?;
        let Some(r) = req.response.as_ref() else {
            return Err(FieldViolations::one("response", "required").into());
        };
        let mut v = FieldViolations::new();
        let case_id = match (r.case.is_empty(), r.repair_order.is_empty()) {
            (false, true) => resource_id(&mut v, "response.case", &r.case, "cases"),
            (true, false) => {
                resource_id(
                    &mut v,
                    "response.repair_order",
                    &r.repair_order,
                    "repairOrders",
                );
                None
            }
            _ => {
                v.add(
                    "response.case",
                    "exactly one of case and repair_order is required",
                );
                None
            }
        };
        let customer = customer_id(&mut v, "response.customer", &r.customer);
        let mut outlet = outlet_code(&mut v, "response.outlet", &r.outlet);
        let technician = text(&mut v, "response.technician", &r.technician, false, 40);
        if !(1..=5).contains(&r.satisfaction) {
            v.add("response.satisfaction", "must be 1 to 5");
        }
        if !(0..=10).contains(&r.nps) {
            v.add("response.nps", "must be 0 to 10");
        }
        let comments = text(&mut v, "response.comments", &r.comments, false, 4_000);
        let Some(customer) = customer else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        if let Some(id) = case_id {
            let case = store::case::load(&mut tx, id, false)
                .await?
                .ok_or_else(|| Error::case_not_found(&r.case))?;
            if outlet.is_empty() {
                outlet = case.outlet;
            }
        }
        let row = store::desk::Survey {
            id: Uuid::now_v7(),
            case_id,
            repair_order: (!r.repair_order.is_empty()).then(|| r.repair_order.clone()),
            customer_id: customer,
            outlet,
            technician,
            satisfaction: r.satisfaction,
            nps: r.nps,
            comments,
            recorded_by: principal.subject().to_owned(),
            create_time: self.clock.now(),
        };
        store::desk::insert_survey(&mut tx, &row).await?;
        let name = format!("surveyResponses/{}", row.id);
        let answer = super::survey_list::survey_to_proto(&row);
        crate::events::survey_completed(&mut tx, principal, &answer).await?;
        let response = pb::SubmitSurveyResponseResponse {
            response: Some(answer),
        };
        commit(tx, key.as_ref(), response, &name).await
    }

    pub(super) async fn get_survey_results(
        &self,
        principal: &Principal,
        req: pb::GetSurveyResultsRequest,
    ) -> Result<pb::GetSurveyResultsResponse> {
        let mut v = FieldViolations::new();
        let by = match pb::SurveyGrouping::try_from(req.group_by) {
            Ok(pb::SurveyGrouping::Outlet) => "outlet",
            Ok(pb::SurveyGrouping::Technician) => "technician",
            _ => {
                v.add("group_by", "required: one of the SURVEY_GROUPING_* values");
                "outlet"
            }
        };
        let span = window(&mut v, req.start_time.as_ref(), req.end_time.as_ref());
        let mut outlet = outlet_code(&mut v, "outlet", &req.outlet);
        let Some((from, to)) = span else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        // An outlet sees its own results only.
        if !is_desk(principal) {
            if !outlet.is_empty() && outlet != principal.organization() {
                return Err(Error::denied(
                    "NOT_YOUR_OUTLET",
                    format!(
                        "{} cannot read the results of {outlet}",
                        principal.organization()
                    ),
                ));
            }
            outlet = principal.organization().to_owned();
        }
        let mut conn = self.pool.acquire().await?;
        let rows = store::desk::survey_results(
            &mut conn,
            by,
            from,
            to,
            (!outlet.is_empty()).then_some(outlet.as_str()),
        )
        .await?;
        Ok(pb::GetSurveyResultsResponse {
            results: rows
                .into_iter()
                .map(|(key, n, mean, promoters, detractors)| pb::SurveyResult {
                    key,
                    responses: n,
                    mean_satisfaction: mean,
                    nps: if n == 0 {
                        0.0
                    } else {
                        (promoters - detractors) as f64 * 100.0 / n as f64
                    },
                })
                .collect(),
        })
    }

    pub(super) async fn count_complaints(
        &self,
        principal: &Principal,
        req: pb::CountComplaintsRequest,
    ) -> Result<pb::CountComplaintsResponse> {
        require_head_office(principal, "complaint analytics")?;
        let mut v = FieldViolations::new();
        let unit = match pb::ComplaintPeriod::try_from(req.period) {
            Ok(pb::ComplaintPeriod::Day) => "day",
            Ok(pb::ComplaintPeriod::Week) => "week",
            Ok(pb::ComplaintPeriod::Month) => "month",
            _ => {
                v.add("period", "required: one of the COMPLAINT_PERIOD_* values");
                "day"
            }
        };
        let span = window(&mut v, req.start_time.as_ref(), req.end_time.as_ref());
        let Some((from, to)) = span else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        let rows = store::desk::complaint_counts(&mut conn, unit, from, to).await?;
        Ok(pb::CountComplaintsResponse {
            counts: rows
                .into_iter()
                .map(
                    |(period, category, model, outlet, count)| pb::ComplaintCount {
                        category,
                        model: if model.is_empty() {
                            String::new()
                        } else {
                            format!("models/{model}")
                        },
                        outlet,
                        period_start: Some(timestamp(period)),
                        count,
                    },
                )
                .collect(),
            r#type: pb::CaseType::Complaint as i32,
        })
    }
}
