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
