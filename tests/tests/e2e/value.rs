//! Customer value: the registry's consumers of the vehicle service's and the call
//! center's events, the value RPCs, and `segments rebuild` agreeing with the incremental
//! path.

use std::time::Duration;

use dealernet_customers::{
    DEFAULT_VALUE_RULES,
    value_feed::{CallCenterFacts, VehicleFacts},
};
use dealernet_kit::{auth::Role, events::Apply};
use dealernet_proto::{
    callcenter::v1 as ccpb, customers::v1 as pb, types::v1 as types, vehicles::v1 as vpb,
};
use dealernet_tests::{CustomersClient, TestPlatform};
use prost_types::Timestamp;
use sqlx::PgPool;
use tonic::Code;

use crate::{
    assert_invalid, assert_refused,
    hotline::{complaint, open},
    repair::{add, delivered_car, labour, set_status},
};

mod history;

fn hq(platform: &TestPlatform) -> CustomersClient {
    platform.customers("HQ", Role::Hq)
}

async fn value_of(client: &mut CustomersClient, customer: &str) -> pb::CustomerValue {
    client
        .get_customer_value(pb::GetCustomerValueRequest {
            name: customer.into(),
        })
        .await
        .expect("get value")
        .into_inner()
        .value
        .expect("value")
}

