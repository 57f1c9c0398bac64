//! The survey call after a resolved case: whether the customer may be called (asked of
//! the registry before the transaction), then the callback — or a note saying why not.

use chrono::{DateTime, Duration, Utc};
use dealernet_kit::auth::Principal;
use sqlx::PgConnection;
use uuid::Uuid;

use super::Result;
use crate::{
    Service,
    domain::{
        callback::{self as rules, Policy, Purpose, Status},
        case::Case,
    },
    store::{self, callback::Callback},
};

/// How long after resolution the survey call is placed, at the earliest.
const SURVEY_DELAY_HOURS: i64 = 1;

/// What the survey call after a resolved case will be, decided before the transaction.
pub(super) struct SurveyPlan {
    customer: Uuid,
    phone: Option<String>,
    /// Why no survey call is placed (no consent, no number), if so.
    refused: Option<String>,
}

impl Service {
    /// Asks the registry whether the survey call after resolving a case of `customer` may
    /// be placed: the customer's number and SURVEYS consent.
    pub(super) async fn survey_plan(&self, customer: Uuid) -> Result<SurveyPlan> {
        let contact = self.registry.contact(customer, "case survey").await?;
        let refused = match self
            .registry
            .may_call(contact.id, rules::ConsentNeeded::Surveys)
            .await?
        {
            Ok(()) if contact.phone.is_some() => None,
            Ok(()) => Some("NO_PHONE".to_owned()),
            Err(why) => Some(why),
        };
        Ok(SurveyPlan {
            customer: contact.id,
            phone: contact.phone,
            refused,
        })
    }

    /// Schedules the survey call for a resolved case, or notes on the case why not.
    pub(super) async fn schedule_survey(
        &self,
        tx: &mut PgConnection,
        principal: &Principal,
        case: &Case,
        plan: SurveyPlan,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let policy = Policy {
            max_attempts: rules::DEFAULT_MAX_ATTEMPTS,
            expire_at: now + Duration::days(rules::DEFAULT_EXPIRY_DAYS),
            calling_start: rules::DEFAULT_CALLING_START,
            calling_end: rules::DEFAULT_CALLING_END,
        };
        let mut refused = plan.refused;
        if refused.is_none()
            && let Some(number) = &plan.phone
            && store::desk::is_do_not_call(tx, number).await?
        {
            refused = Some("DO_NOT_CALL".into());
        }
        let calling = self.calling(tx, &policy).await?;
        let due = calling.next_open(now + Duration::hours(SURVEY_DELAY_HOURS));
        match (refused, plan.phone, due) {
            (None, Some(number), Some(due)) => {
                let callback = Callback {
                    id: Uuid::now_v7(),
                    customer: plan.customer,
                    phone: number,
                    reason: format!("satisfaction survey for case: {}", case.subject),
                    purpose: Purpose::Survey,
                    case_id: Some(case.id),
                    repair_order: String::new(),
                    outlet: case.outlet.clone(),
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
                store::callback::insert(tx, &callback).await?;
            }
            (why, ..) => {
                let why = why.unwrap_or_else(|| "NO_CALLING_WINDOW".into());
                store::case::add_note(
                    tx,
                    case.id,
                    now,
                    "callcenter",
                    "CALLCENTER",
                    &format!("no survey call scheduled: {why}"),
                )
                .await?;
            }
        }
        Ok(())
    }
}
