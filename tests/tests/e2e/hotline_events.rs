//! The call center's share of the registry's and the vehicle service's events: merges
//! re-point its customer references (an unmerge restores them), a suspected odometer
//! rollback opens one operations-desk case, and a birthday becomes one greeting call for
//! a consenting customer on the day.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use dealernet_kit::{
    auth::Role,
    clock::{Clock, ManualClock},
    events::Apply,
};
use dealernet_proto::{
    callcenter::v1 as pb, customers::v1 as cpb, types::v1 as types, vehicles::v1 as vpb,
};
use dealernet_tests::{CallCenterClient, TestPlatform, test_config};

use crate::{
    callbacks::{self, grant_phone},
    hotline::{complaint, now, open, registry_customer},
    person,
    repair::delivered_car,
};

/// Rows of the call center's cases, interactions and callbacks naming `customer`.
async fn references(platform: &TestPlatform, customer: &str) -> i64 {
    let id = customer.trim_start_matches("customers/");
    let mut db = platform.db().await;
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM callcenter.support_case WHERE customer_id::text = $1) \
              + (SELECT count(*) FROM callcenter.interaction WHERE customer_id::text = $1) \
              + (SELECT count(*) FROM callcenter.callback WHERE customer_id::text = $1)",
    )
    .bind(id)
    .fetch_one(&mut db)
    .await
    .expect("references")
}

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}: timed out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn customer_request_call(agent: &mut CallCenterClient, customer: &str) {
    let request = callbacks::callback(customer, pb::CallbackPurpose::CustomerRequest);
    callbacks::schedule(agent, request).await.expect("callback");
}

