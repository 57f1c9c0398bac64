//! Leads: creation with routing, the outlet's moves, reassignment, listing, and the
//! object-level rules around them.

use chrono::TimeDelta;
use dealernet_kit::auth::Role;
use dealernet_proto::dealers::v1 as pb;
use dealernet_tests::TestPlatform;
use tonic::Code;

use super::{
    advance, buy_lead, counts, create_lead, create_outlets, get_lead, hq, outlet_at, sh, time, ts,
    wednesday,
};
use crate::{assert_invalid, assert_refused};

#[tokio::test]
async fn dealers_a_lead_is_routed_and_worked_until_won() {
    use pb::LeadStatus as S;
    let clock = wednesday();
    let platform = TestPlatform::spawn_at(&clock).await;
    create_outlets(
        &platform,
        vec![outlet_at("D4001", 0.0, &[]), outlet_at("D4002", 3.0, &[])],
    )
    .await;
    let mut agent = platform.dealers("CALLCENTER", Role::Agent);
    let lead = create_lead(&mut agent, buy_lead(1, 1.0)).await;
    assert_eq!(lead.assigned_outlet, "D4001", "both idle: the nearer one");
    assert_eq!(lead.status, S::New as i32);
    assert_eq!(lead.created_by, "CALLCENTER");
    assert_eq!(
        time(lead.respond_before.as_ref()),
        sh("2026-11-18 14:00"),
        "4 open hours"
    );
    assert_eq!(lead.routings.len(), 1);
    assert_eq!(lead.routings[0].reason, pb::RoutingReason::Nearest as i32);
    assert!((lead.routings[0].distance_km - 1.0).abs() < 0.05);

    let staff = |outlet: &str| pb::CreateStaffMemberRequest {
        staff_member: Some(pb::StaffMember {
            outlet: outlet.into(),
            display_name: "李伟".into(),
            role: pb::StaffRole::SalesPerson as i32,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let mut hq = hq(&platform);
    let seller = hq
        .create_staff_member(staff("D4001"))
        .await
        .expect("staff")
        .into_inner()
        .staff_member
        .expect("s");
    let stranger = hq
        .create_staff_member(staff("D4002"))
        .await
        .expect("staff")
        .into_inner()
        .staff_member
        .expect("s");

    let mut own = platform.dealers("D4001", Role::Dealer);
    let mut other = platform.dealers("D4002", Role::Dealer);
    assert_refused(
        other
            .get_lead(pb::GetLeadRequest {
                name: lead.name.clone(),
            })
            .await,
        Code::PermissionDenied,
        "NOT_YOUR_LEAD",
    );
    own.get_lead(pb::GetLeadRequest {
        name: lead.name.clone(),
    })
    .await
    .expect("own lead");

    let before = counts(&platform).await;
    for to in [S::Won, S::Lost] {
        let mut req = advance(&lead.name, to);
        req.lost_reason = if to == S::Lost {
            "no answer".into()
        } else {
            String::new()
        };
        assert_refused(
            own.advance_lead(req).await,
            Code::FailedPrecondition,
            "ILLEGAL_LEAD_TRANSITION",
        );
    }
    assert_refused(
        other.advance_lead(advance(&lead.name, S::Contacted)).await,
        Code::PermissionDenied,
        "NOT_YOUR_LEAD",
    );
    assert_refused(
        platform
            .dealers("CALLCENTER", Role::Agent)
            .advance_lead(advance(&lead.name, S::Contacted))
            .await,
        Code::PermissionDenied,
        "NOT_YOUR_LEAD",
    );
    assert_refused(
        own.advance_lead(pb::AdvanceLeadRequest {
            staff_member: stranger.name.clone(),
            ..advance(&lead.name, S::Contacted)
        })
        .await,
        Code::FailedPrecondition,
        "STAFF_NOT_ACTIVE_AT_OUTLET",
    );
    assert_refused(
        own.advance_lead(pb::AdvanceLeadRequest {
            etag: "\"99\"".into(),
            ..advance(&lead.name, S::Contacted)
        })
        .await,
        Code::Aborted,
        "ETAG_MISMATCH",
    );
    assert_invalid(
        own.advance_lead(advance(&lead.name, S::Appointment)).await,
        &["appointment_time"],
    );
    assert_invalid(
        own.advance_lead(pb::AdvanceLeadRequest {
            lost_reason: "x".into(),
            appointment_time: Some(ts(sh("2026-11-19 10:00"))),
            ..advance("leads/nope", S::Unspecified)
        })
        .await,
        &["name", "status", "appointment_time", "lost_reason"],
    );
    assert_eq!(counts(&platform).await, before, "refusals write nothing");

    clock.advance(TimeDelta::minutes(25));
    let contacted = own
        .advance_lead(pb::AdvanceLeadRequest {
            staff_member: seller.name.clone(),
            etag: lead.etag.clone(),
            ..advance(&lead.name, S::Contacted)
        })
        .await
        .expect("contact")
        .into_inner()
        .lead
        .expect("lead");
    assert_eq!(contacted.status, S::Contacted as i32);
    assert_eq!(
        time(contacted.first_contact_time.as_ref()),
        sh("2026-11-18 10:25")
    );
    assert_eq!(contacted.staff_member, seller.name);
    let visit = sh("2026-11-21 10:30");
    let booked = own
        .advance_lead(pb::AdvanceLeadRequest {
            appointment_time: Some(ts(visit)),
            ..advance(&lead.name, S::Appointment)
        })
        .await
        .expect("appointment")
        .into_inner()
        .lead
        .expect("lead");
    assert_eq!(time(booked.appointment_time.as_ref()), visit);
    assert_eq!(booked.staff_member, seller.name, "kept");
    let moved = sh("2026-11-22 15:00");
    own.advance_lead(pb::AdvanceLeadRequest {
        appointment_time: Some(ts(moved)),
        ..advance(&lead.name, S::Appointment)
    })
    .await
    .expect("rescheduled");
    assert_invalid(
        own.advance_lead(pb::AdvanceLeadRequest {
            appointment_time: Some(ts(sh("2028-01-01 10:00"))),
            ..advance(&lead.name, S::Appointment)
        })
        .await,
        &["appointment_time"],
    );
    clock.advance(TimeDelta::days(4));
    let won = own
        .advance_lead(pb::AdvanceLeadRequest {
            request_id: "won-1".into(),
            ..advance(&lead.name, S::Won)
        })
        .await
        .expect("won")
        .into_inner()
        .lead
        .expect("lead");
    assert_eq!(won.status, S::Won as i32);
    assert_eq!(time(won.close_time.as_ref()), sh("2026-11-22 10:25"));
    // The retry replays the answer; further moves are refused.
    let again = own
        .advance_lead(pb::AdvanceLeadRequest {
            request_id: "won-1".into(),
            ..advance(&lead.name, S::Won)
        })
        .await
        .expect("replay")
        .into_inner()
        .lead
        .expect("lead");
    assert_eq!(again, won);
    let mut lose = advance(&lead.name, S::Lost);
    lose.lost_reason = "changed mind".into();
    assert_refused(
        own.advance_lead(lose).await,
        Code::FailedPrecondition,
        "LEAD_CLOSED",
    );
    assert_eq!(get_lead(&platform, &lead.name).await, won);
}

#[tokio::test]
async fn dealers_bad_lead_input_is_refused_and_nothing_is_written() {
    let clock = wednesday();
    let platform = TestPlatform::spawn_at(&clock).await;
    create_outlets(
        &platform,
        vec![
            outlet_at("D4101", 0.0, &[]),
            outlet_at("S4101", 2.0, &[pb::Capability::Service]),
        ],
    )
    .await;
    let before = counts(&platform).await;
    let mut agent = platform.dealers("CALLCENTER", Role::Agent);
    let create = |lead: pb::Lead| pb::CreateLeadRequest {
        lead: Some(lead),
        request_id: String::new(),
    };
    let cases: Vec<(pb::Lead, Vec<&str>)> = vec![
        (
            pb::Lead::default(),
            vec![
                "lead.customer",
                "lead.interest",
                "lead.source",
                "lead.location",
            ],
        ),
        (
            pb::Lead {
                customer: "customers/42".into(),
                model: "DA7".into(),
                ..buy_lead(1, 0.0)
            },
            vec!["lead.customer", "lead.model"],
        ),
        (
            pb::Lead {
                location: Some(pb::GeoPoint {
                    latitude: f64::INFINITY,
                    longitude: -190.0,
                }),
                ..buy_lead(1, 0.0)
            },
            vec!["lead.location.latitude", "lead.location.longitude"],
        ),
        (
            pb::Lead {
                source: pb::LeadSource::Campaign as i32,
                preferred_outlet: "d 1".into(),
                ..buy_lead(1, 0.0)
            },
            vec!["lead.campaign", "lead.preferred_outlet"],
        ),
        (
            pb::Lead {
                response_window: Some(prost_types::Duration {
                    seconds: 60,
                    nanos: 0,
                }),
                notes: "\u{7}".into(),
                ..buy_lead(1, 0.0)
            },
            vec!["lead.response_window", "lead.notes"],
        ),
        (
            pb::Lead {
                location: None,
                city: String::new(),
                ..buy_lead(1, 0.0)
            },
            vec!["lead.location"],
        ),
        (
            pb::Lead {
                location: None,
                city: "拉萨市".into(),
                ..buy_lead(1, 0.0)
            },
            vec!["lead.city"],
        ),
    ];
    for (lead, fields) in cases {
        assert_invalid(agent.create_lead(create(lead)).await, &fields);
    }
    assert_refused(
        agent
            .create_lead(create(pb::Lead {
                preferred_outlet: "NOPE".into(),
                ..buy_lead(1, 0.0)
            }))
            .await,
        Code::NotFound,
        "OUTLET_NOT_FOUND",
    );
    assert_refused(
        platform
            .dealers("D4101", Role::Dealer)
            .create_lead(create(buy_lead(1, 0.0)))
            .await,
        Code::PermissionDenied,
        "LEAD_CREATION_NOT_ALLOWED",
    );
    // The only sales outlet suspended: nobody can take a buy lead.
    hq(&platform)
        .suspend_outlet(pb::SuspendOutletRequest {
            name: "outlets/D4101".into(),
            reason: "audit".into(),
            request_id: String::new(),
        })
        .await
        .expect("suspend");
    let before_refusal = counts(&platform).await;
    assert_refused(
        agent
            .create_lead(create(pb::Lead {
                preferred_outlet: "D4101".into(),
                ..buy_lead(1, 0.0)
            }))
            .await,
        Code::FailedPrecondition,
        "NO_OUTLET_AVAILABLE",
    );
    assert_eq!(counts(&platform).await, before_refusal);
    assert_eq!(
        before_refusal[..5],
        before[..5],
        "only the suspension was written"
    );
    // A service lead still finds the station.
    let service = create_lead(
        &mut agent,
        pb::Lead {
            interest: pb::LeadInterest::Service as i32,
            ..buy_lead(2, 0.0)
        },
    )
    .await;
    assert_eq!(service.assigned_outlet, "S4101");
    assert_refused(
        agent
            .get_lead(pb::GetLeadRequest {
                name: "leads/01936f0e-0000-7000-8000-000000000001".into(),
            })
            .await,
        Code::NotFound,
        "LEAD_NOT_FOUND",
    );
}

#[tokio::test]
async fn dealers_create_lead_is_idempotent() {
    let clock = wednesday();
    let platform = TestPlatform::spawn_at(&clock).await;
    create_outlets(&platform, vec![outlet_at("R1", 0.0, &[])]).await;
    let mut web = platform.dealers("WEB", Role::System);
    let request = pb::CreateLeadRequest {
        lead: Some(pb::Lead {
            source: pb::LeadSource::Web as i32,
            ..buy_lead(1, 0.0)
        }),
        request_id: "web-form-77".into(),
    };
    let first = web
        .create_lead(request.clone())
        .await
        .expect("first")
        .into_inner();
    clock.advance(TimeDelta::minutes(5));
    let again = web
        .create_lead(request.clone())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, again, "the first answer, not a second lead");
    assert_eq!(platform.count_in("dealers", "lead").await, 1);
    assert_refused(
        web.create_lead(pb::CreateLeadRequest {
            lead: Some(buy_lead(2, 0.0)),
            ..request
        })
        .await,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
    );
}
