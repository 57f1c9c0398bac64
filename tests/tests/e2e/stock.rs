//! Stock movements: plant → shipment → outlet → reservation → transfer.

use dealernet_kit::auth::Role;
use dealernet_proto::vehicles::v1 as pb;
use dealernet_tests::{TestPlatform, VehiclesClient};
use prost_types::Timestamp;
use tonic::Code;

use crate::{assert_invalid, assert_refused, test_vin as vin};

fn later(days: i64) -> Option<Timestamp> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    Some(Timestamp {
        seconds: now + days * 86_400,
        nanos: 0,
    })
}

const CUSTOMER: &str = "customers/01936f0e-0000-7000-8000-000000000001";

/// A model and `n` produced vehicles; returns the factory client.
async fn produced(platform: &TestPlatform, vins: &[String]) -> VehiclesClient {
    crate::network(platform).await;
    platform
        .vehicles("HQ", Role::Hq)
        .create_model(pb::CreateModelRequest {
            model: Some(pb::Model {
                code: "DA7-2026".into(),
                brand: "Dealernet Auto".into(),
                series: "DA7".into(),
                body: pb::BodyStyle::Suv as i32,
                powertrain: pb::Powertrain::Bev as i32,
                model_year: 2026,
                warranty_months: 36,
                warranty_km: 100_000,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("model");
    let mut factory = platform.vehicles("PLANT-SH", Role::System);
    for v in vins {
        factory
            .register_production(pb::RegisterProductionRequest {
                vin: v.clone(),
                model: "models/DA7-2026".into(),
                plant: "CN-SH-01".into(),
                line: "L2".into(),
                built_at: Some(Timestamp {
                    seconds: 1_790_000_000,
                    nanos: 0,
                }),
                engine_number: "EM1".into(),
                colour: "White".into(),
                request_id: String::new(),
            })
            .await
            .expect("produce");
    }
    factory
}

fn dispatch(vins: &[String], to: &str) -> pb::DispatchShipmentRequest {
    pb::DispatchShipmentRequest {
        vins: vins.to_vec(),
        carrier: "安吉物流".into(),
        origin: "CN-SH-01".into(),
        destination_outlet: to.into(),
        eta: later(3),
        request_id: String::new(),
    }
}

fn receive(vin: &str, outlet: &str) -> pb::ReceiveAtDealerRequest {
    pb::ReceiveAtDealerRequest {
        vehicle: format!("vehicles/{vin}"),
        outlet: outlet.into(),
        request_id: String::new(),
    }
}

fn reserve(vin: &str, customer: &str) -> pb::ReserveVehicleRequest {
    pb::ReserveVehicleRequest {
        vehicle: format!("vehicles/{vin}"),
        customer: customer.into(),
        expire_time: later(7),
        request_id: String::new(),
    }
}

async fn state(client: &mut VehiclesClient, vin: &str) -> (pb::VehicleState, String) {
    let v = client
        .get_vehicle(pb::GetVehicleRequest {
            include_owner: false,
            name: format!("vehicles/{vin}"),
        })
        .await
        .expect("get")
        .into_inner()
        .vehicle
        .expect("v");
    (
        pb::VehicleState::try_from(v.state).expect("state"),
        v.holder_outlet,
    )
}

#[tokio::test]
async fn a_car_travels_from_the_plant_through_two_outlets() {
    use pb::VehicleState as S;
    let platform = TestPlatform::spawn().await;
    let (a, b) = (vin(1), vin(2));
    let mut factory = produced(&platform, &[a.clone(), b.clone()]).await;
    let shipment = factory
        .dispatch_shipment(dispatch(&[a.clone(), b.clone()], "D1001"))
        .await
        .expect("dispatch")
        .into_inner()
        .shipment
        .expect("s");
    assert_eq!(shipment.vehicles.len(), 2);
    factory
        .record_transit_event(pb::RecordTransitEventRequest {
            vehicle: format!("vehicles/{a}"),
            position: "杭州中转站".into(),
            time: later(0),
            status: "arrived at depot".into(),
            request_id: String::new(),
        })
        .await
        .expect("transit");

    let mut d1001 = platform.vehicles("D1001", Role::Dealer);
    let mut d1002 = platform.vehicles("D1002", Role::Dealer);
    assert_refused(
        d1002.receive_at_dealer(receive(&a, "D1001")).await,
        Code::PermissionDenied,
        "NOT_YOUR_OUTLET",
    );
    assert_refused(
        platform
            .vehicles("HQ", Role::Hq)
            .receive_at_dealer(receive(&a, "D1002"))
            .await,
        Code::FailedPrecondition,
        "NOT_DESTINATION_OUTLET",
    );
    d1001
        .receive_at_dealer(receive(&a, "D1001"))
        .await
        .expect("receive");
    assert_eq!(state(&mut d1001, &a).await, (S::InStock, "D1001".into()));
    assert_refused(
        d1001.receive_at_dealer(receive(&a, "D1001")).await,
        Code::FailedPrecondition,
        "VEHICLE_NOT_IN_TRANSIT",
    );
    assert_refused(
        factory
            .dispatch_shipment(dispatch(std::slice::from_ref(&a), "D1002"))
            .await,
        Code::FailedPrecondition,
        "VEHICLE_AT_DEALER_USE_TRANSFER",
    );

    // Reservation by the holder only; release; then transfer to another outlet.
    assert_refused(
        d1002.reserve_vehicle(reserve(&a, CUSTOMER)).await,
        Code::PermissionDenied,
        "NOT_YOUR_OUTLET",
    );
    let reserved = d1001
        .reserve_vehicle(reserve(&a, CUSTOMER))
        .await
        .expect("reserve")
        .into_inner()
        .vehicle
        .expect("v");
    assert_eq!(
        (reserved.state, reserved.reserved_for.as_str()),
        (S::Reserved as i32, CUSTOMER)
    );
    assert_refused(
        d1001
            .transfer_stock(pb::TransferStockRequest {
                vehicle: format!("vehicles/{a}"),
                destination_outlet: "D1002".into(),
                carrier: "x".into(),
                eta: later(2),
                request_id: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        "VEHICLE_RESERVED",
    );
    d1001
        .release_reservation(pb::ReleaseReservationRequest {
            vehicle: format!("vehicles/{a}"),
            request_id: String::new(),
        })
        .await
        .expect("release");
    d1001
        .transfer_stock(pb::TransferStockRequest {
            vehicle: format!("vehicles/{a}"),
            destination_outlet: "D1002".into(),
            carrier: "x".into(),
            eta: later(2),
            request_id: String::new(),
        })
        .await
        .expect("transfer");
    assert_eq!(state(&mut d1001, &a).await, (S::InTransit, String::new()));
    d1002
        .receive_at_dealer(receive(&a, "D1002"))
        .await
        .expect("received at the new outlet");
    assert_eq!(state(&mut d1002, &a).await, (S::InStock, "D1002".into()));

    let actions: Vec<String> = d1002
        .get_vehicle_timeline(pb::GetVehicleTimelineRequest {
            vehicle: format!("vehicles/{a}"),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("events")
        .into_inner()
        .events
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "REGISTER_PRODUCTION",
            "DISPATCH_SHIPMENT",
            "RECORD_TRANSIT_EVENT",
            "RECEIVE_AT_DEALER",
            "RESERVE",
            "RELEASE_RESERVATION",
            "TRANSFER_STOCK",
            "RECEIVE_AT_DEALER"
        ]
    );
    // B never arrived: still in transit, its history untouched by A's refusals.
    assert_eq!(state(&mut d1001, &b).await, (S::InTransit, String::new()));
}

#[tokio::test]
async fn bad_stock_requests_are_refused() {
    let platform = TestPlatform::spawn().await;
    let a = vin(1);
    let mut factory = produced(&platform, std::slice::from_ref(&a)).await;
    assert_invalid(
        factory
            .dispatch_shipment(pb::DispatchShipmentRequest {
                vins: vec![a.clone(), a.clone(), "X".into()],
                eta: None,
                ..dispatch(&[], "d 1")
            })
            .await,
        &["vins[1]", "vins[2]", "destination_outlet", "eta"],
    );
    assert_refused(
        platform
            .vehicles("D1001", Role::Dealer)
            .dispatch_shipment(dispatch(std::slice::from_ref(&a), "D1001"))
            .await,
        Code::PermissionDenied,
        "LOGISTICS_ROLE_REQUIRED",
    );
    assert_refused(
        factory
            .dispatch_shipment(dispatch(&[vin(99)], "D1001"))
            .await,
        Code::NotFound,
        "VEHICLE_NOT_FOUND",
    );
    assert_eq!(
        platform.count_in("vehicles", "shipment").await,
        0,
        "a refused dispatch writes no shipment"
    );
    assert_refused(
        factory.receive_at_dealer(receive(&a, "D1001")).await,
        Code::FailedPrecondition,
        "VEHICLE_NOT_IN_TRANSIT",
    );
    assert_invalid(
        factory
            .reserve_vehicle(pb::ReserveVehicleRequest {
                expire_time: later(365),
                ..reserve(&a, "nobody")
            })
            .await,
        &["customer", "expire_time"],
    );
    assert_eq!(platform.count_in("vehicles", "vehicle_event").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_ten_outlet_staff_reserving_one_car_exactly_one_wins() {
    let platform = TestPlatform::spawn().await;
    let a = vin(5);
    let mut factory = produced(&platform, std::slice::from_ref(&a)).await;
    factory
        .dispatch_shipment(dispatch(std::slice::from_ref(&a), "D1001"))
        .await
        .expect("dispatch");
    platform
        .vehicles("D1001", Role::Dealer)
        .receive_at_dealer(receive(&a, "D1001"))
        .await
        .expect("receive");
    let mut calls = Vec::new();
    for i in 0..10 {
        let mut client = platform.vehicles("D1001", Role::Dealer);
        let req = reserve(
            &a,
            &format!("customers/01936f0e-0000-7000-8000-0000000000{i:02}"),
        );
        calls.push(tokio::spawn(
            async move { client.reserve_vehicle(req).await },
        ));
    }
    let mut won = 0;
    for call in calls {
        match call.await.expect("join") {
            Ok(_) => won += 1,
            Err(status) => assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}"),
        }
    }
    assert_eq!(won, 1);
}
