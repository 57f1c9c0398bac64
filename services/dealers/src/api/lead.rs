//! CreateLead (with routing), GetLead and ListLeads.

use chrono::TimeDelta;
use dealernet_kit::{
    auth::Principal, error::FieldViolations, idempotency::IdempotencyKey, paging::PageSize,
};
use dealernet_proto::dealers::v1 as pb;
use prost::Message;
use uuid::Uuid;

use super::{
    Caller, Result, commit,
    convert::{
        duration, etag, geo_point, multiline, outlet_code, point, text, timestamp, uuid_in_name,
    },
    next_page, not_your_outlet, replay,
};
use crate::{
    Error, Service,
    domain::{
        lead::{
            Assignment, DEFAULT_RESPONSE_WINDOW, Interest, Lead, MAX_RESPONSE_WINDOW,
            MIN_RESPONSE_WINDOW, RoutingReason, Source, Status,
        },
        outlet::check_code,
    },
    router,
    store::{self, Lock},
};

pub(super) fn interest_to(i: Interest) -> pb::LeadInterest {
    match i {
        Interest::Buy => pb::LeadInterest::Buy,
        Interest::TestDrive => pb::LeadInterest::TestDrive,
        Interest::Service => pb::LeadInterest::Service,
        Interest::TradeIn => pb::LeadInterest::TradeIn,
    }
}

fn interest_from(i: i32) -> Option<Interest> {
    match pb::LeadInterest::try_from(i).ok()? {
        pb::LeadInterest::Unspecified => None,
        pb::LeadInterest::Buy => Some(Interest::Buy),
        pb::LeadInterest::TestDrive => Some(Interest::TestDrive),
        pb::LeadInterest::Service => Some(Interest::Service),
        pb::LeadInterest::TradeIn => Some(Interest::TradeIn),
    }
}

fn source_from(s: i32) -> Option<Source> {
    match pb::LeadSource::try_from(s).ok()? {
        pb::LeadSource::Unspecified => None,
        pb::LeadSource::Hotline => Some(Source::Hotline),
        pb::LeadSource::Web => Some(Source::Web),
        pb::LeadSource::Campaign => Some(Source::Campaign),
    }
}

fn source_to(s: Source) -> pb::LeadSource {
    match s {
        Source::Hotline => pb::LeadSource::Hotline,
        Source::Web => pb::LeadSource::Web,
        Source::Campaign => pb::LeadSource::Campaign,
    }
}

pub(super) fn status_to(s: Status) -> pb::LeadStatus {
    match s {
        Status::New => pb::LeadStatus::New,
        Status::Contacted => pb::LeadStatus::Contacted,
        Status::Appointment => pb::LeadStatus::Appointment,
        Status::Won => pb::LeadStatus::Won,
        Status::Lost => pb::LeadStatus::Lost,
    }
}

pub(super) fn status_from(s: i32) -> Option<Status> {
    match pb::LeadStatus::try_from(s).ok()? {
        pb::LeadStatus::Unspecified => None,
        pb::LeadStatus::New => Some(Status::New),
        pb::LeadStatus::Contacted => Some(Status::Contacted),
        pb::LeadStatus::Appointment => Some(Status::Appointment),
        pb::LeadStatus::Won => Some(Status::Won),
        pb::LeadStatus::Lost => Some(Status::Lost),
    }
}

fn reason_to(r: RoutingReason) -> pb::RoutingReason {
    match r {
        RoutingReason::Preferred => pb::RoutingReason::Preferred,
        RoutingReason::Nearest => pb::RoutingReason::Nearest,
        RoutingReason::DeadlineMissed => pb::RoutingReason::DeadlineMissed,
        RoutingReason::OutletUnavailable => pb::RoutingReason::OutletUnavailable,
        RoutingReason::Manual => pb::RoutingReason::Manual,
    }
}