#[tokio::test]
async fn merges_re_point_the_call_center_s_references_and_unmerges_restore_them() {
    let platform = TestPlatform::spawn().await;
    let survivor = registry_customer(&platform, "13600136001").await;
    let duplicate = registry_customer(&platform, "13700137001").await;
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    open(&mut agent, complaint(&duplicate, "D1001")).await;
    agent
        .log_interaction(pb::LogInteractionRequest {
            interaction: Some(pb::Interaction {
                direction: pb::Direction::Inbound as i32,
                channel: pb::Channel::Phone as i32,
                customer: duplicate.clone(),
                duration_seconds: 30,
                start_time: now(),
                disposition: "ANSWERED".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("interaction");
    customer_request_call(&mut agent, &duplicate).await;
    // The survivor's own row: it names the survivor before, during and after.
    customer_request_call(&mut agent, &survivor).await;
    assert_eq!(references(&platform, &duplicate).await, 3);
    assert_eq!(references(&platform, &survivor).await, 1);

    let mut hq = platform.customers("HQ", Role::Hq);
    let merge = hq
        .merge_customers(cpb::MergeCustomersRequest {
            survivor: survivor.clone(),
            duplicates: vec![duplicate.clone()],
            ..Default::default()
        })
        .await
        .expect("merge")
        .into_inner()
        .merge
        .expect("merge")
        .name;
    until("re-pointed", async || {
        references(&platform, &survivor).await == 4
    })
    .await;
    assert_eq!(references(&platform, &duplicate).await, 0);
    assert_eq!(platform.count_in("callcenter", "customer_repoint").await, 3);
    let listed = agent
        .list_callbacks(pb::ListCallbacksRequest {
            customer: survivor.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .callbacks;
    assert_eq!(
        listed.len(),
        2,
        "the duplicate's callback is the survivor's"
    );

    hq.unmerge_customer(cpb::UnmergeCustomerRequest {
        merge,
        request_id: String::new(),
    })
    .await
    .expect("unmerge");
    until("restored", async || {
        references(&platform, &duplicate).await == 3
    })
    .await;
    assert_eq!(references(&platform, &survivor).await, 1);
    assert_eq!(platform.count_in("callcenter", "customer_repoint").await, 0);
    assert_eq!(platform.count_in("callcenter", "parked_event").await, 0);
}

/// The platform's call center as a second replica would run it, on the same database
/// and peers: to apply an event again the way a redelivery would.
async fn second_replica(platform: &TestPlatform, clock: Clock) -> dealernet_callcenter::Service {
    let config = test_config(&platform.database_url, |l| l);
    let pool = dealernet_kit::db::pool(&platform.database_url, dealernet_callcenter::SCHEMA, 4)
        .await
        .expect("pool");
    let url = format!("http://{}", platform.addr);
    dealernet_callcenter::Service::new(
        pool,
        &config.secrets,
        (&url, &url, Some(&url)),
        clock,
        Duration::from_millis(100),
    )
    .expect("service")
}

async fn rollback_cases(platform: &TestPlatform) -> Vec<pb::Case> {
    platform
        .callcenter("HQ", Role::Hq)
        .list_cases(pb::ListCasesRequest {
            r#type: pb::CaseType::OdometerRollback as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .cases
}

#[tokio::test]
async fn a_suspected_odometer_rollback_opens_one_operations_desk_case() {
    let platform = TestPlatform::spawn().await;
    let (car, _owner) = delivered_car(&platform, 931, "13800138931").await;
    let mut telematics = platform.vehicles("TELEMATICS", Role::System);
    // Read now, to the microsecond: each reading later than the delivery's and the last.
    let reading = |km: i64| {
        let now = Utc::now();
        vpb::RecordOdometerReadingRequest {
            vehicle: car.clone(),
            km,
            source: vpb::OdometerSource::Telematics as i32,
            read_time: Some(prost_types::Timestamp {
                seconds: now.timestamp(),
                nanos: now.timestamp_subsec_micros() as i32 * 1_000,
            }),
            request_id: String::new(),
        }
    };
    telematics
        .record_odometer_reading(reading(5_000))
        .await
        .expect("reading");
    tokio::time::sleep(Duration::from_millis(2)).await;
    let lower = telematics
        .record_odometer_reading(reading(3_000))
        .await
        .expect("kept")
        .into_inner();
    assert!(lower.suspected_rollback);

    until("the case", async || {
        !rollback_cases(&platform).await.is_empty()
    })
    .await;
    let cases = rollback_cases(&platform).await;
    assert_eq!(cases.len(), 1, "{cases:?}");
    let case = &cases[0];
    assert_eq!(case.team, pb::Team::Operations as i32);
    assert_eq!(case.vehicle, car);
    assert_eq!(case.customer, "", "a matter of the car alone");
    assert_eq!(case.status, pb::CaseStatus::New as i32);
    assert!(case.subject.contains("3000 km after 5000 km"), "{case:?}");

    // The same event applied again (a redelivery, or a second replica) opens nothing.
    let mut stream = platform
        .vehicles("HQ", Role::Hq)
        .stream_events(vpb::StreamEventsRequest {
            event_types: vec!["OdometerRollbackSuspected".into()],
            ..Default::default()
        })
        .await
        .expect("stream")
        .into_inner();
    let delivery = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("in time")
        .expect("ok")
        .expect("an event");
    let outreach =
        dealernet_callcenter::api::Outreach::new(second_replica(&platform, Clock::System).await);
    let mut db = platform.db().await;
    outreach
        .apply(&mut db, &delivery)
        .await
        .expect("applied again");
    assert_eq!(rollback_cases(&platform).await.len(), 1);
    assert_eq!(platform.count_in("callcenter", "parked_event").await, 0);
}

/// 10:00 on `day` at the hotline (+08:00).
fn morning(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 2, 0, 0)
        .single()
        .expect("time")
}

async fn born(platform: &TestPlatform, phone: &str, y: i32, m: i32, d: i32) -> String {
    platform
        .customers("HQ", Role::Hq)
        .create_customer(cpb::CreateCustomerRequest {
            customer: Some(cpb::Customer {
                birthday: Some(types::Date {
                    year: y,
                    month: m,
                    day: d,
                }),
                ..person("陈", "静", phone)
            }),
            request_id: String::new(),
        })
        .await
        .expect("customer")
        .into_inner()
        .customer
        .expect("c")
        .name
}

async fn announced(platform: &TestPlatform, customer: &str, year: i32) -> bool {
    let mut db = platform.db().await;
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM customers.birthday_announcement \
                        WHERE customer_id::text = $1 AND year = $2)",
    )
    .bind(customer.trim_start_matches("customers/"))
    .bind(year)
    .fetch_one(&mut db)
    .await
    .expect("announced")
}

async fn calls(agent: &mut CallCenterClient, customer: &str) -> Vec<pb::Callback> {
    agent
        .list_callbacks(pb::ListCallbacksRequest {
            customer: customer.into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .callbacks
}

#[tokio::test]
async fn a_birthday_is_one_greeting_call_on_the_day_for_a_consenting_customer() {
    let clock = ManualClock::new(morning(2027, 2, 28));
    let platform = TestPlatform::spawn_at(&clock).await;
    // Created first, so announced (and applied) first.
    let unwilling = born(&platform, "13500135001", 1990, 3, 10).await;
    let willing = born(&platform, "13500135002", 1985, 3, 10).await;
    let leap_day = born(&platform, "13500135003", 2000, 2, 29).await;
    grant_phone(&platform, &willing, cpb::ConsentPurpose::Marketing).await;
    let pool = dealernet_kit::db::pool(&platform.database_url, dealernet_customers::SCHEMA, 4)
        .await
        .expect("pool");
    let birthdays = dealernet_customers::birthdays::Birthdays::new(pool);

    // 28 February of a common year is the leap-day birthday's day.
    birthdays.announce(clock.now()).await.expect("announce");
    assert!(announced(&platform, &leap_day, 2027).await);
    assert!(!announced(&platform, &willing, 2027).await);

    // The day before: nobody of March 10.
    clock.set(morning(2027, 3, 9));
    assert_eq!(birthdays.announce(clock.now()).await.expect("announce"), 0);

    clock.set(morning(2027, 3, 10));
    assert_eq!(birthdays.announce(clock.now()).await.expect("announce"), 2);
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    until("the greeting call", async || {
        !calls(&mut agent, &willing).await.is_empty()
    })
    .await;
    let greeting = calls(&mut agent, &willing).await;
    assert_eq!(greeting.len(), 1);
    let greeting = &greeting[0];
    assert_eq!(greeting.purpose, pb::CallbackPurpose::Marketing as i32);
    assert_eq!(greeting.status, pb::CallbackStatus::Pending as i32);
    let end_of_day = Utc.with_ymd_and_hms(2027, 3, 10, 16, 0, 0).single();
    let expire = greeting
        .policy
        .as_ref()
        .and_then(|p| p.expire_time.as_ref())
        .map(|t| t.seconds);
    assert_eq!(
        expire,
        end_of_day.map(|t| t.timestamp()),
        "expires with the day"
    );
    let due = greeting
        .next_attempt_time
        .as_ref()
        .map(|t| t.seconds)
        .expect("due");
    assert!(due >= clock.now().timestamp() && due < end_of_day.expect("t").timestamp());
    // The unwilling customer's event was applied before the willing one's: no call.
    assert!(calls(&mut agent, &unwilling).await.is_empty());

    // A second pass (a restart, another replica) announces nobody again.
    assert_eq!(birthdays.announce(clock.now()).await.expect("announce"), 0);
    let mut db = platform.db().await;
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM customers.outbox_event WHERE event_type = 'CustomerBirthday'",
    )
    .fetch_one(&mut db)
    .await
    .expect("count");
    assert_eq!(events, 3, "the leap-day one and the two of March 10");
    // Even the same event delivered again schedules nothing more.
    let delivery = platform
        .customers("HQ", Role::Hq)
        .stream_events(cpb::StreamEventsRequest {
            event_types: vec!["CustomerBirthday".into()],
            ..Default::default()
        })
        .await
        .expect("stream")
        .into_inner();
    let mut delivery = delivery;
    let mut last = None;
    for _ in 0..3 {
        last = tokio::time::timeout(Duration::from_secs(5), delivery.message())
            .await
            .expect("in time")
            .expect("ok");
    }
    let last = last.expect("the willing customer's event");
    let events = dealernet_callcenter::customer_events::CustomerEvents::new(
        second_replica(&platform, Clock::from(clock.clone())).await,
    );
    events.apply(&mut db, &last).await.expect("applied again");
    assert_eq!(calls(&mut agent, &willing).await.len(), 1);
    assert_eq!(platform.count_in("callcenter", "parked_event").await, 0);
}

#[tokio::test]
async fn erasing_a_survivor_drops_the_call_center_s_copies_of_its_merged_duplicates() {
    let platform = TestPlatform::spawn().await;
    let survivor = registry_customer(&platform, "13600136002").await;
    let duplicate = registry_customer(&platform, "13700137002").await;
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    let note = "Duplicate record mentions her workplace";
    agent
        .log_interaction(pb::LogInteractionRequest {
            interaction: Some(pb::Interaction {
                direction: pb::Direction::Inbound as i32,
                channel: pb::Channel::Phone as i32,
                customer: duplicate.clone(),
                phone: "+8613700137002".into(),
                duration_seconds: 30,
                start_time: now(),
                disposition: "ANSWERED".into(),
                notes: note.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("interaction");
    customer_request_call(&mut agent, &duplicate).await;
    let mut hq = platform.customers("HQ", Role::Hq);
    hq.merge_customers(cpb::MergeCustomersRequest {
        survivor: survivor.clone(),
        duplicates: vec![duplicate.clone()],
        ..Default::default()
    })
    .await
    .expect("merge");
    hq.erase_customer(cpb::EraseCustomerRequest {
        name: survivor.clone(),
        reason: "the customer's request".into(),
        request_id: String::new(),
    })
    .await
    .expect("erase");
    // The erasure names the survivor only; the merge, applied first, made the
    // duplicate's rows the survivor's. Every table is scanned, the new ones included.
    until("nothing personal left", async || {
        let left = [
            crate::outreach::rows_holding(&platform, "callcenter", "13700137002").await,
            crate::outreach::rows_holding(&platform, "callcenter", note).await,
        ]
        .concat();
        left.is_empty()
    })
    .await;
    assert_eq!(platform.count_in("callcenter", "parked_event").await, 0);
}
