//! SLA policies, the hotline's holidays, calendars and the sweeper.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use dealernet_kit::{
    auth::{Principal, Role},
    calendar::Calendar,
    error::FieldViolations,
};
use dealernet_proto::{callcenter::v1 as pb, types::v1 as types};
use sqlx::PgConnection;

use super::{
    Result,
    case_view::{priority_from_proto, priority_to_proto, type_from_proto},
    require_head_office,
};
use crate::{
    Error, Service,
    domain::{
        case::{CaseType, HOTLINE, Priority},
        sla::{self, SlaState, Targets},
    },
    store,
};

const MAX_FIRST_RESPONSE: i32 = 100_000;
const MAX_RESOLUTION: i32 = 1_000_000;

fn policy_to_proto(t: &str, p: &str, first: i32, resolution: i32, outlet: bool) -> pb::SlaPolicy {
    pb::SlaPolicy {
        r#type: CaseType::parse(t)
            .map(super::case_view::type_to_proto_i32)
            .unwrap_or_default(),
        priority: Priority::parse(p)
            .map(|p| priority_to_proto(p) as i32)
            .unwrap_or_default(),
        first_response_minutes: first,
        resolution_minutes: resolution,
        outlet_calendar: outlet,
    }
}

impl Service {
    /// The calendar a case's clock runs on: the hotline's, or an outlet's business hours
    /// from the dealer network. Read before any transaction (it may be a network call).
    pub(super) async fn calendar(&self, name: &str) -> Result<Calendar> {
        if name != HOTLINE {
            return self.network.calendar(name).await;
        }
        let mut conn = self.pool.acquire().await?;
        let holidays = store::desk::holidays(&mut conn).await?;
        Ok(sla::hotline_calendar(holidays))
    }

    /// The targets of a type × priority (a policy exists for each; the migration seeds
    /// them and SetSlaPolicy only replaces).
    pub(super) async fn targets(
        &self,
        conn: &mut PgConnection,
        t: CaseType,
        p: Priority,
    ) -> Result<(Targets, bool)> {
        store::case::policy(conn, t, p).await?.ok_or_else(|| {
            Error::Unavailable(format!("no SLA policy for {} × {}", t.as_str(), p.as_str()))
        })
    }

