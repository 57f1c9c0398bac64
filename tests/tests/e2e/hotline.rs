//! The call center end to end: caller identification, the contact log, cases through
//! their workflow with SLA clocks, routing and outlet visibility, the SLA sweeper.

use dealernet_kit::auth::Role;
use dealernet_proto::{callcenter::v1 as pb, customers::v1 as cpb};
use dealernet_tests::{CallCenterClient, TestPlatform};
use prost_types::{FieldMask, Timestamp};
use tonic::Code;

use crate::{assert_invalid, assert_refused, person};

pub(crate) async fn registry_customer(platform: &TestPlatform, phone: &str) -> String {
    platform
        .customers("HQ", Role::Hq)
        .create_customer(cpb::CreateCustomerRequest {
            customer: Some(cpb::Customer {
                preferred_service_station: "S3001".into(),
                ..person("李", "娜", phone)
            }),
            request_id: String::new(),
        })
        .await
        .expect("customer")
        .into_inner()
        .customer
        .expect("c")
        .name
}

pub(crate) fn now() -> Option<Timestamp> {
    let s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    Some(Timestamp {
        seconds: s,
        nanos: 0,
    })
}

pub(crate) fn complaint(customer: &str, outlet: &str) -> pb::OpenCaseRequest {
    pb::OpenCaseRequest {
        case: Some(pb::Case {
            r#type: pb::CaseType::Complaint as i32,
            priority: pb::Priority::Normal as i32,
            customer: customer.into(),
            outlet: outlet.into(),
            subject: "Paint damage found at delivery".into(),
            description: "Scratch on the rear door".into(),
            category: "QUALITY".into(),
            model: "models/DA7-2026".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) async fn open(agent: &mut CallCenterClient, req: pb::OpenCaseRequest) -> pb::Case {
    agent
        .open_case(req)
        .await
        .expect("open case")
        .into_inner()
        .case
        .expect("case")
}

pub(crate) async fn step(
    agent: &mut CallCenterClient,
    name: &str,
    status: pb::CaseStatus,
) -> Result<pb::Case, tonic::Status> {
    agent
        .transition_case(pb::TransitionCaseRequest {
            name: name.into(),
            status: status as i32,
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().case.expect("case"))
}

#[tokio::test]
async fn callers_are_identified_without_creating_anyone() {
    let platform = TestPlatform::spawn().await;
    let customer = registry_customer(&platform, "13800138000").await;
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    let before = platform.count_in("customers", "customer").await;
    let found = agent
        .identify_caller(pb::IdentifyCallerRequest {
            phone: "+86 138 0013 8000".into(),
        })
        .await
        .expect("identify")
        .into_inner();
    assert_eq!(found.phone, "+8613800138000");
    assert_eq!(
        found
            .matches
            .iter()
            .map(|m| m.customer.as_str())
            .collect::<Vec<_>>(),
        vec![customer.as_str()]
    );
    assert!(!found.do_not_call);
    let unknown = agent
        .identify_caller(pb::IdentifyCallerRequest {
            phone: "13900139000".into(),
        })
        .await
        .expect("identify unknown")
        .into_inner();
    assert!(unknown.matches.is_empty());
    assert_eq!(platform.count_in("customers", "customer").await, before);
    assert_invalid(
        agent
            .identify_caller(pb::IdentifyCallerRequest { phone: "12".into() })
            .await,
        &["phone"],
    );
    assert_refused(
        platform
            .callcenter("D1001", Role::Dealer)
            .identify_caller(pb::IdentifyCallerRequest {
                phone: "13800138000".into(),
            })
            .await,
        Code::PermissionDenied,
        "HOTLINE_ROLE_REQUIRED",
    );

    // Every contact is logged.
    let logged = agent
        .log_interaction(pb::LogInteractionRequest {
            interaction: Some(pb::Interaction {
                direction: pb::Direction::Inbound as i32,
                channel: pb::Channel::Phone as i32,
                customer: customer.clone(),
                start_time: now(),
                duration_seconds: 185,
                disposition: "RESOLVED_ON_CALL".into(),
                phone: "13800138000".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("log")
        .into_inner()
        .interaction
        .expect("interaction");
    assert_eq!(logged.agent, "agent.user");
    assert_eq!(logged.phone, "+8613800138000");
    let before = platform.count_in("callcenter", "interaction").await;
    assert_invalid(
        agent
            .log_interaction(pb::LogInteractionRequest {
                interaction: Some(pb::Interaction {
                    duration_seconds: -1,
                    disposition: "resolved".into(),
                    case: "cases/x".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await,
        &[
            "interaction.direction",
            "interaction.channel",
            "interaction.case",
            "interaction.start_time",
            "interaction.duration_seconds",
            "interaction.disposition",
        ],
    );
    assert_eq!(platform.count_in("callcenter", "interaction").await, before);
    let listed = agent
        .list_interactions(pb::ListInteractionsRequest {
            customer: customer.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .interactions;
    assert_eq!(listed, vec![logged]);
}

#[tokio::test]
async fn a_case_through_its_workflow_seen_by_the_outlet_concerned() {
    use pb::CaseStatus as S;
    let platform = TestPlatform::spawn().await;
    let customer = registry_customer(&platform, "13800138001").await;
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);

    let before = platform.count_in("callcenter", "support_case").await;
    assert_invalid(
        agent
            .open_case(pb::OpenCaseRequest {
                case: Some(pb::Case {
                    category: "quality issue".into(),
                    vehicle: "vehicles/SHORT".into(),
                    ..complaint("nobody", "d 1").case.expect("case")
                }),
                ..Default::default()
            })
            .await,
        &[
            "case.customer",
            "case.vehicle",
            "case.outlet",
            "case.category",
        ],
    );
    assert_refused(
        agent
            .open_case(complaint(
                "customers/01936f0e-0000-7000-8000-000000000000",
                "D1001",
            ))
            .await,
        Code::FailedPrecondition,
        "CUSTOMER_NOT_FOUND",
    );
    assert_eq!(
        platform.count_in("callcenter", "support_case").await,
        before
    );

    let case = open(&mut agent, complaint(&customer, "D1001")).await;
    assert_eq!(case.status, S::New as i32);
    assert_eq!(case.team, pb::Team::Complaints as i32);
    let sla = case.sla.clone().expect("sla");
    assert_eq!(sla.state, pb::SlaState::Ok as i32);
    assert_eq!(sla.calendar, "HOTLINE");
    let secs = |t: &Option<Timestamp>| t.as_ref().map(|t| t.seconds).unwrap_or_default();
    assert!(secs(&sla.first_response_due) < secs(&sla.resolution_due));

    // The outlet concerned sees the complaint and may add notes, not move it.
    let mut outlet = platform.callcenter("D1001", Role::Dealer);
    let seen = outlet
        .list_cases(pb::ListCasesRequest::default())
        .await
        .expect("outlet list")
        .into_inner()
        .cases;
    assert_eq!(
        seen.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec![case.name.as_str()]
    );
    outlet
        .add_case_note(pb::AddCaseNoteRequest {
            name: case.name.clone(),
            text: "We will repaint the door at no cost".into(),
            request_id: String::new(),
        })
        .await
        .expect("outlet note");
    assert_refused(
        step(&mut outlet, &case.name, S::Closed).await,
        Code::PermissionDenied,
        "HOTLINE_ROLE_REQUIRED",
    );
    let mut stranger = platform.callcenter("D1002", Role::Dealer);
    assert_refused(
        stranger
            .get_case(pb::GetCaseRequest {
                name: case.name.clone(),
            })
            .await,
        Code::NotFound,
        "CASE_NOT_FOUND",
    );
    assert!(
        stranger
            .list_cases(pb::ListCasesRequest::default())
            .await
            .expect("stranger list")
            .into_inner()
            .cases
            .is_empty()
    );

    assert_refused(
        step(&mut agent, &case.name, S::Resolved).await,
        Code::FailedPrecondition,
        "CASE_TRANSITION_NOT_ALLOWED",
    );
    let assigned = step(&mut agent, &case.name, S::Assigned)
        .await
        .expect("assign");
    assert_eq!(assigned.assignee, "agent.user");
    let working = step(&mut agent, &case.name, S::InProgress)
        .await
        .expect("work");
    assert!(working.sla.expect("sla").first_response_time.is_some());
    let waiting = step(&mut agent, &case.name, S::WaitingOnCustomer)
        .await
        .expect("wait");
    assert!(waiting.sla.expect("sla").paused);
    let back = step(&mut agent, &case.name, S::InProgress)
        .await
        .expect("resume");
    let back_sla = back.sla.clone().expect("sla");
    assert!(!back_sla.paused);
    assert!(
        secs(&back_sla.resolution_due) >= secs(&sla.resolution_due),
        "a pause never shortens the clock"
    );

    // FieldMask update with an etag.
    let updated = agent
        .update_case(pb::UpdateCaseRequest {
            case: Some(pb::Case {
                name: case.name.clone(),
                priority: pb::Priority::High as i32,
                subject: "Paint damage (rear door)".into(),
                etag: back.etag.clone(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["priority".into(), "subject".into()],
            }),
            request_id: String::new(),
        })
        .await
        .expect("update")
        .into_inner()
        .case
        .expect("case");
    assert_eq!(updated.priority, pb::Priority::High as i32);
    assert_eq!(
        updated.description, case.description,
        "fields outside the mask stay"
    );
    assert_refused(
        agent
            .update_case(pb::UpdateCaseRequest {
                case: Some(pb::Case {
                    name: case.name.clone(),
                    subject: "again".into(),
                    etag: back.etag.clone(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["subject".into()],
                }),
                request_id: String::new(),
            })
            .await,
        Code::Aborted,
        "ETAG_MISMATCH",
    );
    assert_invalid(
        agent
            .update_case(pb::UpdateCaseRequest {
                case: Some(pb::Case {
                    name: case.name.clone(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["type".into()],
                }),
                request_id: String::new(),
            })
            .await,
        &["update_mask"],
    );

    let resolved = step(&mut agent, &case.name, S::Resolved)
        .await
        .expect("resolve");
    assert!(resolved.resolve_time.is_some());
    // No SURVEYS consent: no survey call, and the case says why.
    let notes = agent
        .get_case(pb::GetCaseRequest {
            name: case.name.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .notes;
    let texts: Vec<&str> = notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(texts[0], "We will repaint the door at no cost");
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("no survey call scheduled: NO_CONSENT")),
        "{texts:?}"
    );
    step(&mut agent, &case.name, S::Closed)
        .await
        .expect("close");
    let reopened = step(&mut agent, &case.name, S::Reopened)
        .await
        .expect("reopen");
    assert!(reopened.close_time.is_none());
    step(&mut agent, &case.name, S::InProgress)
        .await
        .expect("work again");
}

#[tokio::test]
async fn a_breach_escalates_exactly_once_with_two_sweepers() {
    let platform = TestPlatform::spawn().await;
    let customer = registry_customer(&platform, "13800138002").await;
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    let mut cases = Vec::new();
    for _ in 0..5 {
        cases.push(open(&mut agent, complaint(&customer, "D1001")).await);
    }
    // Their clocks ran out (as if the due times had passed).
    sqlx::query(
        "UPDATE callcenter.support_case SET first_response_warn = now() - interval '2 hours', \
         first_response_due = now() - interval '1 hour', next_check_at = now() - interval '2 hours'",
    )
    .execute(&mut platform.db().await)
    .await
    .expect("age the clocks");
    let sweepers: Vec<_> = (0..2)
        .map(|_| {
            let mut hq = platform.callcenter("HQ", Role::Hq);
            tokio::spawn(async move { hq.sweep_sla(pb::SweepSlaRequest {}).await })
        })
        .collect();
    for s in sweepers {
        s.await.expect("task").expect("sweep");
    }
    for case in &cases {
        let got = agent
            .get_case(pb::GetCaseRequest {
                name: case.name.clone(),
            })
            .await
            .expect("get")
            .into_inner();
        let c = got.case.expect("case");
        assert_eq!(c.sla.expect("sla").state, pb::SlaState::Breached as i32);
        assert_eq!(c.escalations, 1);
        assert_eq!(
            c.priority,
            pb::Priority::High as i32,
            "raised one step, once"
        );
        assert_eq!(c.assignee, "lead.complaints");
        let escalation_notes = got
            .notes
            .iter()
            .filter(|n| n.text.starts_with("SLA breached"))
            .count();
        assert_eq!(escalation_notes, 1);
    }
    // Nothing is left for a later sweep.
    let again = platform
        .callcenter("HQ", Role::Hq)
        .sweep_sla(pb::SweepSlaRequest {})
        .await
        .expect("sweep")
        .into_inner();
    assert_eq!((again.warned, again.breached), (0, 0));
    assert_refused(
        agent.sweep_sla(pb::SweepSlaRequest {}).await,
        Code::PermissionDenied,
        "HQ_ROLE_REQUIRED",
    );
}

#[tokio::test]
async fn sales_leads_and_service_requests_are_routed_into_the_network() {
    use dealernet_proto::dealers::v1 as dpb;
    let platform = TestPlatform::spawn().await;
    crate::network(&platform).await;
    let customer = registry_customer(&platform, "13800138003").await;
    let mut agent = platform.callcenter("CALLCENTER", Role::Agent);
    let lead_case = |request_id: &str| pb::OpenCaseRequest {
        case: Some(pb::Case {
            r#type: pb::CaseType::SalesLead as i32,
            priority: pb::Priority::Normal as i32,
            customer: customer.clone(),
            subject: "Wants a test drive of the DA7".into(),
            model: "models/DA7-2026".into(),
            ..Default::default()
        }),
        lead_interest: "TEST_DRIVE".into(),
        preferred_outlet: "D1002".into(),
        request_id: request_id.into(),
        ..Default::default()
    };
    let sale = open(&mut agent, lead_case("lead-1")).await;
    assert_eq!(sale.outlet, "D1002", "the preferred dealer");
    assert_eq!(sale.team, pb::Team::Operations as i32);
    assert!(sale.lead.starts_with("leads/"), "{}", sale.lead);
    let lead = platform
        .dealers("HQ", Role::Hq)
        .get_lead(dpb::GetLeadRequest {
            name: sale.lead.clone(),
        })
        .await
        .expect("the lead exists in the network")
        .into_inner()
        .lead
        .expect("lead");
    assert_eq!(lead.assigned_outlet, "D1002");
    assert_eq!(lead.interest, dpb::LeadInterest::TestDrive as i32);
    assert_eq!(lead.source, dpb::LeadSource::Hotline as i32);
    // A retry is the same case and the same lead.
    let again = open(&mut agent, lead_case("lead-1")).await;
    assert_eq!(
        (again.name, again.lead),
        (sale.name.clone(), sale.lead.clone())
    );

    // Service requests go to the customer's preferred station, on its own hours when the
    // policy says so.
    platform
        .callcenter("HQ", Role::Hq)
        .set_sla_policy(pb::SetSlaPolicyRequest {
            policy: Some(pb::SlaPolicy {
                r#type: pb::CaseType::ServiceRequest as i32,
                priority: pb::Priority::High as i32,
                first_response_minutes: 60,
                resolution_minutes: 600,
                outlet_calendar: true,
            }),
            request_id: String::new(),
        })
        .await
        .expect("policy");
    let service = open(
        &mut agent,
        pb::OpenCaseRequest {
            case: Some(pb::Case {
                r#type: pb::CaseType::ServiceRequest as i32,
                priority: pb::Priority::High as i32,
                customer: customer.clone(),
                subject: "Warning light on the dashboard".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(service.outlet, "S3001", "the registry's preferred station");
    assert_eq!(service.sla.expect("sla").calendar, "S3001");

    // A suspended preferred dealer does not get the lead: the network routes it on.
    platform
        .dealers("HQ", Role::Hq)
        .suspend_outlet(dpb::SuspendOutletRequest {
            name: "outlets/D1002".into(),
            reason: "Audit".into(),
            request_id: String::new(),
        })
        .await
        .expect("suspend");
    let rerouted = open(&mut agent, lead_case("lead-2")).await;
    assert_ne!(rerouted.outlet, "D1002");
    assert_eq!(rerouted.outlet, "D1001", "the only other sales outlet");
    assert_invalid(
        agent
            .open_case(pb::OpenCaseRequest {
                lead_interest: "LUNCH".into(),
                ..lead_case("lead-3")
            })
            .await,
        &["lead_interest"],
    );
}
