//! RankOutletScorecards: outlets ordered by one figure, best first, ties by code, paged
//! with a token bound to the request; outlets without the figure left out. The history is
//! written as the vehicle service and the call center publish it, and reaches the
//! network through its consumers.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use dealernet_kit::auth::Role;
use dealernet_proto::{callcenter::v1 as cpb, dealers::v1 as pb, vehicles::v1 as vpb};
use dealernet_tests::TestPlatform;
use prost::Message;
use tonic::Code;

use super::{
    date, hq,
    scorecard_events::{card, publish, sale_event},
    sh, ts,
};
use crate::{assert_invalid, assert_refused};

fn closed_order(n: u32, station: &str, opened: DateTime<Utc>, hours: i64) -> Vec<u8> {
    let completed = opened + TimeDelta::hours(hours);
    vpb::VehicleServiceEvent {
        kind: Some(vpb::vehicle_service_event::Kind::RepairOrderClosed(
            vpb::RepairOrderClosed {
                repair_order: format!("repairOrders/0193-{n}"),
                vehicle: format!("vehicles/LSVRANK00000000{n:02}"),
                station: station.into(),
                open_time: Some(ts(opened)),
                complete_time: Some(ts(completed)),
                close_time: Some(ts(completed + TimeDelta::minutes(30))),
                ..Default::default()
            },
        )),
    }
    .encode_to_vec()
}

fn survey(n: u32, outlet: &str, satisfaction: i32, at: DateTime<Utc>) -> Vec<u8> {
    cpb::CallCenterServiceEvent {
        kind: Some(cpb::call_center_service_event::Kind::SurveyCompleted(
            cpb::SurveyCompleted {
                survey_response: format!("surveyResponses/0193-{n}"),
                outlet: outlet.into(),
                satisfaction,
                nps: 8,
                answer_time: Some(ts(at)),
                ..Default::default()
            },
        )),
    }
    .encode_to_vec()
}

fn request(
    metric: pb::ScorecardMetric,
    page_size: i32,
    token: &str,
) -> pb::RankOutletScorecardsRequest {
    pb::RankOutletScorecardsRequest {
        start_date: Some(date(2026, 11, 16)),
        end_date: Some(date(2026, 11, 16)),
        metric: metric as i32,
        region: "EAST".into(),
        province: String::new(),
        page_size,
        page_token: token.into(),
    }
}

async fn rank(
    platform: &TestPlatform,
    req: pb::RankOutletScorecardsRequest,
) -> pb::RankOutletScorecardsResponse {
    hq(platform)
        .rank_outlet_scorecards(req)
        .await
        .expect("rank")
        .into_inner()
}

/// (rank, outlet) of a page.
fn places(r: &pb::RankOutletScorecardsResponse) -> Vec<(i64, String)> {
    r.ranked
        .iter()
        .map(|x| (x.rank, x.scorecard.as_ref().expect("card").outlet.clone()))
        .collect()
}

