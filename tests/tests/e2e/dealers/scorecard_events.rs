//! Scorecards fed by other services' events: a sale, a closed repair order with a recall
//! remedy and survey answers reach the outlet's scorecard through the real vehicle service
//! and call center; events delivered again change nothing; an event the network cannot
//! place is parked, listed and retried.

use std::time::Duration;

use chrono::{NaiveDate, TimeDelta, Utc};
use dealernet_dealers::consumers::{surveys::SurveyFacts, vehicles::VehicleFacts};
use dealernet_kit::{auth::Role, events::Apply};
use dealernet_proto::{
    callcenter::v1 as cpb, dealers::v1 as pb, types::v1 as types, vehicles::v1 as vpb,
};
use dealernet_tests::TestPlatform;
use prost::Message;
use sqlx::Connection;
use tonic::Code;

use super::{create_outlets, hq, outlet_at, ts};
use crate::{
    assert_invalid, assert_refused,
    hotline::{complaint, open, step},
    repair::{add, campaign_for, delivered_car, labour, set_status},
};

fn date(d: NaiveDate) -> types::Date {
    use chrono::Datelike;
    super::date(d.year(), d.month() as i32, d.day() as i32)
}

/// Yesterday to tomorrow in Shanghai (+08:00, the test outlets' offset): today's events
/// whatever the hour.
fn around_today() -> (NaiveDate, NaiveDate) {
    let today = (Utc::now() + TimeDelta::hours(8)).date_naive();
    (today - TimeDelta::days(1), today + TimeDelta::days(1))
}

pub(super) async fn card(
    platform: &TestPlatform,
    outlet: &str,
    (first, last): (NaiveDate, NaiveDate),
) -> pb::Scorecard {
    hq(platform)
        .get_outlet_scorecard(pb::GetOutletScorecardRequest {
            outlet: outlet.into(),
            start_date: Some(date(first)),
            end_date: Some(date(last)),
        })
        .await
        .expect("scorecard")
        .into_inner()
        .scorecard
        .expect("scorecard")
}

/// The outlet's scorecard once `ready` holds (the consumers apply asynchronously).
pub(super) async fn card_when(
    platform: &TestPlatform,
    outlet: &str,
    period: (NaiveDate, NaiveDate),
    ready: impl Fn(&pb::Scorecard) -> bool,
) -> pb::Scorecard {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let c = card(platform, outlet, period).await;
        if ready(&c) {
            return c;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{outlet}'s scorecard never got there: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes an event into `schema`'s outbox as its service would (for events no RPC makes:
/// other outlets' history, malformed ones); returns its id.
pub(super) async fn publish(
    platform: &TestPlatform,
    schema: &str,
    event_type: &str,
    aggregate: &str,
    payload: Vec<u8>,
) -> String {
    let mut db = platform.db().await;
    sqlx::query_scalar(&format!(
        "INSERT INTO {schema}.outbox_event \
         (event_id, aggregate_type, aggregate_id, event_type, payload, occurred_at, actor) \
         VALUES (gen_random_uuid(), 'test', $1, $2, $3, now(), 'TEST/e2e') \
         RETURNING event_id::text"
    ))
    .bind(aggregate)
    .bind(event_type)
    .bind(payload)
    .fetch_one(&mut db)
    .await
    .expect("publish")
}

pub(super) fn sale_event(vin: &str, outlet: &str, at: chrono::DateTime<Utc>) -> Vec<u8> {
    vpb::VehicleServiceEvent {
        kind: Some(vpb::vehicle_service_event::Kind::VehicleSold(
            vpb::VehicleSold {
                vehicle: format!("vehicles/{vin}"),
                model_code: "DA7-2026".into(),
                customer: String::new(),
                outlet: outlet.into(),
                sell_time: Some(ts(at)),
                ..Default::default()
            },
        )),
    }
    .encode_to_vec()
}

/// Every event of a stream up to its first checkpoint (after `events::settled`).
async fn backlog<T, F, Fut>(open: F) -> Vec<T>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = tonic::Streaming<T>>,
    T: HasCheckpoint,
{
    let mut stream = open().await;
    let mut events = Vec::new();
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), stream.message())
            .await
            .expect("a message within 5 s")
            .expect("stream ok")
            .expect("stream open");
        if m.is_checkpoint() {
            return events;
        }
        events.push(m);
    }
}

trait HasCheckpoint {
    fn is_checkpoint(&self) -> bool;
}

impl HasCheckpoint for vpb::StreamEventsResponse {
    fn is_checkpoint(&self) -> bool {
        !self.checkpoint_cursor.is_empty()
    }
}

impl HasCheckpoint for cpb::StreamEventsResponse {
    fn is_checkpoint(&self) -> bool {
        !self.checkpoint_cursor.is_empty()
    }
}

