//! The registry's events as the dealer network applies them: a merge re-points the
//! merged customers' leads to the survivor and an unmerge puts exactly those back; an
//! erasure leaves none of the customer's personal data in any table of the schema.

use std::time::Duration;

use dealernet_kit::auth::Role;
use dealernet_proto::{customers::v1 as cpb, dealers::v1 as pb};
use dealernet_tests::TestPlatform;

use super::{buy_lead, get_lead};
use crate::{outreach::rows_holding, sale::customer};

async fn lead_for(
    platform: &TestPlatform,
    customer: &str,
    lead: pb::Lead,
    request_id: &str,
) -> pb::Lead {
    platform
        .dealers("CALLCENTER", Role::Agent)
        .create_lead(pb::CreateLeadRequest {
            lead: Some(pb::Lead {
                customer: customer.into(),
                preferred_outlet: "D1001".into(),
                ..lead
            }),
            request_id: request_id.into(),
        })
        .await
        .expect("create lead")
        .into_inner()
        .lead
        .expect("lead")
}

async fn until_customer(platform: &TestPlatform, lead: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let got = get_lead(platform, lead).await.customer;
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{lead} still names {got}, want {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn merges_re_point_leads_and_unmerges_restore_exactly_those() {
    let platform = TestPlatform::spawn().await;
    crate::network(&platform).await;
    let survivor = customer(&platform, "13600136601").await;
    let duplicate = customer(&platform, "13600136602").await;
    let bystander = customer(&platform, "13600136603").await;
    let moved = lead_for(&platform, &duplicate, buy_lead(1, 0.0), "").await;
    let own = lead_for(&platform, &survivor, buy_lead(2, 0.0), "").await;
    let other = lead_for(&platform, &bystander, buy_lead(3, 0.0), "").await;

    let mut hq = platform.customers("HQ", Role::Hq);
    let merge = hq
        .merge_customers(cpb::MergeCustomersRequest {
            survivor: survivor.clone(),
            duplicates: vec![duplicate.clone()],
            ..Default::default()
        })
        .await
        .expect("merge")
        .into_inner()
        .merge
        .expect("merge");
    until_customer(&platform, &moved.name, &survivor).await;
    assert_eq!(platform.count_in("dealers", "customer_repoint").await, 1);
    let by_survivor = platform
        .dealers("HQ", Role::Hq)
        .list_leads(pb::ListLeadsRequest {
            customer: survivor.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .leads;
    assert_eq!(by_survivor.len(), 2, "{by_survivor:?}");

    hq.unmerge_customer(cpb::UnmergeCustomerRequest {
        merge: merge.name,
        request_id: String::new(),
    })
    .await
    .expect("unmerge");
    until_customer(&platform, &moved.name, &duplicate).await;
    assert_eq!(
        get_lead(&platform, &own.name).await.customer,
        survivor,
        "its own lead stays"
    );
    assert_eq!(get_lead(&platform, &other.name).await.customer, bystander);
    assert_eq!(platform.count_in("dealers", "customer_repoint").await, 0);
    assert_eq!(platform.count_in("dealers", "parked_event").await, 0);
}

#[tokio::test]
async fn an_erasure_leaves_no_personal_data_in_the_dealer_network() {
    let platform = TestPlatform::spawn().await;
    crate::network(&platform).await;
    let erased = customer(&platform, "13900139777").await;
    let kept = customer(&platform, "13900139778").await;
    let note = "王伟 asks to be called on 13900139777 after six";
    let place = pb::GeoPoint {
        latitude: 31.234_567,
        longitude: 121.567_891,
    };
    let lead = lead_for(
        &platform,
        &erased,
        pb::Lead {
            notes: note.into(),
            location: Some(place),
            ..buy_lead(1, 0.0)
        },
        "erase-lead",
    )
    .await;
    let mut outlet = platform.dealers("D1001", Role::Dealer);
    outlet
        .advance_lead(super::advance(&lead.name, pb::LeadStatus::Contacted))
        .await
        .expect("contacted");
    outlet
        .advance_lead(pb::AdvanceLeadRequest {
            name: lead.name.clone(),
            status: pb::LeadStatus::Lost as i32,
            lost_reason: "王伟 bought a car from his cousin".into(),
            request_id: "erase-lost".into(),
            ..Default::default()
        })
        .await
        .expect("lost");
    let kept_note = "Another customer's note, 13900139778";
    let other = lead_for(
        &platform,
        &kept,
        pb::Lead {
            notes: kept_note.into(),
            ..buy_lead(2, 0.0)
        },
        "keep-lead",
    )
    .await;
    let traces = ["13900139777", "王伟", "121.567891", "31.234567"];
    for t in traces {
        assert!(
            !rows_holding(&platform, "dealers", t).await.is_empty(),
            "{t} is in the schema before"
        );
    }

    platform
        .customers("HQ", Role::Hq)
        .erase_customer(cpb::EraseCustomerRequest {
            name: erased.clone(),
            reason: "the customer's request".into(),
            request_id: String::new(),
        })
        .await
        .expect("erase");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let mut left = Vec::new();
        for t in traces {
            left.extend(rows_holding(&platform, "dealers", t).await);
        }
        if left.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still holding personal data: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The lead stays, as history, at about the place (its city and outlet unchanged).
    let after = get_lead(&platform, &lead.name).await;
    assert_eq!(
        (after.notes.as_str(), after.lost_reason.as_str()),
        ("", "[erased]")
    );
    let at = after.location.expect("location");
    assert_eq!((at.latitude, at.longitude), (31.2, 121.6));
    assert_eq!(
        (after.city, after.assigned_outlet),
        (lead.city, lead.assigned_outlet)
    );
    // Another customer's lead is untouched.
    let untouched = get_lead(&platform, &other.name).await;
    assert_eq!(untouched.notes, kept_note);
    assert_eq!(platform.count_in("dealers", "parked_event").await, 0);
}
