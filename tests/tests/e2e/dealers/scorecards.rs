//! Scorecards: lead figures per outlet and period, who may read them, and the event
//! figures of an outlet no event has named.

use chrono::TimeDelta;
use dealernet_kit::{auth::Role, clock::ManualClock};
use dealernet_proto::dealers::v1 as pb;
use dealernet_tests::TestPlatform;
use tonic::Code;

use super::{advance, buy_lead, create_lead, create_outlets, date, hq, outlet_at, sh};
use crate::{assert_invalid, assert_refused};

fn scorecard_request(outlet: &str, day: (i32, i32, i32)) -> pb::GetOutletScorecardRequest {
    pb::GetOutletScorecardRequest {
        outlet: outlet.into(),
        start_date: Some(date(day.0, day.1, day.2)),
        end_date: Some(date(day.0, day.1, day.2)),
    }
}

#[tokio::test]
async fn dealers_scorecards_count_received_contacted_won_and_rerouted_leads() {
    let clock = ManualClock::new(sh("2026-11-16 10:00"));
    let platform = TestPlatform::spawn_at(&clock).await;
    create_outlets(
        &platform,
        vec![outlet_at("A", 0.0, &[]), outlet_at("B", 3.0, &[])],
    )
    .await;
    let mut agent = platform.dealers("CALLCENTER", Role::Agent);
    let lead = |n| pb::Lead {
        preferred_outlet: "A".into(),
        ..buy_lead(n, 0.0)
    };
    let won = create_lead(&mut agent, lead(1)).await;
    let lost = create_lead(&mut agent, lead(2)).await;
    let missed = create_lead(&mut agent, lead(3)).await;
    let mut a = platform.dealers("A", Role::Dealer);
    clock.advance(TimeDelta::minutes(30));
    a.advance_lead(advance(&won.name, pb::LeadStatus::Contacted))
        .await
        .expect("contact");
    clock.advance(TimeDelta::minutes(60));
    a.advance_lead(advance(&lost.name, pb::LeadStatus::Contacted))
        .await
        .expect("contact");
    a.advance_lead(advance(&won.name, pb::LeadStatus::Won))
        .await
        .expect("won");
    a.advance_lead(pb::AdvanceLeadRequest {
        lost_reason: "too expensive".into(),
        ..advance(&lost.name, pb::LeadStatus::Lost)
    })
    .await
    .expect("lost");
    assert_eq!(
        platform.sweep_leads(sh("2026-11-16 14:00")).await.rerouted,
        1
    );
    assert_eq!(
        super::get_lead(&platform, &missed.name)
            .await
            .assigned_outlet,
        "B"
    );

    let card = a
        .get_outlet_scorecard(scorecard_request("A", (2026, 11, 16)))
        .await
        .expect("A's scorecard")
        .into_inner()
        .scorecard
        .expect("scorecard");
    assert_eq!(card.outlet, "A");
    assert_eq!(
        (
            card.leads_received,
            card.leads_contacted,
            card.leads_won,
            card.leads_lost,
            card.rerouted_away
        ),
        (3, 2, 1, 1, 1)
    );
    // First contacts after 30 and 90 minutes: the median is an hour.
    assert_eq!(
        card.median_time_to_first_contact,
        Some(prost_types::Duration {
            seconds: 3600,
            nanos: 0
        })
    );
    assert_eq!(card.conversion_rate, Some(1.0 / 3.0));
    assert_eq!(
        (
            card.vehicles_sold,
            card.satisfaction_score,
            card.median_repair_turnaround,
            card.recall_completion_rate
        ),
        (Some(0), None, None, None),
        "no sales counted, and nothing to average: left unset rather than invented"
    );

    let b = hq(&platform)
        .get_outlet_scorecard(scorecard_request("B", (2026, 11, 16)))
        .await
        .expect("B")
        .into_inner()
        .scorecard
        .expect("scorecard");
    assert_eq!(
        (b.leads_received, b.leads_contacted, b.rerouted_away),
        (1, 0, 0)
    );
    assert_eq!(b.median_time_to_first_contact, None);
    assert_eq!(b.conversion_rate, Some(0.0));

    // The period is in local days: nothing on the 17th.
    let next_day = hq(&platform)
        .get_outlet_scorecard(scorecard_request("A", (2026, 11, 17)))
        .await
        .expect("next day")
        .into_inner()
        .scorecard
        .expect("scorecard");
    assert_eq!(
        (next_day.leads_received, next_day.conversion_rate),
        (0, None)
    );

    let all = hq(&platform)
        .list_outlet_scorecards(pb::ListOutletScorecardsRequest {
            start_date: Some(date(2026, 11, 1)),
            end_date: Some(date(2026, 11, 30)),
            region: "EAST".into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(all.scorecards.len(), 1);
    assert_eq!(
        all.scorecards[0],
        pb::Scorecard {
            start_date: Some(date(2026, 11, 1)),
            end_date: Some(date(2026, 11, 30)),
            ..card
        }
    );
    let rest = hq(&platform)
        .list_outlet_scorecards(pb::ListOutletScorecardsRequest {
            start_date: Some(date(2026, 11, 1)),
            end_date: Some(date(2026, 11, 30)),
            region: "EAST".into(),
            page_size: 1,
            page_token: all.next_page_token,
            ..Default::default()
        })
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(rest.scorecards[0].outlet, "B");

    // Who may read.
    assert_refused(
        platform
            .dealers("B", Role::Dealer)
            .get_outlet_scorecard(scorecard_request("A", (2026, 11, 16)))
            .await,
        Code::PermissionDenied,
        "NOT_YOUR_OUTLET",
    );
    platform
        .dealers("REPORTING", Role::System)
        .get_outlet_scorecard(scorecard_request("A", (2026, 11, 16)))
        .await
        .expect("systems read");
    assert_refused(
        a.list_outlet_scorecards(pb::ListOutletScorecardsRequest {
            start_date: Some(date(2026, 11, 1)),
            end_date: Some(date(2026, 11, 30)),
            ..Default::default()
        })
        .await,
        Code::PermissionDenied,
        "HQ_ROLE_REQUIRED",
    );
    assert_refused(
        hq(&platform)
            .get_outlet_scorecard(scorecard_request("NOPE", (2026, 11, 16)))
            .await,
        Code::NotFound,
        "OUTLET_NOT_FOUND",
    );
    assert_invalid(
        hq(&platform)
            .get_outlet_scorecard(pb::GetOutletScorecardRequest {
                outlet: "A".into(),
                start_date: Some(date(2026, 11, 16)),
                end_date: Some(date(2026, 11, 15)),
            })
            .await,
        &["end_date"],
    );
    assert_invalid(
        hq(&platform)
            .get_outlet_scorecard(pb::GetOutletScorecardRequest {
                outlet: "A".into(),
                start_date: Some(date(2025, 1, 1)),
                end_date: Some(date(2026, 11, 15)),
            })
            .await,
        &["end_date"],
    );
    assert_invalid(
        hq(&platform)
            .get_outlet_scorecard(pb::GetOutletScorecardRequest {
                outlet: String::new(),
                start_date: None,
                end_date: Some(date(2026, 2, 30)),
            })
            .await,
        &["outlet", "start_date", "end_date"],
    );
}
