//! Selling a car to a registry customer, delivery, ownership transfer, scrapping.

use dealernet_kit::auth::Role;
use dealernet_proto::{customers::v1 as cpb, types::v1 as types, vehicles::v1 as pb};
use dealernet_tests::{TestPlatform, VehiclesClient};
use prost_types::Timestamp;
use tonic::Code;

use crate::{assert_invalid, assert_refused, person, test_vin as vin};

pub(crate) fn later(days: i64) -> Option<Timestamp> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    Some(Timestamp {
        seconds: now + days * 86_400,
        nanos: 0,
    })
}

/// The model DA7-2026 (36 months or 100,000 km of warranty) with a list price of 199,800
/// CNY valid today; calling it again changes nothing.
pub(crate) async fn priced_model(platform: &TestPlatform) {
    let mut hq = platform.vehicles("HQ", Role::Hq);
    let model = pb::Model {
        code: "DA7-2026".into(),
        brand: "Dealernet Auto".into(),
        series: "DA7".into(),
        body: pb::BodyStyle::Suv as i32,
        powertrain: pb::Powertrain::Bev as i32,
        model_year: 2026,
        warranty_months: 36,
        warranty_km: 100_000,
        ..Default::default()
    };
    if hq
        .create_model(pb::CreateModelRequest {
            model: Some(model),
            request_id: "model-da7".into(),
        })
        .await
        .is_ok()
    {
        hq.create_model_price(pb::CreateModelPriceRequest {
            parent: "models/DA7-2026".into(),
            price: Some(pb::ModelPrice {
                price: Some(types::Money {
                    currency_code: "CNY".into(),
                    minor_units: 19_980_000,
                }),
                valid_from: Some(types::Date {
                    year: 2020,
                    month: 1,
                    day: 1,
                }),
                ..Default::default()
            }),
            request_id: "price-da7".into(),
        })
        .await
        .expect("price");
    }
}

