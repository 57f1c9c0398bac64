//! Rate limits per organisation across connections, shedding past the in-flight limit,
//! deadlines, and request ids carried through the gateway to the services.

use std::time::{Duration, Instant};

use dealernet_kit::{auth::Role, config::Layer};
use dealernet_proto::{customers::v1 as cpb, dealers::v1 as dpb, vehicles::v1 as vpb};
use dealernet_tests::TestPlatform;
use tonic::Code;
use tonic_types::StatusExt;

use super::code_and_reason;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_bursting_over_many_connections_is_limited_alone() {
    let platform = TestPlatform::spawn_gateway_with(|l| Layer {
        rate_limit_per_org_rps: Some(1),
        rate_limit_burst: Some(10),
        ..l
    })
    .await;
    // 40 calls of D1001 over 4 connections at once: one bucket of 10 for all of them.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let channel = platform.connect().await;
        for _ in 0..10 {
            let mut client = dpb::dealer_service_client::DealerServiceClient::with_interceptor(
                channel.clone(),
                dealernet_tests::Bearer::valid("D1001", Role::Dealer),
            );
            calls.spawn(async move {
                client
                    .list_outlets(dpb::ListOutletsRequest::default())
                    .await
                    .map(|_| ())
            });
        }
    }
    let (mut passed, mut limited) = (0, 0);
    while let Some(done) = calls.join_next().await {
        match done.expect("call") {
            Ok(()) => passed += 1,
            Err(status) => {
                assert_eq!(
                    code_and_reason(&status),
                    (Code::ResourceExhausted, "RATE_LIMITED".into()),
                    "{status:?}"
                );
                let retry = status
                    .get_error_details()
                    .retry_info()
                    .and_then(|r| r.retry_delay)
                    .expect("RetryInfo with a delay");
                assert!(
                    retry > Duration::ZERO && retry <= Duration::from_secs(1),
                    "{retry:?}"
                );
                limited += 1;
            }
        }
    }
    // The bucket refills at 1/s while the calls run; a slow machine may let a few more by.
    assert!(
        (10..=14).contains(&passed) && limited >= 26,
        "{passed} passed, {limited} limited"
    );
    // Another dealer still has its whole bucket.
    let mut other = platform.dealers("D1002", Role::Dealer);
    for _ in 0..10 {
        other
            .list_outlets(dpb::ListOutletsRequest::default())
            .await
            .expect("another organisation is unaffected");
    }
}

#[tokio::test]
async fn calls_past_the_in_flight_limit_are_shed_not_queued() {
    let platform = TestPlatform::spawn_gateway_with(|l| Layer {
        concurrency_limit: Some(2),
        ..l
    })
    .await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..40 {
        let mut client = platform.customers("D1001", Role::Dealer);
        calls.spawn(async move {
            client
                .create_customer(cpb::CreateCustomerRequest {
                    customer: Some(crate::person("赵", "敏", &format!("1390001{i:04}"))),
                    request_id: format!("shed-{i}"),
                })
                .await
                .map(|_| ())
        });
    }
    let mut shed = 0;
    while let Some(done) = calls.join_next().await {
        if let Err(status) = done.expect("call") {
            assert_eq!(
                code_and_reason(&status),
                (Code::Unavailable, "OVERLOADED".into()),
                "{status:?}"
            );
            shed += 1;
        }
    }
    assert!(
        shed > 0,
        "40 calls at once past a limit of 2: some are shed"
    );
}

#[tokio::test]
async fn the_longest_deadline_is_enforced() {
    let platform = TestPlatform::spawn_gateway_with(|l| Layer {
        max_deadline_ms: Some(300),
        ..l
    })
    .await;
    // A transit feed that never ends: without the gateway's maximum it would hang.
    let mut carrier = platform.vehicles("CN-LOG-1", Role::System);
    let mut request =
        tonic::Request::new(tokio_stream::pending::<vpb::StreamTransitEventsRequest>());
    request.set_timeout(Duration::from_secs(20));
    let started = Instant::now();
    let outcome = async {
        let mut answers = carrier.stream_transit_events(request).await?.into_inner();
        while answers.message().await?.is_some() {}
        Ok::<(), tonic::Status>(())
    }
    .await;
    // The feed is bidirectional, so it gets no deadline it did not ask for; it asked for
    // 20 s, and the gateway caps that at 300 ms.
    let status = outcome.expect_err("cut at the maximum deadline");
    assert!(
        matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{status:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn request_ids_are_kept_returned_and_seen_by_the_services() {
    let platform = TestPlatform::spawn_gateway().await;
    let mut dealer = platform.customers("D1001", Role::Dealer);
    let created = dealer
        .create_customer(cpb::CreateCustomerRequest {
            customer: Some(crate::person("钱", "多", "13700137000")),
            request_id: "rid-1".into(),
        })
        .await
        .expect("create")
        .into_inner()
        .customer
        .expect("customer");
    let mut hq = platform.customers("HQ", Role::Hq);
    let mut request = tonic::Request::new(cpb::GetCustomerRequest {
        name: created.name.clone(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "console-7f3a".parse().expect("ascii"));
    request.metadata_mut().insert(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            .parse()
            .expect("ascii"),
    );
    let answer = hq.get_customer(request).await.expect("get");
    assert_eq!(
        answer
            .metadata()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("console-7f3a")
    );
    let generated = hq
        .get_customer(cpb::GetCustomerRequest { name: created.name })
        .await
        .expect("get");
    let generated = generated
        .metadata()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("a generated id")
        .to_owned();
    // The registry recorded both reads under the ids the client saw.
    let mut db = platform.db().await;
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT request_id FROM customers.access_log WHERE method = 'GetCustomer' ORDER BY request_id",
    )
    .fetch_all(&mut db)
    .await
    .expect("access log");
    let mut want = vec!["console-7f3a".to_owned(), generated];
    want.sort();
    assert_eq!(ids, want);
}