    pub(super) async fn set_sla_policy(
        &self,
        principal: &Principal,
        req: pb::SetSlaPolicyRequest,
    ) -> Result<pb::SetSlaPolicyResponse> {
        require_head_office(principal, "setting SLA policies")?;
        let Some(p) = req.policy.as_ref() else {
            return Err(FieldViolations::one("policy", "required").into());
        };
        let mut v = FieldViolations::new();
        let t = type_from_proto(p.r#type);
        if t.is_none() {
            v.add("policy.type", "required: one of the CASE_TYPE_* values");
        }
        let priority = priority_from_proto(p.priority);
        if priority.is_none() {
            v.add("policy.priority", "required: one of the PRIORITY_* values");
        }
        if !(1..=MAX_FIRST_RESPONSE).contains(&p.first_response_minutes) {
            v.add(
                "policy.first_response_minutes",
                format!("must be 1 to {MAX_FIRST_RESPONSE}"),
            );
        }
        if !(1..=MAX_RESOLUTION).contains(&p.resolution_minutes)
            || p.resolution_minutes < p.first_response_minutes
        {
            v.add(
                "policy.resolution_minutes",
                format!("must be 1 to {MAX_RESOLUTION} and not less than the first response"),
            );
        }
        let (Some(t), Some(priority)) = (t, priority) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let targets = Targets {
            first_response_minutes: i64::from(p.first_response_minutes),
            resolution_minutes: i64::from(p.resolution_minutes),
        };
        let mut conn = self.pool.acquire().await?;
        store::case::set_policy(&mut conn, t, priority, targets, p.outlet_calendar).await?;
        Ok(pb::SetSlaPolicyResponse { policy: Some(*p) })
    }

    pub(super) async fn list_sla_policies(
        &self,
        _principal: &Principal,
        _req: pb::ListSlaPoliciesRequest,
    ) -> Result<pb::ListSlaPoliciesResponse> {
        let mut conn = self.pool.acquire().await?;
        let rows = store::case::policies(&mut conn).await?;
        Ok(pb::ListSlaPoliciesResponse {
            policies: rows
                .iter()
                .map(|(t, p, f, r, o)| policy_to_proto(t, p, *f, *r, *o))
                .collect(),
        })
    }

    pub(super) async fn add_hotline_holiday(
        &self,
        principal: &Principal,
        req: pb::AddHotlineHolidayRequest,
    ) -> Result<pb::AddHotlineHolidayResponse> {
        require_head_office(principal, "the hotline's calendar")?;
        let mut v = FieldViolations::new();
        let day = req.day.as_ref().and_then(|d| {
            NaiveDate::from_ymd_opt(
                d.year,
                u32::try_from(d.month).ok()?,
                u32::try_from(d.day).ok()?,
            )
        });
        if day.is_none() {
            v.add("day", "required: a calendar date");
        }
        let name = super::text(&mut v, "name", &req.name, true, 100);
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        store::desk::add_holiday(&mut conn, day.unwrap_or_default(), &name).await?;
        Ok(pb::AddHotlineHolidayResponse {})
    }

    pub(super) async fn list_hotline_holidays(
        &self,
        _principal: &Principal,
        _req: pb::ListHotlineHolidaysRequest,
    ) -> Result<pb::ListHotlineHolidaysResponse> {
        let mut conn = self.pool.acquire().await?;
        Ok(pb::ListHotlineHolidaysResponse {
            days: store::desk::holidays(&mut conn)
                .await?
                .into_iter()
                .map(|d| types::Date {
                    year: d.year(),
                    month: d.month() as i32,
                    day: d.day() as i32,
                })
                .collect(),
        })
    }

    pub(super) async fn sweep_sla(
        &self,
        principal: &Principal,
        _req: pb::SweepSlaRequest,
    ) -> Result<pb::SweepSlaResponse> {
        if !(principal.is_head_office() || principal.has_role(Role::System)) {
            return Err(Error::denied(
                "HQ_ROLE_REQUIRED",
                "running the SLA sweeper is for HQ and platform systems",
            ));
        }
        let (warned, breached) = self.sweep(self.clock.now()).await?;
        Ok(pb::SweepSlaResponse { warned, breached })
    }

    /// One pass over every clock whose state may have changed by `now`, in batches, each
    /// batch locked (skipping rows another sweeper holds) and committed on its own. A
    /// breach escalates once: priority one step up, the team lead assigned, a note.
    /// Returns (newly warned, newly breached).
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<(i32, i32)> {
        const BATCH: i64 = 200;
        let (mut warned, mut breached) = (0, 0);
        loop {
            let mut tx = self.pool.begin().await?;
            let due = store::case::sweep_candidates(&mut tx, now, BATCH).await?;
            let n = due.len() as i64;
            for mut c in due {
                let responded = c.first_response_at.is_some();
                let state = sla::state_at(now, c.clock, responded);
                if state != c.sla_state {
                    match state {
                        SlaState::Warning => warned += 1,
                        SlaState::Breached => breached += 1,
                        SlaState::Ok => {}
                    }
                    if state == SlaState::Breached && c.escalations == 0 {
                        c.escalations = 1;
                        c.priority = c.priority.raised();
                        c.assignee = c.team.lead().to_owned();
                        store::case::add_note(
                            &mut tx,
                            c.id,
                            now,
                            "sla-sweeper",
                            "CALLCENTER",
                            &format!(
                                "SLA breached: escalated to {} with priority {}",
                                c.assignee,
                                c.priority.as_str()
                            ),
                        )
                        .await?;
                    }
                    c.sla_state = state;
                    c.version += 1;
                    c.update_time = now;
                }
                c.next_check_at = sla::next_check(c.clock, responded, state);
                store::case::update(&mut tx, &c).await?;
            }
            tx.commit().await?;
            if n < BATCH {
                return Ok((warned, breached));
            }
        }
    }
}
