//! HQ insights end to end: cars are produced, shipped, received, sold and repaired and
//! complaints opened through the real RPCs; the pipeline, the overdue transits, the
//! failing parts and the complaint trends must then equal what the test itself counted,
//! and the maintained aggregates must equal a live GROUP BY of the rows after every kind
//! of action, a refused one included.

use std::collections::BTreeMap;

use chrono::{Datelike, Utc};
use dealernet_kit::auth::Role;
use dealernet_proto::{
    callcenter::v1 as cpb, dealers::v1 as dpb, types::v1 as types, vehicles::v1 as pb,
};
use dealernet_tests::{TestPlatform, VehiclesClient};
use prost_types::{FieldMask, Timestamp};
use sqlx::PgConnection;
use tonic::Code;

use crate::{
    assert_invalid, assert_refused, dealers, hotline, network,
    repair::{add, labour, open, part, set_status},
    sale::{customer, later, priced_model, sell},
    test_vin,
};

const DA7: &str = "DA7-2026";
const DB5: &str = "DB5-2026";

/// The sales region of each outlet the tests use (`network` makes EAST ones).
fn region(outlet: &str) -> &'static str {
    match outlet {
        "" => "",
        "D4001" => "NORTH",
        _ => "EAST",
    }
}

/// The second model (no price: it is only built and shipped here).
async fn second_model(platform: &TestPlatform) {
    platform
        .vehicles("HQ", Role::Hq)
        .create_model(pb::CreateModelRequest {
            model: Some(pb::Model {
                code: DB5.into(),
                brand: "Dealernet Auto".into(),
                series: "DB5".into(),
                body: pb::BodyStyle::Sedan as i32,
                powertrain: pb::Powertrain::Phev as i32,
                model_year: 2026,
                warranty_months: 36,
                warranty_km: 100_000,
                ..Default::default()
            }),
            request_id: "model-db5".into(),
        })
        .await
        .expect("model");
}

/// D4001, a dealer of the NORTH region.
async fn north_dealer(platform: &TestPlatform) {
    platform
        .dealers("HQ", Role::Hq)
        .create_outlet(dpb::CreateOutletRequest {
            outlet: Some(dpb::Outlet {
                region: "NORTH".into(),
                ..dealers::outlet_at("D4001", 30.0, &[])
            }),
            request_id: "network-D4001".into(),
        })
        .await
        .expect("outlet");
}

fn ago(days: i64) -> Option<Timestamp> {
    later(-days)
}

