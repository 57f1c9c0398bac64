//! Callbacks end to end: consent and do-not-call, the agents' queue (no double claims,
//! lapsed leases come back), attempts and their retry rules, surveys and reports.

use std::collections::HashSet;

use dealernet_kit::auth::Role;
use dealernet_kit::clock::ManualClock;
use dealernet_proto::{callcenter::v1 as pb, customers::v1 as cpb};
use dealernet_tests::{CallCenterClient, TestPlatform};
use tonic::Code;

use crate::{
    assert_invalid, assert_refused,
    dealers::sh,
    hotline::{complaint, now, open, registry_customer, step},
};

pub(crate) fn callback(
    customer: &str,
    purpose: pb::CallbackPurpose,
) -> pb::ScheduleCallbackRequest {
    pb::ScheduleCallbackRequest {
        callback: Some(pb::Callback {
            customer: customer.into(),
            reason: "Asked about the 20,000 km service".into(),
            purpose: purpose as i32,
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

pub(crate) async fn schedule(
    agent: &mut CallCenterClient,
    req: pb::ScheduleCallbackRequest,
) -> Result<pb::Callback, tonic::Status> {
    agent
        .schedule_callback(req)
        .await
        .map(|r| r.into_inner().callback.expect("callback"))
}

async fn claim(agent: &mut CallCenterClient) -> Option<pb::Callback> {
    agent
        .claim_next_callback(pb::ClaimNextCallbackRequest { lease_seconds: 60 })
        .await
        .expect("claim")
        .into_inner()
        .callback
}

async fn attempt(
    agent: &mut CallCenterClient,
    name: &str,
    outcome: pb::CallOutcome,
) -> Result<pb::Callback, tonic::Status> {
    agent
        .record_call_attempt(pb::RecordCallAttemptRequest {
            name: name.into(),
            outcome: outcome as i32,
            notes: String::new(),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner().callback.expect("callback"))
}

pub(crate) async fn grant_surveys(platform: &TestPlatform, customer: &str) {
    grant_phone(platform, customer, cpb::ConsentPurpose::Surveys).await;
}

/// The customer agrees, on the hotline, to phone calls for `purpose`.
pub(crate) async fn grant_phone(
    platform: &TestPlatform,
    customer: &str,
    purpose: cpb::ConsentPurpose,
) {
    platform
        .customers("CALLCENTER", Role::Agent)
        .set_consent(cpb::SetConsentRequest {
            parent: customer.into(),
            consent: Some(cpb::Consent {
                channel: cpb::ContactChannel::Phone as i32,
                purpose: purpose as i32,
                status: cpb::ConsentStatus::Granted as i32,
                capture_source: cpb::SourceChannel::Hotline as i32,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("consent");
}

#[tokio::test]
async fn consent_and_do_not_call_decide_what_may_be_scheduled() {
    use pb::CallbackPurpose as P;
    let platform = TestPlatform::spawn().await;
    let customer = registry_customer(&platform, "13800138010").await;
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);

    let before = platform.count_in("callcenter", "callback").await;
    assert_refused(
        schedule(&mut agent, callback(&customer, P::Survey)).await,
        Code::FailedPrecondition,
        "NO_CONSENT",
    );
    assert_invalid(
        schedule(
            &mut agent,
            pb::ScheduleCallbackRequest {
                callback: Some(pb::Callback {
                    customer: "x".into(),
                    phone: "123".into(),
                    policy: Some(pb::RetryPolicy {
                        max_attempts: 50,
                        calling_hours_start: 21,
                        calling_hours_end: 9,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        )
        .await,
        &[
            "callback.customer",
            "callback.phone",
            "callback.reason",
            "callback.purpose",
            "callback.policy.max_attempts",
            "callback.policy.calling_hours_end",
        ],
    );
    assert_eq!(platform.count_in("callcenter", "callback").await, before);

    grant_surveys(&platform, &customer).await;
    let survey = schedule(&mut agent, callback(&customer, P::Survey))
        .await
        .expect("survey with consent");
    assert_eq!(survey.phone, "+8613800138010", "the registry's number");
    assert_eq!(survey.status, pb::CallbackStatus::Pending as i32);
    let follow_up = schedule(&mut agent, callback(&customer, P::CaseFollowUp))
        .await
        .expect("follow-up");

    // Do-not-call stops what the customer did not ask for, now and later.
    let stopped = agent
        .add_do_not_call(pb::AddDoNotCallRequest {
            phone: "138 0013 8010".into(),
            reason: "Asked not to be called".into(),
            request_id: String::new(),
        })
        .await
        .expect("dnc")
        .into_inner();
    assert_eq!(stopped.callbacks_stopped, 2);
    let got = agent
        .get_callback(pb::GetCallbackRequest {
            name: follow_up.name.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .callback
        .expect("callback");
    assert_eq!(
        (got.status, got.stop_reason.as_str()),
        (pb::CallbackStatus::Stopped as i32, "DO_NOT_CALL")
    );
    assert_refused(
        schedule(&mut agent, callback(&customer, P::CaseFollowUp)).await,
        Code::FailedPrecondition,
        "DO_NOT_CALL",
    );
    schedule(&mut agent, callback(&customer, P::CustomerRequest))
        .await
        .expect("the customer's own request is still called back");
    let caller = agent
        .identify_caller(pb::IdentifyCallerRequest {
            phone: "13800138010".into(),
        })
        .await
        .expect("identify")
        .into_inner();
    assert!(caller.do_not_call);
}

#[tokio::test]
async fn twenty_agents_never_get_the_same_callback_and_lapsed_claims_return() {
    // A Wednesday morning, inside calling hours: callbacks scheduled now are due now.
    let clock = ManualClock::new(sh("2026-11-18 10:00"));
    let platform = TestPlatform::spawn_at(&clock).await;
    let customer = registry_customer(&platform, "13800138020").await;
    let mut desk = platform.callcenter("CALLCENTER", Role::Agent);
    for _ in 0..30 {
        schedule(
            &mut desk,
            callback(&customer, pb::CallbackPurpose::CustomerRequest),
        )
        .await
        .expect("schedule");
    }
    let agents: Vec<_> = (0..20)
        .map(|i| {
            let mut agent =
                platform.callcenter_as(&format!("agent.{i}"), "CALLCENTER", Role::Agent);
            tokio::spawn(async move {
                let mut mine = Vec::new();
                // Each agent claims until the queue is empty.
                while let Some(c) = agent
                    .claim_next_callback(pb::ClaimNextCallbackRequest { lease_seconds: 600 })
                    .await
                    .expect("claim")
                    .into_inner()
                    .callback
                {
                    mine.push(c.name);
                }
                (i, mine)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut holders = Vec::new();
    for a in agents {
        let (i, mine) = a.await.expect("agent");
        holders.extend(mine.iter().map(|_| i));
        all.extend(mine);
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 30, "every callback claimed once");
    assert_eq!(distinct.len(), 30, "no callback claimed twice");

    // A claim whose lease lapses returns to the queue; its first holder can no longer
    // record on it.
    let mut other = platform.callcenter_as("agent.late", "CALLCENTER", Role::Agent);
    assert!(claim(&mut other).await.is_none(), "every lease still holds");
    clock.advance(chrono::TimeDelta::seconds(601));
    let reclaimed = claim(&mut other).await.expect("a lapsed claim comes back");
    assert_eq!(reclaimed.claimed_by, "agent.late");
    let first = reclaimed.name.clone();
    let position = all
        .iter()
        .position(|n| *n == first)
        .expect("one of the thirty");
    let mut first_holder = platform.callcenter_as(
        &format!("agent.{}", holders[position]),
        "CALLCENTER",
        Role::Agent,
    );
    assert_refused(
        attempt(&mut first_holder, &first, pb::CallOutcome::Answered).await,
        Code::FailedPrecondition,
        "CALLBACK_NOT_CLAIMED_BY_YOU",
    );
    attempt(&mut other, &first, pb::CallOutcome::Answered)
        .await
        .expect("the new holder records");
}

#[tokio::test]
async fn attempts_follow_the_retry_rules() {
    use pb::CallOutcome as O;
    let clock = ManualClock::new(sh("2026-11-18 10:00"));
    let platform = TestPlatform::spawn_at(&clock).await;
    let customer = registry_customer(&platform, "13800138030").await;
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    let c = schedule(
        &mut agent,
        pb::ScheduleCallbackRequest {
            callback: Some(pb::Callback {
                policy: Some(pb::RetryPolicy {
                    max_attempts: 2,
                    ..Default::default()
                }),
                ..callback(&customer, pb::CallbackPurpose::CustomerRequest)
                    .callback
                    .expect("callback")
            }),
            request_id: String::new(),
        },
    )
    .await
    .expect("schedule");
    assert_refused(
        attempt(&mut agent, &c.name, O::Busy).await,
        Code::FailedPrecondition,
        "CALLBACK_NOT_CLAIMED_BY_YOU",
    );
    let claimed = claim(&mut agent).await.expect("claim");
    assert_eq!(claimed.name, c.name);
    assert_invalid(
        attempt(&mut agent, &c.name, O::Unspecified).await,
        &["outcome"],
    );
    let busy = attempt(&mut agent, &c.name, O::Busy).await.expect("busy");
    assert_eq!(busy.status, pb::CallbackStatus::Pending as i32);
    assert_eq!(busy.attempts, 1);
    assert_eq!(
        busy.next_attempt_time.expect("next").seconds,
        sh("2026-11-18 10:15").timestamp(),
        "busy: 15 minutes later"
    );
    assert!(claim(&mut agent).await.is_none(), "not due yet");
    clock.set(sh("2026-11-18 10:15"));
    claim(&mut agent).await.expect("claim again");
    let done = attempt(&mut agent, &c.name, O::NoAnswer)
        .await
        .expect("no answer");
    assert_eq!(
        (done.status, done.stop_reason.as_str()),
        (pb::CallbackStatus::Stopped as i32, "EXHAUSTED"),
        "two attempts allowed"
    );

    // Wrong number stops at once; an answered call completes.
    let w = schedule(
        &mut agent,
        callback(&customer, pb::CallbackPurpose::CustomerRequest),
    )
    .await
    .expect("schedule");
    claim(&mut agent).await.expect("claim");
    let stopped = attempt(&mut agent, &w.name, O::WrongNumber)
        .await
        .expect("wrong");
    assert_eq!(stopped.stop_reason, "WRONG_NUMBER");
    let a = schedule(
        &mut agent,
        callback(&customer, pb::CallbackPurpose::CustomerRequest),
    )
    .await
    .expect("schedule");
    claim(&mut agent).await.expect("claim");
    let answered = attempt(&mut agent, &a.name, O::Answered)
        .await
        .expect("answered");
    assert_eq!(answered.status, pb::CallbackStatus::Completed as i32);

    // Nothing is handed out outside calling hours or on a day the hotline is closed.
    let late = schedule(
        &mut agent,
        callback(&customer, pb::CallbackPurpose::CustomerRequest),
    )
    .await
    .expect("schedule");
    platform
        .callcenter("HQ", Role::Hq)
        .add_hotline_holiday(pb::AddHotlineHolidayRequest {
            day: Some(dealernet_proto::types::v1::Date {
                year: 2026,
                month: 11,
                day: 20,
            }),
            name: "Company day".into(),
        })
        .await
        .expect("holiday");
    for closed in [
        "2026-11-18 20:00",
        "2026-11-19 08:59",
        "2026-11-20 11:00",
        "2026-11-21 11:00",
    ] {
        clock.set(sh(closed));
        assert!(claim(&mut agent).await.is_none(), "{closed}");
    }
    clock.set(sh("2026-11-19 09:00"));
    assert_eq!(claim(&mut agent).await.expect("claim").name, late.name);
    assert_eq!(platform.count_in("callcenter", "call_attempt").await, 4);
    let cancelled = schedule(
        &mut agent,
        callback(&customer, pb::CallbackPurpose::CustomerRequest),
    )
    .await
    .expect("schedule");
    let gone = agent
        .cancel_callback(pb::CancelCallbackRequest {
            name: cancelled.name.clone(),
            reason: "Customer called in himself".into(),
            request_id: String::new(),
        })
        .await
        .expect("cancel")
        .into_inner()
        .callback
        .expect("callback");
    assert_eq!(
        (gone.stop_reason.as_str(), gone.stop_note.as_str()),
        ("CANCELLED", "Customer called in himself")
    );
    assert_refused(
        agent
            .cancel_callback(pb::CancelCallbackRequest {
                name: cancelled.name.clone(),
                reason: "again".into(),
                request_id: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        "CALLBACK_FINISHED",
    );
}

#[tokio::test]
async fn resolved_cases_get_a_survey_call_and_answers_are_reported() {
    let platform = TestPlatform::spawn().await;
    let customer = registry_customer(&platform, "13800138040").await;
    grant_surveys(&platform, &customer).await;
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    let case = open(&mut agent, complaint(&customer, "D1001")).await;
    for s in [
        pb::CaseStatus::Assigned,
        pb::CaseStatus::InProgress,
        pb::CaseStatus::Resolved,
    ] {
        step(&mut agent, &case.name, s).await.expect("step");
    }
    let surveys = agent
        .list_callbacks(pb::ListCallbacksRequest {
            customer: customer.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .callbacks;
    assert_eq!(surveys.len(), 1);
    assert_eq!(surveys[0].purpose, pb::CallbackPurpose::Survey as i32);
    assert_eq!(surveys[0].case, case.name);
    assert_eq!(surveys[0].outlet, "D1001");

    let answer = |satisfaction, nps, case: &str| pb::SubmitSurveyResponseRequest {
        response: Some(pb::SurveyResponse {
            case: case.into(),
            customer: customer.clone(),
            technician: "T-042".into(),
            satisfaction,
            nps,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let stored = agent
        .submit_survey_response(answer(4, 9, &case.name))
        .await
        .expect("answer")
        .into_inner()
        .response
        .expect("response");
    assert_eq!(stored.outlet, "D1001", "the case's outlet is rated");
    assert_refused(
        agent
            .submit_survey_response(answer(5, 10, &case.name))
            .await,
        Code::AlreadyExists,
        "SURVEY_RESPONSE_EXISTS",
    );
    assert_invalid(
        agent.submit_survey_response(answer(6, 11, "")).await,
        &["response.case", "response.satisfaction", "response.nps"],
    );
    let other = open(&mut agent, complaint(&customer, "D1001")).await;
    agent
        .submit_survey_response(answer(2, 3, &other.name))
        .await
        .expect("second answer");
    let window = |h: i64| {
        let mut t = now().expect("now");
        t.seconds += h * 3600;
        Some(t)
    };
    let results = agent
        .get_survey_results(pb::GetSurveyResultsRequest {
            group_by: pb::SurveyGrouping::Outlet as i32,
            start_time: window(-1),
            end_time: window(1),
            outlet: String::new(),
        })
        .await
        .expect("results")
        .into_inner()
        .results;
    assert_eq!(results.len(), 1);
    assert_eq!(
        (
            results[0].key.as_str(),
            results[0].responses,
            results[0].mean_satisfaction,
            results[0].nps
        ),
        ("D1001", 2, 3.0, 0.0),
        "one promoter, one detractor"
    );
    let mine = platform
        .callcenter("D1002", Role::Dealer)
        .get_survey_results(pb::GetSurveyResultsRequest {
            group_by: pb::SurveyGrouping::Technician as i32,
            start_time: window(-1),
            end_time: window(1),
            outlet: String::new(),
        })
        .await
        .expect("outlet's own")
        .into_inner()
        .results;
    assert!(mine.is_empty(), "D1002 sees only its own results");

    let counts = platform
        .callcenter("HQ", Role::Hq)
        .count_complaints(pb::CountComplaintsRequest {
            period: pb::ComplaintPeriod::Month as i32,
            start_time: window(-1),
            end_time: window(1),
        })
        .await
        .expect("complaints")
        .into_inner()
        .counts;
    assert_eq!(counts.len(), 1);
    assert_eq!(
        (
            counts[0].category.as_str(),
            counts[0].model.as_str(),
            counts[0].outlet.as_str(),
            counts[0].count
        ),
        ("QUALITY", "models/DA7-2026", "D1001", 2)
    );
    assert_refused(
        agent
            .count_complaints(pb::CountComplaintsRequest {
                period: pb::ComplaintPeriod::Day as i32,
                start_time: window(-1),
                end_time: window(1),
            })
            .await,
        Code::PermissionDenied,
        "HQ_ROLE_REQUIRED",
    );
}

#[tokio::test]
async fn a_closed_repair_gets_its_follow_up_call() {
    use dealernet_proto::vehicles::v1 as vpb;
    let platform = TestPlatform::spawn().await;
    let (car, owner) = crate::repair::delivered_car(&platform, 701, "13800138701").await;
    grant_surveys(&platform, &owner).await;
    let mut station = platform.vehicles("S2001", Role::Station);
    let order = station
        .open_repair_order(crate::repair::open(&car, "S2001", 3_000))
        .await
        .expect("open")
        .into_inner()
        .repair_order
        .expect("order");
    crate::repair::add(
        &mut station,
        &order.name,
        crate::repair::labour("OP-SVC-01", 1.0, vpb::PayType::Customer),
    )
    .await
    .expect("line");
    for (s, d) in [
        (vpb::RepairOrderStatus::InProgress, ""),
        (vpb::RepairOrderStatus::Completed, "Serviced"),
        (vpb::RepairOrderStatus::Closed, ""),
    ] {
        crate::repair::set_status(&mut station, &order.name, s, d)
            .await
            .expect("move");
    }
    // The call center consumes the RepairOrderClosed event: wait for the call.
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    let mut found = Vec::new();
    for _ in 0..200 {
        found = agent
            .list_callbacks(pb::ListCallbacksRequest {
                customer: owner.clone(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner()
            .callbacks;
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(found.len(), 1, "one follow-up call");
    assert_eq!(found[0].purpose, pb::CallbackPurpose::Survey as i32);
    assert_eq!(found[0].repair_order, order.name);
    assert_eq!(found[0].outlet, "S2001");
}