pub(super) fn lead_to_proto(l: &Lead, routings: &[Assignment]) -> pb::Lead {
    pb::Lead {
        name: format!("leads/{}", l.id),
        customer: format!("customers/{}", l.customer_id),
        interest: interest_to(l.interest) as i32,
        model: l
            .model_code
            .as_ref()
            .map(|m| format!("models/{m}"))
            .unwrap_or_default(),
        source: source_to(l.source) as i32,
        campaign: l.campaign.clone().unwrap_or_default(),
        preferred_outlet: l.preferred_outlet.clone().unwrap_or_default(),
        location: Some(geo_point(l.location)),
        city: l.city.clone(),
        notes: l.notes.clone(),
        response_window: Some(duration(l.response_window)),
        status: status_to(l.status) as i32,
        assigned_outlet: l.outlet.clone(),
        respond_before: Some(timestamp(l.respond_before)),
        escalated: l.escalate_time.is_some(),
        staff_member: l
            .staff_id
            .map(|id| format!("staffMembers/{id}"))
            .unwrap_or_default(),
        first_contact_time: l.first_contact_time.map(timestamp),
        appointment_time: l.appointment_time.map(timestamp),
        lost_reason: l.lost_reason.clone().unwrap_or_default(),
        close_time: l.close_time.map(timestamp),
        routings: routings
            .iter()
            .map(|a| pb::LeadRouting {
                outlet: a.outlet.clone(),
                reason: reason_to(a.reason) as i32,
                assign_time: Some(timestamp(a.assign_time)),
                respond_before: Some(timestamp(a.respond_before)),
                distance_km: a.distance_km,
                end_time: a.end_time.map(timestamp),
            })
            .collect(),
        created_by: l.created_by.clone(),
        create_time: Some(timestamp(l.create_time)),
        update_time: Some(timestamp(l.update_time)),
        etag: etag(l.version),
    }
}

/// A lead as the client described it, validated; routing fills in the rest.
struct NewLead {
    customer_id: Uuid,
    interest: Interest,
    model_code: Option<String>,
    source: Source,
    campaign: Option<String>,
    preferred_outlet: Option<String>,
    location: Option<crate::domain::geo::Point>,
    city: String,
    notes: String,
    response_window: TimeDelta,
}

fn new_lead(l: &pb::Lead) -> std::result::Result<NewLead, FieldViolations> {
    let mut v = FieldViolations::new();
    let customer_id = uuid_in_name(&mut v, &l.customer, "customers", "lead.customer");
    let interest = interest_from(l.interest);
    if interest.is_none() {
        v.add(
            "lead.interest",
            "required: one of the LEAD_INTEREST_* values",
        );
    }
    let source = source_from(l.source);
    if source.is_none() {
        v.add("lead.source", "required: one of the LEAD_SOURCE_* values");
    }
    // Model codes as the vehicle service's catalogue writes them; checked for shape only.
    let model_code = match l.model.as_str() {
        "" => None,
        name => {
            let code = name.strip_prefix("models/").filter(|c| {
                (2..=20).contains(&c.len())
                    && c.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
            });
            if code.is_none() {
                v.add(
                    "lead.model",
                    format!("'{name}' is not a model name (models/{{code}})"),
                );
            }
            code.map(str::to_owned)
        }
    };
    let campaign = match l.campaign.trim() {
        "" => {
            if source == Some(Source::Campaign) {
                v.add("lead.campaign", "required for CAMPAIGN leads");
            }
            None
        }
        c => {
            if let Err(e) = check_code(c) {
                v.add("lead.campaign", format!("a campaign code {e}"));
            }
            Some(c.to_owned())
        }
    };
    let preferred_outlet = (!l.preferred_outlet.is_empty())
        .then(|| outlet_code(&mut v, "lead.preferred_outlet", &l.preferred_outlet));
    let location = l
        .location
        .as_ref()
        .and_then(|p| point(&mut v, "lead.location", p));
    let city = text(&mut v, "lead.city", &l.city, 50, false);
    if l.location.is_none() && city.is_empty() && preferred_outlet.is_none() {
        v.add(
            "lead.location",
            "give the customer's location, city or preferred outlet: the lead is routed by it",
        );
    }
    let notes = multiline(&mut v, "lead.notes", &l.notes, 1000);
    let response_window = match &l.response_window {
        None => DEFAULT_RESPONSE_WINDOW,
        Some(d) => {
            let w =
                TimeDelta::new(d.seconds, u32::try_from(d.nanos).unwrap_or(u32::MAX)).filter(|w| {
                    (MIN_RESPONSE_WINDOW..=MAX_RESPONSE_WINDOW).contains(w) && w.subsec_nanos() == 0
                });
            if w.is_none() {
                v.add(
                    "lead.response_window",
                    "whole seconds from 15 minutes to 5 days",
                );
            }
            w.unwrap_or(DEFAULT_RESPONSE_WINDOW)
        }
    };
    let (Some(customer_id), Some(interest), Some(source)) = (customer_id, interest, source) else {
        return Err(v);
    };
    v.into_result()?;
    Ok(NewLead {
        customer_id,
        interest,
        model_code,
        source,
        campaign,
        preferred_outlet,
        location,
        city,
        notes,
        response_window,
    })
}

