//! What the call center does with other services' events: reminder calls to the
//! consenting owners of a recalled car, and its own copies of an erased customer's
//! personal data dropped.

use std::time::Duration;

use dealernet_kit::auth::Role;
use dealernet_proto::{callcenter::v1 as pb, customers::v1 as cpb};
use dealernet_tests::{CallCenterClient, TestPlatform};

use crate::{
    callbacks::{grant_phone, grant_surveys},
    repair::{campaign_for, delivered_car},
};

async fn callbacks(agent: &mut CallCenterClient, customer: &str) -> Vec<pb::Callback> {
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

async fn grant_reminders(platform: &TestPlatform, customer: &str) {
    grant_phone(platform, customer, cpb::ConsentPurpose::ServiceReminders).await;
}

#[tokio::test]
async fn a_recall_campaign_calls_the_consenting_affected_owners_only() {
    let platform = TestPlatform::spawn().await;
    let (car1, willing) = delivered_car(&platform, 811, "13800138811").await;
    let (car2, unwilling) = delivered_car(&platform, 812, "13800138812").await;
    let (_car3, unaffected) = delivered_car(&platform, 813, "13800138813").await;
    grant_reminders(&platform, &willing).await;
    grant_reminders(&platform, &unaffected).await;
    // A survey consent is not a reminder consent.
    grant_surveys(&platform, &unwilling).await;
    let campaign = campaign_for(&platform, "RC-OUT-1", &[&car1, &car2]).await;

    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let reminders = loop {
        let found = callbacks(&mut agent, &willing).await;
        if !found.is_empty() {
            break found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reminder call was scheduled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(reminders.len(), 1);
    assert_eq!(
        reminders[0].purpose,
        pb::CallbackPurpose::ServiceReminder as i32
    );
    assert!(
        reminders[0].reason.contains(&campaign.code),
        "{:?}",
        reminders[0].reason
    );
    assert_eq!(reminders[0].outlet, "D1001");
    // The other owners: both cars were handled in the same event, so by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        callbacks(&mut agent, &unwilling).await.is_empty(),
        "no consent, no call"
    );
    assert!(
        callbacks(&mut agent, &unaffected).await.is_empty(),
        "not affected, no call"
    );
    assert_eq!(platform.count_in("callcenter", "parked_event").await, 0);
}

/// Rows of `schema` holding `needle` anywhere (text columns, and bytea holding it).
pub(crate) async fn rows_holding(
    platform: &TestPlatform,
    schema: &str,
    needle: &str,
) -> Vec<String> {
    let mut db = platform.db().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
    )
    .bind(schema)
    .fetch_all(&mut db)
    .await
    .expect("tables");
    let hex: String = needle.bytes().map(|b| format!("{b:02x}")).collect();
    let mut found = Vec::new();
    for table in tables {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {schema}.{table} t \
             WHERE t::text LIKE '%' || $1 || '%' OR t::text LIKE '%' || $2 || '%'"
        ))
        .bind(needle)
        .bind(&hex)
        .fetch_one(&mut db)
        .await
        .expect("scan");
        if n > 0 {
            found.push(format!("{table}: {n}"));
        }
    }
    found
}

#[tokio::test]
async fn an_erasure_drops_the_call_center_s_copies_of_personal_data() {
    let platform = TestPlatform::spawn().await;
    let phone = "+8613900139555";
    let customer = crate::sale::customer(&platform, "13900139555").await;
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    let note = "Caller Zhang Xiuying mentions her address";
    agent
        .log_interaction(pb::LogInteractionRequest {
            interaction: Some(pb::Interaction {
                direction: pb::Direction::Inbound as i32,
                channel: pb::Channel::Phone as i32,
                customer: customer.clone(),
                duration_seconds: 60,
                start_time: Some(prost_types::Timestamp {
                    seconds: chrono::Utc::now().timestamp() - 120,
                    nanos: 0,
                }),
                disposition: "ANSWERED".into(),
                notes: note.into(),
                phone: phone.into(),
                ..Default::default()
            }),
            request_id: "erase-interaction".into(),
        })
        .await
        .expect("interaction");
    agent
        .schedule_callback(pb::ScheduleCallbackRequest {
            callback: Some(pb::Callback {
                customer: customer.clone(),
                reason: note.into(),
                purpose: pb::CallbackPurpose::CustomerRequest as i32,
                ..Default::default()
            }),
            request_id: "erase-callback".into(),
        })
        .await
        .expect("callback");
    let case = crate::hotline::open(
        &mut agent,
        pb::OpenCaseRequest {
            case: Some(pb::Case {
                description: note.into(),
                ..crate::hotline::complaint(&customer, "D1001")
                    .case
                    .expect("case")
            }),
            ..Default::default()
        },
    )
    .await;
    agent
        .add_case_note(pb::AddCaseNoteRequest {
            name: case.name.clone(),
            text: note.into(),
            request_id: String::new(),
        })
        .await
        .expect("note");
    agent
        .add_do_not_call(pb::AddDoNotCallRequest {
            phone: phone.into(),
            reason: "asked not to be called".into(),
            request_id: String::new(),
        })
        .await
        .expect("do not call");
    let digits = "13900139555";
    assert!(
        !rows_holding(&platform, "callcenter", digits)
            .await
            .is_empty()
    );
    assert!(!rows_holding(&platform, "callcenter", note).await.is_empty());

    platform
        .customers("HQ", Role::Hq)
        .erase_customer(cpb::EraseCustomerRequest {
            name: customer.clone(),
            reason: "the customer's request".into(),
            request_id: String::new(),
        })
        .await
        .expect("erase");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let left = [
            rows_holding(&platform, "callcenter", digits).await,
            rows_holding(&platform, "callcenter", note).await,
        ]
        .concat();
        if left.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still holding personal data: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left = callbacks(&mut agent, &customer).await;
    assert!(
        left.iter()
            .all(|c| c.status == pb::CallbackStatus::Stopped as i32),
        "{left:?}"
    );
}