async fn ranked_when(
    platform: &TestPlatform,
    metric: pb::ScorecardMetric,
    total: i64,
) -> pb::RankOutletScorecardsResponse {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let r = rank(platform, request(metric, 0, "")).await;
        if r.total_ranked == total {
            return r;
        }
        assert!(tokio::time::Instant::now() < deadline, "{metric:?}: {r:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn outlets_rank_by_one_figure_best_first_in_pages() {
    use pb::ScorecardMetric as M;
    let platform = TestPlatform::spawn().await;
    crate::network(&platform).await;
    let noon = sh("2026-11-16 12:00");
    for (n, outlet) in ["D1002", "D1002", "D1002", "S2001", "D1001"]
        .iter()
        .enumerate()
    {
        let vin = format!("LSVSALE000000000{n}");
        publish(
            &platform,
            "vehicles",
            "VehicleSold",
            &format!("vehicles/{vin}"),
            sale_event(&vin, outlet, noon),
        )
        .await;
    }
    // A sale the day after: outside the period.
    publish(
        &platform,
        "vehicles",
        "VehicleSold",
        "vehicles/LSVSALE0000000009",
        sale_event("LSVSALE0000000009", "S3002", noon + TimeDelta::days(1)),
    )
    .await;
    let morning = sh("2026-11-16 08:00");
    for (n, station, hours) in [
        (1, "S2002", 2),
        (2, "S2002", 9),
        (3, "S2002", 4),
        (4, "S2001", 1),
        (5, "D1001", 6),
    ] {
        publish(
            &platform,
            "vehicles",
            "RepairOrderClosed",
            "repairOrders/x",
            closed_order(n, station, morning, hours),
        )
        .await;
    }
    for (n, outlet, satisfaction) in [(1, "D1002", 5), (2, "S2001", 3), (3, "S2001", 4)] {
        publish(
            &platform,
            "callcenter",
            "SurveyCompleted",
            "surveyResponses/x",
            survey(n, outlet, satisfaction, noon),
        )
        .await;
    }

    // Shortest median turnaround first; outlets that closed no order are left out.
    let turnaround = ranked_when(&platform, M::RepairTurnaround, 3).await;
    assert_eq!(
        places(&turnaround),
        [
            (1, "S2001".to_owned()),
            (2, "S2002".to_owned()),
            (3, "D1001".to_owned())
        ]
    );
    let s2002 = turnaround.ranked[1].scorecard.as_ref().expect("card");
    assert_eq!(
        s2002.median_repair_turnaround,
        Some(prost_types::Duration {
            seconds: 4 * 3600,
            nanos: 0
        }),
        "the exact median of 2, 4 and 9 hours"
    );

    // Most sold first, ties by code, every outlet of the region (none sold is 0).
    let mut token = String::new();
    let mut pages = Vec::new();
    loop {
        let page = rank(&platform, request(M::Sales, 2, &token)).await;
        assert_eq!(page.total_ranked, 6);
        pages.push(places(&page));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let codes = |p: &[(i64, String)]| p.iter().map(|x| x.1.clone()).collect::<Vec<_>>();
    assert_eq!(pages.len(), 3);
    assert_eq!(codes(&pages[0]), ["D1002", "D1001"]);
    assert_eq!(codes(&pages[1]), ["S2001", "S2002"]);
    assert_eq!(codes(&pages[2]), ["S3001", "S3002"]);
    assert_eq!(
        pages.concat().iter().map(|x| x.0).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    let first = rank(&platform, request(M::Sales, 1, "")).await;
    assert_eq!(
        first.ranked[0]
            .scorecard
            .as_ref()
            .expect("card")
            .vehicles_sold,
        Some(3)
    );

    let satisfaction = ranked_when(&platform, M::Satisfaction, 2).await;
    assert_eq!(
        places(&satisfaction),
        [(1, "D1002".to_owned()), (2, "S2001".to_owned())]
    );
    assert_eq!(
        satisfaction.ranked[1]
            .scorecard
            .as_ref()
            .expect("card")
            .satisfaction_score,
        Some(3.5)
    );
    let day = NaiveDate::from_ymd_opt(2026, 11, 17).expect("day");
    assert_eq!(
        card(&platform, "S3002", (day, day)).await.vehicles_sold,
        Some(1)
    );

    // Filters narrow the ranking; no recall cars, no leads: nothing to rank.
    let elsewhere = rank(
        &platform,
        pb::RankOutletScorecardsRequest {
            region: "WEST".into(),
            ..request(M::Sales, 0, "")
        },
    )
    .await;
    assert_eq!((elsewhere.total_ranked, elsewhere.ranked.len()), (0, 0));
    assert_eq!(
        rank(&platform, request(M::RecallCompletion, 0, ""))
            .await
            .total_ranked,
        0
    );
    assert_eq!(
        rank(&platform, request(M::Conversion, 0, ""))
            .await
            .total_ranked,
        0
    );

    // A token is for the request it came from; the metric is required; HQ only.
    let token = rank(&platform, request(M::Sales, 1, ""))
        .await
        .next_page_token;
    assert_invalid(
        hq(&platform)
            .rank_outlet_scorecards(request(M::Satisfaction, 1, &token))
            .await,
        &["page_token"],
    );
    assert_invalid(
        hq(&platform)
            .rank_outlet_scorecards(pb::RankOutletScorecardsRequest {
                start_date: None,
                page_size: -1,
                ..request(M::Unspecified, 0, "")
            })
            .await,
        &["start_date", "metric", "page_size"],
    );
    assert_refused(
        platform
            .dealers("D1001", Role::Dealer)
            .rank_outlet_scorecards(request(M::Sales, 0, ""))
            .await,
        Code::PermissionDenied,
        "HQ_ROLE_REQUIRED",
    );
    assert_eq!(platform.count_in("dealers", "parked_event").await, 0);
}