/// Waits (the consumers apply events in the background) until the value satisfies `ok`.
async fn until_value(
    platform: &TestPlatform,
    customer: &str,
    ok: impl Fn(&pb::CustomerValue) -> bool,
) -> pb::CustomerValue {
    let mut client = hq(platform);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let value = value_of(&mut client, customer).await;
        if ok(&value) {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the value never got there: {value:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn minor(m: &Option<types::Money>) -> i64 {
    let m = m.as_ref().expect("money");
    assert_eq!(m.currency_code, "CNY");
    m.minor_units
}

/// A pool on the registry's schema, as the service's own.
async fn registry_pool(platform: &TestPlatform) -> PgPool {
    dealernet_kit::db::pool(&platform.database_url, "customers", 4)
        .await
        .expect("registry pool")
}

/// The value rows, every column but the computation time, and the maintained counts.
async fn snapshot(pool: &PgPool) -> (Vec<String>, Vec<(String, String, i64)>) {
    let values = sqlx::query_scalar(
        "SELECT (to_jsonb(v) - 'computed_at')::text FROM customer_value v ORDER BY customer_id",
    )
    .fetch_all(pool)
    .await
    .expect("values");
    let counts = sqlx::query_as(
        "SELECT tier, province, customers FROM segment_count WHERE customers <> 0 \
         ORDER BY tier, province",
    )
    .fetch_all(pool)
    .await
    .expect("counts");
    (values, counts)
}

/// Counts per (tier, province) computed from the value rows themselves.
async fn counted(pool: &PgPool) -> Vec<(String, String, i64)> {
    sqlx::query_as(
        "SELECT tier, province, count(*) FROM customer_value GROUP BY tier, province \
         ORDER BY tier, province",
    )
    .fetch_all(pool)
    .await
    .expect("group by")
}

#[tokio::test]
async fn sales_repairs_surveys_and_complaints_change_the_buyer_s_value() {
    let platform = TestPlatform::spawn().await;
    let (car, owner) = delivered_car(&platform, 901, "13800139901").await;

    // The sale through the real VehicleService.
    let sold = until_value(&platform, &owner, |v| v.purchases == 1).await;
    assert_eq!(minor(&sold.sales_revenue), 19_980_000);
    assert_eq!(minor(&sold.contribution), 19_980_000);
    assert_eq!(sold.tier, pb::CustomerTier::Transactional as i32);
    assert_eq!(
        (sold.cars, sold.cars_serviced, sold.service_share_percent),
        (1, 0, 0)
    );
    assert_eq!(sold.monetary_score, 3);
    assert_eq!(sold.recency_score, 5);
    assert_eq!(sold.frequency_score, 1);
    assert_eq!(sold.satisfaction_score, 0);
    assert!(sold.compute_time.is_some());

    // A closed repair order: a visit, its customer-paid total, a serviced car.
    let mut station = platform.vehicles("S2001", Role::Station);
    let order = station
        .open_repair_order(crate::repair::open(&car, "S2001", 3_000))
        .await
        .expect("open")
        .into_inner()
        .repair_order
        .expect("order");
    add(
        &mut station,
        &order.name,
        labour("OP-SVC-01", 1.0, vpb::PayType::Customer),
    )
    .await
    .expect("line");
    let mut closed = None;
    for (s, d) in [
        (vpb::RepairOrderStatus::InProgress, ""),
        (vpb::RepairOrderStatus::Completed, "Serviced"),
        (vpb::RepairOrderStatus::Closed, ""),
    ] {
        closed = Some(
            set_status(&mut station, &order.name, s, d)
                .await
                .expect("move"),
        );
    }
    let paid = minor(&closed.expect("closed").totals.expect("totals").customer);
    assert!(paid > 0);
    let repaired = until_value(&platform, &owner, |v| v.service_visits == 1).await;
    assert_eq!(minor(&repaired.service_revenue), paid);
    assert_eq!(minor(&repaired.contribution), 19_980_000 + paid);
    assert_eq!(
        (
            repaired.cars,
            repaired.cars_serviced,
            repaired.service_share_percent
        ),
        (1, 1, 100)
    );
    assert_eq!(repaired.loyalty_score, 2, "its one car is serviced here");
    assert_eq!(repaired.frequency_score, 2);

    // A complaint lowers satisfaction; a later good survey answer lifts it.
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    let case = open(&mut agent, complaint(&owner, "D1001")).await;
    let complained = until_value(&platform, &owner, |v| v.complaints == 1).await;
    assert_eq!(complained.satisfaction_score, 2);
    assert_eq!(complained.complaints_since_last_survey, 1);
    agent
        .submit_survey_response(ccpb::SubmitSurveyResponseRequest {
            response: Some(ccpb::SurveyResponse {
                case: case.name.clone(),
                customer: owner.clone(),
                satisfaction: 5,
                nps: 10,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("survey");
    let surveyed = until_value(&platform, &owner, |v| v.surveys == 1).await;
    assert_eq!(surveyed.recent_satisfaction, Some(5.0));
    assert_eq!(surveyed.recent_nps, Some(100));
    assert_eq!(surveyed.complaints_since_last_survey, 0);
    assert_eq!(surveyed.satisfaction_score, 5);

    // The same events applied again change nothing.
    let pool = registry_pool(&platform).await;
    let before = snapshot(&pool).await;
    let rules = DEFAULT_VALUE_RULES;
    let mut vehicles = platform.vehicles("HQ", Role::Hq);
    let mut stream = vehicles
        .stream_events(vpb::StreamEventsRequest {
            event_types: vec!["VehicleSold".into(), "RepairOrderClosed".into()],
            ..Default::default()
        })
        .await
        .expect("vehicle events")
        .into_inner();
    for _ in 0..2 {
        let delivery = stream.message().await.expect("event").expect("open");
        let mut tx = pool.begin().await.expect("tx");
        VehicleFacts { rules }
            .apply(&mut tx, &delivery)
            .await
            .expect("applied again");
        tx.commit().await.expect("commit");
    }
    let mut calls = platform
        .callcenter("HQ", Role::Hq)
        .stream_events(ccpb::StreamEventsRequest {
            event_types: vec!["CaseOpened".into(), "SurveyCompleted".into()],
            ..Default::default()
        })
        .await
        .expect("call center events")
        .into_inner();
    for _ in 0..2 {
        let delivery = calls.message().await.expect("event").expect("open");
        let mut tx = pool.begin().await.expect("tx");
        CallCenterFacts { rules }
            .apply(&mut tx, &delivery)
            .await
            .expect("applied again");
        tx.commit().await.expect("commit");
    }
    assert_eq!(snapshot(&pool).await, before, "nothing changed");
    assert_eq!(value_of(&mut hq(&platform), &owner).await, surveyed);

    // Outlets: the selling dealer (linked) sees it; a stranger is refused as elsewhere.
    let mut seller = platform.customers("D1001", Role::Dealer);
    assert_eq!(value_of(&mut seller, &owner).await.customer, owner);
    let mut stranger = platform.customers("D1002", Role::Dealer);
    assert_refused(
        stranger
            .get_customer_value(pb::GetCustomerValueRequest {
                name: owner.clone(),
            })
            .await,
        Code::PermissionDenied,
        "CUSTOMER_NOT_LINKED",
    );
    assert_refused(
        hq(&platform)
            .get_customer_value(pb::GetCustomerValueRequest {
                name: "customers/01936f0e-0000-7000-8000-000000000000".into(),
            })
            .await,
        Code::NotFound,
        "CUSTOMER_NOT_FOUND",
    );
    assert_invalid(
        hq(&platform)
            .get_customer_value(pb::GetCustomerValueRequest {
                name: "nobody".into(),
            })
            .await,
        &["name"],
    );
    let listed = |mut client: CustomersClient| async move {
        client
            .list_segment_members(pb::ListSegmentMembersRequest::default())
            .await
            .expect("list")
            .into_inner()
            .values
            .into_iter()
            .map(|v| v.customer)
            .collect::<Vec<_>>()
    };
    assert_eq!(listed(seller.clone()).await, vec![owner.clone()]);
    assert!(
        listed(stranger.clone()).await.is_empty(),
        "not its customer"
    );
    assert_refused(
        stranger
            .get_segment_summary(pb::GetSegmentSummaryRequest::default())
            .await,
        Code::PermissionDenied,
        "SEGMENT_SUMMARY_CENTRAL_ONLY",
    );
    assert_eq!(platform.count("parked_event").await, 0);
}

/// A call center event naming `customer`, written into the call center's outbox as the
/// service would (the service itself refuses such input).
async fn publish_survey(platform: &TestPlatform, customer: &str, satisfaction: i32) -> String {
    use ccpb::call_center_service_event::Kind;
    let pool = dealernet_kit::db::pool(&platform.database_url, "callcenter", 1)
        .await
        .expect("call center pool");
    let response = format!("surveyResponses/{}", uuid_v7());
    let message = ccpb::CallCenterServiceEvent {
        kind: Some(Kind::SurveyCompleted(ccpb::SurveyCompleted {
            survey_response: response.clone(),
            customer: customer.into(),
            satisfaction,
            nps: 8,
            answer_time: Some(Timestamp {
                seconds: 1_780_000_000,
                nanos: 0,
            }),
            ..Default::default()
        })),
    };
    let event = dealernet_kit::events::NewEvent::new(
        "surveyResponse",
        response.clone(),
        "SurveyCompleted",
        &message,
        "CALLCENTER/test".into(),
        chrono::Utc::now(),
    );
    let mut conn = pool.acquire().await.expect("conn");
    dealernet_kit::events::append(&mut conn, &event)
        .await
        .expect("append");
    response
}

fn uuid_v7() -> String {
    uuid::Uuid::now_v7().to_string()
}

async fn parked(client: &mut CustomersClient) -> Vec<types::ParkedEvent> {
    client
        .list_parked_events(pb::ListParkedEventsRequest {
            source: "callcenter".into(),
            page_size: 0,
        })
        .await
        .expect("list parked")
        .into_inner()
        .parked_events
}

#[tokio::test]
async fn a_poison_event_is_parked_listed_and_retried() {
    let platform = TestPlatform::spawn().await;
    let unknown_id = uuid_v7();
    let unknown = format!("customers/{unknown_id}");
    publish_survey(&platform, &unknown, 4).await;
    let known = crate::sale::customer(&platform, "13800139902").await;
    publish_survey(&platform, &known, 9).await;

    let mut operator = hq(&platform);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let listed = loop {
        let listed = parked(&mut operator).await;
        if listed.len() == 2 {
            break listed;
        }
        assert!(tokio::time::Instant::now() < deadline, "parked: {listed:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        listed[0].error.contains("not in the registry"),
        "{listed:?}"
    );
    assert!(listed[1].error.contains("out of range"), "{listed:?}");
    let event_id = |p: &types::ParkedEvent| p.envelope.as_ref().expect("envelope").event_id.clone();

    // Still unknown: the retry fails again and the event stays parked.
    let again = operator
        .retry_parked_event(pb::RetryParkedEventRequest {
            source: "callcenter".into(),
            event_id: event_id(&listed[0]),
        })
        .await
        .expect("retry")
        .into_inner();
    assert!(!again.applied);
    assert_eq!(again.parked_event.expect("parked").attempts, 2);

    // The customer is restored (as an operator would from a backup); the retry applies.
    let mut db = platform.db().await;
    sqlx::query(
        "INSERT INTO customers.customer (id, kind, display_name, name_key, source_channel, \
         created_by_org) VALUES ($1::uuid, 'PERSON', '李雷', '李雷', 'IMPORT', 'HQ')",
    )
    .bind(&unknown_id)
    .execute(&mut db)
    .await
    .expect("restore the customer");
    let applied = operator
        .retry_parked_event(pb::RetryParkedEventRequest {
            source: "callcenter".into(),
            event_id: event_id(&listed[0]),
        })
        .await
        .expect("retry")
        .into_inner();
    assert!(applied.applied, "{applied:?}");
    let value = value_of(&mut operator, &unknown).await;
    assert_eq!((value.surveys, value.satisfaction_score), (1, 4));

    // The malformed one can never apply.
    let still = parked(&mut operator).await;
    assert_eq!(still.len(), 1);
    assert_eq!(event_id(&still[0]), event_id(&listed[1]));
    assert_eq!(value_of(&mut operator, &known).await.surveys, 0);
    // Outlets do not operate consumers.
    assert_refused(
        platform
            .customers("D1001", Role::Dealer)
            .list_parked_events(pb::ListParkedEventsRequest::default())
            .await,
        Code::PermissionDenied,
        "EVENTS_NOT_PERMITTED",
    );
}
