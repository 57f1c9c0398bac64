//! Repair orders end to end: warranty and recall lines, the workflow, totals, the
//! vehicle's timeline and who may see and change what.

use dealernet_kit::auth::Role;
use dealernet_proto::{types::v1 as types, vehicles::v1 as pb};
use dealernet_tests::{TestPlatform, VehiclesClient};
use tonic::Code;

use crate::{
    assert_invalid, assert_refused,
    sale::{car_in_stock, customer, sell},
};

mod access;

fn cny(yuan: i64) -> Option<types::Money> {
    Some(types::Money {
        currency_code: "CNY".into(),
        minor_units: yuan * 100,
    })
}

pub(crate) fn labour(op: &str, hours: f64, pay: pb::PayType) -> pb::RepairOrderLine {
    pb::RepairOrderLine {
        item: Some(pb::repair_order_line::Item::Labour(pb::LabourLine {
            operation_code: op.into(),
            hours,
            technician: "T-042".into(),
            hourly_rate: cny(200),
        })),
        pay_type: pay as i32,
        ..Default::default()
    }
}

pub(crate) fn part(
    number: &str,
    batch: &str,
    qty: i32,
    yuan: i64,
    pay: pb::PayType,
) -> pb::RepairOrderLine {
    pb::RepairOrderLine {
        item: Some(pb::repair_order_line::Item::Part(pb::PartLine {
            part_number: number.into(),
            batch: batch.into(),
            serial: String::new(),
            quantity: qty,
            unit_price: cny(yuan),
        })),
        pay_type: pay as i32,
        fault_code: "P0301".into(),
        ..Default::default()
    }
}

/// A car sold to a new customer and delivered at 12 km; returns (vehicle, owner).
pub(crate) async fn delivered_car(
    platform: &TestPlatform,
    n: u32,
    phone: &str,
) -> (String, String) {
    let car = car_in_stock(platform, n).await;
    let buyer = customer(platform, phone).await;
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
    (car, buyer)
}

pub(crate) fn open(car: &str, station: &str, km: i64) -> pb::OpenRepairOrderRequest {
    pb::OpenRepairOrderRequest {
        vehicle: car.into(),
        station: station.into(),
        customer: String::new(),
        service_advisor: "SA-7".into(),
        complaint: "Rattle from the front left wheel".into(),
        odometer_km: km,
        currency_code: String::new(),
        request_id: String::new(),
    }
}

