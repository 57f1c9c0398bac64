//! ListLeads: by outlet, status, customer and overdue, page by page, within the rules.

use chrono::TimeDelta;
use dealernet_kit::auth::Role;
use dealernet_proto::dealers::v1 as pb;
use dealernet_tests::TestPlatform;
use tonic::Code;

use super::{advance, buy_lead, create_lead, create_outlets, outlet_at, sh, wednesday};
use crate::{assert_invalid, assert_refused};

#[tokio::test]
async fn dealers_leads_are_listed_by_outlet_status_and_overdue() {
    let clock = wednesday();
    let platform = TestPlatform::spawn_at(&clock).await;
    create_outlets(
        &platform,
        vec![outlet_at("Q1", 0.0, &[]), outlet_at("Q2", 1.0, &[])],
    )
    .await;
    let mut agent = platform.dealers("CALLCENTER", Role::Agent);
    let mut at_q1 = Vec::new();
    for n in 0..5 {
        let lead = create_lead(
            &mut agent,
            pb::Lead {
                preferred_outlet: "Q1".into(),
                ..buy_lead(n, 0.0)
            },
        )
        .await;
        at_q1.push(lead.name);
        clock.advance(TimeDelta::minutes(10));
    }
    let at_q2 = create_lead(
        &mut agent,
        pb::Lead {
            preferred_outlet: "Q2".into(),
            ..buy_lead(9, 0.0)
        },
    )
    .await;
    let mut q1 = platform.dealers("Q1", Role::Dealer);
    q1.advance_lead(advance(&at_q1[0], pb::LeadStatus::Contacted))
        .await
        .expect("contact");

    // An outlet lists its own leads, a page at a time.
    let list = |token: String| pb::ListLeadsRequest {
        page_size: 2,
        page_token: token,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = q1.list_leads(list(token)).await.expect("list").into_inner();
        seen.extend(page.leads.into_iter().map(|l| l.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, at_q1, "creation order, only Q1's");
    assert_refused(
        q1.list_leads(pb::ListLeadsRequest {
            outlet: "Q2".into(),
            ..Default::default()
        })
        .await,
        Code::PermissionDenied,
        "NOT_YOUR_OUTLET",
    );
    let new_at_q1 = agent
        .list_leads(pb::ListLeadsRequest {
            outlet: "Q1".into(),
            status: pb::LeadStatus::New as i32,
            ..Default::default()
        })
        .await
        .expect("new")
        .into_inner();
    assert_eq!(new_at_q1.leads.len(), 4);

    // Deadlines are 14:00, 14:10, … (4 open hours); at 14:35 those up to 14:30 are overdue.
    clock.set(sh("2026-11-18 14:35"));
    let overdue = agent
        .list_leads(pb::ListLeadsRequest {
            overdue: true,
            ..Default::default()
        })
        .await
        .expect("overdue")
        .into_inner();
    let names: Vec<&str> = overdue.leads.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [at_q1[1].as_str(), &at_q1[2], &at_q1[3]],
        "contacted ones are not overdue"
    );
    assert!(!names.contains(&at_q2.name.as_str()));
    assert_invalid(
        agent
            .list_leads(pb::ListLeadsRequest {
                customer: "nobody".into(),
                status: 42,
                page_size: -1,
                ..Default::default()
            })
            .await,
        &["customer", "status", "page_size"],
    );
    let by_customer = agent
        .list_leads(pb::ListLeadsRequest {
            customer: super::customer(9),
            ..Default::default()
        })
        .await
        .expect("by customer")
        .into_inner();
    assert_eq!(by_customer.leads.len(), 1);
    assert_eq!(by_customer.leads[0].name, at_q2.name);
}
