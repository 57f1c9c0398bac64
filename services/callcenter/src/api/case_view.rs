//! Cases as the API shows them, and the reading RPCs: GetCase, ListCases.

use dealernet_kit::{
    auth::Principal,
    error::FieldViolations,
    paging::{TimeIdCursor, time_id, time_id_cursor},
};
use dealernet_proto::callcenter::v1 as pb;
use prost::Message;

use super::{Result, customer_id, is_desk, resource_id, timestamp, vehicle_vin};
use crate::{
    Error, Service,
    domain::{
        case::{Case, CaseType, Priority, Status, Team},
        sla::SlaState,
    },
    store::{self, case::Filter},
};

pub(super) fn type_from_proto(v: i32) -> Option<CaseType> {
    Some(match pb::CaseType::try_from(v).ok()? {
        pb::CaseType::Unspecified => return None,
        pb::CaseType::Inquiry => CaseType::Inquiry,
        pb::CaseType::SalesLead => CaseType::SalesLead,
        pb::CaseType::ServiceRequest => CaseType::ServiceRequest,
        pb::CaseType::Complaint => CaseType::Complaint,
        pb::CaseType::TechnicalSupport => CaseType::TechnicalSupport,
        pb::CaseType::Recall => CaseType::Recall,
        pb::CaseType::OdometerRollback => CaseType::OdometerRollback,
    })
}

pub(super) fn type_to_proto_i32(t: CaseType) -> i32 {
    type_to_proto(t) as i32
}

fn type_to_proto(t: CaseType) -> pb::CaseType {
    match t {
        CaseType::Inquiry => pb::CaseType::Inquiry,
        CaseType::SalesLead => pb::CaseType::SalesLead,
        CaseType::ServiceRequest => pb::CaseType::ServiceRequest,
        CaseType::Complaint => pb::CaseType::Complaint,
        CaseType::TechnicalSupport => pb::CaseType::TechnicalSupport,
        CaseType::Recall => pb::CaseType::Recall,
        CaseType::OdometerRollback => pb::CaseType::OdometerRollback,
    }
}

pub(super) fn priority_from_proto(v: i32) -> Option<Priority> {
    Some(match pb::Priority::try_from(v).ok()? {
        pb::Priority::Unspecified => return None,
        pb::Priority::Low => Priority::Low,
        pb::Priority::Normal => Priority::Normal,
        pb::Priority::High => Priority::High,
        pb::Priority::Urgent => Priority::Urgent,
    })
}

pub(super) fn priority_to_proto(p: Priority) -> pb::Priority {
    match p {
        Priority::Low => pb::Priority::Low,
        Priority::Normal => pb::Priority::Normal,
        Priority::High => pb::Priority::High,
        Priority::Urgent => pb::Priority::Urgent,
    }
}

pub(super) fn status_from_proto(v: i32) -> Option<Status> {
    Some(match pb::CaseStatus::try_from(v).ok()? {
        pb::CaseStatus::Unspecified => return None,
        pb::CaseStatus::New => Status::New,
        pb::CaseStatus::Assigned => Status::Assigned,
        pb::CaseStatus::InProgress => Status::InProgress,
        pb::CaseStatus::WaitingOnCustomer => Status::WaitingOnCustomer,
        pb::CaseStatus::Resolved => Status::Resolved,
        pb::CaseStatus::Closed => Status::Closed,
        pb::CaseStatus::Reopened => Status::Reopened,
    })
}

fn status_to_proto(s: Status) -> pb::CaseStatus {
    match s {
        Status::New => pb::CaseStatus::New,
        Status::Assigned => pb::CaseStatus::Assigned,
        Status::InProgress => pb::CaseStatus::InProgress,
        Status::WaitingOnCustomer => pb::CaseStatus::WaitingOnCustomer,
        Status::Resolved => pb::CaseStatus::Resolved,
        Status::Closed => pb::CaseStatus::Closed,
        Status::Reopened => pb::CaseStatus::Reopened,
    }
}

fn team_from_proto(v: i32) -> Option<Team> {
    Some(match pb::Team::try_from(v).ok()? {
        pb::Team::Unspecified => return None,
        pb::Team::CustomerSupport => Team::CustomerSupport,
        pb::Team::TechnicalSupport => Team::TechnicalSupport,
        pb::Team::Operations => Team::Operations,
        pb::Team::Complaints => Team::Complaints,
    })
}

fn team_to_proto(t: Team) -> pb::Team {
    match t {
        Team::CustomerSupport => pb::Team::CustomerSupport,
        Team::TechnicalSupport => pb::Team::TechnicalSupport,
        Team::Operations => pb::Team::Operations,
        Team::Complaints => pb::Team::Complaints,
    }
}

fn sla_state_to_proto(s: SlaState) -> pb::SlaState {
    match s {
        SlaState::Ok => pb::SlaState::Ok,
        SlaState::Warning => pb::SlaState::Warning,
        SlaState::Breached => pb::SlaState::Breached,
    }
}

fn sla_state_from_proto(v: i32) -> Option<SlaState> {
    Some(match pb::SlaState::try_from(v).ok()? {
        pb::SlaState::Unspecified => return None,
        pb::SlaState::Ok => SlaState::Ok,
        pb::SlaState::Warning => SlaState::Warning,
        pb::SlaState::Breached => SlaState::Breached,
    })
}