pub(crate) async fn add(
    client: &mut VehiclesClient,
    order: &str,
    line: pb::RepairOrderLine,
) -> Result<pb::RepairOrder, tonic::Status> {
    client
        .add_repair_order_line(pb::AddRepairOrderLineRequest {
            repair_order: order.into(),
            line: Some(line),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner().repair_order.expect("order"))
}

pub(crate) async fn set_status(
    client: &mut VehiclesClient,
    order: &str,
    status: pb::RepairOrderStatus,
    diagnosis: &str,
) -> Result<pb::RepairOrder, tonic::Status> {
    client
        .set_repair_order_status(pb::SetRepairOrderStatusRequest {
            repair_order: order.into(),
            status: status as i32,
            diagnosis: diagnosis.into(),
            etag: String::new(),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner().repair_order.expect("order"))
}

pub(crate) async fn campaign_for(
    platform: &TestPlatform,
    code: &str,
    vins: &[&str],
) -> pb::RecallCampaign {
    platform
        .vehicles("HQ", Role::Hq)
        .create_recall_campaign(pb::CreateRecallCampaignRequest {
            campaign: Some(pb::RecallCampaign {
                code: code.into(),
                title: "Front wheel bearing".into(),
                description: "The bearing may wear early".into(),
                remedy: "Replace the bearing".into(),
                selection: Some(pb::recall_campaign::Selection::Vins(pb::VinList {
                    vins: vins
                        .iter()
                        .map(|v| v.trim_start_matches("vehicles/").to_owned())
                        .collect(),
                })),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("campaign")
        .into_inner()
        .campaign
        .expect("campaign")
}

#[tokio::test]
async fn repair_order_with_warranty_and_recall_lines() {
    use pb::{PayType::*, RepairOrderStatus as S};
    let platform = TestPlatform::spawn().await;
    let (car, owner) = delivered_car(&platform, 101, "13800138101").await;
    let recall = campaign_for(&platform, "R2026-001", &[&car]).await;
    assert_eq!(recall.affected_count, 1);

    let mut station = platform.vehicles("S2001", Role::Station);
    let view = station
        .get_vehicle(pb::GetVehicleRequest {
            include_owner: false,
            name: car.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(view.open_recalls, vec!["recallCampaigns/R2026-001"]);
    assert_eq!(view.selling_outlet, "D1001");
    assert!(view.warranty.expect("warranty").covered);
    assert!(view.owner_record.is_none(), "only when asked for");

    // The owner as each caller may see them: the registry decides, with the caller's own
    // credentials. The selling dealer created the customer; this station is a stranger.
    let owner_as = |client: &mut VehiclesClient| {
        let mut client = client.clone();
        let car = car.clone();
        async move {
            client
                .get_vehicle(pb::GetVehicleRequest {
                    name: car,
                    include_owner: true,
                })
                .await
                .expect("get with owner")
                .into_inner()
                .owner_record
                .expect("owner record")
        }
    };
    let masked = owner_as(&mut station).await;
    let full = owner_as(&mut platform.vehicles("D1001", Role::Dealer)).await;
    assert_eq!(masked.name, owner);
    assert!(masked.masked, "{masked:?}");
    assert!(!full.masked, "{full:?}");
    assert_ne!(masked.phones, full.phones);

    assert_invalid(
        station
            .open_repair_order(pb::OpenRepairOrderRequest {
                complaint: String::new(),
                odometer_km: -1,
                service_advisor: String::new(),
                ..open("vehicles/bad", "s 2001", 0)
            })
            .await,
        &[
            "vehicle",
            "station",
            "service_advisor",
            "complaint",
            "odometer_km",
        ],
    );
    assert_refused(
        station.open_repair_order(open(&car, "S2002", 5_000)).await,
        Code::PermissionDenied,
        "NOT_YOUR_OUTLET",
    );
    let before = platform.count_in("vehicles", "repair_order").await;
    let opened = station
        .open_repair_order(open(&car, "S2001", 5_000))
        .await
        .expect("open")
        .into_inner();
    assert!(!opened.suspected_rollback);
    let ro = opened.repair_order.expect("order");
    assert_eq!(
        platform.count_in("vehicles", "repair_order").await,
        before + 1
    );
    assert_eq!(ro.customer, owner, "the customer defaults to the owner");
    assert_eq!(ro.status, S::Open as i32);
    let name = ro.name.clone();

    add(&mut station, &name, labour("OP-BRG-01", 1.5, Warranty))
        .await
        .expect("warranty labour");
    add(
        &mut station,
        &name,
        part("BRG-6203", "B2026-07", 2, 150, Warranty),
    )
    .await
    .expect("warranty part");
    add(
        &mut station,
        &name,
        pb::RepairOrderLine {
            recall_campaign: recall.name.clone(),
            ..labour("OP-RCL-01", 0.5, Recall)
        },
    )
    .await
    .expect("recall labour");
    let with_lines = add(&mut station, &name, part("OIL-5W30", "", 4, 80, Customer))
        .await
        .expect("customer part");
    assert_eq!(with_lines.lines.len(), 4);
    assert_eq!(
        with_lines.lines[0].amount.as_ref().map(|m| m.minor_units),
        Some(30_000),
        "1.5 h × 200 CNY"
    );

    let lines_before = platform.count_in("vehicles", "repair_order_line").await;
    assert_refused(
        add(
            &mut station,
            &name,
            pb::RepairOrderLine {
                recall_campaign: "recallCampaigns/R2026-999".into(),
                ..labour("OP-RCL-01", 0.5, Recall)
            },
        )
        .await,
        Code::FailedPrecondition,
        "RECALL_NOT_OPEN_FOR_VEHICLE",
    );
    assert_invalid(
        add(
            &mut station,
            &name,
            pb::RepairOrderLine {
                pay_type: 0,
                recall_campaign: "recallCampaigns/R2026-001".into(),
                ..labour("", 0.005, Customer)
            },
        )
        .await,
        &[
            "line.labour.operation_code",
            "line.labour.hours",
            "line.pay_type",
            "line.recall_campaign",
        ],
    );
    assert_invalid(
        add(
            &mut station,
            &name,
            pb::RepairOrderLine {
                recall_campaign: "recallCampaigns/R2026-001".into(),
                ..part("X", "", 0, -1, Customer)
            },
        )
        .await,
        &[
            "line.part.quantity",
            "line.part.unit_price.minor_units",
            "line.recall_campaign",
        ],
    );
    assert_refused(
        add(
            &mut platform.vehicles("S2002", Role::Station),
            &name,
            labour("OP", 1.0, Customer),
        )
        .await,
        Code::NotFound,
        "REPAIR_ORDER_NOT_FOUND",
    );
    assert_eq!(
        platform.count_in("vehicles", "repair_order_line").await,
        lines_before,
        "refused lines write nothing"
    );

    assert_refused(
        set_status(&mut station, &name, S::Closed, "").await,
        Code::FailedPrecondition,
        "REPAIR_ORDER_TRANSITION_NOT_ALLOWED",
    );
    set_status(&mut station, &name, S::InProgress, "")
        .await
        .expect("start");
    set_status(&mut station, &name, S::WaitingParts, "")
        .await
        .expect("wait");
    set_status(&mut station, &name, S::InProgress, "")
        .await
        .expect("parts in");
    assert_refused(
        set_status(&mut station, &name, S::Completed, "").await,
        Code::FailedPrecondition,
        "DIAGNOSIS_REQUIRED",
    );
    let completed = set_status(&mut station, &name, S::Completed, "Worn bearing, replaced")
        .await
        .expect("complete");
    assert!(completed.complete_time.is_some() && completed.totals.is_none());
    assert_refused(
        add(&mut station, &name, labour("OP", 1.0, Customer)).await,
        Code::FailedPrecondition,
        "REPAIR_ORDER_NOT_EDITABLE",
    );

    // The recall line remedied the campaign for this car.
    let open_recalls = station
        .list_open_recalls(pb::ListOpenRecallsRequest {
            vehicle: car.clone(),
        })
        .await
        .expect("open recalls")
        .into_inner()
        .campaigns;
    assert!(open_recalls.is_empty(), "{open_recalls:?}");
    let progress = platform
        .vehicles("HQ", Role::Hq)
        .get_recall_progress(pb::GetRecallProgressRequest {
            campaign: recall.name.clone(),
        })
        .await
        .expect("progress")
        .into_inner();
    assert_eq!((progress.affected, progress.completed), (1, 1));
    assert_eq!(
        progress
            .outlets
            .iter()
            .map(|o| (o.outlet.as_str(), o.affected, o.completed, o.performed))
            .collect::<Vec<_>>(),
        vec![("D1001", 1, 1, 0), ("S2001", 0, 0, 1)],
        "answerable: the selling outlet; performed: the workshop"
    );

    let closed = set_status(&mut station, &name, S::Closed, "")
        .await
        .expect("close");
    let totals = closed.totals.clone().expect("totals on close");
    let minor = |m: Option<types::Money>| m.map(|m| m.minor_units).unwrap_or(-1);
    assert_eq!(totals.labour_hours, 2.0);
    assert_eq!(minor(totals.labour), 40_000);
    assert_eq!(minor(totals.parts), 30_000 + 32_000);
    assert_eq!(minor(totals.warranty), 30_000 + 30_000);
    assert_eq!(minor(totals.recall), 10_000);
    assert_eq!(minor(totals.customer), 32_000);
    assert_eq!(minor(totals.total), 40_000 + 62_000);
    assert_refused(
        set_status(&mut station, &name, S::InProgress, "").await,
        Code::FailedPrecondition,
        "REPAIR_ORDER_CLOSED",
    );

    // The vehicle's own story shows the visit.
    let events = station
        .get_vehicle_timeline(pb::GetVehicleTimelineRequest {
            vehicle: car.clone(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("timeline")
        .into_inner()
        .events;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.ends_with(&[
            "REPAIR_ORDER_OPENED",
            "REPAIR_ORDER_COMPLETED",
            "REPAIR_ORDER_CLOSED"
        ]),
        "{actions:?}"
    );
    // Another outlet sees every entry but not what the seller charged.
    let sale = events
        .iter()
        .find(|e| e.action == "SELL")
        .expect("sale entry");
    assert!(!sale.details.contains_key("price"), "{:?}", sale.details);
    assert!(sale.details.contains_key("sale_type"));
    let seller_view = platform
        .vehicles("D1001", Role::Dealer)
        .get_vehicle_timeline(pb::GetVehicleTimelineRequest {
            vehicle: car.clone(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("seller timeline")
        .into_inner()
        .events;
    let sold = seller_view
        .iter()
        .find(|e| e.action == "SELL")
        .expect("sale entry");
    assert_eq!(
        sold.details.get("price").map(String::as_str),
        Some("CNY 19980000")
    );
    let done = &events[events.len() - 2].details;
    assert_eq!(
        done.get("recalls_remedied").map(String::as_str),
        Some("R2026-001")
    );
    let vehicle = station
        .get_vehicle(pb::GetVehicleRequest {
            include_owner: false,
            name: car.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(vehicle.vehicle.expect("v").odometer_km, 5_000);
    assert!(vehicle.open_recalls.is_empty());

    // Another station lists only its own orders, even of a vehicle it names (the
    // timeline above is the service history it may see); the selling dealer sees them all.
    let mut other = platform.vehicles("S2002", Role::Station);
    let by_vehicle = other
        .list_repair_orders(pb::ListRepairOrdersRequest {
            vehicle: car.clone(),
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner()
        .repair_orders;
    assert!(by_vehicle.is_empty(), "{by_vehicle:?}");
    let sellers = platform
        .vehicles("D1001", Role::Dealer)
        .list_repair_orders(pb::ListRepairOrdersRequest {
            vehicle: car.clone(),
            ..Default::default()
        })
        .await
        .expect("the seller's history")
        .into_inner()
        .repair_orders;
    assert_eq!(
        sellers.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
        [name.as_str()]
    );
    let own = other
        .list_repair_orders(pb::ListRepairOrdersRequest::default())
        .await
        .expect("own")
        .into_inner()
        .repair_orders;
    assert!(own.is_empty());
    assert_refused(
        other
            .list_repair_orders(pb::ListRepairOrdersRequest {
                station: "S2001".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "NOT_YOUR_OUTLET",
    );
    assert_refused(
        other
            .get_repair_order(pb::GetRepairOrderRequest { name: name.clone() })
            .await,
        Code::NotFound,
        "REPAIR_ORDER_NOT_FOUND",
    );
    let fetched = station
        .get_repair_order(pb::GetRepairOrderRequest { name: name.clone() })
        .await
        .expect("get order")
        .into_inner()
        .repair_order
        .expect("order");
    assert_eq!(fetched, closed);
}

#[tokio::test]
async fn warranty_lines_need_cover() {
    use pb::PayType::*;
    let platform = TestPlatform::spawn().await;
    let unsold = car_in_stock(&platform, 201).await;
    let mut station = platform.vehicles("S2001", Role::Station);
    let ro = station
        .open_repair_order(open(&unsold, "S2001", 30))
        .await
        .expect("open for a car in stock")
        .into_inner()
        .repair_order
        .expect("order");
    assert_eq!(ro.customer, "", "nobody owns it yet");
    let status = assert_refused(
        add(&mut station, &ro.name, labour("OP", 1.0, Warranty)).await,
        Code::FailedPrecondition,
        "NOT_UNDER_WARRANTY",
    );
    assert!(status.message().contains("NOT_SOLD"), "{status:?}");
    add(&mut station, &ro.name, labour("OP", 1.0, Goodwill))
        .await
        .expect("goodwill is always possible");

    let (sold, _) = delivered_car(&platform, 202, "13800138202").await;
    let far = station
        .open_repair_order(open(&sold, "S2001", 150_000))
        .await
        .expect("open")
        .into_inner()
        .repair_order
        .expect("order");
    let status = assert_refused(
        add(&mut station, &far.name, part("BRG", "", 1, 10, Warranty)).await,
        Code::FailedPrecondition,
        "NOT_UNDER_WARRANTY",
    );
    assert!(
        status.message().contains("EXPIRED_BY_DISTANCE"),
        "{status:?}"
    );

    // A lower reading at check-in is kept and flagged.
    let back = station
        .open_repair_order(open(&sold, "S2001", 1_000))
        .await
        .expect("open")
        .into_inner();
    assert!(back.suspected_rollback);

    // Lines come off before completion; an unknown line is refused.
    let removed = station
        .remove_repair_order_line(pb::RemoveRepairOrderLineRequest {
            repair_order: ro.name.clone(),
            line_number: 1,
            request_id: String::new(),
        })
        .await
        .expect("remove")
        .into_inner()
        .repair_order
        .expect("order");
    assert!(removed.lines.is_empty());
    assert_refused(
        station
            .remove_repair_order_line(pb::RemoveRepairOrderLineRequest {
                repair_order: ro.name.clone(),
                line_number: 1,
                request_id: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        "REPAIR_ORDER_LINE_NOT_FOUND",
    );
    set_status(
        &mut station,
        &ro.name,
        pb::RepairOrderStatus::InProgress,
        "",
    )
    .await
    .expect("start");
    assert_refused(
        set_status(
            &mut station,
            &ro.name,
            pb::RepairOrderStatus::Completed,
            "ok",
        )
        .await,
        Code::FailedPrecondition,
        "REPAIR_ORDER_HAS_NO_LINES",
    );
    assert_refused(
        station
            .set_repair_order_status(pb::SetRepairOrderStatusRequest {
                repair_order: ro.name.clone(),
                status: pb::RepairOrderStatus::WaitingParts as i32,
                etag: "\"1\"".into(),
                ..Default::default()
            })
            .await,
        Code::Aborted,
        "ETAG_MISMATCH",
    );
    assert_refused(
        platform
            .vehicles("D1001", Role::Agent)
            .open_repair_order(open(&sold, "D1001", 2_000))
            .await,
        Code::PermissionDenied,
        "WORKSHOP_ROLE_REQUIRED",
    );
}

#[tokio::test]
async fn repair_requests_replay_and_racing_moves_apply_once() {
    let platform = TestPlatform::spawn().await;
    let (car, _) = delivered_car(&platform, 601, "13800138601").await;
    let mut station = platform.vehicles("S2001", Role::Station);
    let request = pb::OpenRepairOrderRequest {
        request_id: "ro-601".into(),
        ..open(&car, "S2001", 900)
    };
    let first = station
        .open_repair_order(request.clone())
        .await
        .expect("open")
        .into_inner();
    let again = station
        .open_repair_order(request.clone())
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(first, again);
    assert_eq!(platform.count_in("vehicles", "repair_order").await, 1);
    assert_refused(
        station
            .open_repair_order(pb::OpenRepairOrderRequest {
                odometer_km: 901,
                ..request
            })
            .await,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
    );
    let name = first.repair_order.expect("order").name;

    // Ten advisors start the same order at once: one moves it, the others are refused.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let mut client = station.clone();
            let name = name.clone();
            tokio::spawn(async move {
                set_status(&mut client, &name, pb::RepairOrderStatus::InProgress, "").await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => won += 1,
            Err(status) => assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}"),
        }
    }
    assert_eq!(won, 1);
}