#[tokio::test]
async fn a_sale_a_repair_a_recall_remedy_and_surveys_reach_the_outlet_s_scorecard() {
    use vpb::{PayType::Recall, RepairOrderStatus as S};
    let platform = TestPlatform::spawn().await;
    let period = around_today();
    let (car, owner) = delivered_car(&platform, 951, "13800138951").await;
    let sold = card_when(&platform, "D1001", period, |c| c.vehicles_sold == Some(1)).await;
    assert_eq!(
        (
            sold.satisfaction_score,
            sold.median_repair_turnaround,
            sold.recall_completion_rate
        ),
        (None, None, None),
        "nothing to average yet"
    );
    assert_eq!(
        card(&platform, "D1002", period).await.vehicles_sold,
        Some(0)
    );

    // The campaign names the outlet answerable for the car (its seller): nothing remedied.
    let campaign = campaign_for(&platform, "RC-SC-1", &[&car]).await;
    card_when(&platform, "D1001", period, |c| {
        c.recall_completion_rate == Some(0.0)
    })
    .await;

    // The selling dealer repairs it, the recall line among the work.
    let mut dealer = platform.vehicles("D1001", Role::Dealer);
    let order = dealer
        .open_repair_order(crate::repair::open(&car, "D1001", 3_000))
        .await
        .expect("open order")
        .into_inner()
        .repair_order
        .expect("order");
    add(
        &mut dealer,
        &order.name,
        vpb::RepairOrderLine {
            recall_campaign: campaign.name.clone(),
            ..labour("OP-RCL-01", 0.5, Recall)
        },
    )
    .await
    .expect("recall line");
    set_status(&mut dealer, &order.name, S::InProgress, "")
        .await
        .expect("start");
    let completed = set_status(&mut dealer, &order.name, S::Completed, "Bearing replaced")
        .await
        .expect("complete");
    set_status(&mut dealer, &order.name, S::Closed, "")
        .await
        .expect("close");
    let repaired = card_when(&platform, "D1001", period, |c| {
        c.median_repair_turnaround.is_some() && c.recall_completion_rate == Some(1.0)
    })
    .await;
    let micros = |t: &prost_types::Timestamp| t.seconds * 1_000_000 + i64::from(t.nanos) / 1_000;
    let turnaround = repaired.median_repair_turnaround.expect("turnaround");
    let want = micros(completed.complete_time.as_ref().expect("completed"))
        - micros(completed.open_time.as_ref().expect("opened"));
    assert!(
        (micros(&prost_types::Timestamp {
            seconds: turnaround.seconds,
            nanos: turnaround.nanos
        }) - want)
            .abs()
            <= 1,
        "turnaround {turnaround:?}, open to completion {want} µs"
    );

    // Two survey answers rating D1001: the period's mean.
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    for satisfaction in [4, 2] {
        let case = open(&mut agent, complaint(&owner, "D1001")).await;
        for s in [
            cpb::CaseStatus::Assigned,
            cpb::CaseStatus::InProgress,
            cpb::CaseStatus::Resolved,
        ] {
            step(&mut agent, &case.name, s).await.expect("step");
        }
        agent
            .submit_survey_response(cpb::SubmitSurveyResponseRequest {
                response: Some(cpb::SurveyResponse {
                    case: case.name.clone(),
                    customer: owner.clone(),
                    satisfaction,
                    nps: 7,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("answer");
    }
    let before = card_when(&platform, "D1001", period, |c| {
        c.satisfaction_score == Some(3.0)
    })
    .await;
    assert_eq!(before.vehicles_sold, Some(1));

    // The vehicle service said which outlet answers for the recalled car.
    crate::events::settled(&platform, "vehicles").await;
    crate::events::settled(&platform, "callcenter").await;
    let mut vehicles = platform.vehicles("HQ", Role::Hq);
    let vehicle_events = backlog(|| async {
        vehicles
            .stream_events(vpb::StreamEventsRequest {
                after_cursor: String::new(),
                event_types: VehicleFacts
                    .event_types()
                    .iter()
                    .map(|t| (*t).into())
                    .collect(),
                consumer: String::new(),
            })
            .await
            .expect("vehicle stream")
            .into_inner()
    })
    .await;
    let created = vehicle_events
        .iter()
        .find_map(|m| match m.event.as_ref()?.kind.as_ref()? {
            vpb::vehicle_service_event::Kind::RecallCampaignCreated(c) => Some(c.clone()),
            _ => None,
        })
        .expect("RecallCampaignCreated");
    assert_eq!(
        created.affected_outlets,
        vec![vpb::RecallOutletAffected {
            outlet: "D1001".into(),
            affected: 1
        }]
    );
    assert_eq!(
        vehicle_events.len(),
        3,
        "a sale, a campaign, a closed order"
    );

    // Every event delivered again (as after a lost acknowledgement): nothing changes.
    let mut callcenter = platform.callcenter("HQ", Role::Hq);
    let survey_events = backlog(|| async {
        callcenter
            .stream_events(cpb::StreamEventsRequest {
                after_cursor: String::new(),
                event_types: vec!["SurveyCompleted".into()],
                consumer: String::new(),
            })
            .await
            .expect("call center stream")
            .into_inner()
    })
    .await;
    assert_eq!(survey_events.len(), 2);
    let mut db = platform.db().await;
    let mut tx = db.begin().await.expect("begin");
    sqlx::query("SET LOCAL search_path TO dealers")
        .execute(&mut *tx)
        .await
        .expect("search path");
    for m in &vehicle_events {
        VehicleFacts.apply(&mut tx, m).await.expect("again");
    }
    for m in &survey_events {
        SurveyFacts.apply(&mut tx, m).await.expect("again");
    }
    tx.commit().await.expect("commit");
    assert_eq!(card(&platform, "D1001", period).await, before);
    assert_eq!(platform.count_in("dealers", "parked_event").await, 0);
}

#[tokio::test]
async fn an_event_the_network_cannot_place_is_parked_listed_and_retried() {
    let platform = TestPlatform::spawn().await;
    crate::network(&platform).await;
    let at = super::sh("2026-11-16 12:00");
    let event_id = publish(
        &platform,
        "vehicles",
        "VehicleSold",
        "vehicles/LSVTEST0000000001",
        sale_event("LSVTEST0000000001", "D7777", at),
    )
    .await;
    let mut operator = platform.dealers("OPS", Role::System);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let parked = loop {
        let listed = operator
            .list_parked_events(pb::ListParkedEventsRequest {
                source: "vehicles".into(),
                page_size: 0,
            })
            .await
            .expect("list")
            .into_inner()
            .parked_events;
        if let Some(p) = listed.into_iter().next() {
            break p;
        }
        assert!(tokio::time::Instant::now() < deadline, "nothing parked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let envelope = parked.envelope.clone().expect("envelope");
    assert_eq!(
        (envelope.event_id.as_str(), envelope.event_type.as_str()),
        (event_id.as_str(), "VehicleSold")
    );
    assert!(parked.error.contains("D7777"), "{}", parked.error);
    assert_eq!(parked.source, "vehicles");

    // Who may, and what is asked.
    assert_refused(
        platform
            .dealers("D1001", Role::Dealer)
            .list_parked_events(pb::ListParkedEventsRequest::default())
            .await,
        Code::PermissionDenied,
        "EVENTS_NOT_PERMITTED",
    );
    assert_invalid(
        operator
            .list_parked_events(pb::ListParkedEventsRequest {
                source: "gateway".into(),
                page_size: 501,
            })
            .await,
        &["source", "page_size"],
    );
    assert_invalid(
        operator
            .retry_parked_event(pb::RetryParkedEventRequest {
                source: "nowhere".into(),
                event_id: "not-a-uuid".into(),
            })
            .await,
        &["source", "event_id"],
    );
    assert_refused(
        operator
            .retry_parked_event(pb::RetryParkedEventRequest {
                source: "callcenter".into(),
                event_id: event_id.clone(),
            })
            .await,
        Code::NotFound,
        "PARKED_EVENT_NOT_FOUND",
    );

    // Retried while the outlet is still unknown: parked again, with the attempt counted.
    let retry = pb::RetryParkedEventRequest {
        source: "vehicles".into(),
        event_id: event_id.clone(),
    };
    let again = operator
        .retry_parked_event(retry.clone())
        .await
        .expect("retry")
        .into_inner();
    assert!(!again.applied);
    assert_eq!(again.parked_event.expect("still parked").attempts, 2);

    // Once the outlet exists the sale applies, on its local day, and is no longer parked.
    create_outlets(&platform, vec![outlet_at("D7777", 30.0, &[])]).await;
    let done = operator
        .retry_parked_event(retry.clone())
        .await
        .expect("retry")
        .into_inner();
    assert!(done.applied && done.parked_event.is_none(), "{done:?}");
    assert_eq!(platform.count_in("dealers", "parked_event").await, 0);
    let day = NaiveDate::from_ymd_opt(2026, 11, 16).expect("day");
    assert_eq!(
        card(&platform, "D7777", (day, day)).await.vehicles_sold,
        Some(1)
    );
    assert_refused(
        operator.retry_parked_event(retry).await,
        Code::NotFound,
        "PARKED_EVENT_NOT_FOUND",
    );
}
