//! Cases: open (with routing and an SLA clock), update, move along the workflow, notes.

use dealernet_kit::{auth::Principal, error::FieldViolations, idempotency::IdempotencyKey};
use dealernet_proto::callcenter::v1 as pb;
use uuid::Uuid;

use super::{
    Result,
    case_view::{case_to_proto, may_read, priority_from_proto, status_from_proto, type_from_proto},
    code, commit, customer_id, outlet_code, replay, require_desk, text, timestamp, vehicle_vin,
};
use crate::{
    Error, Service,
    dealers::{Interest, LeadAsk},
    domain::{
        case::{Case, CaseType, HOTLINE, Status},
        sla::{self, SlaState},
    },
    store,
};

const MAX_SUBJECT: usize = 200;
const MAX_TEXT: usize = 4_000;

/// `models/{code}` or empty.
pub(super) fn model(v: &mut FieldViolations, field: &str, name: &str) -> String {
    if name.is_empty() {
        return String::new();
    }
    match name.strip_prefix("models/") {
        Some(c)
            if (2..=20).contains(&c.len())
                && c.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-') =>
        {
            c.to_owned()
        }
        _ => {
            v.add(
                field,
                format!("'{name}' is not a model name (models/{{code}})"),
            );
            String::new()
        }
    }
}

