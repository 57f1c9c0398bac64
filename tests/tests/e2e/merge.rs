//! MergeCustomers and UnmergeCustomer.

use dealernet_kit::auth::Role;
use dealernet_proto::{customers::v1 as pb, types::v1 as types};
use dealernet_tests::{CustomersClient, TestPlatform};
use tonic::Code;

use crate::{assert_invalid, assert_refused, person};

async fn create(client: &mut CustomersClient, c: pb::Customer) -> pb::Customer {
    client
        .create_customer(pb::CreateCustomerRequest {
            customer: Some(c),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .customer
        .expect("customer")
}

async fn get(client: &mut CustomersClient, name: &str) -> pb::GetCustomerResponse {
    client
        .get_customer(pb::GetCustomerRequest { name: name.into() })
        .await
        .expect("get")
        .into_inner()
}

async fn consents(client: &mut CustomersClient, name: &str) -> Vec<pb::Consent> {
    client
        .list_consents(pb::ListConsentsRequest {
            parent: name.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("consents")
        .into_inner()
        .consents
}

async fn relationships(client: &mut CustomersClient, name: &str) -> Vec<pb::Relationship> {
    client
        .list_relationships(pb::ListRelationshipsRequest {
            parent: name.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("relationships")
        .into_inner()
        .relationships
}

fn consent(
    channel: pb::ContactChannel,
    purpose: pb::ConsentPurpose,
    status: pb::ConsentStatus,
) -> pb::Consent {
    pb::Consent {
        channel: channel as i32,
        purpose: purpose as i32,
        status: status as i32,
        capture_source: pb::SourceChannel::Hotline as i32,
        ..Default::default()
    }
}

fn merge_request(survivor: &str, duplicates: &[&str]) -> pb::MergeCustomersRequest {
    pb::MergeCustomersRequest {
        survivor: survivor.into(),
        duplicates: duplicates.iter().map(|d| (*d).to_owned()).collect(),
        ..Default::default()
    }
}

/// Everything a client can read about one customer.
async fn state(
    hq: &mut CustomersClient,
    name: &str,
) -> (pb::Customer, Vec<pb::Consent>, Vec<pb::Relationship>) {
    (
        get(hq, name).await.customer.expect("customer"),
        consents(hq, name).await,
        relationships(hq, name).await,
    )
}

#[tokio::test]
async fn merge_unites_and_unmerge_restores_exactly() {
    use pb::{ConsentPurpose as P, ConsentStatus as S, ContactChannel as C};
    let platform = TestPlatform::spawn().await;
    let mut hq = platform.customers("HQ", Role::Hq);
    let mut dealer = platform.customers("D1001", Role::Dealer);
    let mut station = platform.customers("S3001", Role::Station);

    let mut a = person("王", "伟", "13800138000");
    a.external_ids = vec![pb::ExternalId {
        issuer: "D1001".into(),
        value: "DMS-1".into(),
    }];
    let a = create(&mut dealer, a).await;
    let mut b = pb::Customer {
        source_channel: pb::SourceChannel::ServiceStation as i32,
        ..person("Wang", "Wei", "13900139000")
    };
    b.birthday = Some(types::Date {
        year: 1985,
        month: 6,
        day: 1,
    });
    b.emails = vec![pb::Email {
        address: "wangwei@example.com".into(),
    }];
    b.external_ids = vec![pb::ExternalId {
        issuer: "S3001".into(),
        value: "WS-9".into(),
    }];
    let b = create(&mut station, b).await;
    let spouse = create(&mut station, person("李", "娜", "13700137000")).await;
    for (who, c) in [
        (&a.name, consent(C::Phone, P::Marketing, S::Granted)),
        (&b.name, consent(C::Sms, P::Surveys, S::Granted)),
    ] {
        hq.set_consent(pb::SetConsentRequest {
            parent: who.clone(),
            consent: Some(c),
            request_id: String::new(),
        })
        .await
        .expect("consent");
    }
    station
        .create_relationship(pb::CreateRelationshipRequest {
            parent: b.name.clone(),
            relationship: Some(pb::Relationship {
                related_customer: spouse.name.clone(),
                r#type: pb::RelationshipType::Spouse as i32,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("relationship");
    let before_a = state(&mut hq, &a.name).await;
    let before_b = state(&mut hq, &b.name).await;
    let before_spouse = state(&mut hq, &spouse.name).await;
    assert!(
        get(&mut station, &a.name).await.customer.expect("c").masked,
        "the station has no link to A yet"
    );

    let merged = hq
        .merge_customers(merge_request(&a.name, &[&b.name]))
        .await
        .expect("merge")
        .into_inner();
    let survivor = merged.survivor.expect("survivor");
    let record = merged.merge.expect("merge record");
    assert_eq!(record.survivor, a.name);
    assert_eq!(record.duplicates, std::slice::from_ref(&b.name));
    // Single fields: the dealer's record wins names; B's birthday fills A's empty one.
    assert_eq!(survivor.display_name, "王伟");
    assert_eq!(survivor.birthday, b.birthday);
    // Contact points and identifiers are united, not lost.
    let phones: Vec<&str> = survivor.phones.iter().map(|p| p.number.as_str()).collect();
    assert_eq!(phones, ["+8613800138000", "+8613900139000"]);
    assert_eq!(survivor.emails.len(), 1);
    assert_eq!(survivor.external_ids.len(), 2);
    assert_eq!(consents(&mut hq, &a.name).await.len(), 2);
    assert_eq!(relationships(&mut hq, &a.name).await.len(), 1);
    // The merged id keeps resolving to the survivor.
    let via_b = get(&mut hq, &b.name).await;
    assert_eq!(via_b.merged_from, b.name);
    assert_eq!(via_b.customer.expect("c").name, a.name);
    let resolved = dealer
        .resolve_customer(pb::ResolveCustomerRequest {
            customer: Some(person("x", "y", "13900139000")),
            request_id: String::new(),
        })
        .await
        .expect("resolve")
        .into_inner();
    assert_eq!(resolved.customer.expect("c").name, a.name);
    // B's station now has a relationship with the survivor.
    assert!(!get(&mut station, &a.name).await.customer.expect("c").masked);

    let undone = hq
        .unmerge_customer(pb::UnmergeCustomerRequest {
            merge: record.name.clone(),
            request_id: String::new(),
        })
        .await
        .expect("unmerge")
        .into_inner();
    assert!(undone.merge.expect("record").unmerge_time.is_some());
    assert_eq!(
        state(&mut hq, &a.name).await,
        before_a,
        "survivor exactly as before"
    );
    assert_eq!(
        state(&mut hq, &b.name).await,
        before_b,
        "duplicate exactly as before"
    );
    assert_eq!(state(&mut hq, &spouse.name).await, before_spouse);
    assert!(
        get(&mut station, &a.name).await.customer.expect("c").masked,
        "the link the merge added is gone"
    );
    // Idempotent: undoing again changes nothing and answers the same customers.
    let again = hq
        .unmerge_customer(pb::UnmergeCustomerRequest {
            merge: record.name.clone(),
            request_id: String::new(),
        })
        .await
        .expect("unmerge again")
        .into_inner();
    assert_eq!(again.customers, undone.customers);
}

#[tokio::test]
async fn survivorship_rules_and_overrides() {
    let platform = TestPlatform::spawn().await;
    let mut hq = platform.customers("HQ", Role::Hq);
    let hotline = create(
        &mut hq,
        pb::Customer {
            source_channel: pb::SourceChannel::Hotline as i32,
            ..person("王", "小明", "13800138000")
        },
    )
    .await;
    let dealer = create(&mut hq, person("王", "晓明", "13900139000")).await;
    let web = create(
        &mut hq,
        pb::Customer {
            source_channel: pb::SourceChannel::Web as i32,
            ..person("Wang", "Xiaoming", "13700137000")
        },
    )
    .await;
    let with =
        |rule: pb::SurvivorshipRule, overrides: Vec<pb::FieldOverride>| pb::MergeCustomersRequest {
            rule: rule as i32,
            overrides,
            ..merge_request(&hotline.name, &[&dealer.name, &web.name])
        };
    // Each attempt is undone so the next starts from the same three records.
    let try_rule = |req: pb::MergeCustomersRequest| {
        let mut hq = hq.clone();
        async move {
            let merged = hq.merge_customers(req).await.expect("merge").into_inner();
            hq.unmerge_customer(pb::UnmergeCustomerRequest {
                merge: merged.merge.expect("m").name,
                request_id: String::new(),
            })
            .await
            .expect("unmerge");
            merged.survivor.expect("s").display_name
        }
    };
    assert_eq!(
        try_rule(with(pb::SurvivorshipRule::SourcePriority, vec![])).await,
        "王晓明",
        "the dealer POS ranks first"
    );
    assert_eq!(
        try_rule(with(pb::SurvivorshipRule::MostRecent, vec![])).await,
        "Wang Xiaoming",
        "the web record is newest"
    );
    let custom = pb::MergeCustomersRequest {
        source_priority: vec![pb::SourceChannel::Web as i32],
        ..with(pb::SurvivorshipRule::SourcePriority, vec![])
    };
    assert_eq!(try_rule(custom).await, "Wang Xiaoming");
    let overridden = with(
        pb::SurvivorshipRule::SourcePriority,
        vec![pb::FieldOverride {
            field: "person_name".into(),
            source: hotline.name.clone(),
        }],
    );
    assert_eq!(try_rule(overridden).await, "王小明");
}

#[tokio::test]
async fn bad_merges_are_refused_and_write_nothing() {
    let platform = TestPlatform::spawn().await;
    let mut hq = platform.customers("HQ", Role::Hq);
    let a = create(&mut hq, person("王", "伟", "13800138000")).await;
    let b = create(&mut hq, person("王", "伟", "13900139000")).await;
    let org = create(
        &mut hq,
        pb::Customer {
            kind: pb::CustomerKind::Organization as i32,
            organization_name: "顺风物流".into(),
            source_channel: pb::SourceChannel::DealerPos as i32,
            ..Default::default()
        },
    )
    .await;
    let unknown = "customers/01936f0e-0000-7000-8000-000000000000";
    assert_invalid(
        hq.merge_customers(merge_request(&a.name, &[])).await,
        &["duplicates"],
    );
    assert_invalid(
        hq.merge_customers(merge_request(&a.name, &[&a.name])).await,
        &["duplicates[0]"],
    );
    assert_invalid(
        hq.merge_customers(merge_request(&a.name, &[&b.name, &b.name]))
            .await,
        &["duplicates[1]"],
    );
    assert_invalid(
        hq.merge_customers(merge_request("nope", &["nope"])).await,
        &["survivor", "duplicates[0]"],
    );
    assert_invalid(
        hq.merge_customers(pb::MergeCustomersRequest {
            overrides: vec![
                pb::FieldOverride {
                    field: "phones".into(),
                    source: a.name.clone(),
                },
                pb::FieldOverride {
                    field: "birthday".into(),
                    source: org.name.clone(),
                },
            ],
            ..merge_request(&a.name, &[&b.name])
        })
        .await,
        &["overrides[0].field", "overrides[1].source"],
    );
    assert_refused(
        hq.merge_customers(merge_request(&a.name, &[unknown])).await,
        Code::NotFound,
        "CUSTOMER_NOT_FOUND",
    );
    assert_refused(
        hq.merge_customers(merge_request(&a.name, &[&org.name]))
            .await,
        Code::FailedPrecondition,
        "KIND_MISMATCH",
    );
    assert_refused(
        platform
            .customers("D1001", Role::Dealer)
            .merge_customers(merge_request(&a.name, &[&b.name]))
            .await,
        Code::PermissionDenied,
        "HQ_ROLE_REQUIRED",
    );
    assert_eq!(platform.count("merge_record").await, 0);
    assert_eq!(
        get(&mut hq, &b.name).await.customer.expect("b"),
        b,
        "nothing changed"
    );

    // A merged-away customer cannot be merged again; unmerging needs a real merge.
    let merged = hq
        .merge_customers(merge_request(&a.name, &[&b.name]))
        .await
        .expect("merge")
        .into_inner();
    assert_refused(
        hq.merge_customers(merge_request(&org.name, &[&b.name]))
            .await,
        Code::FailedPrecondition,
        "CUSTOMER_MERGED",
    );
    assert_invalid(
        hq.unmerge_customer(pb::UnmergeCustomerRequest {
            merge: a.name.clone(),
            request_id: String::new(),
        })
        .await,
        &["merge"],
    );
    assert_refused(
        hq.unmerge_customer(pb::UnmergeCustomerRequest {
            merge: "merges/01936f0e-0000-7000-8000-000000000000".into(),
            request_id: String::new(),
        })
        .await,
        Code::NotFound,
        "MERGE_NOT_FOUND",
    );

    // Once the survivor changed (or was erased), an exact undo is no longer possible.
    hq.update_customer(pb::UpdateCustomerRequest {
        customer: Some(pb::Customer {
            name: a.name.clone(),
            preferred_language: "en".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["preferred_language".into()],
        }),
        request_id: String::new(),
    })
    .await
    .expect("update");
    let merge = merged.merge.expect("m").name;
    assert_refused(
        hq.unmerge_customer(pb::UnmergeCustomerRequest {
            merge: merge.clone(),
            request_id: String::new(),
        })
        .await,
        Code::FailedPrecondition,
        "SURVIVOR_CHANGED",
    );
    hq.erase_customer(pb::EraseCustomerRequest {
        name: a.name.clone(),
        reason: "request".into(),
        request_id: String::new(),
    })
    .await
    .expect("erase");
    assert_refused(
        hq.unmerge_customer(pb::UnmergeCustomerRequest {
            merge,
            request_id: String::new(),
        })
        .await,
        Code::FailedPrecondition,
        "SURVIVOR_ERASED",
    );
}