/// `leads/{uuid}` as an id.
pub(super) fn lead_id(v: &mut FieldViolations, name: &str, field: &str) -> Option<Uuid> {
    uuid_in_name(v, name, "leads", field)
}

impl Service {
    pub(super) async fn create_lead(
        &self,
        principal: &Principal,
        req: pb::CreateLeadRequest,
    ) -> Result<pb::CreateLeadResponse> {
        if !matches!(
            Caller::of(principal),
            Caller::HeadOffice | Caller::Hotline | Caller::System
        ) {
            return Err(Error::denied(
                "LEAD_CREATION_NOT_ALLOWED",
                "leads are created by the hotline (role agent), channel systems (role system) or HQ",
            ));
        }
        let key = IdempotencyKey::new(principal, "CreateLead", &req.request_id, &req)?;
        let input = req
            .lead
            .as_ref()
            .ok_or_else(|| FieldViolations::one("lead", "required"))?;
        let new = new_lead(input)?;
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let preferred = match &new.preferred_outlet {
            Some(code) => Some(
                store::outlet::load_outlet(&mut tx, code, Lock::None)
                    .await?
                    .ok_or_else(|| Error::outlet_not_found(code))?,
            ),
            None => None,
        };
        let origin = match (new.location, new.city.as_str()) {
            (Some(p), _) => p,
            (None, "") => preferred.as_ref().map(|o| o.location).ok_or_else(|| {
                FieldViolations::one(
                    "lead.location",
                    "give the customer's location, city or preferred outlet",
                )
            })?,
            (None, city) => match store::outlet::city_centre(&mut tx, None, city).await? {
                Some(centre) => centre,
                None => match &preferred {
                    Some(o) => o.location,
                    None => {
                        return Err(FieldViolations::one(
                            "lead.city",
                            "no outlet is in this city: give the customer's location instead",
                        )
                        .into());
                    }
                },
            },
        };
        let placement = router::place(
            &mut tx,
            &router::Request {
                preferred: new.preferred_outlet.as_deref(),
                origin,
                interest: new.interest,
                response_window: new.response_window,
                excluded: &[],
                now,
            },
        )
        .await?
        .ok_or_else(|| {
            Error::precondition(
                "NO_OUTLET_AVAILABLE",
                format!(
                    "no active outlet may receive a {} lead near the customer",
                    new.interest.as_str()
                ),
            )
        })?;
        let lead = Lead {
            id: Uuid::now_v7(),
            customer_id: new.customer_id,
            interest: new.interest,
            model_code: new.model_code,
            source: new.source,
            campaign: new.campaign,
            preferred_outlet: new.preferred_outlet,
            location: origin,
            city: new.city,
            notes: new.notes,
            response_window: new.response_window,
            status: Status::New,
            outlet: placement.outlet.clone(),
            respond_before: placement.respond_before,
            escalate_time: None,
            staff_id: None,
            first_contact_time: None,
            appointment_time: None,
            lost_reason: None,
            close_time: None,
            created_by: principal.organization().to_owned(),
            version: 1,
            create_time: now,
            update_time: now,
        };
        let assignment = Assignment {
            seq: 1,
            outlet: placement.outlet,
            reason: placement.reason,
            assign_time: now,
            respond_before: placement.respond_before,
            distance_km: placement.distance_km,
            end_time: None,
        };
        store::lead::insert(&mut tx, &lead).await?;
        store::lead::insert_assignment(&mut tx, lead.id, &assignment).await?;
        let response = pb::CreateLeadResponse {
            lead: Some(lead_to_proto(&lead, &[assignment])),
        };
        commit(tx, key.as_ref(), response, &format!("leads/{}", lead.id)).await
    }

