//! ResolveCustomer: match-or-create for POS systems.

use dealernet_kit::auth::Role;
use dealernet_proto::customers::v1 as pb;
use dealernet_tests::{CustomersClient, TestPlatform};
use tonic::Code;

use crate::{assert_invalid, assert_refused, person};

async fn resolve(
    client: &mut CustomersClient,
    customer: pb::Customer,
    request_id: &str,
) -> Result<pb::ResolveCustomerResponse, tonic::Status> {
    client
        .resolve_customer(pb::ResolveCustomerRequest {
            customer: Some(customer),
            request_id: request_id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn creates_then_matches_each_key() {
    let platform = TestPlatform::spawn().await;
    let mut dealer = platform.customers("D1001", Role::Dealer);
    let mut first = person("王", "伟", "13800138000");
    first.emails = vec![pb::Email {
        address: "wangwei@example.com".into(),
    }];
    first.national_id = "11010519491231002X".into();
    first.external_ids = vec![pb::ExternalId {
        issuer: "D1001".into(),
        value: "DMS-9".into(),
    }];
    let created = resolve(&mut dealer, first, "").await.expect("create");
    assert!(created.created);
    assert_eq!(created.matched_key, pb::MatchKey::Unspecified as i32);
    let name = created.customer.expect("customer").name;

    let mut station = platform.customers("S3001", Role::Station);
    let cases = [
        (
            pb::Customer {
                phones: vec![],
                external_ids: vec![pb::ExternalId {
                    issuer: "D1001".into(),
                    value: "DMS-9".into(),
                }],
                ..person("x", "y", "")
            },
            pb::MatchKey::ExternalId,
            "D1001:DMS-9",
        ),
        (
            pb::Customer {
                phones: vec![],
                national_id: "11010519491231002x".into(),
                ..person("x", "y", "")
            },
            pb::MatchKey::NationalId,
            "",
        ),
        (
            person("Wang", "Wei", "+86 138-0013-8000"),
            pb::MatchKey::Phone,
            "+8613800138000",
        ),
        (
            pb::Customer {
                phones: vec![],
                emails: vec![pb::Email {
                    address: "WangWei@Example.com".into(),
                }],
                ..person("x", "y", "")
            },
            pb::MatchKey::Email,
            "wangwei@example.com",
        ),
    ];
    for (candidate, key, value) in cases {
        let found = resolve(&mut station, candidate, "").await.expect("match");
        assert!(!found.created);
        assert_eq!(found.matched_key, key as i32);
        assert_eq!(found.matched_value, value);
        assert_eq!(found.customer.expect("customer").name, name);
    }
    assert_eq!(platform.count("customer").await, 1);
    // Both organisations now have a relationship with the customer.
    assert_eq!(platform.count("customer_link").await, 2);
}

#[tokio::test]
async fn the_strongest_key_wins() {
    let platform = TestPlatform::spawn().await;
    let mut client = platform.customers("D1001", Role::Dealer);
    let a = resolve(&mut client, person("王", "伟", "13800138000"), "")
        .await
        .expect("a")
        .customer
        .expect("a");
    let b = resolve(
        &mut client,
        pb::Customer {
            external_ids: vec![pb::ExternalId {
                issuer: "D1001".into(),
                value: "B".into(),
            }],
            ..person("李", "娜", "13900139000")
        },
        "",
    )
    .await
    .expect("b")
    .customer
    .expect("b");
    // A candidate with a's phone and b's external id is b: external ids outrank phones.
    let candidate = pb::Customer {
        external_ids: vec![pb::ExternalId {
            issuer: "D1001".into(),
            value: "B".into(),
        }],
        ..person("王", "伟", "13800138000")
    };
    let found = resolve(&mut client, candidate, "").await.expect("found");
    assert_eq!(found.matched_key, pb::MatchKey::ExternalId as i32);
    assert_eq!(found.customer.expect("c").name, b.name);
    assert_ne!(a.name, b.name);
}

#[tokio::test]
async fn retries_replay_the_first_answer() {
    let platform = TestPlatform::spawn().await;
    let mut client = platform.customers("D1001", Role::Dealer);
    let candidate = person("王", "伟", "13800138000");
    let first = resolve(&mut client, candidate.clone(), "pos-42")
        .await
        .expect("first");
    let retry = resolve(&mut client, candidate.clone(), "pos-42")
        .await
        .expect("retry");
    assert!(
        first.created && retry.created,
        "the retry returns the first answer, not a match"
    );
    assert_eq!(first, retry);
    assert_eq!(platform.count("customer").await, 1);

    let other = person("李", "娜", "13900139000");
    assert_refused(
        resolve(&mut client, other.clone(), "pos-42").await,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
    );
    assert_eq!(
        platform.count("customer").await,
        1,
        "a refused reuse writes nothing"
    );

    // Request ids are scoped by organisation: another dealer's pos-42 is its own.
    let mut other_dealer = platform.customers("D1002", Role::Dealer);
    assert!(
        resolve(&mut other_dealer, other, "pos-42")
            .await
            .expect("other org")
            .created
    );
}

#[tokio::test]
async fn bad_candidates_are_refused() {
    let platform = TestPlatform::spawn().await;
    let mut client = platform.customers("D1001", Role::Dealer);
    assert_invalid(
        resolve(&mut client, person("王", "伟", "123"), "").await,
        &["customer.phones[0].number"],
    );
    assert_invalid(
        resolve(
            &mut client,
            pb::Customer {
                phones: vec![],
                ..person("王", "伟", "")
            },
            "",
        )
        .await,
        &["customer"],
    );
    assert_invalid(
        resolve(&mut client, person("王", "伟", "13800138000"), "has space").await,
        &["request_id"],
    );
    assert_eq!(platform.count("customer").await, 0);
}
