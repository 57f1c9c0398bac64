//! Server assembly: health, reflection, request ids, load shedding.

use dealernet_kit::auth::Role;
use dealernet_proto::customers::v1 as pb;
use dealernet_tests::TestPlatform;
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

#[tokio::test]
async fn health_reports_the_registry_serving_without_a_token() {
    let platform = TestPlatform::spawn().await;
    let mut health = HealthClient::new(platform.channel());
    let reply = health
        .check(HealthCheckRequest {
            service: "dealernet.customers.v1.CustomerService".into(),
        })
        .await
        .expect("health check")
        .into_inner();
    assert_eq!(reply.status, ServingStatus::Serving as i32);
}

#[tokio::test]
async fn request_ids_are_echoed_or_assigned() {
    let platform = TestPlatform::spawn().await;
    let mut client = platform.customers("HQ", Role::Hq);
    let mut request = tonic::Request::new(pb::ListCustomersRequest::default());
    request
        .metadata_mut()
        .insert("x-request-id", "trace-me-42".parse().expect("ascii"));
    let response = client.list_customers(request).await.expect("list");
    assert_eq!(
        response
            .metadata()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("trace-me-42")
    );
    let response = client
        .list_customers(pb::ListCustomersRequest::default())
        .await
        .expect("list");
    assert!(response.metadata().get("x-request-id").is_some());
}

#[tokio::test]
async fn calls_past_the_concurrency_limit_are_shed() {
    let platform = TestPlatform::spawn_with(|mut l| {
        l.concurrency_limit = Some(2);
        l
    })
    .await;
    let mut calls = Vec::new();
    for i in 0..40 {
        let mut client = platform.customers("HQ", Role::Hq);
        let phone = format!("1390000{:04}", i);
        calls.push(tokio::spawn(async move {
            client
                .resolve_customer(pb::ResolveCustomerRequest {
                    customer: Some(crate::person("李", "娜", &phone)),
                    request_id: String::new(),
                })
                .await
        }));
    }
    let mut shed = 0;
    for call in calls {
        match call.await.expect("join") {
            Ok(_) => {}
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                shed += 1;
            }
        }
    }
    assert!(
        shed > 0,
        "with a limit of 2, some of 40 concurrent calls must be shed"
    );
}
