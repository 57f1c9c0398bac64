//! Who may read a repair order, prices included: HQ, the hotline and platform systems
//! any; an outlet the orders of its own station and of a car it holds or sold. To anyone
//! else the order does not exist, on every RPC that takes its name.

use dealernet_kit::auth::Role;
use dealernet_proto::vehicles::v1 as pb;
use dealernet_tests::TestPlatform;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::{add, labour, open, part, set_status};
use crate::{
    assert_refused,
    sale::{car_in_stock, customer, later, sell},
};

/// A name no order has.
const GHOST: &str = "repairOrders/01936f0e-0000-7000-8000-000000000000";

async fn read(
    platform: &TestPlatform,
    org: &str,
    role: Role,
    name: &str,
) -> Result<pb::RepairOrder, Status> {
    platform
        .vehicles(org, role)
        .get_repair_order(pb::GetRepairOrderRequest { name: name.into() })
        .await
        .map(|r| r.into_inner().repair_order.expect("order"))
}

/// The names ListRepairOrders gives `org` for `vehicle`, optionally of one `station`.
async fn listed(
    platform: &TestPlatform,
    org: &str,
    role: Role,
    vehicle: &str,
    station: &str,
) -> Result<Vec<String>, Status> {
    platform
        .vehicles(org, role)
        .list_repair_orders(pb::ListRepairOrdersRequest {
            vehicle: vehicle.into(),
            station: station.into(),
            ..Default::default()
        })
        .await
        .map(|r| {
            r.into_inner()
                .repair_orders
                .into_iter()
                .map(|o| o.name)
                .collect()
        })
}

/// Asserts that the refusal is the one for an order that does not exist, word for word
/// but the name: it tells neither that the order exists nor anything in it.
#[track_caller]
fn assert_hidden<T: std::fmt::Debug>(result: Result<T, Status>, name: &str, ghost: &Status) {
    let status = assert_refused(result, Code::NotFound, "REPAIR_ORDER_NOT_FOUND");
    assert_eq!(
        status.message().replace(name, GHOST),
        ghost.message(),
        "{status:?}"
    );
    let info = status.get_error_details().error_info().cloned();
    let ghost_info = ghost.get_error_details().error_info().cloned();
    assert_eq!(
        info.map(|i| i.metadata),
        ghost_info.map(|i| {
            let mut m = i.metadata;
            m.insert("name".into(), name.into());
            m
        }),
        "{status:?}"
    );
    let said = format!(
        "{} {}",
        status.message(),
        String::from_utf8_lossy(status.details())
    )
    .replace(name, "");
    for secret in [
        "CNY", "30000", "60000", "BRG-6203", "T-042", "Rattle", "Worn",
    ] {
        assert!(!said.contains(secret), "{secret} leaked: {status:?}");
    }
}

