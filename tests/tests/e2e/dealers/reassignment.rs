//! Preferred outlets and reassignment by HQ or the hotline.

use chrono::TimeDelta;
use dealernet_kit::auth::Role;
use dealernet_proto::dealers::v1 as pb;
use dealernet_tests::TestPlatform;
use tonic::Code;

use super::{
    advance, buy_lead, counts, create_lead, create_outlets, hq, outlet_at, sh, time, wednesday,
};
use crate::{assert_invalid, assert_refused};

#[tokio::test]
async fn dealers_preferred_outlets_and_reassignment() {
    let clock = wednesday();
    let platform = TestPlatform::spawn_at(&clock).await;
    create_outlets(
        &platform,
        vec![
            outlet_at("P1", 0.0, &[]),
            outlet_at("P2", 2.0, &[]),
            outlet_at("P3", 150.0, &[]),
            outlet_at("P4", 4.0, &[pb::Capability::Service]),
            outlet_at("P5", 6.0, &[]),
        ],
    )
    .await;
    let mut agent = platform.dealers("CALLCENTER", Role::Agent);
    let far = create_lead(
        &mut agent,
        pb::Lead {
            preferred_outlet: "P3".into(),
            ..buy_lead(1, 0.0)
        },
    )
    .await;
    assert_eq!(
        far.assigned_outlet, "P3",
        "the customer's choice, however far"
    );
    assert_eq!(far.routings[0].reason, pb::RoutingReason::Preferred as i32);
    assert!((far.routings[0].distance_km - 150.0).abs() < 1.0);
    let mut hq = hq(&platform);
    hq.suspend_outlet(pb::SuspendOutletRequest {
        name: "outlets/P5".into(),
        reason: "audit".into(),
        request_id: String::new(),
    })
    .await
    .expect("suspend");
    let routed = create_lead(
        &mut agent,
        pb::Lead {
            preferred_outlet: "P5".into(),
            ..buy_lead(2, 6.0)
        },
    )
    .await;
    assert_eq!(routed.routings[0].reason, pb::RoutingReason::Nearest as i32);
    assert_eq!(
        routed.assigned_outlet, "P2",
        "P5 suspended, P4 sells nothing; P1 and P2 idle, P2 nearer"
    );

    let reassign = |outlet: &str| pb::ReassignLeadRequest {
        name: routed.name.clone(),
        outlet: outlet.into(),
        reason: "customer asked".into(),
        request_id: String::new(),
    };
    let before = counts(&platform).await;
    for (outlet, code, reason) in [
        ("P5", Code::FailedPrecondition, "OUTLET_SUSPENDED"),
        ("P4", Code::FailedPrecondition, "OUTLET_LACKS_CAPABILITY"),
        ("P2", Code::FailedPrecondition, "LEAD_ALREADY_AT_OUTLET"),
        ("NOPE", Code::NotFound, "OUTLET_NOT_FOUND"),
    ] {
        assert_refused(agent.reassign_lead(reassign(outlet)).await, code, reason);
    }
    assert_invalid(
        agent
            .reassign_lead(pb::ReassignLeadRequest {
                reason: String::new(),
                ..reassign("p 2")
            })
            .await,
        &["outlet", "reason"],
    );
    assert_refused(
        platform
            .dealers("P2", Role::Dealer)
            .reassign_lead(reassign("P2"))
            .await,
        Code::PermissionDenied,
        "REASSIGN_NOT_ALLOWED",
    );
    assert_eq!(counts(&platform).await, before, "refusals write nothing");

    clock.advance(TimeDelta::hours(1));
    let moved = agent
        .reassign_lead(reassign("P1"))
        .await
        .expect("reassign")
        .into_inner()
        .lead
        .expect("lead");
    assert_eq!(moved.assigned_outlet, "P1");
    assert_eq!(
        time(moved.respond_before.as_ref()),
        sh("2026-11-18 15:00"),
        "a fresh window at P1"
    );
    let history: Vec<(&str, i32, bool)> = moved
        .routings
        .iter()
        .map(|r| (r.outlet.as_str(), r.reason, r.end_time.is_some()))
        .collect();
    assert_eq!(
        history,
        [
            ("P2", pb::RoutingReason::Nearest as i32, true),
            ("P1", pb::RoutingReason::Manual as i32, false)
        ]
    );
    assert_refused(
        platform
            .dealers("P2", Role::Dealer)
            .advance_lead(advance(&routed.name, pb::LeadStatus::Contacted))
            .await,
        Code::FailedPrecondition,
        "LEAD_REASSIGNED",
    );
    platform
        .dealers("P1", Role::Dealer)
        .advance_lead(advance(&routed.name, pb::LeadStatus::Contacted))
        .await
        .expect("P1 contacts");
    assert_refused(
        agent.reassign_lead(reassign("P2")).await,
        Code::FailedPrecondition,
        "LEAD_ALREADY_TAKEN_UP",
    );
}