/// What the test knows of each car: model, state and the outlet holding it or awaiting it.
#[derive(Default)]
struct Fleet(BTreeMap<String, (&'static str, pb::VehicleState, String)>);

impl Fleet {
    fn set(&mut self, vin: &str, state: pb::VehicleState, outlet: &str) {
        let car = self.0.get_mut(vin).expect("known car");
        (car.1, car.2) = (state, outlet.to_owned());
    }

    /// (state, model, region) → cars, optionally of one region.
    fn pipeline(&self, only: Option<&str>) -> BTreeMap<(i32, String, String), i64> {
        let mut out = BTreeMap::new();
        for (model, state, outlet) in self.0.values() {
            if only.is_some_and(|r| r != region(outlet)) {
                continue;
            }
            let key = (
                *state as i32,
                format!("models/{model}"),
                region(outlet).into(),
            );
            *out.entry(key).or_default() += 1;
        }
        out
    }
}

async fn produce(
    platform: &TestPlatform,
    fleet: &mut Fleet,
    n: u32,
    model: &'static str,
) -> String {
    let vin = test_vin(n);
    platform
        .vehicles("PLANT-SH", Role::System)
        .register_production(pb::RegisterProductionRequest {
            vin: vin.clone(),
            model: format!("models/{model}"),
            plant: "CN-SH-01".into(),
            line: "L2".into(),
            built_at: Some(Timestamp {
                seconds: 1_790_000_000,
                nanos: 0,
            }),
            engine_number: format!("EM{n}"),
            colour: "White".into(),
            request_id: String::new(),
        })
        .await
        .expect("produce");
    fleet.0.insert(
        vin.clone(),
        (model, pb::VehicleState::Produced, String::new()),
    );
    vin
}

async fn dispatch(
    platform: &TestPlatform,
    fleet: &mut Fleet,
    vins: &[&str],
    to: &str,
    eta: Option<Timestamp>,
) {
    platform
        .vehicles("PLANT-SH", Role::System)
        .dispatch_shipment(pb::DispatchShipmentRequest {
            vins: vins.iter().map(|v| v.to_string()).collect(),
            carrier: "Anji".into(),
            origin: "CN-SH-01".into(),
            destination_outlet: to.into(),
            eta,
            request_id: String::new(),
        })
        .await
        .expect("dispatch");
    for vin in vins {
        fleet.set(vin, pb::VehicleState::InTransit, to);
    }
}

async fn receive(platform: &TestPlatform, fleet: &mut Fleet, vin: &str, at: &str) {
    platform
        .vehicles(at, Role::Dealer)
        .receive_at_dealer(pb::ReceiveAtDealerRequest {
            vehicle: format!("vehicles/{vin}"),
            outlet: at.into(),
            request_id: String::new(),
        })
        .await
        .expect("receive");
    fleet.set(vin, pb::VehicleState::InStock, at);
}

/// Closes a repair order on `car` at S3001 with these lines; returns its name.
async fn repair(
    station: &mut VehiclesClient,
    car: &str,
    km: i64,
    lines: Vec<pb::RepairOrderLine>,
    close: bool,
) {
    let order = station
        .open_repair_order(open(car, "S3001", km))
        .await
        .expect("open")
        .into_inner()
        .repair_order
        .expect("order")
        .name;
    for line in lines {
        add(station, &order, line).await.expect("line");
    }
    if !close {
        return;
    }
    for (status, diagnosis) in [
        (pb::RepairOrderStatus::InProgress, ""),
        (pb::RepairOrderStatus::Completed, "worn parts replaced"),
        (pb::RepairOrderStatus::Closed, ""),
    ] {
        set_status(station, &order, status, diagnosis)
            .await
            .expect("status");
    }
}

fn this_month() -> types::Date {
    let local = Utc::now() + chrono::Duration::hours(8);
    types::Date {
        year: local.year(),
        month: local.month() as i32,
        day: 0,
    }
}

fn month_back(m: &types::Date, months: i32) -> types::Date {
    let index = m.year * 12 + m.month - 1 - months;
    types::Date {
        year: index.div_euclid(12),
        month: index.rem_euclid(12) + 1,
        day: 1,
    }
}

async fn pipeline(
    hq: &mut VehiclesClient,
    req: pb::GetVehiclePipelineRequest,
) -> BTreeMap<(i32, String, String), i64> {
    let got = hq
        .get_vehicle_pipeline(req)
        .await
        .expect("pipeline")
        .into_inner();
    let counts: BTreeMap<_, _> = got
        .counts
        .iter()
        .map(|c| ((c.state, c.model.clone(), c.region.clone()), c.vehicles))
        .collect();
    assert_eq!(got.total, counts.values().sum::<i64>());
    counts
}

/// Every overdue car of a filter, page by page: (VINs in order, total_size of each page).
async fn overdue(
    hq: &mut VehiclesClient,
    model: &str,
    region: &str,
    page_size: i32,
) -> (Vec<String>, Vec<i64>) {
    let (mut vins, mut totals, mut token) = (Vec::new(), Vec::new(), String::new());
    loop {
        let page = hq
            .list_overdue_transits(pb::ListOverdueTransitsRequest {
                model: model.into(),
                region: region.into(),
                page_size,
                page_token: token,
            })
            .await
            .expect("overdue")
            .into_inner();
        assert!(page.transits.len() <= page_size as usize);
        for t in &page.transits {
            assert_eq!(t.region, self::region(&t.destination_outlet));
            assert!(t.shipment.starts_with("shipments/"));
        }
        vins.extend(page.transits.into_iter().map(|t| t.vehicle));
        totals.push(page.total_size);
        if page.next_page_token.is_empty() {
            return (vins, totals);
        }
        token = page.next_page_token;
    }
}

#[tokio::test]
async fn insights_equal_what_the_test_counted() {
    let platform = TestPlatform::spawn().await;
    network(&platform).await;
    north_dealer(&platform).await;
    priced_model(&platform).await;
    second_model(&platform).await;
    let mut fleet = Fleet::default();
    let mut da7 = Vec::new();
    for n in 0..8 {
        da7.push(produce(&platform, &mut fleet, 9100 + n, DA7).await);
    }
    let db5 = [
        produce(&platform, &mut fleet, 9110, DB5).await,
        produce(&platform, &mut fleet, 9111, DB5).await,
    ];
    // On time to D1001; late to D4001 (NORTH) and D1002 (EAST); cars 6 and 7 stay home.
    dispatch(
        &platform,
        &mut fleet,
        &[&da7[0], &da7[1], &da7[2]],
        "D1001",
        later(3),
    )
    .await;
    dispatch(&platform, &mut fleet, &[&da7[3], &da7[4]], "D4001", ago(2)).await;
    dispatch(&platform, &mut fleet, &[&da7[5]], "D1002", ago(1)).await;
    dispatch(&platform, &mut fleet, &[&db5[1]], "D4001", ago(3)).await;
    receive(&platform, &mut fleet, &da7[0], "D1001").await;
    receive(&platform, &mut fleet, &da7[1], "D1001").await;
    let buyer = customer(&platform, "13800139100").await;
    let mut dealer = platform.vehicles("D1001", Role::Dealer);
    for vin in [&da7[0], &da7[1]] {
        dealer
            .sell_vehicle(sell(&format!("vehicles/{vin}"), &buyer, 199_800))
            .await
            .expect("sell");
        fleet.set(vin, pb::VehicleState::Sold, "D1001");
    }
    dealer
        .deliver_vehicle(pb::DeliverVehicleRequest {
            vehicle: format!("vehicles/{}", da7[0]),
            odometer_km: 12,
            request_id: String::new(),
        })
        .await
        .expect("deliver");
    let after_delivery = platform
        .vehicles("HQ", Role::Hq)
        .get_vehicle(pb::GetVehicleRequest {
            name: format!("vehicles/{}", da7[0]),
            include_owner: false,
        })
        .await
        .expect("get")
        .into_inner()
        .vehicle
        .expect("vehicle");
    fleet.set(
        &da7[0],
        pb::VehicleState::Delivered,
        &after_delivery.holder_outlet,
    );

    // Two closed orders and an open one (whose parts are not final yet).
    let car = format!("vehicles/{}", da7[0]);
    let mut station = platform.vehicles("S3001", Role::Station);
    let customer_pays = pb::PayType::Customer;
    repair(
        &mut station,
        &car,
        800,
        vec![
            part("BRK-PAD-F", "B1", 2, 300, customer_pays),
            part("OIL-FLT-1", "", 1, 60, customer_pays),
            labour("BRK-01", 1.0, customer_pays),
        ],
        true,
    )
    .await;
    repair(
        &mut station,
        &car,
        900,
        vec![part("BRK-PAD-F", "B2", 1, 300, customer_pays)],
        true,
    )
    .await;
    repair(
        &mut station,
        &car,
        950,
        vec![part("WIPER-9", "", 5, 20, customer_pays)],
        false,
    )
    .await;

    let mut hq = platform.vehicles("HQ", Role::Hq);
    // The pipeline, whole and filtered, equals the test's own count.
    assert_eq!(
        pipeline(&mut hq, Default::default()).await,
        fleet.pipeline(None)
    );
    assert_eq!(
        pipeline(
            &mut hq,
            pb::GetVehiclePipelineRequest {
                region: "NORTH".into(),
                ..Default::default()
            }
        )
        .await,
        fleet.pipeline(Some("NORTH"))
    );
    let in_transit_db5: BTreeMap<_, _> = fleet
        .pipeline(None)
        .into_iter()
        .filter(|((s, m, _), _)| *s == pb::VehicleState::InTransit as i32 && m == "models/DB5-2026")
        .collect();
    assert_eq!(
        pipeline(
            &mut hq,
            pb::GetVehiclePipelineRequest {
                model: format!("models/{DB5}"),
                states: vec![pb::VehicleState::InTransit as i32],
                ..Default::default()
            }
        )
        .await,
        in_transit_db5
    );

    // Overdue: shipped with a past ETA and not received, oldest ETA first.
    let name = |v: &String| format!("vehicles/{v}");
    let (all, totals) = overdue(&mut hq, "", "", 2).await;
    // Cars of one shipment share its ETA and follow in VIN order.
    let mut late_pair = vec![name(&da7[3]), name(&da7[4])];
    late_pair.sort();
    let expected: Vec<String> =
        [vec![name(&db5[1])], late_pair.clone(), vec![name(&da7[5])]].concat();
    assert_eq!(all, expected);
    assert_eq!(totals, vec![4, 4]);
    let (north, totals) = overdue(&mut hq, "", "NORTH", 50).await;
    assert_eq!(north, [vec![name(&db5[1])], late_pair].concat());
    assert_eq!(totals, vec![3]);
    let (da7_east, _) = overdue(&mut hq, &format!("models/{DA7}"), "EAST", 50).await;
    assert_eq!(da7_east, vec![name(&da7[5])]);

    // Failing parts of this month, per 1,000 built DA7s (8 of them).
    let month = this_month();
    let ranked = hq
        .rank_failing_parts(pb::RankFailingPartsRequest {
            start_month: Some(month_back(&month, 2)),
            end_month: Some(month),
            model: String::new(),
            top: 0,
        })
        .await
        .expect("rank")
        .into_inner()
        .parts;
    let got: Vec<(String, String, i64, i64, i64)> = ranked
        .iter()
        .map(|p| {
            (
                p.model.clone(),
                p.part_number.clone(),
                p.lines,
                p.quantity,
                p.vehicles,
            )
        })
        .collect();
    let m = format!("models/{DA7}");
    assert_eq!(
        got,
        vec![
            (m.clone(), "BRK-PAD-F".into(), 2, 3, 8),
            (m.clone(), "OIL-FLT-1".into(), 1, 1, 8),
        ]
    );
    assert!((ranked[0].lines_per_thousand - 250.0).abs() < 1e-9);
    assert_eq!(ranked[0].months.len(), 1);
    assert_eq!(
        ranked[0].months[0].month,
        Some(types::Date { day: 1, ..month })
    );
    assert_eq!(ranked[0].months[0].lines, 2);
    let top_one = hq
        .rank_failing_parts(pb::RankFailingPartsRequest {
            start_month: Some(month),
            end_month: Some(month),
            model: format!("models/{DB5}"),
            top: 1,
        })
        .await
        .expect("rank")
        .into_inner()
        .parts;
    assert!(top_one.is_empty(), "no DB5 was repaired: {top_one:?}");
    let earlier = hq
        .rank_failing_parts(pb::RankFailingPartsRequest {
            start_month: Some(month_back(&month, 14)),
            end_month: Some(month_back(&month, 1)),
            ..Default::default()
        })
        .await
        .expect("rank")
        .into_inner()
        .parts;
    assert!(
        earlier.is_empty(),
        "orders closed this month only: {earlier:?}"
    );

    // Complaints: opened and recategorised through the call center.
    let caller = hotline::registry_customer(&platform, "13800139101").await;
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    let mut opened = Vec::new();
    for (category, model) in [
        ("QUALITY", DA7),
        ("QUALITY", DA7),
        ("SERVICE", DA7),
        ("QUALITY", DB5),
    ] {
        let mut req = hotline::complaint(&caller, "D1001");
        let case = req.case.as_mut().expect("case");
        (case.category, case.model) = (category.into(), format!("models/{model}"));
        opened.push(hotline::open(&mut agent, req).await);
    }
    let mut inquiry = hotline::complaint(&caller, "D1001");
    inquiry.case.as_mut().expect("case").r#type = cpb::CaseType::Inquiry as i32;
    hotline::open(&mut agent, inquiry).await;
    // The second QUALITY/DA7 complaint was really about service.
    agent
        .update_case(cpb::UpdateCaseRequest {
            case: Some(cpb::Case {
                name: opened[1].name.clone(),
                category: "SERVICE".into(),
                etag: opened[1].etag.clone(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["category".into()],
            }),
            request_id: String::new(),
        })
        .await
        .expect("update");
    let trends = platform
        .callcenter("HQ", Role::Hq)
        .get_complaint_trends(cpb::GetComplaintTrendsRequest {
            start_month: Some(month_back(&month, 1)),
            end_month: Some(month),
            ..Default::default()
        })
        .await
        .expect("trends")
        .into_inner();
    let got: Vec<(String, String, i64)> = trends
        .trends
        .iter()
        .map(|t| {
            assert_eq!(t.month, Some(types::Date { day: 1, ..month }));
            (t.category.clone(), t.model.clone(), t.complaints)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("QUALITY".into(), format!("models/{DA7}"), 1),
            ("QUALITY".into(), format!("models/{DB5}"), 1),
            ("SERVICE".into(), format!("models/{DA7}"), 2),
        ]
    );
    assert_eq!(trends.total, 4);
    let service_da7 = platform
        .callcenter("HQ", Role::Hq)
        .get_complaint_trends(cpb::GetComplaintTrendsRequest {
            start_month: Some(month),
            end_month: Some(month),
            category: "SERVICE".into(),
            model: format!("models/{DA7}"),
        })
        .await
        .expect("trends")
        .into_inner();
    assert_eq!(service_da7.total, 2);
    assert_eq!(service_da7.trends.len(), 1);
}

/// The aggregates against a live GROUP BY of the rows they count.
async fn assert_aggregates_are_live(db: &mut PgConnection, after: &str) {
    let kept: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT state, model_code, outlet_code, vehicles FROM vehicles.pipeline_count \
         WHERE vehicles <> 0 ORDER BY 1, 2, 3",
    )
    .fetch_all(&mut *db)
    .await
    .expect("pipeline_count");
    let live: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT v.state, v.model_code, \
                CASE WHEN v.holder_outlet = '' THEN coalesce(open.destination_outlet, '') ELSE v.holder_outlet END, \
                count(*) \
         FROM vehicles.vehicle v \
         LEFT JOIN (SELECT sv.vin, s.destination_outlet FROM vehicles.shipment_vehicle sv \
                    JOIN vehicles.shipment s ON s.id = sv.shipment_id WHERE sv.received_at IS NULL) open \
                ON open.vin = v.vin \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .fetch_all(&mut *db)
    .await
    .expect("live pipeline");
    assert_eq!(kept, live, "pipeline after {after}");
    let kept: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT model_code, part_number, lines, quantity FROM vehicles.part_failure_month \
         WHERE lines <> 0 ORDER BY 1, 2",
    )
    .fetch_all(&mut *db)
    .await
    .expect("part_failure_month");
    let live: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT v.model_code, l.part_number, count(*), sum(l.quantity)::bigint \
         FROM vehicles.repair_order_line l \
         JOIN vehicles.repair_order o ON o.id = l.repair_order_id AND o.status = 'CLOSED' \
         JOIN vehicles.vehicle v ON v.vin = o.vin \
         WHERE l.kind = 'PART' GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(&mut *db)
    .await
    .expect("live part failures");
    assert_eq!(kept, live, "part failures after {after}");
    let kept: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT category, model_code, complaints FROM callcenter.complaint_month \
         WHERE complaints <> 0 ORDER BY 1, 2",
    )
    .fetch_all(&mut *db)
    .await
    .expect("complaint_month");
    let live: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT category, model_code, count(*) FROM callcenter.support_case \
         WHERE case_type = 'COMPLAINT' GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(&mut *db)
    .await
    .expect("live complaints");
    assert_eq!(kept, live, "complaints after {after}");
}

