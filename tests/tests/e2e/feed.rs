//! The factory's bulk production feed.

use dealernet_kit::auth::Role;
use dealernet_proto::vehicles::v1 as pb;
use dealernet_tests::{TestPlatform, VehiclesClient};
use prost_types::Timestamp;
use tonic::Code;

use crate::{assert_refused, test_vin as vin};

fn item(id: &str, vin: &str, model: &str) -> pb::StreamProductionRequest {
    pb::StreamProductionRequest {
        item_id: id.into(),
        vin: vin.into(),
        model: model.into(),
        plant: "CN-SH-01".into(),
        line: "L2".into(),
        built_at: Some(Timestamp {
            seconds: 1_790_000_000,
            nanos: 0,
        }),
        engine_number: format!("EM-{id}"),
        colour: "White".into(),
    }
}

async fn send(
    client: &mut VehiclesClient,
    items: Vec<pb::StreamProductionRequest>,
) -> Vec<(String, pb::ItemOutcome, String)> {
    let mut results = client
        .stream_production(tokio_stream::iter(items))
        .await
        .expect("stream")
        .into_inner();
    let mut out = Vec::new();
    while let Some(r) = results.message().await.expect("result") {
        out.push((
            r.item_id,
            pb::ItemOutcome::try_from(r.outcome).expect("outcome"),
            r.reason,
        ));
    }
    out
}

#[tokio::test]
async fn items_are_applied_once_and_bad_ones_rejected_alone() {
    use pb::ItemOutcome as O;
    let platform = TestPlatform::spawn().await;
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
    let batch = vec![
        item("1", &vin(1), "models/DA7-2026"),
        item("2", "NOT-A-VIN", "models/DA7-2026"),
        item("3", &vin(3), "models/DA7-2026"),
        item("4", &vin(4), "models/NOPE"),
        item("5", &vin(5), "models/DA7-2026"),
    ];
    let first = send(&mut factory, batch.clone()).await;
    let expected = |applied: O| {
        vec![
            ("1".to_owned(), applied, String::new()),
            ("2".to_owned(), O::Rejected, "INVALID_ARGUMENT".to_owned()),
            ("3".to_owned(), applied, String::new()),
            ("4".to_owned(), O::Rejected, "MODEL_NOT_FOUND".to_owned()),
            ("5".to_owned(), applied, String::new()),
        ]
    };
    assert_eq!(first, expected(O::Applied));
    // The same batch again: no second car.
    assert_eq!(send(&mut factory, batch).await, expected(O::Duplicate));
    assert_eq!(platform.count_in("vehicles", "vehicle").await, 3);
    // The same VIN with other data is a clash, not a resend.
    let clash = pb::StreamProductionRequest {
        engine_number: "OTHER".into(),
        ..item("6", &vin(1), "models/DA7-2026")
    };
    assert_eq!(
        send(&mut factory, vec![clash]).await,
        [(
            "6".to_owned(),
            O::Rejected,
            "VEHICLE_ALREADY_REGISTERED".to_owned()
        )]
    );

    let dealer = platform
        .vehicles("D1001", Role::Dealer)
        .stream_production(tokio_stream::iter(vec![item(
            "7",
            &vin(7),
            "models/DA7-2026",
        )]))
        .await;
    assert_refused(
        dealer.map(|_| ()),
        Code::PermissionDenied,
        "PRODUCTION_NOT_ALLOWED",
    );
}

