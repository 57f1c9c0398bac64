//! Recall campaigns: the three selections, late joiners, closing, bad input; vehicle
//! listing and the HQ pipeline count.

use dealernet_kit::auth::Role;
use dealernet_proto::vehicles::v1 as pb;
use dealernet_tests::TestPlatform;
use prost_types::Timestamp;
use tonic::Code;

use crate::{
    assert_invalid, assert_refused,
    repair::{add, delivered_car, open, part},
    sale::car_in_stock,
    test_vin,
};

fn at(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

fn campaign(
    code: &str,
    selection: pb::recall_campaign::Selection,
) -> pb::CreateRecallCampaignRequest {
    pb::CreateRecallCampaignRequest {
        campaign: Some(pb::RecallCampaign {
            code: code.into(),
            title: "Airbag inflator".into(),
            description: "The inflator may rupture".into(),
            remedy: "Replace the inflator".into(),
            selection: Some(selection),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn campaigns_select_by_window_and_part_batch() {
    use pb::recall_campaign::Selection;
    let platform = TestPlatform::spawn().await;
    // Built at 1_790_000_000 (see car_in_stock).
    let in_stock = car_in_stock(&platform, 301).await;
    let (sold, _) = delivered_car(&platform, 302, "13800138302").await;
    let mut hq = platform.vehicles("HQ", Role::Hq);

    let window = hq
        .create_recall_campaign(campaign(
            "R-WIN-1",
            Selection::BuildWindow(pb::BuildWindow {
                models: vec!["models/DA7-2026".into()],
                built_from: at(1_789_000_000),
                built_to: at(1_791_000_000),
            }),
        ))
        .await
        .expect("window campaign")
        .into_inner()
        .campaign
        .expect("c");
    assert_eq!(window.affected_count, 2);
    assert_eq!(window.status, pb::RecallStatus::Open as i32);

    // A car of the window registered later joins the campaign.
    platform
        .vehicles("PLANT-SH", Role::System)
        .register_production(pb::RegisterProductionRequest {
            vin: test_vin(303),
            model: "models/DA7-2026".into(),
            plant: "CN-SH-01".into(),
            line: "L2".into(),
            built_at: at(1_790_500_000),
            engine_number: "EM3".into(),
            colour: "Red".into(),
            request_id: String::new(),
        })
        .await
        .expect("late production");
    let affected = hq
        .list_affected_vehicles(pb::ListAffectedVehiclesRequest {
            campaign: window.name.clone(),
            completed: Some(false),
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .expect("affected")
        .into_inner();
    assert_eq!(affected.vehicles.len(), 2);
    let rest = hq
        .list_affected_vehicles(pb::ListAffectedVehiclesRequest {
            campaign: window.name.clone(),
            completed: Some(false),
            page_size: 2,
            page_token: affected.next_page_token.clone(),
        })
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(rest.vehicles.len(), 1);
    assert!(rest.next_page_token.is_empty());
    let outlets: Vec<(&str, &str)> = affected
        .vehicles
        .iter()
        .chain(&rest.vehicles)
        .map(|v| (v.vehicle.as_str(), v.outlet.as_str()))
        .collect();
    assert!(outlets.contains(&(in_stock.as_str(), "D1001")));
    assert!(outlets.contains(&(sold.as_str(), "D1001")));
    assert!(outlets.contains(&(format!("vehicles/{}", test_vin(303)).as_str(), "")));
    // A dealer sees the affected cars it answers for.
    let mine = platform
        .vehicles("D1002", Role::Dealer)
        .list_affected_vehicles(pb::ListAffectedVehiclesRequest {
            campaign: window.name.clone(),
            ..Default::default()
        })
        .await
        .expect("dealer view")
        .into_inner();
    assert!(mine.vehicles.is_empty());

    // Part batch: a car fitted before the campaign is selected; one fitted after joins.
    let mut station = platform.vehicles("S2001", Role::Station);
    let ro = station
        .open_repair_order(open(&sold, "S2001", 800))
        .await
        .expect("open")
        .into_inner()
        .repair_order
        .expect("ro");
    add(
        &mut station,
        &ro.name,
        part("INF-9", "LOT-77", 1, 900, pb::PayType::Customer),
    )
    .await
    .expect("fit");
    let batch = hq
        .create_recall_campaign(campaign(
            "R-LOT-77",
            Selection::PartBatch(pb::PartBatch {
                part_number: "INF-9".into(),
                batch: "LOT-77".into(),
            }),
        ))
        .await
        .expect("batch campaign")
        .into_inner()
        .campaign
        .expect("c");
    assert_eq!(batch.affected_count, 1);
    let ro2 = station
        .open_repair_order(open(&in_stock, "S2001", 40))
        .await
        .expect("open")
        .into_inner()
        .repair_order
        .expect("ro");
    add(
        &mut station,
        &ro2.name,
        part("INF-9", "LOT-77", 1, 900, pb::PayType::Customer),
    )
    .await
    .expect("fit");
    let open_now = station
        .list_open_recalls(pb::ListOpenRecallsRequest {
            vehicle: in_stock.clone(),
        })
        .await
        .expect("open recalls")
        .into_inner()
        .campaigns;
    let codes: Vec<&str> = open_now.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, vec!["R-LOT-77", "R-WIN-1"]);

    // A closed campaign no longer shows and takes no remedies.
    hq.close_recall_campaign(pb::CloseRecallCampaignRequest {
        name: window.name.clone(),
        request_id: String::new(),
    })
    .await
    .expect("close");
    assert_refused(
        hq.close_recall_campaign(pb::CloseRecallCampaignRequest {
            name: window.name.clone(),
            request_id: String::new(),
        })
        .await,
        Code::FailedPrecondition,
        "RECALL_CAMPAIGN_CLOSED",
    );
    assert_refused(
        add(
            &mut station,
            &ro2.name,
            pb::RepairOrderLine {
                recall_campaign: window.name.clone(),
                ..part("INF-9", "LOT-90", 1, 900, pb::PayType::Recall)
            },
        )
        .await,
        Code::FailedPrecondition,
        "RECALL_NOT_OPEN_FOR_VEHICLE",
    );
    let listed = hq
        .list_recall_campaigns(pb::ListRecallCampaignsRequest {
            status: pb::RecallStatus::Open as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .campaigns;
    assert_eq!(
        listed.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(),
        vec!["R-LOT-77"]
    );
}

#[tokio::test]
async fn bad_campaigns_are_refused_and_write_nothing() {
    use pb::recall_campaign::Selection;
    let platform = TestPlatform::spawn().await;
    let car = car_in_stock(&platform, 401).await;
    let mut hq = platform.vehicles("HQ", Role::Hq);
    let before = platform.count_in("vehicles", "recall_campaign").await;
    assert_refused(
        platform
            .vehicles("D1001", Role::Dealer)
            .create_recall_campaign(campaign(
                "R-1",
                Selection::Vins(pb::VinList {
                    vins: vec![car.trim_start_matches("vehicles/").into()],
                }),
            ))
            .await,
        Code::PermissionDenied,
        "HQ_ROLE_REQUIRED",
    );
    assert_invalid(
        hq.create_recall_campaign(pb::CreateRecallCampaignRequest {
            campaign: Some(pb::RecallCampaign {
                code: "r 1".into(),
                selection: Some(Selection::Vins(pb::VinList {
                    vins: vec![test_vin(1)[..16].to_owned(), test_vin(999)],
                })),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await,
        &[
            "campaign.code",
            "campaign.title",
            "campaign.description",
            "campaign.remedy",
            "campaign.vins.vins[0]",
        ],
    );
    assert_invalid(
        hq.create_recall_campaign(campaign(
            "R-2",
            Selection::Vins(pb::VinList {
                // The unknown VIN sorts first; it is still named by its place in the request.
                vins: vec![car.trim_start_matches("vehicles/").into(), test_vin(1)],
            }),
        ))
        .await,
        &["campaign.vins.vins[1]"],
    );
    assert_invalid(
        hq.create_recall_campaign(campaign(
            "R-3",
            Selection::BuildWindow(pb::BuildWindow {
                models: vec!["DA7".into()],
                built_from: at(2_000),
                built_to: at(1_000),
            }),
        ))
        .await,
        &[
            "campaign.build_window.models[0]",
            "campaign.build_window.built_to",
        ],
    );
    assert_refused(
        hq.create_recall_campaign(campaign(
            "R-4",
            Selection::BuildWindow(pb::BuildWindow {
                models: vec!["models/NOPE".into()],
                built_from: at(1_000),
                built_to: at(2_000),
            }),
        ))
        .await,
        Code::NotFound,
        "MODEL_NOT_FOUND",
    );
    assert_eq!(
        platform.count_in("vehicles", "recall_campaign").await,
        before
    );
    let vins = Selection::Vins(pb::VinList {
        vins: vec![car.trim_start_matches("vehicles/").into()],
    });
    hq.create_recall_campaign(campaign("R-5", vins.clone()))
        .await
        .expect("create");
    assert_refused(
        hq.create_recall_campaign(campaign("R-5", vins)).await,
        Code::AlreadyExists,
        "RECALL_CAMPAIGN_EXISTS",
    );
    assert_refused(
        hq.get_recall_campaign(pb::GetRecallCampaignRequest {
            name: "recallCampaigns/NOPE".into(),
        })
        .await,
        Code::NotFound,
        "RECALL_CAMPAIGN_NOT_FOUND",
    );
}

#[tokio::test]
async fn listing_and_pipeline_counts() {
    let platform = TestPlatform::spawn().await;
    let a = car_in_stock(&platform, 501).await;
    let _b = car_in_stock(&platform, 502).await;
    let (sold, owner) = delivered_car(&platform, 503, "13800138503").await;

    let mut hq = platform.vehicles("HQ", Role::Hq);
    let in_stock = hq
        .list_vehicles(pb::ListVehiclesRequest {
            states: vec![pb::VehicleState::InStock as i32],
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(in_stock.vehicles.len(), 1);
    assert_eq!(in_stock.vehicles[0].name, a);
    let page2 = hq
        .list_vehicles(pb::ListVehiclesRequest {
            states: vec![pb::VehicleState::InStock as i32],
            page_size: 1,
            page_token: in_stock.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(page2.vehicles.len(), 1);
    assert_invalid(
        hq.list_vehicles(pb::ListVehiclesRequest {
            states: vec![pb::VehicleState::Sold as i32],
            page_token: in_stock.next_page_token.clone(),
            ..Default::default()
        })
        .await,
        &["page_token"],
    );
    let owned = hq
        .list_vehicles(pb::ListVehiclesRequest {
            owner: owner.clone(),
            ..Default::default()
        })
        .await
        .expect("by owner")
        .into_inner()
        .vehicles;
    assert_eq!(
        owned.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        vec![sold.as_str()]
    );
    assert_invalid(
        hq.list_vehicles(pb::ListVehiclesRequest {
            states: vec![42],
            model: "DA7".into(),
            owner: "someone".into(),
            ..Default::default()
        })
        .await,
        &["states[0]", "model", "owner"],
    );

    // A dealer sees the cars it holds or sold; another dealer none of them.
    let seller = platform
        .vehicles("D1001", Role::Dealer)
        .list_vehicles(pb::ListVehiclesRequest::default())
        .await
        .expect("dealer")
        .into_inner()
        .vehicles;
    assert_eq!(seller.len(), 3);
    let other = platform
        .vehicles("D1002", Role::Dealer)
        .list_vehicles(pb::ListVehiclesRequest::default())
        .await
        .expect("other dealer")
        .into_inner()
        .vehicles;
    assert!(other.is_empty());

    let counts = hq
        .count_vehicles(pb::CountVehiclesRequest::default())
        .await
        .expect("count")
        .into_inner();
    assert_eq!(counts.total, 3);
    let groups: Vec<(i32, &str, i64)> = counts
        .counts
        .iter()
        .map(|c| (c.state, c.holder_outlet.as_str(), c.count))
        .collect();
    assert_eq!(
        groups,
        vec![
            (pb::VehicleState::Delivered as i32, "", 1),
            (pb::VehicleState::InStock as i32, "D1001", 2),
        ]
    );
    assert_refused(
        platform
            .vehicles("D1001", Role::Dealer)
            .count_vehicles(pb::CountVehiclesRequest::default())
            .await,
        Code::PermissionDenied,
        "HQ_ROLE_REQUIRED",
    );
}
