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

/// grpcurl 1.8 and the Python client speak only v1alpha, newer tools v1: serve both.
#[tokio::test]
async fn reflection_lists_the_services_in_both_versions() {
    use tonic_reflection::pb::{v1, v1alpha};
    let platform = TestPlatform::spawn().await;
    let wanted = "dealernet.customers.v1.CustomerService";

    let mut client = v1::server_reflection_client::ServerReflectionClient::new(platform.channel());
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut replies = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("v1")
        .into_inner();
    let reply = replies
        .message()
        .await
        .expect("v1 reply")
        .expect("one reply");
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        reply.message_response
    else {
        panic!("unexpected v1 reply {reply:?}");
    };
    assert!(list.service.iter().any(|s| s.name == wanted), "{list:?}");

    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(platform.channel());
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(wanted.into()),
        ),
    };
    let mut replies = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("v1alpha")
        .into_inner();
    let reply = replies
        .message()
        .await
        .expect("v1alpha reply")
        .expect("one reply");
    assert!(
        matches!(reply.message_response, Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()),
        "{reply:?}"
    );
}