async fn pipeline_rows(db: &mut PgConnection) -> Vec<(String, String, String, i64)> {
    sqlx::query_as("SELECT state, model_code, outlet_code, vehicles FROM vehicles.pipeline_count ORDER BY 1, 2, 3")
        .fetch_all(&mut *db)
        .await
        .expect("pipeline_count")
}

#[tokio::test]
async fn the_aggregates_stay_equal_to_a_live_count() {
    let platform = TestPlatform::spawn().await;
    network(&platform).await;
    north_dealer(&platform).await;
    priced_model(&platform).await;
    let mut db = platform.db().await;
    let mut fleet = Fleet::default();
    let vins: Vec<String> = {
        let mut v = Vec::new();
        for n in 0..5 {
            v.push(produce(&platform, &mut fleet, 9200 + n, DA7).await);
        }
        v
    };
    assert_aggregates_are_live(&mut db, "production").await;
    // StreamProduction's batched insert.
    let mut factory = platform.vehicles("PLANT-SH", Role::System);
    let items: Vec<pb::StreamProductionRequest> = (0..3)
        .map(|i| pb::StreamProductionRequest {
            item_id: i.to_string(),
            vin: test_vin(9210 + i),
            model: format!("models/{DA7}"),
            plant: "CN-SH-01".into(),
            line: "L1".into(),
            built_at: Some(Timestamp {
                seconds: 1_790_000_000,
                nanos: 0,
            }),
            engine_number: format!("EMS{i}"),
            colour: "Blue".into(),
        })
        .collect();
    let mut results = factory
        .stream_production(tokio_stream::iter(items))
        .await
        .expect("stream")
        .into_inner();
    while let Some(r) = results.message().await.expect("result") {
        assert_eq!(r.outcome, pb::ItemOutcome::Applied as i32, "{r:?}");
    }
    assert_aggregates_are_live(&mut db, "streamed production").await;
    dispatch(
        &platform,
        &mut fleet,
        &[&vins[0], &vins[1], &vins[2]],
        "D1001",
        later(2),
    )
    .await;
    assert_aggregates_are_live(&mut db, "dispatch").await;

    // Refused: D1002 is not where the shipment goes. Nothing changes.
    let before = pipeline_rows(&mut db).await;
    assert_refused(
        platform
            .vehicles("D1002", Role::Dealer)
            .receive_at_dealer(pb::ReceiveAtDealerRequest {
                vehicle: format!("vehicles/{}", vins[0]),
                outlet: "D1002".into(),
                request_id: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        "NOT_DESTINATION_OUTLET",
    );
    assert_eq!(
        pipeline_rows(&mut db).await,
        before,
        "a refused receipt moved a count"
    );

    receive(&platform, &mut fleet, &vins[0], "D1001").await;
    receive(&platform, &mut fleet, &vins[1], "D1001").await;
    assert_aggregates_are_live(&mut db, "receipt").await;
    let mut dealer = platform.vehicles("D1001", Role::Dealer);
    dealer
        .transfer_stock(pb::TransferStockRequest {
            vehicle: format!("vehicles/{}", vins[1]),
            destination_outlet: "D4001".into(),
            carrier: "Anji".into(),
            eta: later(1),
            request_id: String::new(),
        })
        .await
        .expect("transfer");
    assert_aggregates_are_live(&mut db, "transfer").await;
    let buyer = customer(&platform, "13800139200").await;
    dealer
        .reserve_vehicle(pb::ReserveVehicleRequest {
            vehicle: format!("vehicles/{}", vins[0]),
            customer: buyer.clone(),
            expire_time: later(3),
            request_id: String::new(),
        })
        .await
        .expect("reserve");
    dealer
        .sell_vehicle(sell(&format!("vehicles/{}", vins[0]), &buyer, 199_800))
        .await
        .expect("sell");
    dealer
        .deliver_vehicle(pb::DeliverVehicleRequest {
            vehicle: format!("vehicles/{}", vins[0]),
            odometer_km: 5,
            request_id: String::new(),
        })
        .await
        .expect("deliver");
    assert_aggregates_are_live(&mut db, "reserve, sale and delivery").await;
    // HQ moves cars by hand: an in-transit car back to the plant (its shipment stays
    // open), a produced one straight to scrap.
    let mut hq = platform.vehicles("HQ", Role::Hq);
    for (vin, state) in [
        (&vins[2], pb::VehicleState::Produced),
        (&vins[3], pb::VehicleState::Scrapped),
    ] {
        hq.override_state(pb::OverrideStateRequest {
            vehicle: format!("vehicles/{vin}"),
            state: state as i32,
            reason: "inventory audit".into(),
            request_id: String::new(),
        })
        .await
        .expect("override");
    }
    assert_aggregates_are_live(&mut db, "overrides").await;

    let mut station = platform.vehicles("S3001", Role::Station);
    let car = format!("vehicles/{}", vins[0]);
    repair(
        &mut station,
        &car,
        100,
        vec![part("BRK-PAD-F", "B1", 2, 300, pb::PayType::Customer)],
        true,
    )
    .await;
    repair(
        &mut station,
        &car,
        200,
        vec![part("OIL-FLT-1", "", 1, 60, pb::PayType::Customer)],
        false,
    )
    .await;
    assert_aggregates_are_live(&mut db, "repairs").await;

    let caller = hotline::registry_customer(&platform, "13800139201").await;
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    let case = hotline::open(&mut agent, hotline::complaint(&caller, "D1001")).await;
    agent
        .update_case(cpb::UpdateCaseRequest {
            case: Some(cpb::Case {
                name: case.name.clone(),
                model: String::new(),
                etag: case.etag.clone(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["model".into()],
            }),
            request_id: String::new(),
        })
        .await
        .expect("update");
    assert_aggregates_are_live(&mut db, "complaints").await;
}

#[tokio::test]
async fn insights_are_head_office_s_and_check_their_arguments() {
    let platform = TestPlatform::spawn().await;
    network(&platform).await;
    let month = this_month();
    for (org, role) in [
        ("D1001", Role::Dealer),
        ("S3001", Role::Station),
        ("CALLCENTER", Role::Agent),
    ] {
        let mut client = platform.vehicles(org, role);
        assert_refused(
            client
                .get_vehicle_pipeline(pb::GetVehiclePipelineRequest::default())
                .await,
            Code::PermissionDenied,
            "HQ_ROLE_REQUIRED",
        );
        assert_refused(
            client
                .list_overdue_transits(pb::ListOverdueTransitsRequest::default())
                .await,
            Code::PermissionDenied,
            "HQ_ROLE_REQUIRED",
        );
        assert_refused(
            client
                .rank_failing_parts(pb::RankFailingPartsRequest {
                    start_month: Some(month),
                    end_month: Some(month),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
            "HQ_ROLE_REQUIRED",
        );
        assert_refused(
            platform
                .callcenter(org, role)
                .get_complaint_trends(cpb::GetComplaintTrendsRequest {
                    start_month: Some(month),
                    end_month: Some(month),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
            "HQ_ROLE_REQUIRED",
        );
    }
    // Platform systems read the vehicle insights too.
    platform
        .vehicles("PLANT-SH", Role::System)
        .get_vehicle_pipeline(pb::GetVehiclePipelineRequest::default())
        .await
        .expect("system reads the pipeline");

    let mut hq = platform.vehicles("HQ", Role::Hq);
    assert_invalid(
        hq.get_vehicle_pipeline(pb::GetVehiclePipelineRequest {
            model: "DA7-2026".into(),
            region: "east".into(),
            states: vec![42],
        })
        .await,
        &["model", "region", "states[0]"],
    );
    assert_invalid(
        hq.list_overdue_transits(pb::ListOverdueTransitsRequest {
            page_size: -1,
            page_token: "not-a-token".into(),
            ..Default::default()
        })
        .await,
        &["page_size", "page_token"],
    );
    let first = hq
        .list_overdue_transits(pb::ListOverdueTransitsRequest {
            page_size: 1,
            region: "EAST".into(),
            ..Default::default()
        })
        .await
        .expect("empty list")
        .into_inner();
    assert!(first.transits.is_empty() && first.next_page_token.is_empty());
    assert_eq!(first.total_size, 0);
    let day = |d: i32| Some(types::Date { day: d, ..month });
    let bad_ranges = [
        (None, day(1), vec!["start_month"]),
        (day(15), day(1), vec!["start_month.day"]),
        (Some(month_back(&month, -1)), Some(month), vec!["end_month"]),
        (
            Some(month_back(&month, 120)),
            Some(month),
            vec!["end_month"],
        ),
        (
            Some(types::Date {
                year: 2026,
                month: 13,
                day: 0,
            }),
            None,
            vec!["start_month", "end_month"],
        ),
    ];
    for (start, end, fields) in bad_ranges {
        assert_invalid(
            hq.rank_failing_parts(pb::RankFailingPartsRequest {
                start_month: start,
                end_month: end,
                ..Default::default()
            })
            .await,
            &fields,
        );
        assert_invalid(
            platform
                .callcenter("HQ", Role::Hq)
                .get_complaint_trends(cpb::GetComplaintTrendsRequest {
                    start_month: start,
                    end_month: end,
                    ..Default::default()
                })
                .await,
            &fields,
        );
    }
    assert_invalid(
        hq.rank_failing_parts(pb::RankFailingPartsRequest {
            start_month: Some(month),
            end_month: Some(month),
            model: "models/da7".into(),
            top: -1,
        })
        .await,
        &["model", "top"],
    );
    assert_invalid(
        platform
            .callcenter("HQ", Role::Hq)
            .get_complaint_trends(cpb::GetComplaintTrendsRequest {
                start_month: Some(month),
                end_month: Some(month),
                category: "quality".into(),
                model: "DA7".into(),
            })
            .await,
        &["category", "model"],
    );
}
