//! Demo vehicles, loaded through the public gRPC API as the factory,
//! dealers, a workshop and HQ would: a catalogue with prices, a production feed, shipments,
//! receipts, sales to demo customers, deliveries, a recall and repair orders. Runs once,
//! on an empty vehicle service.

use anyhow::Context;
use dealernet_kit::auth::Role;
use dealernet_proto::{
    customers::v1::{self as cpb, customer_service_client::CustomerServiceClient},
    types::v1 as types,
    vehicles::v1 as pb,
};

use super::Actors;

/// How many demo vehicles the factory builds.
pub const DEMO_VEHICLES: u32 = 60;

/// A valid VIN for demo serial `n` (check digit computed, model year 2026 = 'T').
fn demo_vin(n: u32) -> String {
    let mut chars: Vec<char> = format!("LDNDA7B20TS{n:06}").chars().collect();
    chars[8] = dealernet_vehicles::domain::vin::check_digit(&chars);
    chars.into_iter().collect()
}

fn money(yuan: i64) -> Option<types::Money> {
    Some(types::Money {
        currency_code: "CNY".into(),
        minor_units: yuan * 100,
    })
}

fn seconds_ago(s: i64) -> Option<prost_types::Timestamp> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    Some(prost_types::Timestamp {
        seconds: now - s,
        nanos: 0,
    })
}

const MODELS: [(&str, &str, pb::BodyStyle, pb::Powertrain, i64); 3] = [
    (
        "DA7-2026",
        "DA7",
        pb::BodyStyle::Suv,
        pb::Powertrain::Bev,
        199_800,
    ),
    (
        "DA5-2026",
        "DA5",
        pb::BodyStyle::Sedan,
        pb::Powertrain::Phev,
        159_800,
    ),
    (
        "DA3-2026",
        "DA3",
        pb::BodyStyle::Hatchback,
        pb::Powertrain::Ice,
        89_800,
    ),
];

/// Loads the demo vehicles unless the service already holds vehicles; returns how many
/// it built.
pub async fn load(actors: &Actors) -> anyhow::Result<u32> {
    let mut client = actors.vehicles();
    let existing = client
        .list_vehicles(actors.request(
            "HQ",
            Role::Hq,
            pb::ListVehiclesRequest {
                page_size: 1,
                ..Default::default()
            },
        )?)
        .await?
        .into_inner();
    if !existing.vehicles.is_empty() {
        return Ok(0);
    }
    catalogue(actors).await?;
    produce(actors).await?;
    let customers = demo_customers(actors).await?;
    let (delivered, _) = sell(actors, &customers).await?;
    service(actors, &delivered).await?;
    Ok(DEMO_VEHICLES)
}

async fn catalogue(actors: &Actors) -> anyhow::Result<()> {
    let mut client = actors.vehicles();
    for (code, series, body, powertrain, yuan) in MODELS {
        let model = pb::Model {
            code: code.into(),
            brand: "Dealernet Auto".into(),
            series: series.into(),
            body: body as i32,
            powertrain: powertrain as i32,
            model_year: 2026,
            warranty_months: 36,
            warranty_km: 100_000,
            ..Default::default()
        };
        client
            .create_model(actors.request(
                "HQ",
                Role::Hq,
                pb::CreateModelRequest {
                    model: Some(model),
                    request_id: format!("demo-model-{code}"),
                },
            )?)
            .await?;
        client
            .create_model_price(actors.request(
                "HQ",
                Role::Hq,
                pb::CreateModelPriceRequest {
                    parent: format!("models/{code}"),
                    price: Some(pb::ModelPrice {
                        price: money(yuan),
                        valid_from: Some(types::Date {
                            year: 2025,
                            month: 9,
                            day: 1,
                        }),
                        ..Default::default()
                    }),
                    request_id: format!("demo-price-{code}"),
                },
            )?)
            .await?;
    }
    Ok(())
}

