//! Callbacks: scheduling (consent and do-not-call checked), the agents' work queue, call
//! attempts with their retry rules, cancelling, and the survey call after a case.

use chrono::{Duration, Timelike};
use dealernet_kit::calendar::Calendar;
use dealernet_kit::{
    auth::{Principal, Role},
    error::FieldViolations,
    idempotency::IdempotencyKey,
    paging::{TimeIdCursor, time_id, time_id_cursor},
};
use dealernet_proto::callcenter::v1 as pb;
use prost::Message;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    Result,
    callback_view::{
        callback_to_proto, outcome_from_proto, parse_policy, purpose_from_proto, status_from_proto,
    },
    commit, customer_id, phone,
    phone_reads::Reading,
    replay, require_desk, resource_id, text, time,
};
use crate::{
    Error, Service,
    domain::{
        callback::{self as rules, Next, Policy, Status},
        sla,
    },
    store::{self, callback::Callback},
};

const DEFAULT_LEASE_SECS: i32 = 300;

impl Service {
    /// The calling calendar of a policy (the hotline's business days).
    pub(super) async fn calling(
        &self,
        conn: &mut PgConnection,
        policy: &Policy,
    ) -> Result<dealernet_kit::calendar::Calendar> {
        let holidays = store::desk::holidays(conn).await?;
        Ok(policy.calling_calendar(&holidays))
    }

    pub(super) async fn schedule_callback(
        &self,
        principal: &Principal,
        req: pb::ScheduleCallbackRequest,
    ) -> Result<pb::ScheduleCallbackResponse> {
        require_desk(principal, "scheduling callbacks")?;
        let key = IdempotencyKey::new(principal, "ScheduleCallback", &req.request_id, &req)?;
        let Some(c) = req.callback.as_ref() else {
            return Err(FieldViolations::one("callback", "required").into());
        };
        let now = self.clock.now();
        let mut v = FieldViolations::new();
        let customer = customer_id(&mut v, "callback.customer", &c.customer);
        let number = if c.phone.is_empty() {
            None
        } else {
            phone(&mut v, "callback.phone", &c.phone)
        };
        let reason = text(&mut v, "callback.reason", &c.reason, true, 500);
        let purpose = purpose_from_proto(c.purpose);
        if purpose.is_none() {
            v.add(
                "callback.purpose",
                "required: one of the CALLBACK_PURPOSE_* values",
            );
        }
        let case_id = if c.case.is_empty() {
            None
        } else {
            resource_id(&mut v, "callback.case", &c.case, "cases")
        };
        if !c.repair_order.is_empty() {
            resource_id(
                &mut v,
                "callback.repair_order",
                &c.repair_order,
                "repairOrders",
            );
        }
        let outlet = super::outlet_code(&mut v, "callback.outlet", &c.outlet);
        let earliest = time(
            &mut v,
            "callback.next_attempt_time",
            c.next_attempt_time.as_ref(),
        )
        .unwrap_or(now)
        .max(now);
        let policy = parse_policy(&mut v, c.policy.as_ref(), now);
        let (Some(customer), Some(purpose)) = (customer, purpose) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        // The registry is asked before the transaction: the customer, their number, and
        // consent for calls that need it.
        let contact = self.registry.contact(customer, "callback").await?;
        let number = number.or(contact.phone).ok_or_else(|| {
            Error::refused(
                "NO_PHONE",
                format!("customers/{customer} has no phone number"),
            )
        })?;
        if let Some(needed) = purpose.consent()
            && let Err(why) = self.registry.may_call(contact.id, needed).await?
        {
            return Err(Error::refused(
                "NO_CONSENT",
                format!(
                    "customers/{customer} may not be called for {}: {why}",
                    purpose.as_str()
                ),
            ));
        }
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        if purpose.honours_do_not_call() && store::desk::is_do_not_call(&mut tx, &number).await? {
            return Err(Error::refused(
                "DO_NOT_CALL",
                format!("{number} is on the do-not-call list"),
            ));
        }
        if let Some(id) = case_id
            && store::case::load(&mut tx, id, false).await?.is_none()
        {
            return Err(Error::case_not_found(&c.case));
        }
        let calling = self.calling(&mut tx, &policy).await?;
        let due = calling
            .next_open(earliest)
            .filter(|due| *due < policy.expire_at)
            .ok_or_else(|| {
                Error::refused(
                    "NO_CALLING_WINDOW",
                    "no calling window opens before the callback expires",
                )
            })?;
        let callback = Callback {
            id: Uuid::now_v7(),
            customer: contact.id,
            phone: number,
            reason,
            purpose,
            case_id,
            repair_order: c.repair_order.clone(),
            outlet,
            status: Status::Pending,
            due_at: due,
            attempts: 0,
            last_outcome: None,
            stop_reason: String::new(),
            stop_note: String::new(),
            claimed_by: String::new(),
            policy,
            created_by: principal.subject().to_owned(),
            create_time: now,
            version: 1,
        };
        store::callback::insert(&mut tx, &callback).await?;
        let name = format!("callbacks/{}", callback.id);
        let response = pb::ScheduleCallbackResponse {
            callback: Some(callback_to_proto(&callback)),
        };
        commit(tx, key.as_ref(), response, &name).await
    }