#[tokio::test]
async fn transit_feeds_may_resend() {
    use pb::ItemOutcome as O;
    let platform = TestPlatform::spawn().await;
    crate::network(&platform).await;
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
    send(
        &mut factory,
        vec![
            item("1", &vin(1), "models/DA7-2026"),
            item("2", &vin(2), "models/DA7-2026"),
        ],
    )
    .await;
    factory
        .dispatch_shipment(pb::DispatchShipmentRequest {
            vins: vec![vin(1)],
            carrier: "c".into(),
            origin: "CN-SH-01".into(),
            destination_outlet: "D1001".into(),
            eta: Some(Timestamp {
                seconds: 1_900_000_000,
                nanos: 0,
            }),
            request_id: String::new(),
        })
        .await
        .expect("dispatch");
    let event = |id: &str, v: &str, hour: i64| pb::StreamTransitEventsRequest {
        item_id: id.into(),
        vehicle: format!("vehicles/{v}"),
        position: "杭州".into(),
        time: Some(Timestamp {
            seconds: 1_790_000_000 + hour * 3_600,
            nanos: 0,
        }),
        status: "passing".into(),
    };
    let mut carrier = platform.vehicles("CARRIER-AJ", Role::System);
    let batch = vec![
        event("a", &vin(1), 1),
        event("b", &vin(1), 2),
        event("c", &vin(2), 1),
        event("d", "x", 1),
    ];
    let run = |results: Vec<pb::StreamTransitEventsResponse>| {
        results
            .into_iter()
            .map(|r| {
                (
                    r.item_id,
                    pb::ItemOutcome::try_from(r.outcome).expect("outcome"),
                    r.reason,
                )
            })
            .collect::<Vec<_>>()
    };
    let collect = |items: Vec<pb::StreamTransitEventsRequest>| {
        let mut carrier = carrier.clone();
        async move {
            let mut stream = carrier
                .stream_transit_events(tokio_stream::iter(items))
                .await
                .expect("stream")
                .into_inner();
            let mut out = Vec::new();
            while let Some(r) = stream.message().await.expect("result") {
                out.push(r);
            }
            out
        }
    };
    let first = run(collect(batch.clone()).await);
    assert_eq!(
        first,
        [
            ("a".to_owned(), O::Applied, String::new()),
            ("b".to_owned(), O::Applied, String::new()),
            (
                "c".to_owned(),
                O::Rejected,
                "VEHICLE_NOT_IN_TRANSIT".to_owned()
            ),
            ("d".to_owned(), O::Rejected, "INVALID_ARGUMENT".to_owned()),
        ]
    );
    let again = run(collect(batch).await);
    assert_eq!(again[0].1, O::Duplicate);
    assert_eq!(again[1].1, O::Duplicate);
    let events = carrier
        .get_vehicle_timeline(pb::GetVehicleTimelineRequest {
            vehicle: format!("vehicles/{}", vin(1)),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("events")
        .into_inner()
        .events;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "RECORD_TRANSIT_EVENT")
            .count(),
        2,
        "resends add nothing"
    );
}

#[tokio::test]
async fn large_feeds_answer_in_order_across_batches() {
    use pb::ItemOutcome as O;
    let platform = TestPlatform::spawn().await;
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
    // 1,200 cars, more than one write batch; the same VIN repeats inside the stream, once
    // with the same data (a resend) and once with other data (a clash).
    let mut items: Vec<_> = (0..1_200)
        .map(|n| item(&n.to_string(), &vin(10_000 + n), "models/DA7-2026"))
        .collect();
    let again = pb::StreamProductionRequest {
        item_id: "again".into(),
        ..items[0].clone()
    };
    items.insert(3, again);
    items.insert(
        4,
        pb::StreamProductionRequest {
            colour: "Black".into(),
            ..item("clash", &vin(10_001), "models/DA7-2026")
        },
    );
    let results = send(&mut factory, items.clone()).await;
    assert_eq!(results.len(), items.len());
    for (sent, got) in items.iter().zip(&results) {
        assert_eq!(sent.item_id, got.0, "results come in the order sent");
        let want = match sent.item_id.as_str() {
            "again" => (O::Duplicate, ""),
            "clash" => (O::Rejected, "VEHICLE_ALREADY_REGISTERED"),
            _ => (O::Applied, ""),
        };
        assert_eq!((got.1, got.2.as_str()), want, "{}", sent.item_id);
    }
    assert_eq!(platform.count_in("vehicles", "vehicle").await, 1_200);
    assert_eq!(platform.count_in("vehicles", "vehicle_event").await, 1_200);
}