#[tokio::test]
async fn a_repair_order_is_read_by_its_station_the_cars_holder_hq_and_the_hotline() {
    use pb::{PayType::*, RepairOrderStatus as S};
    let platform = TestPlatform::spawn().await;
    // In stock at D1001; station S2001 services it before the sale.
    let car = car_in_stock(&platform, 701).await;
    let mut station = platform.vehicles("S2001", Role::Station);
    let name = station
        .open_repair_order(open(&car, "S2001", 20))
        .await
        .expect("open")
        .into_inner()
        .repair_order
        .expect("order")
        .name;
    add(&mut station, &name, labour("OP-BRG-01", 1.5, Goodwill))
        .await
        .expect("labour");
    add(&mut station, &name, part("BRG-6203", "", 2, 150, Customer))
        .await
        .expect("part");
    set_status(&mut station, &name, S::InProgress, "")
        .await
        .expect("start");
    set_status(&mut station, &name, S::Completed, "Worn bearing")
        .await
        .expect("complete");
    let closed = set_status(&mut station, &name, S::Closed, "")
        .await
        .expect("close");
    assert_eq!(
        closed.totals.as_ref().and_then(|t| t.total.as_ref()),
        Some(&dealernet_proto::types::v1::Money {
            currency_code: "CNY".into(),
            minor_units: 30_000 + 30_000
        })
    );
    let ghost = read(&platform, "HQ", Role::Hq, GHOST)
        .await
        .expect_err("no such order");

    // Those who may read it see all of it, lines and totals.
    for (org, role, who) in [
        ("S2001", Role::Station, "the station that owns it"),
        ("D1001", Role::Dealer, "the dealer holding the car"),
        ("HQ", Role::Hq, "HQ"),
        ("HQ", Role::Steward, "an HQ data steward"),
        ("CALLCENTER", Role::Agent, "the hotline"),
        ("VEHICLES", Role::System, "a platform system"),
    ] {
        let seen = read(&platform, org, role, &name)
            .await
            .unwrap_or_else(|e| panic!("{who}: {e:?}"));
        assert_eq!(seen, closed, "{who}");
    }
    // Everyone else gets what a missing order gets.
    for (org, role) in [
        ("S2002", Role::Station),
        ("D1002", Role::Dealer),
        // The hq role outside head office is an outlet's.
        ("D1002", Role::Hq),
    ] {
        assert_hidden(read(&platform, org, role, &name).await, &name, &ghost);
    }

    // The list returns only orders its caller may read.
    let just = vec![name.clone()];
    assert_eq!(
        listed(&platform, "S2002", Role::Station, &car, "")
            .await
            .expect("list"),
        Vec::<String>::new(),
        "another station names the car: its own orders of it only"
    );
    assert_refused(
        listed(&platform, "S2002", Role::Station, &car, "S2001").await,
        Code::PermissionDenied,
        "NOT_YOUR_OUTLET",
    );
    assert!(
        listed(&platform, "D1002", Role::Dealer, &car, "")
            .await
            .expect("list")
            .is_empty()
    );
    for (org, role, station) in [
        ("S2001", Role::Station, ""),
        ("D1001", Role::Dealer, ""),
        ("D1001", Role::Dealer, "S2001"),
        ("CALLCENTER", Role::Agent, ""),
        ("HQ", Role::Hq, ""),
        ("VEHICLES", Role::System, ""),
    ] {
        assert_eq!(
            listed(&platform, org, role, &car, station)
                .await
                .unwrap_or_else(|e| panic!("{org}: {e:?}")),
            just,
            "{org}"
        );
    }
    assert!(
        listed(&platform, "D1001", Role::Dealer, "", "")
            .await
            .expect("own orders")
            .is_empty(),
        "without a vehicle, an outlet lists its own station's orders"
    );

    // The workshop RPCs hide the order the same way; those who may only read it are
    // refused with the usual reasons. Nothing is written.
    let lines = platform.count_in("vehicles", "repair_order_line").await;
    assert_hidden(
        add(
            &mut platform.vehicles("S2002", Role::Station),
            &name,
            labour("OP", 1.0, Customer),
        )
        .await,
        &name,
        &ghost,
    );
    assert_hidden(
        set_status(
            &mut platform.vehicles("S2002", Role::Station),
            &name,
            S::InProgress,
            "",
        )
        .await,
        &name,
        &ghost,
    );
    assert_hidden(
        platform
            .vehicles("D1002", Role::Dealer)
            .remove_repair_order_line(pb::RemoveRepairOrderLineRequest {
                repair_order: name.clone(),
                line_number: 1,
                request_id: String::new(),
            })
            .await,
        &name,
        &ghost,
    );
    assert_refused(
        add(
            &mut platform.vehicles("D1001", Role::Dealer),
            &name,
            labour("OP", 1.0, Customer),
        )
        .await,
        Code::PermissionDenied,
        "NOT_YOUR_OUTLET",
    );
    assert_refused(
        add(
            &mut platform.vehicles("CALLCENTER", Role::Agent),
            &name,
            labour("OP", 1.0, Customer),
        )
        .await,
        Code::PermissionDenied,
        "WORKSHOP_ROLE_REQUIRED",
    );
    assert_eq!(
        platform.count_in("vehicles", "repair_order_line").await,
        lines
    );

    // The holder is the current one: the car moves to D1002, which then sells and
    // delivers it, and stays answerable for it as its seller.
    let mut d1001 = platform.vehicles("D1001", Role::Dealer);
    d1001
        .transfer_stock(pb::TransferStockRequest {
            vehicle: car.clone(),
            destination_outlet: "D1002".into(),
            carrier: "x".into(),
            eta: later(2),
            request_id: String::new(),
        })
        .await
        .expect("transfer");
    let mut d1002 = platform.vehicles("D1002", Role::Dealer);
    d1002
        .receive_at_dealer(pb::ReceiveAtDealerRequest {
            vehicle: car.clone(),
            outlet: "D1002".into(),
            request_id: String::new(),
        })
        .await
        .expect("receive");
    assert_eq!(
        read(&platform, "D1002", Role::Dealer, &name).await.ok(),
        Some(closed.clone()),
        "the new holder"
    );
    assert_hidden(
        read(&platform, "D1001", Role::Dealer, &name).await,
        &name,
        &ghost,
    );
    assert!(
        listed(&platform, "D1001", Role::Dealer, &car, "")
            .await
            .expect("list")
            .is_empty()
    );
    let buyer = customer(&platform, "13800138701").await;
    d1002
        .sell_vehicle(sell(&car, &buyer, 199_800))
        .await
        .expect("sell");
    d1002
        .deliver_vehicle(pb::DeliverVehicleRequest {
            vehicle: car.clone(),
            odometer_km: 25,
            request_id: String::new(),
        })
        .await
        .expect("deliver");
    assert_eq!(
        read(&platform, "D1002", Role::Dealer, &name).await.ok(),
        Some(closed),
        "the selling dealer, once the car is delivered"
    );
    assert_eq!(
        listed(&platform, "D1002", Role::Dealer, &car, "")
            .await
            .expect("list"),
        just
    );
    assert_hidden(
        read(&platform, "S2002", Role::Station, &name).await,
        &name,
        &ghost,
    );
}
