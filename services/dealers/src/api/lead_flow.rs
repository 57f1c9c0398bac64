//! AdvanceLead (the outlet works the lead) and ReassignLead (HQ or the hotline hand it
//! to another outlet).
//!
//! Both lock the lead's row first, as the sweeper does: whoever locks first decides,
//! and the other sees the outcome — a contacted lead is no longer routable, a re-routed
//! lead is no longer the outlet's to contact.

use chrono::TimeDelta;
use dealernet_kit::{auth::Principal, error::FieldViolations, idempotency::IdempotencyKey};
use dealernet_proto::dealers::v1 as pb;

use super::{
    Caller, Result, commit,
    convert::{etag, outlet_code, text, time_from},
    lead::{lead_id, lead_to_proto, status_from},
    replay,
    staff::staff_id,
};
use crate::{
    Error, Service,
    domain::{
        geo::haversine_km,
        lead::{Assignment, RoutingReason, Status, advance},
        outlet::permits,
    },
    store::{self, Lock},
};

/// How far an appointment may lie in the past (recorded after the fact) or the future.
const APPOINTMENT_PAST: TimeDelta = TimeDelta::days(1);
const APPOINTMENT_FUTURE: TimeDelta = TimeDelta::days(366);

impl Service {
    pub(super) async fn advance_lead(
        &self,
        principal: &Principal,
        req: pb::AdvanceLeadRequest,
    ) -> Result<pb::AdvanceLeadResponse> {
        let key = IdempotencyKey::new(principal, "AdvanceLead", &req.request_id, &req)?;
        let now = self.now();
        let mut v = FieldViolations::new();
        let id = lead_id(&mut v, &req.name, "name");
        let to = status_from(req.status);
        if to.is_none() {
            v.add("status", "required: one of the LEAD_STATUS_* values");
        }
        let appointment = match (to, &req.appointment_time) {
            (Some(Status::Appointment), None) => {
                v.add("appointment_time", "required for APPOINTMENT");
                None
            }
            (Some(Status::Appointment), Some(t)) => time_from(&mut v, "appointment_time", t)
                .filter(|at| {
                    let ok = *at >= now - APPOINTMENT_PAST && *at <= now + APPOINTMENT_FUTURE;
                    if !ok {
                        v.add(
                            "appointment_time",
                            "must be within a day before and a year after now",
                        );
                    }
                    ok
                }),
            (_, Some(_)) => {
                v.add("appointment_time", "only for APPOINTMENT");
                None
            }
            (_, None) => None,
        };
        let lost_reason = text(
            &mut v,
            "lost_reason",
            &req.lost_reason,
            500,
            to == Some(Status::Lost),
        );
        if to != Some(Status::Lost) && !lost_reason.is_empty() {
            v.add("lost_reason", "only for LOST");
        }
        let staff = match req.staff_member.as_str() {
            "" => None,
            name => staff_id(name, "staff_member").map_err(|e| v.append(e)).ok(),
        };
        let (Some(id), Some(to)) = (id, to) else {
            return Err(v.into());
        };
        v.into_result()?;
        let caller = Caller::of(principal);
        if !matches!(caller, Caller::HeadOffice | Caller::Outlet(_)) {
            return Err(Error::denied(
                "NOT_YOUR_LEAD",
                "leads are worked by their outlet (or HQ)",
            ));
        }
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let mut lead = store::lead::load(&mut tx, id, true)
            .await?
            .ok_or_else(|| Error::lead_not_found(&req.name))?;
        let mut history = store::lead::assignments(&mut tx, &[id])
            .await?
            .remove(&id)
            .unwrap_or_default();
        if let Caller::Outlet(own) = caller
            && own != lead.outlet
        {
            return Err(if history.iter().any(|a| a.outlet == own) {
                Error::precondition(
                    "LEAD_REASSIGNED",
                    format!("{} has moved on to another outlet", req.name),
                )
            } else {
                Error::denied(
                    "NOT_YOUR_LEAD",
                    format!("{} is not assigned to {own}", req.name),
                )
            });
        }
        if !req.etag.is_empty() && req.etag != etag(lead.version) {
            return Err(Error::EtagMismatch {
                current: etag(lead.version),
            });
        }
        advance(lead.status, to).map_err(|refusal| {
            Error::precondition(
                refusal,
                format!(
                    "a {} lead cannot become {}",
                    lead.status.as_str(),
                    to.as_str()
                ),
            )
        })?;
        if lead.status == Status::New {
            // Taking up a lead is receiving it: a suspended or closed outlet may not.
            let outlet = store::outlet::load_outlet(&mut tx, &lead.outlet, Lock::Share)
                .await?
                .ok_or_else(|| Error::outlet_not_found(&lead.outlet))?;
            permits(outlet.status, &outlet.capabilities, lead.interest.action()).map_err(
                |refusal| {
                    Error::precondition(
                        refusal,
                        format!("outlets/{} may not take up leads now", outlet.code),
                    )
                },
            )?;
            lead.first_contact_time = Some(now);
        }
        if let Some(staff) = staff {
            let member = store::staff::load(&mut tx, staff, false)
                .await?
                .ok_or_else(|| Error::staff_not_found(&req.staff_member))?;
            if member.outlet != lead.outlet || !member.active {
                return Err(Error::precondition(
                    "STAFF_NOT_ACTIVE_AT_OUTLET",
                    format!(
                        "{} is not active staff of outlets/{}",
                        req.staff_member, lead.outlet
                    ),
                ));
            }
            lead.staff_id = Some(staff);
        }
        match to {
            Status::Appointment => lead.appointment_time = appointment,
            Status::Won | Status::Lost => {
                lead.close_time = Some(now);
                lead.lost_reason = (to == Status::Lost).then_some(lost_reason);
            }
            Status::New | Status::Contacted => {}
        }
        lead.status = to;
        lead.version += 1;
        lead.update_time = now;
        store::lead::update(&mut tx, &lead).await?;
        history.sort_by_key(|a| a.seq);
        let response = pb::AdvanceLeadResponse {
            lead: Some(lead_to_proto(&lead, &history)),
        };
        commit(tx, key.as_ref(), response, &req.name).await
    }