/// A car in stock at D1001 with a list price of 199,800 CNY valid today.
pub(crate) async fn car_in_stock(platform: &TestPlatform, n: u32) -> String {
    crate::network(platform).await;
    priced_model(platform).await;
    let vin = vin(n);
    let mut factory = platform.vehicles("PLANT-SH", Role::System);
    factory
        .register_production(pb::RegisterProductionRequest {
            vin: vin.clone(),
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
    factory
        .dispatch_shipment(pb::DispatchShipmentRequest {
            vins: vec![vin.clone()],
            carrier: "c".into(),
            origin: "CN-SH-01".into(),
            destination_outlet: "D1001".into(),
            eta: later(2),
            request_id: String::new(),
        })
        .await
        .expect("dispatch");
    platform
        .vehicles("D1001", Role::Dealer)
        .receive_at_dealer(pb::ReceiveAtDealerRequest {
            vehicle: format!("vehicles/{vin}"),
            outlet: "D1001".into(),
            request_id: String::new(),
        })
        .await
        .expect("receive");
    format!("vehicles/{vin}")
}

pub(crate) async fn customer(platform: &TestPlatform, phone: &str) -> String {
    platform
        .customers("D1001", Role::Dealer)
        .create_customer(cpb::CreateCustomerRequest {
            customer: Some(person("王", "伟", phone)),
            request_id: String::new(),
        })
        .await
        .expect("customer")
        .into_inner()
        .customer
        .expect("c")
        .name
}

pub(crate) fn sell(vehicle: &str, customer: &str, yuan: i64) -> pb::SellVehicleRequest {
    pb::SellVehicleRequest {
        vehicle: vehicle.into(),
        customer: customer.into(),
        price: Some(types::Money {
            currency_code: "CNY".into(),
            minor_units: yuan * 100,
        }),
        sales_person: "S-017".into(),
        sale_type: pb::SaleType::Retail as i32,
        request_id: String::new(),
    }
}

pub(crate) async fn state(client: &mut VehiclesClient, vehicle: &str) -> pb::Vehicle {
    client
        .get_vehicle(pb::GetVehicleRequest {
            include_owner: false,
            name: vehicle.into(),
        })
        .await
        .expect("get")
        .into_inner()
        .vehicle
        .expect("v")
}

#[tokio::test]
async fn sold_delivered_resold_scrapped() {
    let platform = TestPlatform::spawn().await;
    let car = car_in_stock(&platform, 1).await;
    let buyer = customer(&platform, "13800138000").await;
    let mut dealer = platform.vehicles("D1001", Role::Dealer);

    assert_refused(
        dealer
            .sell_vehicle(sell(
                &car,
                "customers/01936f0e-0000-7000-8000-000000000000",
                195_000,
            ))
            .await,
        Code::FailedPrecondition,
        "CUSTOMER_NOT_FOUND",
    );
    assert_refused(
        platform
            .vehicles("D1002", Role::Dealer)
            .sell_vehicle(sell(&car, &buyer, 195_000))
            .await,
        Code::PermissionDenied,
        "NOT_YOUR_OUTLET",
    );
    assert_invalid(
        dealer
            .sell_vehicle(pb::SellVehicleRequest {
                sale_type: 0,
                sales_person: String::new(),
                ..sell(&car, "x", -1)
            })
            .await,
        &["customer", "price.minor_units", "sales_person", "sale_type"],
    );
    let sold = dealer
        .sell_vehicle(sell(&car, &buyer, 195_000))
        .await
        .expect("sell")
        .into_inner();
    let deviation = sold.deviation.expect("listed price");
    assert_eq!(
        deviation.minor_units, -480_000,
        "sold 4,800 CNY under the list price"
    );
    let vehicle = sold.vehicle.expect("vehicle");
    assert_eq!(
        (vehicle.state, vehicle.owner.as_str()),
        (pb::VehicleState::Sold as i32, buyer.as_str())
    );
    assert_refused(
        dealer.sell_vehicle(sell(&car, &buyer, 195_000)).await,
        Code::FailedPrecondition,
        "VEHICLE_ALREADY_SOLD",
    );

    assert_invalid(
        dealer
            .deliver_vehicle(pb::DeliverVehicleRequest {
                vehicle: car.clone(),
                odometer_km: 50_000,
                request_id: String::new(),
            })
            .await,
        &["odometer_km"],
    );
    dealer
        .deliver_vehicle(pb::DeliverVehicleRequest {
            vehicle: car.clone(),
            odometer_km: 12,
            request_id: String::new(),
        })
        .await
        .expect("deliver");
    let delivered = state(&mut dealer, &car).await;
    assert_eq!(
        (
            delivered.state,
            delivered.odometer_km,
            delivered.holder_outlet.as_str()
        ),
        (pb::VehicleState::Delivered as i32, 12, "")
    );

    let second = customer(&platform, "13900139000").await;
    let today = today_date();
    dealer
        .transfer_ownership(pb::TransferOwnershipRequest {
            vehicle: car.clone(),
            new_owner: second.clone(),
            since: Some(today),
            request_id: String::new(),
        })
        .await
        .expect("transfer");
    assert_eq!(state(&mut dealer, &car).await.owner, second);
    assert_refused(
        dealer
            .transfer_ownership(pb::TransferOwnershipRequest {
                vehicle: car.clone(),
                new_owner: second.clone(),
                since: Some(today),
                request_id: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        "ALREADY_OWNER",
    );

    assert_refused(
        dealer
            .scrap_vehicle(pb::ScrapVehicleRequest {
                vehicle: car.clone(),
                reason: "total loss".into(),
                request_id: String::new(),
            })
            .await,
        Code::PermissionDenied,
        "HQ_ROLE_REQUIRED",
    );
    let mut hq = platform.vehicles("HQ", Role::Hq);
    hq.scrap_vehicle(pb::ScrapVehicleRequest {
        vehicle: car.clone(),
        reason: "total loss".into(),
        request_id: String::new(),
    })
    .await
    .expect("scrap");
    assert_refused(
        dealer
            .deliver_vehicle(pb::DeliverVehicleRequest {
                vehicle: car.clone(),
                odometer_km: 1,
                request_id: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        "VEHICLE_SCRAPPED",
    );
    let events = dealer
        .get_vehicle_timeline(pb::GetVehicleTimelineRequest {
            vehicle: car.clone(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("events")
        .into_inner()
        .events;
    let last: Vec<&str> = events
        .iter()
        .rev()
        .take(4)
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(last, ["SCRAP", "TRANSFER_OWNERSHIP", "DELIVER", "SELL"]);
}

fn today_date() -> types::Date {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    types::Date {
        year: today.year(),
        month: today.month() as i32,
        day: today.day() as i32,
    }
}

#[tokio::test]
async fn reservations_and_erased_buyers_are_respected() {
    let platform = TestPlatform::spawn().await;
    let car = car_in_stock(&platform, 2).await;
    let reserved_for = customer(&platform, "13800138000").await;
    let other = customer(&platform, "13900139000").await;
    let mut dealer = platform.vehicles("D1001", Role::Dealer);
    dealer
        .reserve_vehicle(pb::ReserveVehicleRequest {
            vehicle: car.clone(),
            customer: reserved_for.clone(),
            expire_time: later(3),
            request_id: String::new(),
        })
        .await
        .expect("reserve");
    assert_refused(
        dealer.sell_vehicle(sell(&car, &other, 199_800)).await,
        Code::FailedPrecondition,
        "VEHICLE_RESERVED_FOR_ANOTHER",
    );
    platform
        .customers("HQ", Role::Hq)
        .erase_customer(cpb::EraseCustomerRequest {
            name: other.clone(),
            reason: "request".into(),
            request_id: String::new(),
        })
        .await
        .expect("erase");
    assert_refused(
        dealer.sell_vehicle(sell(&car, &other, 199_800)).await,
        Code::FailedPrecondition,
        "CUSTOMER_ERASED",
    );
    let sold = dealer
        .sell_vehicle(sell(&car, &reserved_for, 199_800))
        .await
        .expect("sell")
        .into_inner();
    assert_eq!(sold.deviation.expect("listed").minor_units, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twenty_concurrent_sellers_exactly_one_wins() {
    let platform = TestPlatform::spawn().await;
    let car = car_in_stock(&platform, 3).await;
    let mut buyers = Vec::new();
    for i in 0..20 {
        buyers.push(customer(&platform, &format!("1350000{i:04}")).await);
    }
    let mut calls = Vec::new();
    for (i, buyer) in buyers.into_iter().enumerate() {
        let mut client = if i % 2 == 0 {
            platform.vehicles("D1001", Role::Dealer)
        } else {
            platform.vehicles("HQ", Role::Hq)
        };
        let req = sell(&car, &buyer, 199_800);
        calls.push(tokio::spawn(async move { client.sell_vehicle(req).await }));
    }
    let mut won = 0;
    for call in calls {
        match call.await.expect("join") {
            Ok(_) => won += 1,
            Err(status) => assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(platform.count_in("vehicles", "sale").await, 1);
}

#[tokio::test]
async fn odometer_rollbacks_are_flagged_and_overrides_recorded() {
    let platform = TestPlatform::spawn().await;
    let car = car_in_stock(&platform, 4).await;
    let buyer = customer(&platform, "13800138000").await;
    let mut dealer = platform.vehicles("D1001", Role::Dealer);
    dealer
        .sell_vehicle(sell(&car, &buyer, 199_800))
        .await
        .expect("sell");
    dealer
        .deliver_vehicle(pb::DeliverVehicleRequest {
            vehicle: car.clone(),
            odometer_km: 12,
            request_id: String::new(),
        })
        .await
        .expect("deliver");

    let mut telematics = platform.vehicles("TELEMATICS", Role::System);
    // Read now, to the microsecond, so that each reading is later than the one before.
    let reading = |km: i64| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock");
        pb::RecordOdometerReadingRequest {
            vehicle: car.clone(),
            km,
            source: pb::OdometerSource::Telematics as i32,
            read_time: Some(Timestamp {
                seconds: now.as_secs() as i64,
                nanos: now.subsec_micros() as i32 * 1_000,
            }),
            request_id: String::new(),
        }
    };
    let first = telematics
        .record_odometer_reading(reading(5_000))
        .await
        .expect("reading")
        .into_inner();
    assert!(!first.suspected_rollback);
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let lower = telematics
        .record_odometer_reading(reading(3_000))
        .await
        .expect("kept")
        .into_inner();
    assert!(lower.suspected_rollback);
    let vehicle = lower.vehicle.expect("vehicle");
    assert!(vehicle.odometer_rollback_suspected);
    assert_eq!(vehicle.odometer_km, 3_000, "the latest reading, flagged");
    assert_invalid(
        telematics
            .record_odometer_reading(pb::RecordOdometerReadingRequest {
                source: 0,
                km: -1,
                read_time: later(3),
                ..reading(0)
            })
            .await,
        &["km", "source", "read_time"],
    );
    // A reading that arrives late, dated before the delivery but far higher, exposes the
    // lower readings after it.
    let late = pb::RecordOdometerReadingRequest {
        read_time: later(-30),
        ..reading(90_000)
    };
    assert!(
        telematics
            .record_odometer_reading(late)
            .await
            .expect("late")
            .into_inner()
            .suspected_rollback
    );
    assert_refused(
        dealer.record_odometer_reading(reading(6_000)).await,
        Code::PermissionDenied,
        "NOT_YOUR_VEHICLE",
    );

    let fix = pb::OverrideStateRequest {
        vehicle: car.clone(),
        state: pb::VehicleState::InStock as i32,
        reason: "delivery entered in error".into(),
        request_id: String::new(),
    };
    assert_refused(
        dealer.override_state(fix.clone()).await,
        Code::PermissionDenied,
        "HQ_ROLE_REQUIRED",
    );
    let mut hq = platform.vehicles("HQ", Role::Hq);
    assert_invalid(
        hq.override_state(pb::OverrideStateRequest {
            reason: " ".into(),
            state: 0,
            ..fix.clone()
        })
        .await,
        &["state", "reason"],
    );
    let fixed = hq
        .override_state(fix)
        .await
        .expect("override")
        .into_inner()
        .vehicle
        .expect("v");
    assert_eq!(fixed.state, pb::VehicleState::InStock as i32);
    let events = hq
        .get_vehicle_timeline(pb::GetVehicleTimelineRequest {
            vehicle: car.clone(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("events")
        .into_inner()
        .events;
    let last = events.last().expect("events");
    assert_eq!(last.action, "OVERRIDE_STATE");
    assert_eq!(
        last.details.get("reason").map(String::as_str),
        Some("delivery entered in error")
    );
    assert_eq!(
        last.details.get("from").map(String::as_str),
        Some("DELIVERED")
    );
}

#[tokio::test]
async fn warranty_runs_from_the_sale_for_the_model_s_months_and_kilometres() {
    let platform = TestPlatform::spawn().await;
    let car = car_in_stock(&platform, 6).await;
    let mut station = platform.vehicles("S3001", Role::Station);
    let check = |date: Option<types::Date>, km: i64| pb::CheckWarrantyRequest {
        vehicle: car.clone(),
        date,
        odometer_km: km,
    };
    let unsold = station
        .check_warranty(check(None, 0))
        .await
        .expect("check")
        .into_inner();
    assert_eq!(
        (unsold.covered, unsold.reason.as_str()),
        (false, "NOT_SOLD")
    );

    let buyer = customer(&platform, "13800138000").await;
    platform
        .vehicles("D1001", Role::Dealer)
        .sell_vehicle(sell(&car, &buyer, 199_800))
        .await
        .expect("sell");
    let today = today_date();
    let covered = station
        .check_warranty(check(None, 0))
        .await
        .expect("check")
        .into_inner();
    assert_eq!(
        (covered.covered, covered.reason.as_str(), covered.limit_km),
        (true, "COVERED", 100_000)
    );
    assert_eq!(covered.start_date, Some(today));
    let end = covered.end_date.expect("end");
    assert_eq!(end.year, today.year + 3, "36 months");
    let far = station
        .check_warranty(check(
            Some(types::Date {
                year: today.year + 4,
                ..today
            }),
            0,
        ))
        .await
        .expect("check")
        .into_inner();
    assert_eq!(far.reason, "EXPIRED_BY_TIME");
    let worn = station
        .check_warranty(check(None, 150_000))
        .await
        .expect("check")
        .into_inner();
    assert_eq!(worn.reason, "EXPIRED_BY_DISTANCE");
    assert_invalid(
        station
            .check_warranty(pb::CheckWarrantyRequest {
                vehicle: "vehicles/x".into(),
                date: Some(types::Date {
                    year: 2026,
                    month: 2,
                    day: 30,
                }),
                odometer_km: -1,
            })
            .await,
        &["vehicle", "date", "odometer_km"],
    );
}