/// The factory feed builds every demo car; 50 ship to two dealers, 45 arrive.
async fn produce(actors: &Actors) -> anyhow::Result<()> {
    let mut client = actors.vehicles();
    let items: Vec<pb::StreamProductionRequest> = (1..=DEMO_VEHICLES)
        .map(|n| pb::StreamProductionRequest {
            item_id: n.to_string(),
            vin: demo_vin(n),
            model: format!("models/{}", MODELS[n as usize % MODELS.len()].0),
            plant: "CN-SH-01".into(),
            line: format!("L{}", 1 + n % 3),
            built_at: seconds_ago(86_400 * (90 - i64::from(n))),
            engine_number: format!("EM{n:07}"),
            colour: ["White", "Black", "Grey", "Blue"][n as usize % 4].into(),
        })
        .collect();
    let mut results = client
        .stream_production(actors.request("PLANT-SH", Role::System, tokio_stream::iter(items))?)
        .await?
        .into_inner();
    while let Some(r) = results.message().await? {
        anyhow::ensure!(
            r.outcome == pb::ItemOutcome::Applied as i32,
            "demo production of {} failed: {} {}",
            r.vin,
            r.reason,
            r.message
        );
    }
    for (outlet, range) in [("D1001", 1..=30), ("D1002", 31..=50)] {
        client
            .dispatch_shipment(actors.request(
                "PLANT-SH",
                Role::System,
                pb::DispatchShipmentRequest {
                    vins: range.clone().map(demo_vin).collect(),
                    carrier: "Anji Logistics".into(),
                    origin: "CN-SH-01".into(),
                    destination_outlet: outlet.into(),
                    eta: seconds_ago(-86_400 * 3),
                    request_id: String::new(),
                },
            )?)
            .await?;
        for n in range.filter(|n| n % 10 != 0) {
            client
                .receive_at_dealer(actors.request(
                    outlet,
                    Role::Dealer,
                    pb::ReceiveAtDealerRequest {
                        vehicle: format!("vehicles/{}", demo_vin(n)),
                        outlet: outlet.into(),
                        request_id: String::new(),
                    },
                )?)
                .await?;
        }
    }
    Ok(())
}

pub(super) async fn demo_customers(actors: &Actors) -> anyhow::Result<Vec<String>> {
    let mut client = CustomerServiceClient::new(actors.channel.clone());
    let page = client
        .list_customers(actors.request(
            "HQ",
            Role::Hq,
            cpb::ListCustomersRequest {
                page_size: 30,
                ..Default::default()
            },
        )?)
        .await?
        .into_inner();
    Ok(page.customers.into_iter().map(|c| c.name).collect())
}

/// 22 cars are sold (20 delivered), 3 reserved; returns the delivered ones.
/// Who buys the demo's `i`-th sale: a fleet account takes the first four cars (over
/// 600,000 CNY: a key account by contribution), a family the next two (a relationship
/// customer by repeat purchase), everyone else one.
fn demo_buyer(i: usize) -> usize {
    match i {
        0..=3 => 0,
        4 | 5 => 1,
        _ => i,
    }
}

async fn sell(actors: &Actors, customers: &[String]) -> anyhow::Result<(Vec<String>, usize)> {
    let mut client = actors.vehicles();
    let mut delivered = Vec::new();
    let in_stock: Vec<(u32, &str)> = (1..=50)
        .filter(|n| n % 10 != 0)
        .map(|n| (n, if n <= 30 { "D1001" } else { "D1002" }))
        .collect();
    // Odd serials are sold, three even ones reserved; the rest stay in stock.
    let (odd, even): (Vec<_>, Vec<_>) = in_stock.iter().partition(|(n, _)| n % 2 == 1);
    for (i, (n, outlet)) in odd.iter().enumerate().take(22) {
        let Some(customer) = customers.get(demo_buyer(i)) else {
            break;
        };
        let vehicle = format!("vehicles/{}", demo_vin(*n));
        let list = MODELS[*n as usize % MODELS.len()].4;
        client
            .sell_vehicle(actors.request(
                outlet,
                Role::Dealer,
                pb::SellVehicleRequest {
                    vehicle: vehicle.clone(),
                    customer: customer.clone(),
                    price: money(list - 2_000 * i64::from(n % 3)),
                    sales_person: format!("{outlet}-S0{}", 1 + n % 4),
                    sale_type: if demo_buyer(i) == 0 {
                        pb::SaleType::Fleet
                    } else {
                        pb::SaleType::Retail
                    } as i32,
                    request_id: String::new(),
                },
            )?)
            .await?;
        if i < 20 {
            client
                .deliver_vehicle(actors.request(
                    outlet,
                    Role::Dealer,
                    pb::DeliverVehicleRequest {
                        vehicle: vehicle.clone(),
                        odometer_km: 8 + i64::from(n % 20),
                        request_id: String::new(),
                    },
                )?)
                .await?;
            delivered.push(vehicle);
        }
    }
    let mut reserved = 0;
    for ((n, outlet), customer) in even.iter().take(3).zip(customers.iter().skip(24)) {
        client
            .reserve_vehicle(actors.request(
                outlet,
                Role::Dealer,
                pb::ReserveVehicleRequest {
                    vehicle: format!("vehicles/{}", demo_vin(*n)),
                    customer: customer.clone(),
                    expire_time: seconds_ago(-86_400 * 7),
                    request_id: String::new(),
                },
            )?)
            .await?;
        reserved += 1;
    }
    Ok((delivered, reserved))
}