    pub(super) async fn claim_next_callback(
        &self,
        principal: &Principal,
        req: pb::ClaimNextCallbackRequest,
    ) -> Result<pb::ClaimNextCallbackResponse> {
        if !(principal.has_role(Role::Agent) || principal.is_head_office()) {
            return Err(Error::denied(
                "AGENT_ROLE_REQUIRED",
                "callbacks are claimed by hotline agents",
            ));
        }
        let lease = if req.lease_seconds == 0 {
            DEFAULT_LEASE_SECS
        } else {
            req.lease_seconds
        };
        if !(10..=3_600).contains(&lease) {
            return Err(FieldViolations::one("lease_seconds", "must be 10 to 3,600").into());
        }
        loop {
            let now = self.clock.now();
            // Calls are placed only on the hotline's business days (its weekdays here, its
            // holidays in the claim statement), inside each callback's calling hours (the
            // customer's local time, +08:00).
            if !sla::hotline_calendar([]).is_business_day(now) {
                return Ok(pb::ClaimNextCallbackResponse { callback: None });
            }
            let local = now.with_timezone(&Calendar::china_offset());
            let mut conn = self.pool.acquire().await?;
            let Some(claimed) = store::callback::claim_next(
                &mut conn,
                now,
                local.date_naive(),
                local.hour() as i32,
                principal.subject(),
                now + Duration::seconds(i64::from(lease)),
            )
            .await?
            else {
                return Ok(pb::ClaimNextCallbackResponse { callback: None });
            };
            drop(conn);
            // Expired, or consent withdrawn since scheduling: stopped, and the next one.
            let stop = if now >= claimed.policy.expire_at {
                Some("EXPIRED".to_owned())
            } else if let Some(needed) = claimed.purpose.consent() {
                self.registry
                    .may_call(claimed.customer, needed)
                    .await?
                    .err()
            } else {
                None
            };
            match stop {
                None => {
                    return Ok(pb::ClaimNextCallbackResponse {
                        callback: Some(callback_to_proto(&claimed)),
                    });
                }
                Some(reason) => {
                    self.stop_claimed(claimed.id, principal.subject(), &reason)
                        .await?
                }
            }
        }
    }

