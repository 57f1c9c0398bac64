//! Deadlines and the sweeper: expiry across a weekend and a holiday, re-routing exactly
//! once under concurrent sweepers, a sweep racing a first contact, escalation after the
//! last outlet, leads leaving a suspended outlet, and the background task.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::TimeDelta;
use dealernet_kit::{
    auth::Role,
    clock::{Clock, ManualClock},
    config::Layer,
};
use dealernet_proto::dealers::v1 as pb;
use dealernet_tests::TestPlatform;
use tokio::sync::Barrier;
use tonic::Code;

use super::{
    advance, buy_lead, create_lead, create_outlets, date, get_lead, hq, outlet_at, sh, time,
};
use crate::assert_refused;

fn preferred(n: u32, outlet: &str) -> pb::Lead {
    pb::Lead {
        preferred_outlet: outlet.into(),
        ..buy_lead(n, 0.0)
    }
}

fn route(lead: &pb::Lead) -> Vec<(String, i32)> {
    lead.routings
        .iter()
        .map(|r| (r.outlet.clone(), r.reason))
        .collect()
}

#[tokio::test]
async fn dealers_deadlines_skip_a_weekend_and_a_holiday() {
    // Friday 17:00; Monday 2026-11-23 is a holiday at A.
    let clock = ManualClock::new(sh("2026-11-20 17:00"));
    let platform = TestPlatform::spawn_at(&clock).await;
    let mut a = outlet_at("A", 0.0, &[]);
    a.closed_dates = vec![date(2026, 11, 23)];
    create_outlets(&platform, vec![a, outlet_at("B", 5.0, &[])]).await;
    let mut agent = platform.dealers("CALLCENTER", Role::Agent);
    let lead = create_lead(&mut agent, preferred(1, "A")).await;
    // Friday 17–18 is one hour, Monday is closed, Tuesday 09–12 the other three.
    assert_eq!(time(lead.respond_before.as_ref()), sh("2026-11-24 12:00"));

    let just_before = sh("2026-11-24 12:00") - TimeDelta::microseconds(1);
    assert_eq!(platform.sweep_leads(just_before).await.rerouted, 0);
    assert_eq!(
        get_lead(&platform, &lead.name).await,
        lead,
        "untouched before the deadline"
    );

    let at_deadline = sh("2026-11-24 12:00");
    let report = platform.sweep_leads(at_deadline).await;
    assert_eq!((report.rerouted, report.escalated), (1, 0));
    let moved = get_lead(&platform, &lead.name).await;
    assert_eq!(moved.assigned_outlet, "B");
    assert_eq!(moved.status, pb::LeadStatus::New as i32);
    assert_eq!(
        route(&moved),
        [
            ("A".to_owned(), pb::RoutingReason::Preferred as i32),
            ("B".to_owned(), pb::RoutingReason::DeadlineMissed as i32)
        ]
    );
    assert_eq!(time(moved.routings[0].end_time.as_ref()), at_deadline);
    // B's window counts from the re-route in B's hours: Tuesday 12:00 + 4 h.
    assert_eq!(time(moved.respond_before.as_ref()), sh("2026-11-24 16:00"));
    assert_eq!(
        platform.sweep_leads(at_deadline).await.rerouted,
        0,
        "once per missed deadline"
    );

    clock.set(sh("2026-11-24 12:05"));
    assert_refused(
        platform
            .dealers("A", Role::Dealer)
            .advance_lead(advance(&lead.name, pb::LeadStatus::Contacted))
            .await,
        Code::FailedPrecondition,
        "LEAD_REASSIGNED",
    );
    platform
        .dealers("B", Role::Dealer)
        .advance_lead(advance(&lead.name, pb::LeadStatus::Contacted))
        .await
        .expect("B contacts");
    assert_eq!(
        platform.sweep_leads(sh("2026-11-30 12:00")).await.rerouted,
        0,
        "contacted leads stay"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dealers_concurrent_sweepers_reroute_each_lead_exactly_once() {
    let clock = ManualClock::new(sh("2026-11-18 10:00"));
    let platform = TestPlatform::spawn_at(&clock).await;
    // C is there to take a lead re-routed twice by mistake.
    create_outlets(
        &platform,
        vec![
            outlet_at("A", 0.0, &[]),
            outlet_at("B", 3.0, &[]),
            outlet_at("C", 6.0, &[]),
        ],
    )
    .await;
    let mut agent = platform.dealers("CALLCENTER", Role::Agent);
    let mut names = Vec::new();
    for n in 0..40 {
        names.push(create_lead(&mut agent, preferred(n, "A")).await.name);
    }
    let late = sh("2026-11-18 14:00");
    let mut sweeps = Vec::new();
    for _ in 0..4 {
        let sweeper = platform.sweeper().await;
        sweeps.push(tokio::spawn(async move {
            sweeper.sweep_once(late).await.expect("sweep")
        }));
    }
    let mut rerouted = 0;
    for s in sweeps {
        let r = s.await.expect("join");
        assert_eq!((r.failed, r.escalated), (0, 0));
        rerouted += r.rerouted;
    }
    assert_eq!(rerouted, 40, "each lead re-routed by exactly one sweeper");
    for name in &names {
        let lead = get_lead(&platform, name).await;
        assert!(
            ["B", "C"].contains(&lead.assigned_outlet.as_str()),
            "{name}"
        );
        assert_eq!(lead.routings.len(), 2, "{name}: {:?}", lead.routings);
        assert!(!lead.escalated);
    }
    assert_eq!(platform.count_in("dealers", "lead_assignment").await, 80);
}

/// One race: 30 overdue leads at A; A calls every customer as two sweepers run. Every
/// party is connected first and released at once; A calls the newest leads first (after
/// `head_start` for the sweepers) while the sweepers take the oldest first, so the two
/// meet somewhere in the middle. Returns (re-routed, contacted by A).
async fn race(
    platform: &TestPlatform,
    clock: &ManualClock,
    day: &str,
    head_start: Duration,
) -> (usize, usize) {
    clock.set(sh(&format!("{day} 10:00")));
    let mut agent = platform.dealers("CALLCENTER", Role::Agent);
    let mut names = Vec::new();
    for n in 0..30 {
        names.push(create_lead(&mut agent, preferred(n, "A")).await.name);
    }
    let deadline = sh(&format!("{day} 14:00"));
    clock.set(deadline);
    let start = Arc::new(Barrier::new(names.len() + 2));
    let mut calls = Vec::new();
    for name in names.iter().rev() {
        let mut a = pb::dealer_service_client::DealerServiceClient::with_interceptor(
            platform.connect().await,
            dealernet_tests::Bearer::valid("A", Role::Dealer),
        );
        let (name, start) = (name.clone(), start.clone());
        calls.push(tokio::spawn(async move {
            start.wait().await;
            tokio::time::sleep(head_start).await;
            let outcome = a
                .advance_lead(advance(&name, pb::LeadStatus::Contacted))
                .await;
            (name, outcome)
        }));
    }
    let mut sweeps = Vec::new();
    for _ in 0..2 {
        let (sweeper, start) = (platform.sweeper().await, start.clone());
        sweeps.push(tokio::spawn(async move {
            start.wait().await;
            sweeper.sweep_once(deadline).await.expect("sweep")
        }));
    }
    let mut contacted: HashMap<String, bool> = HashMap::new();
    for call in calls {
        let (name, outcome) = call.await.expect("join");
        let took_it = match outcome {
            Ok(_) => true,
            Err(status) => {
                assert_refused::<()>(Err(status), Code::FailedPrecondition, "LEAD_REASSIGNED");
                false
            }
        };
        contacted.insert(name, took_it);
    }
    let mut rerouted = 0;
    for s in sweeps {
        let report = s.await.expect("join");
        assert_eq!((report.failed, report.escalated), (0, 0));
        rerouted += report.rerouted;
    }
    let mut kept = 0;
    for name in &names {
        let lead = get_lead(platform, name).await;
        if contacted[name] {
            kept += 1;
            assert_eq!(lead.assigned_outlet, "A", "{name}");
            assert_eq!(lead.status, pb::LeadStatus::Contacted as i32, "{name}");
            assert_eq!(lead.routings.len(), 1, "{name}");
        } else {
            assert!(
                ["B", "C"].contains(&lead.assigned_outlet.as_str()),
                "{name}"
            );
            assert_eq!(lead.status, pb::LeadStatus::New as i32, "{name}");
            assert_eq!(lead.routings.len(), 2, "{name}: re-routed exactly once");
            assert!(!lead.escalated, "{name}");
        }
    }
    assert_eq!(
        rerouted + kept,
        names.len(),
        "every lead went exactly one way"
    );
    (rerouted, kept)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dealers_a_sweep_racing_a_first_contact_ends_in_exactly_one_state() {
    let clock = ManualClock::new(sh("2026-11-16 10:00"));
    let platform = TestPlatform::spawn_at(&clock).await;
    create_outlets(
        &platform,
        vec![
            outlet_at("A", 0.0, &[]),
            outlet_at("B", 3.0, &[]),
            outlet_at("C", 6.0, &[]),
        ],
    )
    .await;
    // Rounds on Monday to Friday with a growing head start for the sweepers, until both
    // outcomes were seen: a race that only ever goes one way would test nothing.
    let (mut rerouted, mut kept) = (0, 0);
    for (round, day) in [
        "2026-11-16",
        "2026-11-17",
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
    ]
    .iter()
    .enumerate()
    {
        let (r, k) = race(
            &platform,
            &clock,
            day,
            Duration::from_millis(10 * round as u64),
        )
        .await;
        (rerouted, kept) = (rerouted + r, kept + k);
        if rerouted > 0 && kept > 0 {
            break;
        }
    }
    assert!(
        rerouted > 0 && kept > 0,
        "both outcomes seen: {rerouted} re-routed, {kept} contacted"
    );
}

#[tokio::test]
async fn dealers_a_lead_escalates_after_its_last_outlet() {
    let clock = ManualClock::new(sh("2026-11-18 10:00"));
    let platform = TestPlatform::spawn_at(&clock).await;
    let codes = ["E1", "E2", "E3", "E4", "E5"];
    create_outlets(
        &platform,
        codes
            .iter()
            .enumerate()
            .map(|(i, c)| outlet_at(c, i as f64, &[]))
            .collect(),
    )
    .await;
    let mut agent = platform.dealers("CALLCENTER", Role::Agent);
    let lead = create_lead(&mut agent, preferred(1, "E1")).await;
    let mut visited = vec![lead.assigned_outlet.clone()];
    for _ in 0..3 {
        let due = time(
            get_lead(&platform, &lead.name)
                .await
                .respond_before
                .as_ref(),
        );
        assert_eq!(platform.sweep_leads(due).await.rerouted, 1);
        visited.push(get_lead(&platform, &lead.name).await.assigned_outlet);
    }
    assert_eq!(
        visited,
        ["E1", "E2", "E3", "E4"],
        "never back to an outlet that had it"
    );
    let now = time(
        get_lead(&platform, &lead.name)
            .await
            .respond_before
            .as_ref(),
    );
    let report = platform.sweep_leads(now).await;
    assert_eq!(
        (report.rerouted, report.escalated),
        (0, 1),
        "four outlets is the limit"
    );
    let escalated = get_lead(&platform, &lead.name).await;
    assert!(escalated.escalated);
    assert_eq!(escalated.assigned_outlet, "E4", "stays where it is");
    assert_eq!(
        platform.sweep_leads(now + TimeDelta::days(3)).await,
        Default::default(),
        "left alone"
    );
    clock.set(now + TimeDelta::minutes(1));
    let overdue = agent
        .list_leads(pb::ListLeadsRequest {
            overdue: true,
            ..Default::default()
        })
        .await
        .expect("overdue")
        .into_inner();
    assert_eq!(
        overdue.leads.len(),
        1,
        "escalated leads show as overdue for HQ and the hotline"
    );
    let rescued = agent
        .reassign_lead(pb::ReassignLeadRequest {
            name: lead.name.clone(),
            outlet: "E5".into(),
            reason: "escalated".into(),
            request_id: String::new(),
        })
        .await
        .expect("reassign")
        .into_inner()
        .lead
        .expect("lead");
    assert!(!rescued.escalated);
    assert_eq!(rescued.routings.len(), 5);
}

#[tokio::test]
async fn dealers_leads_leave_a_suspended_outlet() {
    let clock = ManualClock::new(sh("2026-11-18 10:00"));
    let platform = TestPlatform::spawn_at(&clock).await;
    create_outlets(
        &platform,
        vec![outlet_at("A", 0.0, &[]), outlet_at("B", 3.0, &[])],
    )
    .await;
    let mut agent = platform.dealers("CALLCENTER", Role::Agent);
    let waiting = create_lead(&mut agent, preferred(1, "A")).await;
    let taken_up = create_lead(&mut agent, preferred(2, "A")).await;
    let mut a = platform.dealers("A", Role::Dealer);
    a.advance_lead(advance(&taken_up.name, pb::LeadStatus::Contacted))
        .await
        .expect("contact");
    hq(&platform)
        .suspend_outlet(pb::SuspendOutletRequest {
            name: "outlets/A".into(),
            reason: "audit".into(),
            request_id: String::new(),
        })
        .await
        .expect("suspend");
    // Suspended, A may no longer take up a new lead; it may keep working a contacted one.
    assert_refused(
        a.advance_lead(advance(&waiting.name, pb::LeadStatus::Contacted))
            .await,
        Code::FailedPrecondition,
        "OUTLET_SUSPENDED",
    );
    a.advance_lead(pb::AdvanceLeadRequest {
        lost_reason: "bought elsewhere".into(),
        ..advance(&taken_up.name, pb::LeadStatus::Lost)
    })
    .await
    .expect("keeps working its contacted lead");
    // Long before the deadline, the next sweep moves the waiting lead on.
    let report = platform.sweep_leads(sh("2026-11-18 10:01")).await;
    assert_eq!(report.rerouted, 1);
    let moved = get_lead(&platform, &waiting.name).await;
    assert_eq!(moved.assigned_outlet, "B");
    assert_eq!(
        moved.routings[1].reason,
        pb::RoutingReason::OutletUnavailable as i32
    );
}

#[tokio::test]
async fn dealers_the_background_sweeper_moves_overdue_leads() {
    let clock = ManualClock::new(sh("2026-11-18 10:00"));
    let platform = TestPlatform::spawn_with_clock(
        |l| Layer {
            lead_sweep_interval_secs: Some(1),
            ..l
        },
        Clock::from(clock.clone()),
    )
    .await;
    create_outlets(
        &platform,
        vec![outlet_at("A", 0.0, &[]), outlet_at("B", 3.0, &[])],
    )
    .await;
    let mut agent = platform.dealers("CALLCENTER", Role::Agent);
    let lead = create_lead(&mut agent, preferred(1, "A")).await;
    clock.set(sh("2026-11-18 14:00"));
    let mut outlet = lead.assigned_outlet.clone();
    for _ in 0..100 {
        outlet = get_lead(&platform, &lead.name).await.assigned_outlet;
        if outlet != "A" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        outlet, "B",
        "re-routed by the server's own sweeper within 10 s"
    );
}