pub(super) fn case_to_proto(c: &Case) -> pb::Case {
    pb::Case {
        name: format!("cases/{}", c.id),
        r#type: type_to_proto(c.case_type) as i32,
        priority: priority_to_proto(c.priority) as i32,
        status: status_to_proto(c.status) as i32,
        customer: c
            .customer
            .map(|id| format!("customers/{id}"))
            .unwrap_or_default(),
        vehicle: if c.vin.is_empty() {
            String::new()
        } else {
            format!("vehicles/{}", c.vin)
        },
        outlet: c.outlet.clone(),
        team: team_to_proto(c.team) as i32,
        assignee: c.assignee.clone(),
        subject: c.subject.clone(),
        description: c.description.clone(),
        category: c.category.clone(),
        model: if c.model_code.is_empty() {
            String::new()
        } else {
            format!("models/{}", c.model_code)
        },
        sla: Some(pb::Sla {
            first_response_due: Some(timestamp(c.clock.first_response_due)),
            first_response_time: c.first_response_at.map(timestamp),
            resolution_due: Some(timestamp(c.clock.resolution_due)),
            state: sla_state_to_proto(c.sla_state) as i32,
            paused: c.paused_at.is_some(),
            calendar: c.calendar.clone(),
        }),
        lead: c.lead.clone(),
        create_time: Some(timestamp(c.create_time)),
        update_time: Some(timestamp(c.update_time)),
        resolve_time: c.resolve_time.map(timestamp),
        close_time: c.close_time.map(timestamp),
        etag: format!("\"{}\"", c.version),
        escalations: c.escalations,
    }
}

/// Whether the principal may read the case: the hotline and HQ any, an outlet the cases
/// that concern it.
pub(super) fn may_read(principal: &Principal, c: &Case) -> bool {
    is_desk(principal) || (!c.outlet.is_empty() && principal.organization() == c.outlet)
}

impl Service {
    /// A case the principal may read; others are NOT_FOUND, so that outlets cannot probe
    /// for cases that do not concern them.
    pub(super) async fn readable_case(
        &self,
        principal: &Principal,
        name: &str,
        field: &str,
    ) -> Result<Case> {
        let mut v = FieldViolations::new();
        let id = resource_id(&mut v, field, name, "cases");
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        match store::case::load(&mut conn, id.unwrap_or_default(), false).await? {
            Some(c) if may_read(principal, &c) => Ok(c),
            _ => Err(Error::case_not_found(name)),
        }
    }

    pub(super) async fn get_case(
        &self,
        principal: &Principal,
        req: pb::GetCaseRequest,
    ) -> Result<pb::GetCaseResponse> {
        let c = self.readable_case(principal, &req.name, "name").await?;
        let mut conn = self.pool.acquire().await?;
        let notes = store::case::notes(&mut conn, c.id).await?;
        Ok(pb::GetCaseResponse {
            case: Some(case_to_proto(&c)),
            notes: notes
                .into_iter()
                .map(|n| pb::CaseNote {
                    sequence: n.sequence,
                    time: Some(timestamp(n.at)),
                    author: n.author,
                    organization: n.organization,
                    text: n.text,
                })
                .collect(),
        })
    }

    pub(super) async fn list_cases(
        &self,
        principal: &Principal,
        req: pb::ListCasesRequest,
    ) -> Result<pb::ListCasesResponse> {
        let mut v = FieldViolations::new();
        let mut f = Filter::default();
        for (i, s) in req.statuses.iter().enumerate() {
            match status_from_proto(*s) {
                Some(s) => f.statuses.push(s),
                None => v.add(format!("statuses[{i}]"), "not a case status"),
            }
        }
        if req.r#type != 0 {
            f.case_type = type_from_proto(req.r#type);
            if f.case_type.is_none() {
                v.add("type", "not a case type");
            }
        }
        if req.team != 0 {
            f.team = team_from_proto(req.team);
            if f.team.is_none() {
                v.add("team", "not a team");
            }
        }
        if req.sla_state != 0 {
            f.sla_state = sla_state_from_proto(req.sla_state);
            if f.sla_state.is_none() {
                v.add("sla_state", "not an SLA state");
            }
        }
        f.assignee = (!req.assignee.is_empty()).then(|| req.assignee.clone());
        if !req.customer.is_empty() {
            f.customer = customer_id(&mut v, "customer", &req.customer);
        }
        let vin = vehicle_vin(&mut v, "vehicle", &req.vehicle);
        f.vin = (!vin.is_empty()).then_some(vin);
        f.outlet = (!req.outlet.is_empty()).then(|| req.outlet.clone());
        let bound = pb::ListCasesRequest {
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
        if !is_desk(principal) {
            match &f.outlet {
                Some(o) if o == principal.organization() => {}
                None => f.outlet = Some(principal.organization().to_owned()),
                Some(o) => {
                    return Err(Error::denied(
                        "NOT_YOUR_OUTLET",
                        format!("{} cannot list the cases of {o}", principal.organization()),
                    ));
                }
            }
        }
        let mut conn = self.pool.acquire().await?;
        let mut cases = store::case::list(&mut conn, &f, after, size + 1).await?;
        let next_page_token = self.page_tokens.next_page(&mut cases, size, &bound, |c| {
            time_id_cursor(c.create_time, c.id)
        });
        Ok(pb::ListCasesResponse {
            cases: cases.iter().map(case_to_proto).collect(),
            next_page_token,
        })
    }
}
