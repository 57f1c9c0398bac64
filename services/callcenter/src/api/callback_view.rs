//! Callbacks as the API shows them, and a request's retry policy checked.

use chrono::{DateTime, Duration, Utc};
use dealernet_kit::error::FieldViolations;
use dealernet_proto::callcenter::v1 as pb;

use super::{time, timestamp};
use crate::{
    domain::callback::{self as rules, Outcome, Policy, Purpose, Status},
    store::callback::Callback,
};

pub(super) fn purpose_from_proto(v: i32) -> Option<Purpose> {
    Some(match pb::CallbackPurpose::try_from(v).ok()? {
        pb::CallbackPurpose::Unspecified => return None,
        pb::CallbackPurpose::CustomerRequest => Purpose::CustomerRequest,
        pb::CallbackPurpose::CaseFollowUp => Purpose::CaseFollowUp,
        pb::CallbackPurpose::Survey => Purpose::Survey,
        pb::CallbackPurpose::ServiceReminder => Purpose::ServiceReminder,
        pb::CallbackPurpose::Marketing => Purpose::Marketing,
    })
}

pub(super) fn purpose_to_proto(p: Purpose) -> pb::CallbackPurpose {
    match p {
        Purpose::CustomerRequest => pb::CallbackPurpose::CustomerRequest,
        Purpose::CaseFollowUp => pb::CallbackPurpose::CaseFollowUp,
        Purpose::Survey => pb::CallbackPurpose::Survey,
        Purpose::ServiceReminder => pb::CallbackPurpose::ServiceReminder,
        Purpose::Marketing => pb::CallbackPurpose::Marketing,
    }
}

pub(super) fn outcome_from_proto(v: i32) -> Option<Outcome> {
    Some(match pb::CallOutcome::try_from(v).ok()? {
        pb::CallOutcome::Unspecified => return None,
        pb::CallOutcome::Answered => Outcome::Answered,
        pb::CallOutcome::Busy => Outcome::Busy,
        pb::CallOutcome::NoAnswer => Outcome::NoAnswer,
        pb::CallOutcome::PoweredOff => Outcome::PoweredOff,
        pb::CallOutcome::Unreachable => Outcome::Unreachable,
        pb::CallOutcome::WrongNumber => Outcome::WrongNumber,
        pb::CallOutcome::Declined => Outcome::Declined,
    })
}

pub(super) fn outcome_to_proto(o: Outcome) -> pb::CallOutcome {
    match o {
        Outcome::Answered => pb::CallOutcome::Answered,
        Outcome::Busy => pb::CallOutcome::Busy,
        Outcome::NoAnswer => pb::CallOutcome::NoAnswer,
        Outcome::PoweredOff => pb::CallOutcome::PoweredOff,
        Outcome::Unreachable => pb::CallOutcome::Unreachable,
        Outcome::WrongNumber => pb::CallOutcome::WrongNumber,
        Outcome::Declined => pb::CallOutcome::Declined,
    }
}

pub(super) fn status_to_proto(s: Status) -> pb::CallbackStatus {
    match s {
        Status::Pending => pb::CallbackStatus::Pending,
        Status::Claimed => pb::CallbackStatus::Claimed,
        Status::Completed => pb::CallbackStatus::Completed,
        Status::Stopped => pb::CallbackStatus::Stopped,
    }
}

pub(super) fn status_from_proto(v: i32) -> Option<Status> {
    Some(match pb::CallbackStatus::try_from(v).ok()? {
        pb::CallbackStatus::Unspecified => return None,
        pb::CallbackStatus::Pending => Status::Pending,
        pb::CallbackStatus::Claimed => Status::Claimed,
        pb::CallbackStatus::Completed => Status::Completed,
        pb::CallbackStatus::Stopped => Status::Stopped,
    })
}

pub(super) fn callback_to_proto(c: &Callback) -> pb::Callback {
    pb::Callback {
        name: format!("callbacks/{}", c.id),
        customer: format!("customers/{}", c.customer),
        phone: c.phone.clone(),
        reason: c.reason.clone(),
        purpose: purpose_to_proto(c.purpose) as i32,
        case: c
            .case_id
            .map(|id| format!("cases/{id}"))
            .unwrap_or_default(),
        repair_order: c.repair_order.clone(),
        status: status_to_proto(c.status) as i32,
        next_attempt_time: (c.status == Status::Pending).then(|| timestamp(c.due_at)),
        attempts: c.attempts,
        last_outcome: c
            .last_outcome
            .map(|o| outcome_to_proto(o) as i32)
            .unwrap_or_default(),
        stop_reason: c.stop_reason.clone(),
        claimed_by: c.claimed_by.clone(),
        lease_expire_time: (c.status == Status::Claimed).then(|| timestamp(c.due_at)),
        policy: Some(pb::RetryPolicy {
            max_attempts: c.policy.max_attempts,
            expire_time: Some(timestamp(c.policy.expire_at)),
            calling_hours_start: c.policy.calling_start as i32,
            calling_hours_end: c.policy.calling_end as i32,
        }),
        outlet: c.outlet.clone(),
        create_time: Some(timestamp(c.create_time)),
        stop_note: c.stop_note.clone(),
    }
}

pub(super) fn parse_policy(
    v: &mut FieldViolations,
    p: Option<&pb::RetryPolicy>,
    now: DateTime<Utc>,
) -> Policy {
    let p = p.cloned().unwrap_or_default();
    let max_attempts = if p.max_attempts == 0 {
        rules::DEFAULT_MAX_ATTEMPTS
    } else {
        p.max_attempts
    };
    if !(1..=20).contains(&max_attempts) {
        v.add("callback.policy.max_attempts", "must be 1 to 20");
    }
    let expire_at = time(v, "callback.policy.expire_time", p.expire_time.as_ref())
        .unwrap_or(now + Duration::days(rules::DEFAULT_EXPIRY_DAYS));
    if expire_at <= now {
        v.add("callback.policy.expire_time", "must be in the future");
    }
    let (start, end) = match (p.calling_hours_start, p.calling_hours_end) {
        (0, 0) => (
            rules::DEFAULT_CALLING_START as i32,
            rules::DEFAULT_CALLING_END as i32,
        ),
        pair => pair,
    };
    if !(0..=23).contains(&start) || !(1..=24).contains(&end) || end <= start {
        v.add(
            "callback.policy.calling_hours_end",
            "calling hours must be start 0..23 and end 1..24, after the start",
        );
    }
    Policy {
        max_attempts,
        expire_at,
        calling_start: start.clamp(0, 23) as u32,
        calling_end: end.clamp(1, 24) as u32,
    }
}
