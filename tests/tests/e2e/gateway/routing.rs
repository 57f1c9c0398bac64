//! Forwarding: unary and streaming calls pass untouched, unknown paths are UNIMPLEMENTED,
//! a dead backend fails fast, health and reflection cover the whole platform.

use std::time::{Duration, Instant};

use dealernet_kit::{auth::Role, config::ServiceKind};
use dealernet_proto::{customers::v1 as cpb, dealers::v1 as dpb};
use dealernet_tests::{Bearer, TestPlatform};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::{call_raw, code_and_reason};
use crate::{assert_refused, person};

#[tokio::test]
async fn unary_and_streaming_calls_pass_through_with_their_details() {
    let platform = TestPlatform::spawn_gateway().await;
    let mut dealer = platform.customers("D1001", Role::Dealer);
    let created = dealer
        .create_customer(cpb::CreateCustomerRequest {
            customer: Some(person("王", "伟", "13800138000")),
            request_id: "gw-1".into(),
        })
        .await
        .expect("create through the gateway")
        .into_inner()
        .customer
        .expect("customer");
    dealer
        .create_customer(cpb::CreateCustomerRequest {
            customer: Some(person("王", "伟", "13800138000")),
            request_id: "gw-2".into(),
        })
        .await
        .expect("a near duplicate");
    // A refusal's details (ErrorInfo, BadRequest) come back as the service sent them.
    crate::assert_invalid(
        dealer
            .create_customer(cpb::CreateCustomerRequest {
                customer: Some(cpb::Customer::default()),
                request_id: "gw-3".into(),
            })
            .await,
        &["customer.kind", "customer.source_channel"],
    );
    // Server streaming.
    let mut scan = platform
        .customers("HQ", Role::Hq)
        .scan_duplicates(cpb::ScanDuplicatesRequest::default())
        .await
        .expect("scan")
        .into_inner();
    let mut groups = 0;
    while let Some(group) = scan.next().await {
        group.expect("group");
        groups += 1;
    }
    assert_eq!(groups, 1, "the two 王伟 form one group");
    // Bidirectional streaming: the factory feed, answered item by item.
    crate::sale::priced_model(&platform).await;
    let items: Vec<_> = (0..3)
        .map(|i| crate::gateway::apikeys::feed_item(&format!("i{i}"), &crate::test_vin(700 + i)))
        .collect();
    let mut answers = platform
        .vehicles("PLANT-SH", Role::System)
        .stream_production(tokio_stream::iter(items))
        .await
        .expect("feed")
        .into_inner();
    let mut applied = 0;
    while let Some(answer) = answers.message().await.expect("answer") {
        assert_eq!(
            answer.outcome,
            dealernet_proto::vehicles::v1::ItemOutcome::Applied as i32
        );
        applied += 1;
    }
    assert_eq!(applied, 3);
    assert!(created.name.starts_with("customers/"));
}

#[tokio::test]
async fn unknown_paths_are_unimplemented() {
    let platform = TestPlatform::spawn_gateway().await;
    let token = [("authorization", format!("Bearer {}", hq_token()))];
    for path in [
        "/dealernet.vehicles.v1.VehicleService/Teleport",
        "/dealernet.nowhere.v1.NoService/Get",
        "/some.other.Service/Call",
    ] {
        let status = call_raw(platform.channel(), path, &token)
            .await
            .expect_err("unknown");
        assert_eq!(status.code(), Code::Unimplemented, "{path}: {status:?}");
    }
}

fn hq_token() -> String {
    use dealernet_kit::auth::{Principal, TokenKeys};
    let principal = Principal::new("hq.user", "HQ", &[Role::Hq]).expect("principal");
    TokenKeys::new(secrecy::SecretString::from(
        dealernet_tests::TEST_JWT_SECRET,
    ))
    .mint(&principal, 600)
}

#[tokio::test]
async fn health_and_reflection_cover_the_platform() {
    let platform = TestPlatform::spawn_gateway().await;
    let mut health = HealthClient::new(platform.channel());
    for service in [
        "dealernet.customers.v1.CustomerService",
        "dealernet.vehicles.v1.VehicleService",
        "dealernet.callcenter.v1.CallCenterService",
        "dealernet.dealers.v1.DealerService",
        "dealernet.gateway.v1.GatewayService",
    ] {
        // The gateway learns the services' health by asking them, right after start.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let answer = health
                .check(HealthCheckRequest {
                    service: service.into(),
                })
                .await;
            if matches!(&answer, Ok(a) if a.get_ref().status == ServingStatus::Serving as i32) {
                break;
            }
            assert!(Instant::now() < deadline, "{service}: {answer:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let services = super::permissions::reflected_services(platform.channel()).await;
    for service in [
        "dealernet.customers.v1.CustomerService",
        "dealernet.vehicles.v1.VehicleService",
        "dealernet.callcenter.v1.CallCenterService",
        "dealernet.dealers.v1.DealerService",
        "dealernet.gateway.v1.GatewayService",
    ] {
        assert!(
            services.iter().any(|s| s == service),
            "{service} in {services:?}"
        );
    }
}

#[tokio::test]
async fn the_services_behind_the_gateway_still_verify_every_call() {
    let platform = TestPlatform::spawn_gateway().await;
    let direct = tonic::transport::Channel::from_shared(format!(
        "http://{}",
        platform.backend_addr(ServiceKind::Customers)
    ))
    .expect("uri")
    .connect()
    .await
    .expect("connect straight to the registry");
    let mut bypass = dealernet_proto::customers::v1::customer_service_client::CustomerServiceClient::with_interceptor(
        direct,
        Bearer::none(),
    );
    assert_refused(
        bypass
            .list_customers(cpb::ListCustomersRequest::default())
            .await,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_killed_mid_run_fails_fast_and_the_others_go_on() {
    let database_url = dealernet_tests::fresh_database().await;
    // The dealer network runs in a process of its own, so that it can be killed.
    let (mut dealers, dealers_addr) = crate::server_process(&database_url, Some("dealers"));
    let platform =
        TestPlatform::spawn_gateway_on(&database_url, |l| dealernet_kit::config::Layer {
            services: Some(vec![
                "customers".into(),
                "vehicles".into(),
                "callcenter".into(),
                "gateway".into(),
            ]),
            dealers_url: Some(format!("http://{dealers_addr}")),
            ..l
        })
        .await;
    let mut outlets = platform.dealers("HQ", Role::Hq);
    let mut registry = platform.customers("HQ", Role::Hq);
    outlets
        .list_outlets(dpb::ListOutletsRequest::default())
        .await
        .expect("dealers answer while up");
    dealers.kill().expect("kill the dealers process");
    dealers.wait().expect("reap");
    for _ in 0..5 {
        let started = Instant::now();
        let status = outlets
            .list_outlets(dpb::ListOutletsRequest::default())
            .await
            .expect_err("dealers are down");
        assert_eq!(
            code_and_reason(&status),
            (Code::Unavailable, "BACKEND_UNAVAILABLE".to_owned()),
            "{status:?}"
        );
        // Connecting is given one second; the rest is slack for a busy machine.
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        registry
            .list_customers(cpb::ListCustomersRequest::default())
            .await
            .expect("the registry goes on");
    }
}