impl Service {
    pub(super) async fn open_case(
        &self,
        principal: &Principal,
        req: pb::OpenCaseRequest,
    ) -> Result<pb::OpenCaseResponse> {
        require_desk(principal, "opening cases")?;
        let key = IdempotencyKey::new(principal, "OpenCase", &req.request_id, &req)?;
        let Some(c) = req.case.as_ref() else {
            return Err(FieldViolations::one("case", "required").into());
        };
        let mut v = FieldViolations::new();
        let case_type = type_from_proto(c.r#type);
        if case_type.is_none() {
            v.add("case.type", "required: one of the CASE_TYPE_* values");
        }
        let priority = priority_from_proto(c.priority);
        if priority.is_none() {
            v.add("case.priority", "required: one of the PRIORITY_* values");
        }
        let needs_customer = case_type.is_none_or(CaseType::needs_customer);
        let customer = if c.customer.is_empty() && !needs_customer {
            None
        } else {
            customer_id(&mut v, "case.customer", &c.customer)
        };
        let vin = vehicle_vin(&mut v, "case.vehicle", &c.vehicle);
        if !needs_customer && c.vehicle.is_empty() {
            v.add("case.vehicle", "required for an odometer rollback");
        }
        let outlet = outlet_code(&mut v, "case.outlet", &c.outlet);
        let subject = text(&mut v, "case.subject", &c.subject, true, MAX_SUBJECT);
        let description = text(&mut v, "case.description", &c.description, false, MAX_TEXT);
        let category = code(
            &mut v,
            "case.category",
            &c.category,
            case_type == Some(CaseType::Complaint),
        );
        let model_code = model(&mut v, "case.model", &c.model);
        let preferred = outlet_code(&mut v, "preferred_outlet", &req.preferred_outlet);
        let interest = match (case_type, req.lead_interest.as_str()) {
            (Some(CaseType::SalesLead), "" | "BUY") => Some(Interest::Buy),
            (Some(CaseType::SalesLead), "TEST_DRIVE") => Some(Interest::TestDrive),
            (Some(CaseType::SalesLead), "TRADE_IN") => Some(Interest::TradeIn),
            (Some(CaseType::ServiceRequest), "" | "SERVICE") => Some(Interest::Service),
            (Some(CaseType::SalesLead | CaseType::ServiceRequest), _) => {
                v.add("lead_interest", "BUY, TEST_DRIVE or TRADE_IN for a sales lead; SERVICE or empty for a service request");
                None
            }
            (_, "") => None,
            _ => {
                v.add("lead_interest", "only for sales leads and service requests");
                None
            }
        };
        let city = text(&mut v, "city", &req.city, false, 40);
        let (Some(case_type), Some(priority)) = (case_type, priority) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let id = Uuid::now_v7();
        // Asked before the transaction: no row lock is held across a network call.
        let contact = match customer {
            Some(customer) => Some(self.registry.contact(customer, "hotline case").await?),
            None => None,
        };
        let (outlet, lead) = match (interest, &contact) {
            // Sales leads and service requests (which always name a customer) become
            // leads of the dealer network, which routes them: the customer's preferred
            // outlet if it may take the lead, else the nearest capable one with the fewest
            // open leads.
            (Some(interest), Some(contact)) => {
                let preferred = match (preferred.is_empty(), case_type) {
                    (false, _) => preferred,
                    (true, CaseType::SalesLead) => contact.preferred_dealer.clone(),
                    (true, _) => contact.preferred_station.clone(),
                };
                let routed = self
                    .network
                    .create_lead(LeadAsk {
                        // A retry of this request makes no second lead.
                        request_id: format!(
                            "case-{}-{}",
                            principal.organization(),
                            if req.request_id.is_empty() {
                                id.to_string()
                            } else {
                                req.request_id.clone()
                            }
                        ),
                        customer: contact.id,
                        interest,
                        model: &c.model,
                        preferred_outlet: &preferred,
                        city: if city.is_empty() {
                            &contact.city
                        } else {
                            &city
                        },
                        notes: &subject,
                    })
                    .await?;
                (routed.outlet, routed.name)
            }
            _ => (outlet, String::new()),
        };
        let (targets, outlet_calendar) = {
            let mut conn = self.pool.acquire().await?;
            self.targets(&mut conn, case_type, priority).await?
        };
        let calendar_name = if outlet_calendar && !outlet.is_empty() {
            outlet.clone()
        } else {
            HOTLINE.to_owned()
        };
        let calendar = self.calendar(&calendar_name).await?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let now = self.clock.now();
        let clock = sla::start(&calendar, now, targets).ok_or_else(|| {
            Error::refused(
                "CALENDAR_NEVER_OPEN",
                "the case's calendar has no open hours",
            )
        })?;
        let case = Case {
            id,
            case_type,
            priority,
            status: Status::New,
            customer: contact.map(|c| c.id),
            vin,
            outlet,
            team: case_type.team(),
            assignee: String::new(),
            subject,
            description,
            category,
            model_code,
            lead,
            calendar: calendar_name,
            clock,
            first_response_at: None,
            paused_at: None,
            next_check_at: sla::next_check(clock, false, SlaState::Ok),
            sla_state: SlaState::Ok,
            escalations: 0,
            created_by: principal.subject().to_owned(),
            create_time: now,
            update_time: now,
            resolve_time: None,
            close_time: None,
            version: 1,
        };
        store::case::insert(&mut tx, &case).await?;
        let name = format!("cases/{}", case.id);
        let opened = case_to_proto(&case);
        crate::events::case_opened(&mut tx, principal, &opened).await?;
        let response = pb::OpenCaseResponse { case: Some(opened) };
        commit(tx, key.as_ref(), response, &name).await
    }

    /// Loads and locks a case for a change by the hotline.
    async fn case_for_change(
        &self,
        tx: &mut sqlx::PgConnection,
        name: &str,
        field: &str,
    ) -> Result<Case> {
        let mut v = FieldViolations::new();
        let id = super::resource_id(&mut v, field, name, "cases");
        v.into_result()?;
        store::case::load(tx, id.unwrap_or_default(), true)
            .await?
            .ok_or_else(|| Error::case_not_found(name))
    }

    pub(super) async fn update_case(
        &self,
        principal: &Principal,
        req: pb::UpdateCaseRequest,
    ) -> Result<pb::UpdateCaseResponse> {
        require_desk(principal, "changing cases")?;
        let key = IdempotencyKey::new(principal, "UpdateCase", &req.request_id, &req)?;
        let Some(c) = req.case.as_ref() else {
            return Err(FieldViolations::one("case", "required").into());
        };
        let paths = req
            .update_mask
            .as_ref()
            .map(|m| m.paths.clone())
            .unwrap_or_default();
        let mut v = FieldViolations::new();
        if paths.is_empty() {
            v.add("update_mask", "required: the fields to change");
        }
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let mut case = self.case_for_change(&mut tx, &c.name, "case.name").await?;
        if !c.etag.is_empty() && c.etag != format!("\"{}\"", case.version) {
            return Err(Error::EtagMismatch);
        }
        for path in &paths {
            match path.as_str() {
                "priority" => match priority_from_proto(c.priority) {
                    Some(p) => case.priority = p,
                    None => v.add("case.priority", "one of the PRIORITY_* values"),
                },
                "subject" => {
                    case.subject = text(&mut v, "case.subject", &c.subject, true, MAX_SUBJECT)
                }
                "description" => {
                    case.description =
                        text(&mut v, "case.description", &c.description, false, MAX_TEXT)
                }
                "category" => {
                    case.category = code(
                        &mut v,
                        "case.category",
                        &c.category,
                        case.case_type == CaseType::Complaint,
                    )
                }
                "vehicle" => case.vin = vehicle_vin(&mut v, "case.vehicle", &c.vehicle),
                "model" => case.model_code = model(&mut v, "case.model", &c.model),
                "assignee" => {
                    case.assignee = text(&mut v, "case.assignee", &c.assignee, false, 100)
                }
                "outlet" => case.outlet = outlet_code(&mut v, "case.outlet", &c.outlet),
                other => v.add("update_mask", format!("'{other}' cannot be changed")),
            }
        }
        v.into_result()?;
        case.version += 1;
        case.update_time = self.clock.now();
        store::case::update(&mut tx, &case).await?;
        let response = pb::UpdateCaseResponse {
            case: Some(case_to_proto(&case)),
        };
        commit(tx, key.as_ref(), response, &c.name).await
    }

    pub(super) async fn transition_case(
        &self,
        principal: &Principal,
        req: pb::TransitionCaseRequest,
    ) -> Result<pb::TransitionCaseResponse> {
        require_desk(principal, "moving cases")?;
        let key = IdempotencyKey::new(principal, "TransitionCase", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let to = status_from_proto(req.status);
        if to.is_none() {
            v.add("status", "required: one of the CASE_STATUS_* values");
        }
        let assignee = text(&mut v, "assignee", &req.assignee, false, 100);
        let Some(to) = to else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        // The calendar is read before the transaction (an outlet's comes over the network).
        let current = self.readable_case(principal, &req.name, "name").await?;
        let calendar = self.calendar(&current.calendar).await?;
        let mut survey = None;
        if to == Status::Resolved
            && let Some(customer) = current.customer
        {
            // The follow-up call, asked of the registry before any lock is taken. A case
            // without a customer (about a car alone) has nobody to survey.
            survey = Some(self.survey_plan(customer).await?);
        }
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let mut case = self.case_for_change(&mut tx, &req.name, "name").await?;
        if !req.etag.is_empty() && req.etag != format!("\"{}\"", case.version) {
            return Err(Error::EtagMismatch);
        }
        case.status.check_move(to).map_err(|reason| {
            Error::refused(
                reason,
                format!(
                    "{} cannot go from {} to {}",
                    req.name,
                    case.status.as_str(),
                    to.as_str()
                ),
            )
        })?;
        let now = self.clock.now();
        if let Some(paused_at) = case.paused_at.take() {
            case.clock = sla::resume(&calendar, case.clock, paused_at, now);
        }
        match to {
            Status::Assigned => {
                case.assignee = if assignee.is_empty() {
                    principal.subject().to_owned()
                } else {
                    assignee
                };
            }
            Status::WaitingOnCustomer => case.paused_at = Some(now),
            Status::Resolved => case.resolve_time = Some(now),
            Status::Closed => case.close_time = Some(now),
            Status::Reopened => {
                // A fresh resolution target from now; the first response stays done.
                let (targets, _) = self.targets(&mut tx, case.case_type, case.priority).await?;
                let fresh = sla::start(&calendar, now, targets).ok_or_else(|| {
                    Error::refused(
                        "CALENDAR_NEVER_OPEN",
                        "the case's calendar has no open hours",
                    )
                })?;
                case.clock.resolution_warn = fresh.resolution_warn;
                case.clock.resolution_due = fresh.resolution_due;
                case.sla_state = SlaState::Ok;
                (case.resolve_time, case.close_time) = (None, None);
            }
            Status::New | Status::InProgress => {}
        }
        if to.responds() && case.first_response_at.is_none() {
            case.first_response_at = Some(now);
        }
        case.status = to;
        let responded = case.first_response_at.is_some();
        if to.clock_runs() {
            let state = sla::state_at(now, case.clock, responded);
            // A running clock only gets worse; a state the sweeper recorded stays.
            if state != SlaState::Ok || to == Status::Reopened {
                case.sla_state = state;
            }
            case.next_check_at = sla::next_check(case.clock, responded, case.sla_state);
        } else {
            case.next_check_at = None;
        }
        case.version += 1;
        case.update_time = now;
        store::case::update(&mut tx, &case).await?;
        if let Some(plan) = survey {
            self.schedule_survey(&mut tx, principal, &case, plan, now)
                .await?;
        }
        let response = pb::TransitionCaseResponse {
            case: Some(case_to_proto(&case)),
        };
        commit(tx, key.as_ref(), response, &req.name).await
    }

    pub(super) async fn add_case_note(
        &self,
        principal: &Principal,
        req: pb::AddCaseNoteRequest,
    ) -> Result<pb::AddCaseNoteResponse> {
        let key = IdempotencyKey::new(principal, "AddCaseNote", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let note = text(&mut v, "text", &req.text, true, MAX_TEXT);
        v.into_result()?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let case = self.case_for_change(&mut tx, &req.name, "name").await?;
        // An outlet may add notes to the cases that concern it (and sees no others).
        if !may_read(principal, &case) {
            return Err(Error::case_not_found(&req.name));
        }
        let now = self.clock.now();
        let sequence = store::case::add_note(
            &mut tx,
            case.id,
            now,
            principal.subject(),
            principal.organization(),
            &note,
        )
        .await?;
        let response = pb::AddCaseNoteResponse {
            note: Some(pb::CaseNote {
                sequence,
                time: Some(timestamp(now)),
                author: principal.subject().to_owned(),
                organization: principal.organization().to_owned(),
                text: note,
            }),
        };
        commit(tx, key.as_ref(), response, &req.name).await
    }
}
