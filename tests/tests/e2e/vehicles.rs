//! VehicleService: VIN decoding, the catalogue and the price list.

use dealernet_kit::auth::Role;
use dealernet_proto::{types::v1 as types, vehicles::v1 as pb};
use dealernet_tests::{TestPlatform, VehiclesClient};
use tonic::Code;
use tonic_types::StatusExt;

use crate::{assert_invalid, assert_refused, test_vin};

fn model(code: &str, year: i32) -> pb::Model {
    pb::Model {
        code: code.into(),
        brand: "Dealernet Auto".into(),
        series: "DA7".into(),
        body: pb::BodyStyle::Suv as i32,
        powertrain: pb::Powertrain::Bev as i32,
        model_year: year,
        warranty_months: 36,
        warranty_km: 100_000,
        ..Default::default()
    }
}

fn day(year: i32, month: i32, day: i32) -> Option<types::Date> {
    Some(types::Date { year, month, day })
}

fn price(yuan: i64, from: Option<types::Date>, to: Option<types::Date>) -> pb::ModelPrice {
    pb::ModelPrice {
        price: Some(types::Money {
            currency_code: "CNY".into(),
            minor_units: yuan * 100,
        }),
        valid_from: from,
        valid_to: to,
        ..Default::default()
    }
}

async fn add_price(
    client: &mut VehiclesClient,
    parent: &str,
    p: pb::ModelPrice,
) -> Result<pb::ModelPrice, tonic::Status> {
    client
        .create_model_price(pb::CreateModelPriceRequest {
            parent: parent.into(),
            price: Some(p),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner().price.expect("price"))
}

#[tokio::test]
async fn vins_are_validated_and_decoded() {
    let platform = TestPlatform::spawn().await;
    let mut client = platform.vehicles("D1001", Role::Dealer);
    let decoded = client
        .decode_vin(pb::DecodeVinRequest {
            vin: "1hgcm82633a004352".into(),
        })
        .await
        .expect("valid")
        .into_inner();
    assert_eq!(
        (
            decoded.vin.as_str(),
            decoded.wmi.as_str(),
            decoded.region.as_str(),
            decoded.model_year
        ),
        ("1HGCM82633A004352", "1HG", "North America", 2003)
    );
    for (vin, says) in [
        ("1HGCM82633A00435", "must be 17 characters, got 16"),
        ("1HGCM8I633A004352", "character 7 ('I')"),
        ("1HGCM82643A004352", "expected 3 found 4"),
    ] {
        let status = client
            .decode_vin(pb::DecodeVinRequest { vin: vin.into() })
            .await
            .expect_err(vin);
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let violation = &details.bad_request().expect("bad request").field_violations[0];
        assert_eq!(violation.field, "vin");
        assert!(
            violation.description.contains(says),
            "{vin}: {}",
            violation.description
        );
    }
}

#[tokio::test]
async fn the_catalogue_is_head_office_s() {
    let platform = TestPlatform::spawn().await;
    let mut hq = platform.vehicles("HQ", Role::Hq);
    let created = hq
        .create_model(pb::CreateModelRequest {
            model: Some(model("DA7-EV-2026", 2026)),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .model
        .expect("model");
    assert_eq!(created.name, "models/DA7-EV-2026");
    let got = platform
        .vehicles("D1001", Role::Dealer)
        .get_model(pb::GetModelRequest {
            name: created.name.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .model
        .expect("model");
    assert_eq!(got, created);

    assert_refused(
        platform
            .vehicles("D1001", Role::Dealer)
            .create_model(pb::CreateModelRequest {
                model: Some(model("X1", 2026)),
                request_id: String::new(),
            })
            .await,
        Code::PermissionDenied,
        "HQ_ROLE_REQUIRED",
    );
    assert_refused(
        hq.create_model(pb::CreateModelRequest {
            model: Some(model("DA7-EV-2026", 2025)),
            request_id: String::new(),
        })
        .await,
        Code::AlreadyExists,
        "MODEL_EXISTS",
    );
    let bad = pb::Model {
        code: "da7".into(),
        body: 0,
        warranty_months: 0,
        model_year: 1900,
        ..model("X", 0)
    };
    assert_invalid(
        hq.create_model(pb::CreateModelRequest {
            model: Some(bad),
            request_id: String::new(),
        })
        .await,
        &[
            "model.code",
            "model.body",
            "model.warranty_months",
            "model.model_year",
        ],
    );
    assert_refused(
        hq.get_model(pb::GetModelRequest {
            name: "models/NOPE".into(),
        })
        .await,
        Code::NotFound,
        "MODEL_NOT_FOUND",
    );
    assert_invalid(
        hq.get_model(pb::GetModelRequest {
            name: "cars/1".into(),
        })
        .await,
        &["name"],
    );

    for code in ["DA5-2026", "DA9-2026", "DB1-2025"] {
        hq.create_model(pb::CreateModelRequest {
            model: Some(model(code, 2026)),
            request_id: String::new(),
        })
        .await
        .expect("create");
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = hq
            .list_models(pb::ListModelsRequest {
                page_size: 2,
                page_token: token.clone(),
                brand: "Dealernet Auto".into(),
                model_year: 2026,
            })
            .await
            .expect("list")
            .into_inner();
        seen.extend(page.models.into_iter().map(|m| m.code));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ["DA5-2026", "DA7-EV-2026", "DA9-2026", "DB1-2025"]);
}

#[tokio::test]
async fn prices_have_periods_that_never_overlap() {
    let platform = TestPlatform::spawn().await;
    let mut hq = platform.vehicles("HQ", Role::Hq);
    hq.create_model(pb::CreateModelRequest {
        model: Some(model("DA7-2026", 2026)),
        request_id: String::new(),
    })
    .await
    .expect("model");
    let parent = "models/DA7-2026";
    add_price(
        &mut hq,
        parent,
        price(199_800, day(2026, 1, 1), day(2026, 6, 30)),
    )
    .await
    .expect("first half");
    let second = add_price(&mut hq, parent, price(189_800, day(2026, 7, 1), None))
        .await
        .expect("from July");
    assert_eq!(second.name, "models/DA7-2026/prices/2026-07-01");
    assert_refused(
        add_price(&mut hq, parent, price(179_800, day(2026, 12, 1), None)).await,
        Code::FailedPrecondition,
        "PRICE_PERIOD_OVERLAPS",
    );
    assert_invalid(
        add_price(
            &mut hq,
            parent,
            pb::ModelPrice {
                price: Some(types::Money {
                    currency_code: "yuan".into(),
                    minor_units: -1,
                }),
                ..price(1, None, None)
            },
        )
        .await,
        &[
            "price.price.currency_code",
            "price.price.minor_units",
            "price.valid_from",
        ],
    );
    assert_refused(
        add_price(&mut hq, "models/NOPE", price(1, day(2026, 1, 1), None)).await,
        Code::NotFound,
        "MODEL_NOT_FOUND",
    );
    assert_refused(
        platform
            .vehicles("D1001", Role::Dealer)
            .create_model_price(pb::CreateModelPriceRequest {
                parent: parent.into(),
                price: Some(price(1, day(2030, 1, 1), None)),
                request_id: String::new(),
            })
            .await,
        Code::PermissionDenied,
        "HQ_ROLE_REQUIRED",
    );

    let on = |d| pb::ListModelPricesRequest {
        parent: parent.into(),
        page_size: 0,
        page_token: String::new(),
        valid_on: d,
    };
    let mut dealer = platform.vehicles("D1001", Role::Dealer);
    let march = dealer
        .list_model_prices(on(day(2026, 3, 15)))
        .await
        .expect("march")
        .into_inner()
        .prices;
    assert_eq!(
        march
            .iter()
            .map(|p| p.price.as_ref().expect("p").minor_units)
            .collect::<Vec<_>>(),
        [19_980_000]
    );
    let later = dealer
        .list_model_prices(on(day(2031, 1, 1)))
        .await
        .expect("later")
        .into_inner()
        .prices;
    assert_eq!(later, [second]);
    assert_eq!(
        dealer
            .list_model_prices(on(None))
            .await
            .expect("all")
            .into_inner()
            .prices
            .len(),
        2
    );
}

fn production(vin: &str, model: &str) -> pb::RegisterProductionRequest {
    pb::RegisterProductionRequest {
        vin: vin.into(),
        model: model.into(),
        plant: "CN-SH-01".into(),
        line: "L2".into(),
        built_at: Some(prost_types::Timestamp {
            seconds: 1_790_000_000,
            nanos: 0,
        }),
        engine_number: "EM240017".into(),
        colour: "Pearl White".into(),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn production_starts_a_vehicle_s_timeline() {
    let platform = TestPlatform::spawn().await;
    let mut hq = platform.vehicles("HQ", Role::Hq);
    hq.create_model(pb::CreateModelRequest {
        model: Some(model("DA7-2026", 2026)),
        request_id: String::new(),
    })
    .await
    .expect("model");
    let mut factory = platform.vehicles("PLANT-SH", Role::System);
    let vin = test_vin(42);
    let created = factory
        .register_production(pb::RegisterProductionRequest {
            request_id: "mes-42".into(),
            ..production(&vin, "models/DA7-2026")
        })
        .await
        .expect("register")
        .into_inner()
        .vehicle
        .expect("vehicle");
    assert_eq!(
        (created.name.clone(), created.state),
        (format!("vehicles/{vin}"), pb::VehicleState::Produced as i32)
    );
    let again = factory
        .register_production(pb::RegisterProductionRequest {
            request_id: "mes-42".into(),
            ..production(&vin, "models/DA7-2026")
        })
        .await
        .expect("retry replays")
        .into_inner()
        .vehicle
        .expect("vehicle");
    assert_eq!(again, created);
    assert_refused(
        factory
            .register_production(production(&vin, "models/DA7-2026"))
            .await,
        Code::FailedPrecondition,
        "VEHICLE_ALREADY_REGISTERED",
    );
    let mut dealer = platform.vehicles("D1001", Role::Dealer);
    let got = dealer
        .get_vehicle(pb::GetVehicleRequest {
            include_owner: false,
            name: created.name.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .vehicle;
    assert_eq!(got, Some(created.clone()));
    let events = dealer
        .get_vehicle_timeline(pb::GetVehicleTimelineRequest {
            vehicle: created.name.clone(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("events")
        .into_inner()
        .events;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (
            events[0].action.as_str(),
            events[0].actor_organization.as_str()
        ),
        ("REGISTER_PRODUCTION", "PLANT-SH")
    );
    assert_eq!(
        events[0].details.get("plant").map(String::as_str),
        Some("CN-SH-01")
    );

    // Bad input and refusals write nothing.
    let mut bad_vin = vin.clone().into_bytes();
    bad_vin[8] = if bad_vin[8] == b'0' { b'1' } else { b'0' };
    let bad_vin = String::from_utf8(bad_vin).expect("ascii");
    assert_invalid(
        factory
            .register_production(production(&bad_vin, "models/DA7-2026"))
            .await,
        &["vin"],
    );
    assert_invalid(
        factory
            .register_production(pb::RegisterProductionRequest {
                plant: String::new(),
                built_at: Some(prost_types::Timestamp {
                    seconds: 4_000_000_000,
                    nanos: 0,
                }),
                ..production(&test_vin(43), "model/x")
            })
            .await,
        &["model", "plant", "built_at"],
    );
    assert_refused(
        factory
            .register_production(production(&test_vin(44), "models/NOPE"))
            .await,
        Code::NotFound,
        "MODEL_NOT_FOUND",
    );
    assert_refused(
        dealer
            .register_production(production(&test_vin(45), "models/DA7-2026"))
            .await,
        Code::PermissionDenied,
        "PRODUCTION_NOT_ALLOWED",
    );
    assert_refused(
        dealer
            .get_vehicle(pb::GetVehicleRequest {
                include_owner: false,
                name: format!("vehicles/{}", test_vin(46)),
            })
            .await,
        Code::NotFound,
        "VEHICLE_NOT_FOUND",
    );
    assert_invalid(
        dealer
            .get_vehicle(pb::GetVehicleRequest {
                include_owner: false,
                name: "vehicles/123".into(),
            })
            .await,
        &["name"],
    );
    let mut db = platform.db().await;
    let (vehicles, events): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM vehicles.vehicle), (SELECT count(*) FROM vehicles.vehicle_event)")
            .fetch_one(&mut db)
            .await
            .expect("count");
    assert_eq!((vehicles, events), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_registrations_of_one_vin_make_one_vehicle() {
    let platform = TestPlatform::spawn().await;
    platform
        .vehicles("HQ", Role::Hq)
        .create_model(pb::CreateModelRequest {
            model: Some(model("DA7-2026", 2026)),
            request_id: String::new(),
        })
        .await
        .expect("model");
    let vin = test_vin(7);
    let mut calls = Vec::new();
    for _ in 0..20 {
        let mut client = platform.vehicles("PLANT-SH", Role::System);
        let req = production(&vin, "models/DA7-2026");
        calls.push(tokio::spawn(async move {
            client.register_production(req).await
        }));
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