    pub(super) async fn reassign_lead(
        &self,
        principal: &Principal,
        req: pb::ReassignLeadRequest,
    ) -> Result<pb::ReassignLeadResponse> {
        if !matches!(Caller::of(principal), Caller::HeadOffice | Caller::Hotline) {
            return Err(Error::denied(
                "REASSIGN_NOT_ALLOWED",
                "leads are reassigned by HQ or the hotline",
            ));
        }
        let key = IdempotencyKey::new(principal, "ReassignLead", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let id = lead_id(&mut v, &req.name, "name");
        let target = outlet_code(&mut v, "outlet", &req.outlet);
        text(&mut v, "reason", &req.reason, 500, true);
        let Some(id) = id else { return Err(v.into()) };
        v.into_result()?;
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let mut lead = store::lead::load(&mut tx, id, true)
            .await?
            .ok_or_else(|| Error::lead_not_found(&req.name))?;
        if lead.status != Status::New {
            return Err(Error::precondition(
                "LEAD_ALREADY_TAKEN_UP",
                format!(
                    "{} is {}: only uncontacted leads move",
                    req.name,
                    lead.status.as_str()
                ),
            ));
        }
        if lead.outlet == target {
            return Err(Error::precondition(
                "LEAD_ALREADY_AT_OUTLET",
                format!("{} is already at {target}", req.name),
            ));
        }
        let outlet = store::outlet::load_outlet(&mut tx, &target, Lock::Share)
            .await?
            .ok_or_else(|| Error::outlet_not_found(&target))?;
        permits(outlet.status, &outlet.capabilities, lead.interest.action()).map_err(
            |refusal| {
                Error::precondition(
                    refusal,
                    format!("outlets/{target} may not receive this lead"),
                )
            },
        )?;
        let respond_before = outlet
            .calendar
            .add_open_time(now, lead.response_window)
            .ok_or_else(|| {
                Error::precondition(
                    "OUTLET_NEVER_OPEN",
                    format!("outlets/{target} has no opening hours in the coming year"),
                )
            })?;
        let mut history = store::lead::assignments(&mut tx, &[id])
            .await?
            .remove(&id)
            .unwrap_or_default();
        store::lead::end_assignment(&mut tx, id, now, RoutingReason::Manual).await?;
        if let Some(current) = history.last_mut() {
            current.end_time = Some(now);
        }
        let assignment = Assignment {
            seq: history.last().map_or(1, |a| a.seq + 1),
            outlet: target.clone(),
            reason: RoutingReason::Manual,
            assign_time: now,
            respond_before,
            distance_km: haversine_km(lead.location, outlet.location),
            end_time: None,
        };
        store::lead::insert_assignment(&mut tx, id, &assignment).await?;
        history.push(assignment);
        lead.outlet = target;
        lead.respond_before = respond_before;
        lead.escalate_time = None;
        lead.version += 1;
        lead.update_time = now;
        store::lead::update(&mut tx, &lead).await?;
        tracing::info!(lead = %id, to = %lead.outlet, by = principal.organization(), "lead reassigned");
        let response = pb::ReassignLeadResponse {
            lead: Some(lead_to_proto(&lead, &history)),
        };
        commit(tx, key.as_ref(), response, &req.name).await
    }
}
