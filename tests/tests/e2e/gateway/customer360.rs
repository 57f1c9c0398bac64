//! GetCustomer360 through the gateway: found by id, phone or VIN; refused when the key is
//! ambiguous or names nobody; and a section whose service is down is marked unavailable
//! while the rest of the answer stands.

use std::time::{Duration, Instant};

use dealernet_kit::{auth::Role, config::ServiceKind};
use dealernet_proto::{
    callcenter::v1 as hpb,
    gateway::v1::{self as gpb, get_customer360_request::Key},
};
use dealernet_tests::TestPlatform;
use tonic::Code;

use crate::{
    assert_invalid, assert_refused,
    sale::{car_in_stock, customer, sell},
};

fn by(key: Key) -> gpb::GetCustomer360Request {
    gpb::GetCustomer360Request {
        key: Some(key),
        recent: 0,
    }
}

fn ok(status: &Option<gpb::SectionStatus>) -> bool {
    status.as_ref().map(|s| s.state) == Some(gpb::SectionState::Ok as i32)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn found_by_id_phone_or_vin_with_every_section() {
    let platform = TestPlatform::spawn_gateway().await;
    let car = car_in_stock(&platform, 360).await;
    let her = customer(&platform, "13900000360").await;
    platform
        .vehicles("D1001", Role::Dealer)
        .sell_vehicle(sell(&car, &her, 199_800))
        .await
        .expect("sold");
    platform
        .callcenter("CALLCENTER", Role::Agent)
        .open_case(hpb::OpenCaseRequest {
            case: Some(hpb::Case {
                r#type: hpb::CaseType::Complaint as i32,
                priority: hpb::Priority::High as i32,
                customer: her.clone(),
                vehicle: car.clone(),
                subject: "Rattle from the dashboard".into(),
                category: "NOISE".into(),
                ..Default::default()
            }),
            request_id: "c360-case".into(),
            ..Default::default()
        })
        .await
        .expect("a complaint");
    let mut agent = platform.gateway("CALLCENTER", Role::Agent);
    for key in [
        Key::Customer(her.clone()),
        Key::Phone("139 0000 0360".into()),
        Key::Vehicle(car.clone()),
    ] {
        let answer = agent
            .get_customer360(by(key.clone()))
            .await
            .unwrap_or_else(|e| panic!("{key:?}: {e:?}"))
            .into_inner();
        assert_eq!(
            answer.customer.as_ref().map(|c| c.name.as_str()),
            Some(her.as_str())
        );
        assert!(
            !answer.customer.as_ref().is_some_and(|c| c.masked),
            "the hotline sees her"
        );
        let vehicles = answer.vehicles.expect("vehicles section");
        assert!(ok(&vehicles.status), "{vehicles:?}");
        assert_eq!(vehicles.vehicles.len(), 1, "{vehicles:?}");
        let the_car = &vehicles.vehicles[0];
        assert_eq!(
            the_car.vehicle.as_ref().map(|v| v.name.as_str()),
            Some(car.as_str())
        );
        assert!(
            the_car.warranty.as_ref().is_some_and(|w| w.covered),
            "a car sold today is under warranty: {the_car:?}"
        );
        let cases = answer.open_cases.expect("cases section");
        assert!(ok(&cases.status), "{cases:?}");
        assert_eq!(cases.cases.len(), 1, "{cases:?}");
        for status in [
            answer.repair_orders.expect("repairs").status,
            answer.pending_callbacks.expect("callbacks").status,
            answer.surveys.expect("surveys").status,
        ] {
            assert!(ok(&status), "{status:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_unknown_or_ownerless_keys_are_refused() {
    let platform = TestPlatform::spawn_gateway().await;
    let car = car_in_stock(&platform, 361).await;
    // A shared family number: two customers.
    customer(&platform, "13900000361").await;
    platform
        .customers("D1002", Role::Dealer)
        .create_customer(dealernet_proto::customers::v1::CreateCustomerRequest {
            customer: Some(crate::person("李", "娜", "13900000361")),
            request_id: String::new(),
        })
        .await
        .expect("a second customer with the number");
    let mut agent = platform.gateway("CALLCENTER", Role::Agent);
    assert_refused(
        agent
            .get_customer360(by(Key::Phone("13900000361".into())))
            .await,
        Code::FailedPrecondition,
        "PHONE_MATCHES_SEVERAL_CUSTOMERS",
    );
    assert_refused(
        agent
            .get_customer360(by(Key::Phone("13900000999".into())))
            .await,
        Code::NotFound,
        "CUSTOMER_NOT_FOUND",
    );
    assert_refused(
        agent.get_customer360(by(Key::Vehicle(car))).await,
        Code::FailedPrecondition,
        "VEHICLE_HAS_NO_OWNER",
    );
    assert_invalid(
        agent
            .get_customer360(gpb::GetCustomer360Request::default())
            .await,
        &["key"],
    );
    assert_invalid(
        agent
            .get_customer360(gpb::GetCustomer360Request {
                recent: 51,
                ..by(Key::Phone("13900000361".into()))
            })
            .await,
        &["recent"],
    );
    // The hotline's screen, not an outlet's.
    assert_refused(
        platform
            .gateway("D1001", Role::Dealer)
            .get_customer360(by(Key::Phone("13900000361".into())))
            .await,
        Code::PermissionDenied,
        "METHOD_NOT_ALLOWED",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_is_down_marks_its_sections_and_the_rest_stands() {
    let database_url = dealernet_tests::fresh_database().await;
    // The call center runs in a process of its own, so that it can be killed; the
    // gateway is told its address before it starts (connections are made lazily).
    let callcenter_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let platform =
        TestPlatform::spawn_gateway_on(&database_url, |l| dealernet_kit::config::Layer {
            services: Some(vec![
                "customers".into(),
                "vehicles".into(),
                "dealers".into(),
                "gateway".into(),
            ]),
            callcenter_url: Some(format!("http://{callcenter_addr}")),
            ..l
        })
        .await;
    let url_of = |service| format!("http://{}", platform.backend_addr(service));
    let (mut callcenter, _) = crate::server_process_with(
        &database_url,
        Some("callcenter"),
        &[
            ("DEALERNET_TEST_LISTEN_ADDR", callcenter_addr.to_string()),
            (
                "DEALERNET_TEST_CUSTOMERS_URL",
                url_of(ServiceKind::Customers),
            ),
            ("DEALERNET_TEST_DEALERS_URL", url_of(ServiceKind::Dealers)),
        ],
    );
    let her = customer(&platform, "13900000362").await;
    let before = platform
        .gateway("CALLCENTER", Role::Agent)
        .get_customer360(by(Key::Customer(her.clone())))
        .await
        .expect("an answer with the call center up")
        .into_inner();
    assert!(
        ok(&before.open_cases.expect("cases").status),
        "the call center answers while it runs"
    );
    callcenter.kill().expect("kill the call center");
    callcenter.wait().expect("reap");
    let started = Instant::now();
    let answer = platform
        .gateway("CALLCENTER", Role::Agent)
        .get_customer360(by(Key::Customer(her.clone())))
        .await
        .expect("an answer without the call center")
        .into_inner();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(answer.customer.map(|c| c.name), Some(her));
    assert!(ok(&answer.vehicles.expect("vehicles").status));
    assert!(ok(&answer.repair_orders.expect("repairs").status));
    for status in [
        answer.open_cases.expect("cases").status,
        answer.pending_callbacks.expect("callbacks").status,
        answer.surveys.expect("surveys").status,
    ] {
        let status = status.expect("a status");
        assert_eq!(
            status.state,
            gpb::SectionState::Unavailable as i32,
            "{status:?}"
        );
        assert_eq!(status.code, Code::Unavailable as i32, "{status:?}");
    }
}