/// A recall of eight delivered cars; workshop S3001 services ten, remedying some.
async fn service(actors: &Actors, delivered: &[String]) -> anyhow::Result<()> {
    let mut client = actors.vehicles();
    let recalled: Vec<String> = delivered
        .iter()
        .take(8)
        .map(|v| v.trim_start_matches("vehicles/").to_owned())
        .collect();
    client
        .create_recall_campaign(actors.request(
            "HQ",
            Role::Hq,
            pb::CreateRecallCampaignRequest {
                campaign: Some(pb::RecallCampaign {
                    code: "R2026-DA-001".into(),
                    title: "Front wheel bearing".into(),
                    description: "The front left wheel bearing may wear early".into(),
                    remedy: "Replace the bearing (operation OP-RCL-BRG)".into(),
                    selection: Some(pb::recall_campaign::Selection::Vins(pb::VinList {
                        vins: recalled,
                    })),
                    ..Default::default()
                }),
                request_id: "demo-recall".into(),
            },
        )?)
        .await?;
    for (i, vehicle) in delivered.iter().take(10).enumerate() {
        let order = client
            .open_repair_order(actors.request(
                "S3001",
                Role::Station,
                pb::OpenRepairOrderRequest {
                    vehicle: vehicle.clone(),
                    station: "S3001".into(),
                    service_advisor: "S3001-SA1".into(),
                    complaint: if i < 5 {
                        "Recall visit".into()
                    } else {
                        "First service".into()
                    },
                    odometer_km: 1_500 + 700 * i as i64,
                    ..Default::default()
                },
            )?)
            .await?
            .into_inner()
            .repair_order
            .context("opened order")?;
        let (labour, pay, campaign) = if i < 5 {
            (
                "OP-RCL-BRG",
                pb::PayType::Recall,
                "recallCampaigns/R2026-DA-001",
            )
        } else {
            ("OP-SVC-001", pb::PayType::Customer, "")
        };
        for line in [
            pb::RepairOrderLine {
                item: Some(pb::repair_order_line::Item::Labour(pb::LabourLine {
                    operation_code: labour.into(),
                    hours: 1.2,
                    technician: "S3001-T07".into(),
                    hourly_rate: money(180),
                })),
                pay_type: pay as i32,
                recall_campaign: campaign.into(),
                ..Default::default()
            },
            pb::RepairOrderLine {
                item: Some(pb::repair_order_line::Item::Part(pb::PartLine {
                    part_number: if i < 5 { "BRG-6203" } else { "FLT-OIL-01" }.into(),
                    batch: "B2026-07".into(),
                    quantity: 1,
                    unit_price: money(if i < 5 { 260 } else { 45 }),
                    ..Default::default()
                })),
                pay_type: pay as i32,
                recall_campaign: campaign.into(),
                ..Default::default()
            },
        ] {
            client
                .add_repair_order_line(actors.request(
                    "S3001",
                    Role::Station,
                    pb::AddRepairOrderLineRequest {
                        repair_order: order.name.clone(),
                        line: Some(line),
                        request_id: String::new(),
                    },
                )?)
                .await?;
        }
        // Some orders stay open so the workshop has work in progress.
        let steps: &[(pb::RepairOrderStatus, &str)] = match i % 3 {
            0 => &[(pb::RepairOrderStatus::InProgress, "")],
            _ => &[
                (pb::RepairOrderStatus::InProgress, ""),
                (pb::RepairOrderStatus::Completed, "Work done as planned"),
                (pb::RepairOrderStatus::Closed, ""),
            ],
        };
        for (status, diagnosis) in steps {
            client
                .set_repair_order_status(actors.request(
                    "S3001",
                    Role::Station,
                    pb::SetRepairOrderStatusRequest {
                        repair_order: order.name.clone(),
                        status: *status as i32,
                        diagnosis: (*diagnosis).into(),
                        ..Default::default()
                    },
                )?)
                .await?;
        }
    }
    Ok(())
}
