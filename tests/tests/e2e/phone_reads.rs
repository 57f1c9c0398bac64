//! The call center's answers carrying customers' phone numbers (GetCallback,
//! ListCallbacks, ListInteractions) are written to the registry's access log before they leave, and
//! withheld when they cannot be.

use dealernet_kit::auth::Role;
use dealernet_proto::{
    callcenter::v1::{self as pb, call_center_service_client::CallCenterServiceClient},
    customers::v1 as cpb,
};
use dealernet_tests::{Bearer, CallCenterClient, TEST_PURPOSE, TestPlatform};
use tonic::Code;

use crate::{
    assert_invalid, assert_refused, callbacks,
    hotline::{now, registry_customer},
};

async fn reads_of(platform: &TestPlatform, customer: &str) -> Vec<cpb::AccessRecord> {
    platform
        .customers("HQ", Role::Hq)
        .list_access_log(cpb::ListAccessLogRequest {
            customer: customer.into(),
            ..Default::default()
        })
        .await
        .expect("access log")
        .into_inner()
        .records
        .into_iter()
        .filter(|r| r.method.starts_with("CallCenterService."))
        .collect()
}

async fn callback_and_interaction(agent: &mut CallCenterClient, customer: &str) -> String {
    agent
        .log_interaction(pb::LogInteractionRequest {
            interaction: Some(pb::Interaction {
                direction: pb::Direction::Inbound as i32,
                channel: pb::Channel::Phone as i32,
                customer: customer.into(),
                phone: "+8613800138771".into(),
                duration_seconds: 45,
                start_time: now(),
                disposition: "ANSWERED".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("interaction");
    let request = callbacks::callback(customer, pb::CallbackPurpose::CustomerRequest);
    callbacks::schedule(agent, request)
        .await
        .expect("callback")
        .name
}

#[tokio::test]
async fn reads_of_phone_numbers_appear_in_the_registry_s_access_log() {
    let platform = TestPlatform::spawn().await;
    let customer = registry_customer(&platform, "13800138771").await;
    let mut agent = platform.callcenter_as("agent.zhou", "CALLCENTER", Role::Agent);
    let callback = callback_and_interaction(&mut agent, &customer).await;
    assert!(reads_of(&platform, &customer).await.is_empty());

    let got = agent
        .get_callback(pb::GetCallbackRequest {
            name: callback.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .callback
        .expect("callback");
    assert_eq!(got.phone, "+8613800138771");
    let reads = reads_of(&platform, &customer).await;
    assert_eq!(reads.len(), 1, "{reads:?}");
    let read = &reads[0];
    assert_eq!(read.method, "CallCenterService.GetCallback");
    assert_eq!(read.subject, "agent.zhou");
    assert_eq!(read.organization, "CALLCENTER");
    assert_eq!(read.roles, ["agent"]);
    assert_eq!(read.purpose, TEST_PURPOSE);
    assert_eq!(read.fields, ["phones"]);
    assert!(read.time.is_some());

    let listed = agent
        .list_interactions(pb::ListInteractionsRequest {
            customer: customer.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .interactions;
    assert_eq!(listed.len(), 1);
    let reads = reads_of(&platform, &customer).await;
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert_eq!(
        reads[0].method, "CallCenterService.ListInteractions",
        "newest first"
    );
    assert_eq!(reads[0].purpose, TEST_PURPOSE);

    let callbacks = agent
        .list_callbacks(pb::ListCallbacksRequest {
            customer: customer.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .callbacks;
    assert_eq!(callbacks.len(), 1);
    let reads = reads_of(&platform, &customer).await;
    assert_eq!(reads.len(), 3, "{reads:?}");
    assert_eq!(reads[0].method, "CallCenterService.ListCallbacks");

    // Reads of phone numbers must say why, as at the registry.
    let mut silent = CallCenterServiceClient::with_interceptor(
        platform.channel(),
        Bearer::valid("CALLCENTER", Role::Agent).without_purpose(),
    );
    assert_invalid(
        silent
            .get_callback(pb::GetCallbackRequest { name: callback })
            .await,
        &["x-purpose"],
    );
    assert_eq!(reads_of(&platform, &customer).await.len(), 3);
}

#[tokio::test]
async fn record_access_is_for_platform_systems_and_checks_its_input() {
    let platform = TestPlatform::spawn().await;
    let customer = registry_customer(&platform, "13800138772").await;
    let request = cpb::RecordAccessRequest {
        subject: "agent.li".into(),
        organization: "CALLCENTER".into(),
        roles: vec!["agent".into()],
        customers: vec![customer.clone()],
        fields: vec!["phones".into()],
        purpose: "complaint follow-up".into(),
        method: "CallCenterService.GetCallback".into(),
        request_id: String::new(),
    };
    assert_refused(
        platform
            .customers("CALLCENTER", Role::Agent)
            .record_access(request.clone())
            .await,
        Code::PermissionDenied,
        "SYSTEM_ROLE_REQUIRED",
    );
    let mut system = platform.customers("CALLCENTER", Role::System);
    assert_invalid(
        system
            .record_access(cpb::RecordAccessRequest {
                roles: vec!["janitor".into()],
                customers: vec!["people/1".into()],
                fields: vec!["shoe_size".into()],
                purpose: String::new(),
                method: "GetCallback".into(),
                ..request.clone()
            })
            .await,
        &["roles[0]", "customers[0]", "fields[0]", "purpose", "method"],
    );
    let recorded = system
        .record_access(request)
        .await
        .expect("recorded")
        .into_inner()
        .recorded;
    assert_eq!(recorded, 1);
    assert_eq!(reads_of(&platform, &customer).await.len(), 1);
}

#[tokio::test]
async fn a_read_that_cannot_be_recorded_is_withheld() {
    let platform = TestPlatform::spawn().await;
    let customer = registry_customer(&platform, "13800138773").await;
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    let callback = callback_and_interaction(&mut agent, &customer).await;
    // The access log refuses the call center's records from now on (a constraint
    // standing in for a failing disk or a lost connection).
    let mut db = platform.db().await;
    sqlx::query(
        "ALTER TABLE customers.access_log ADD CONSTRAINT refuse_call_center \
         CHECK (method NOT LIKE 'CallCenterService.%')",
    )
    .execute(&mut db)
    .await
    .expect("constraint");

    assert_refused(
        agent
            .get_callback(pb::GetCallbackRequest { name: callback })
            .await,
        Code::Unavailable,
        "AUDIT_UNAVAILABLE",
    );
    let status = assert_refused(
        agent
            .list_interactions(pb::ListInteractionsRequest {
                customer: customer.clone(),
                ..Default::default()
            })
            .await,
        Code::Unavailable,
        "AUDIT_UNAVAILABLE",
    );
    assert!(!status.message().contains("13800138773"));
    assert_refused(
        agent
            .list_callbacks(pb::ListCallbacksRequest {
                customer: customer.clone(),
                ..Default::default()
            })
            .await,
        Code::Unavailable,
        "AUDIT_UNAVAILABLE",
    );
    // A list without phone numbers of known customers needs no record and still answers.
    let empty = agent
        .list_interactions(pb::ListInteractionsRequest {
            customer: registry_customer(&platform, "13800138774").await,
            ..Default::default()
        })
        .await
        .expect("nothing to record")
        .into_inner();
    assert!(empty.interactions.is_empty());
}