    /// Stops a callback this agent holds (consent gone, expired).
    async fn stop_claimed(&self, id: Uuid, agent: &str, reason: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if let Some(mut c) = store::callback::load(&mut tx, id, true).await?
            && c.status == Status::Claimed
            && c.claimed_by == agent
        {
            c.status = Status::Stopped;
            c.stop_reason = if reason == "EXPIRED" {
                "EXPIRED".into()
            } else {
                "NO_CONSENT".into()
            };
            c.stop_note = reason.to_owned();
            c.claimed_by.clear();
            c.version += 1;
            store::callback::update(&mut tx, &c).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn record_call_attempt(
        &self,
        principal: &Principal,
        req: pb::RecordCallAttemptRequest,
    ) -> Result<pb::RecordCallAttemptResponse> {
        require_desk(principal, "recording calls")?;
        let key = IdempotencyKey::new(principal, "RecordCallAttempt", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let id = resource_id(&mut v, "name", &req.name, "callbacks");
        let outcome = outcome_from_proto(req.outcome);
        if outcome.is_none() {
            v.add("outcome", "required: one of the CALL_OUTCOME_* values");
        }
        let notes = text(&mut v, "notes", &req.notes, false, 2_000);
        let (Some(id), Some(outcome)) = (id, outcome) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let mut c = store::callback::load(&mut tx, id, true)
            .await?
            .ok_or_else(|| Error::callback_not_found(&req.name))?;
        if c.status != Status::Claimed || c.claimed_by != principal.subject() {
            return Err(Error::refused(
                "CALLBACK_NOT_CLAIMED_BY_YOU",
                format!("{} is not claimed by {}", req.name, principal.subject()),
            ));
        }
        let now = self.clock.now();
        c.attempts += 1;
        store::callback::add_attempt(
            &mut tx,
            id,
            c.attempts,
            now,
            principal.subject(),
            outcome,
            &notes,
        )
        .await?;
        let calling = self.calling(&mut tx, &c.policy).await?;
        c.last_outcome = Some(outcome);
        c.claimed_by.clear();
        match rules::after_attempt(outcome, now, c.attempts, &c.policy, &calling) {
            Next::Completed => c.status = Status::Completed,
            Next::Retry(at) => (c.status, c.due_at) = (Status::Pending, at),
            Next::Stop(reason) => (c.status, c.stop_reason) = (Status::Stopped, reason.to_owned()),
        }
        c.version += 1;
        store::callback::update(&mut tx, &c).await?;
        let response = pb::RecordCallAttemptResponse {
            callback: Some(callback_to_proto(&c)),
        };
        commit(tx, key.as_ref(), response, &req.name).await
    }

    pub(super) async fn cancel_callback(
        &self,
        principal: &Principal,
        req: pb::CancelCallbackRequest,
    ) -> Result<pb::CancelCallbackResponse> {
        require_desk(principal, "cancelling callbacks")?;
        let key = IdempotencyKey::new(principal, "CancelCallback", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let id = resource_id(&mut v, "name", &req.name, "callbacks");
        let reason = text(&mut v, "reason", &req.reason, true, 500);
        v.into_result()?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let mut c = store::callback::load(&mut tx, id.unwrap_or_default(), true)
            .await?
            .ok_or_else(|| Error::callback_not_found(&req.name))?;
        if !matches!(c.status, Status::Pending | Status::Claimed) {
            return Err(Error::refused(
                "CALLBACK_FINISHED",
                format!("{} is {}", req.name, c.status.as_str()),
            ));
        }
        (c.status, c.stop_reason, c.stop_note) = (Status::Stopped, "CANCELLED".into(), reason);
        c.claimed_by.clear();
        c.version += 1;
        store::callback::update(&mut tx, &c).await?;
        let response = pb::CancelCallbackResponse {
            callback: Some(callback_to_proto(&c)),
        };
        commit(tx, key.as_ref(), response, &req.name).await
    }

    pub(super) async fn get_callback(
        &self,
        principal: &Principal,
        reading: &Reading,
        req: pb::GetCallbackRequest,
    ) -> Result<pb::GetCallbackResponse> {
        require_desk(principal, "callbacks")?;
        let mut v = FieldViolations::new();
        let id = resource_id(&mut v, "name", &req.name, "callbacks");
        v.into_result()?;
        let c = {
            let mut conn = self.pool.acquire().await?;
            store::callback::load(&mut conn, id.unwrap_or_default(), false)
                .await?
                .ok_or_else(|| Error::callback_not_found(&req.name))?
        };
        // An erased customer's callback carries no number any more: nothing to record.
        let phone_of = (!c.phone.is_empty()).then_some(c.customer);
        self.audit_phone_read(principal, reading, "GetCallback", phone_of)
            .await?;
        Ok(pb::GetCallbackResponse {
            callback: Some(callback_to_proto(&c)),
        })
    }

    pub(super) async fn list_callbacks(
        &self,
        principal: &Principal,
        reading: &Reading,
        req: pb::ListCallbacksRequest,
    ) -> Result<pb::ListCallbacksResponse> {
        require_desk(principal, "callbacks")?;
        let mut v = FieldViolations::new();
        let mut statuses = Vec::new();
        for (i, s) in req.statuses.iter().enumerate() {
            match status_from_proto(*s) {
                Some(s) => statuses.push(s),
                None => v.add(format!("statuses[{i}]"), "not a callback status"),
            }
        }
        let customer = if req.customer.is_empty() {
            None
        } else {
            customer_id(&mut v, "customer", &req.customer)
        };
        let bound = pb::ListCallbacksRequest {
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
            store::callback::list(&mut conn, &statuses, customer, after, size + 1).await?
        };
        let next_page_token = self
            .page_tokens
            .next_page(&mut rows, size, &bound, |c| time_id_cursor(c.due_at, c.id));
        let phones_of = rows
            .iter()
            .filter(|c| !c.phone.is_empty())
            .map(|c| c.customer);
        self.audit_phone_read(principal, reading, "ListCallbacks", phones_of)
            .await?;
        Ok(pb::ListCallbacksResponse {
            callbacks: rows.iter().map(callback_to_proto).collect(),
            next_page_token,
        })
    }

    pub(super) async fn add_do_not_call(
        &self,
        principal: &Principal,
        req: pb::AddDoNotCallRequest,
    ) -> Result<pb::AddDoNotCallResponse> {
        require_desk(principal, "the do-not-call list")?;
        let key = IdempotencyKey::new(principal, "AddDoNotCall", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let number = phone(&mut v, "phone", &req.phone);
        let reason = text(&mut v, "reason", &req.reason, true, 500);
        let Some(number) = number else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        store::desk::add_do_not_call(
            &mut tx,
            &number,
            &reason,
            principal.subject(),
            self.clock.now(),
        )
        .await?;
        let stopped = store::callback::stop_for_phone(&mut tx, &number).await?;
        let response = pb::AddDoNotCallResponse {
            callbacks_stopped: stopped as i32,
        };
        commit(tx, key.as_ref(), response, &format!("doNotCall/{number}")).await
    }
}