    pub(super) async fn get_lead(
        &self,
        principal: &Principal,
        req: pb::GetLeadRequest,
    ) -> Result<pb::GetLeadResponse> {
        let mut v = FieldViolations::new();
        let Some(id) = lead_id(&mut v, &req.name, "name") else {
            return Err(v.into());
        };
        let mut conn = self.pool.acquire().await?;
        let lead = store::lead::load(&mut conn, id, false)
            .await?
            .ok_or_else(|| Error::lead_not_found(&req.name))?;
        if !Caller::of(principal).reads(&lead.outlet) {
            return Err(Error::denied(
                "NOT_YOUR_LEAD",
                format!(
                    "{} is not assigned to {}",
                    req.name,
                    principal.organization()
                ),
            ));
        }
        let routings = store::lead::assignments(&mut conn, &[id])
            .await?
            .remove(&id)
            .unwrap_or_default();
        Ok(pb::GetLeadResponse {
            lead: Some(lead_to_proto(&lead, &routings)),
        })
    }

    pub(super) async fn list_leads(
        &self,
        principal: &Principal,
        req: pb::ListLeadsRequest,
    ) -> Result<pb::ListLeadsResponse> {
        let mut v = FieldViolations::new();
        let caller = Caller::of(principal);
        let outlet = match (req.outlet.as_str(), caller) {
            ("", Caller::Outlet(own)) => Some(own.to_owned()),
            ("", _) => None,
            (code, _) => Some(outlet_code(&mut v, "outlet", code)),
        };
        let status = match req.status {
            0 => None,
            s => status_from(s).or_else(|| {
                v.add("status", "not a lead status");
                None
            }),
        };
        let customer = match req.customer.as_str() {
            "" => None,
            name => uuid_in_name(&mut v, name, "customers", "customer"),
        };
        let size = PageSize::STANDARD
            .resolve(req.page_size)
            .map_err(|e| v.append(e))
            .unwrap_or(0);
        let bound = pb::ListLeadsRequest {
            page_size: 0,
            page_token: String::new(),
            outlet: outlet.clone().unwrap_or_default(),
            ..req.clone()
        }
        .encode_to_vec();
        let after = self
            .page_tokens
            .open::<String>(&req.page_token, &bound)
            .map_err(|e| v.append(e.violation()))
            .unwrap_or(None)
            .and_then(|a| Uuid::parse_str(&a).ok());
        v.into_result()?;
        match (caller, &outlet) {
            (Caller::HeadOffice | Caller::System | Caller::Hotline, _) => {}
            (Caller::Outlet(own), Some(o)) if o == own => {}
            (_, o) => return Err(not_your_outlet(principal, o.as_deref().unwrap_or("*"))),
        }
        let filter = store::lead::Filter {
            outlet,
            status,
            customer,
            overdue_at: req.overdue.then(|| self.now()),
        };
        let mut conn = self.pool.acquire().await?;
        let mut leads = store::lead::list(&mut conn, &filter, after, size + 1).await?;
        let next_page_token = next_page(&self.page_tokens, &mut leads, size, &bound, |l| {
            l.id.to_string()
        });
        let ids: Vec<Uuid> = leads.iter().map(|l| l.id).collect();
        let mut routings = store::lead::assignments(&mut conn, &ids).await?;
        Ok(pb::ListLeadsResponse {
            leads: leads
                .iter()
                .map(|l| lead_to_proto(l, &routings.remove(&l.id).unwrap_or_default()))
                .collect(),
            next_page_token,
        })
    }
}
