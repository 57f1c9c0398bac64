//! The vehicle service asks the dealer network before a receipt, a reservation, a sale
//! or a repair: a suspended outlet, or one without the capability, is refused and nothing
//! is written.

use dealernet_kit::auth::Role;
use dealernet_proto::{dealers::v1 as dpb, vehicles::v1 as pb};
use dealernet_tests::TestPlatform;
use prost_types::Timestamp;
use tonic::Code;

use crate::{
    assert_refused,
    repair::{delivered_car, open},
    sale::{car_in_stock, customer, later, sell},
    test_vin,
};

async fn suspend(platform: &TestPlatform, code: &str) {
    platform
        .dealers("HQ", Role::Hq)
        .suspend_outlet(dpb::SuspendOutletRequest {
            name: format!("outlets/{code}"),
            reason: "Audit findings".into(),
            request_id: String::new(),
        })
        .await
        .expect("suspend");
}

#[tokio::test]
async fn a_suspended_outlet_may_not_reserve_sell_receive_or_repair() {
    let platform = TestPlatform::spawn().await;
    let car = car_in_stock(&platform, 801).await;
    let buyer = customer(&platform, "13800138801").await;
    let (delivered, _) = delivered_car(&platform, 802, "13800138802").await;
    let mut factory = platform.vehicles("PLANT-SH", Role::System);
    factory
        .register_production(pb::RegisterProductionRequest {
            vin: test_vin(803),
            model: "models/DA7-2026".into(),
            plant: "CN-SH-01".into(),
            line: "L2".into(),
            built_at: Some(Timestamp {
                seconds: 1_790_000_000,
                nanos: 0,
            }),
            engine_number: "EM803".into(),
            colour: "Red".into(),
            request_id: String::new(),
        })
        .await
        .expect("produce");
    suspend(&platform, "D1001").await;
    suspend(&platform, "S2001").await;
    let events = platform.count_in("vehicles", "vehicle_event").await;
    let mut dealer = platform.vehicles("D1001", Role::Dealer);
    assert_refused(
        dealer.sell_vehicle(sell(&car, &buyer, 199_800)).await,
        Code::FailedPrecondition,
        "OUTLET_SUSPENDED",
    );
    assert_refused(
        dealer
            .reserve_vehicle(pb::ReserveVehicleRequest {
                vehicle: car.clone(),
                customer: buyer.clone(),
                expire_time: later(3),
                request_id: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        "OUTLET_SUSPENDED",
    );
    // HQ acting for the holder is refused just the same.
    assert_refused(
        platform
            .vehicles("HQ", Role::Hq)
            .sell_vehicle(sell(&car, &buyer, 199_800))
            .await,
        Code::FailedPrecondition,
        "OUTLET_SUSPENDED",
    );
    assert_refused(
        platform
            .vehicles("S2001", Role::Station)
            .open_repair_order(open(&delivered, "S2001", 500))
            .await,
        Code::FailedPrecondition,
        "OUTLET_SUSPENDED",
    );
    let ship = |outlet: &str| pb::DispatchShipmentRequest {
        vins: vec![test_vin(803)],
        carrier: "c".into(),
        origin: "CN-SH-01".into(),
        destination_outlet: outlet.into(),
        eta: later(2),
        request_id: String::new(),
    };
    assert_refused(
        factory.dispatch_shipment(ship("D1001")).await,
        Code::FailedPrecondition,
        "OUTLET_SUSPENDED",
    );
    assert_refused(
        factory.dispatch_shipment(ship("S3001")).await,
        Code::FailedPrecondition,
        "OUTLET_LACKS_CAPABILITY",
    );
    assert_refused(
        factory.dispatch_shipment(ship("D9999")).await,
        Code::FailedPrecondition,
        "OUTLET_NOT_FOUND",
    );
    assert_eq!(
        platform.count_in("vehicles", "vehicle_event").await,
        events,
        "refusals write nothing"
    );

    // Reactivated, the dealer trades again.
    platform
        .dealers("HQ", Role::Hq)
        .reactivate_outlet(dpb::ReactivateOutletRequest {
            name: "outlets/D1001".into(),
            reason: "Findings resolved".into(),
            request_id: String::new(),
        })
        .await
        .expect("reactivate");
    dealer
        .sell_vehicle(sell(&car, &buyer, 199_800))
        .await
        .expect("sale after reactivation");
}
