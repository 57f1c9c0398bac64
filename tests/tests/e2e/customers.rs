//! CreateCustomer, GetCustomer, UpdateCustomer.

use dealernet_kit::auth::Role;
use dealernet_proto::{customers::v1 as pb, types::v1 as types};
use dealernet_tests::TestPlatform;
use prost_types::FieldMask;
use tonic::Code;

use crate::{assert_invalid, assert_refused, person};

const VALID_ID: &str = "11010519491231002X";

async fn create(
    platform: &TestPlatform,
    customer: pb::Customer,
) -> Result<pb::Customer, tonic::Status> {
    platform
        .customers("D1001", Role::Dealer)
        .create_customer(pb::CreateCustomerRequest {
            customer: Some(customer),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner().customer.expect("customer"))
}

#[tokio::test]
async fn create_normalises_and_get_returns_it() {
    let platform = TestPlatform::spawn().await;
    let mut input = person("王", "小明", "138 0013 8000");
    input.emails = vec![pb::Email {
        address: " Wang.XM@Example.COM ".into(),
    }];
    input.national_id = VALID_ID.to_lowercase();
    input.birthday = Some(types::Date {
        year: 1949,
        month: 12,
        day: 31,
    });
    input.external_ids = vec![pb::ExternalId {
        issuer: "D1001".into(),
        value: "DMS-1".into(),
    }];
    let created = create(&platform, input).await.expect("created");
    assert!(created.name.starts_with("customers/"));
    assert_eq!(created.display_name, "王小明");
    assert_eq!(created.phones[0].number, "+8613800138000");
    assert_eq!(created.phones[0].kind, pb::PhoneKind::Mobile as i32);
    assert_eq!(created.emails[0].address, "wang.xm@example.com");
    assert_eq!(created.national_id, "", "the number is never returned");
    assert_eq!(created.national_id_last4, "002X");
    assert_eq!(created.creating_organization, "D1001");
    assert_eq!(created.state, pb::CustomerState::Active as i32);
    assert!(!created.etag.is_empty());

    let got = platform
        .customers("HQ", Role::Hq)
        .get_customer(pb::GetCustomerRequest {
            name: created.name.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .customer
        .expect("customer");
    assert_eq!(got, created);

    // The clear number is nowhere in the database.
    let mut db = platform.db().await;
    let (hash, last4): (Vec<u8>, String) =
        sqlx::query_as("SELECT national_id_hash, national_id_last4 FROM customers.customer")
            .fetch_one(&mut db)
            .await
            .expect("row");
    assert_eq!(last4, "002X");
    assert_eq!(hash.len(), 32);
    assert!(!String::from_utf8_lossy(&hash).contains("110105"));
}

#[tokio::test]
async fn create_refuses_bad_input_and_writes_nothing() {
    let platform = TestPlatform::spawn().await;
    let cases: Vec<(pb::Customer, Vec<&str>)> = vec![
        (person("", "", "13800138000"), vec!["customer.person_name"]),
        (
            person(&"王".repeat(65), "伟", "13800138000"),
            vec!["customer.person_name.family_name"],
        ),
        (
            person("王", "伟", "12345"),
            vec!["customer.phones[0].number"],
        ),
        (
            pb::Customer {
                emails: vec![pb::Email {
                    address: "not-an-email".into(),
                }],
                ..person("王", "伟", "13800138000")
            },
            vec!["customer.emails[0].address"],
        ),
        (
            pb::Customer {
                national_id: "110105194912310021".into(),
                ..person("王", "伟", "13800138000")
            },
            vec!["customer.national_id"],
        ),
        (
            pb::Customer {
                kind: 0,
                ..person("王", "伟", "13800138000")
            },
            vec!["customer.kind"],
        ),
        (
            pb::Customer {
                source_channel: 0,
                ..person("王", "伟", "13800138000")
            },
            vec!["customer.source_channel"],
        ),
        (
            pb::Customer {
                birthday: Some(types::Date {
                    year: 2001,
                    month: 2,
                    day: 30,
                }),
                ..person("王", "伟", "13800138000")
            },
            vec!["customer.birthday"],
        ),
        (
            pb::Customer {
                external_ids: vec![pb::ExternalId {
                    issuer: "d1001".into(),
                    value: "".into(),
                }],
                ..person("王", "伟", "13800138000")
            },
            vec![
                "customer.external_ids[0].issuer",
                "customer.external_ids[0].value",
            ],
        ),
        (
            pb::Customer {
                address: Some(types::PostalAddress {
                    postal_code: "5180".into(),
                    ..Default::default()
                }),
                ..person("王", "伟", "not a phone")
            },
            vec!["customer.address.postal_code", "customer.phones[0].number"],
        ),
    ];
    for (customer, fields) in cases {
        assert_invalid(create(&platform, customer).await, &fields);
    }
    let missing = platform
        .customers("D1001", Role::Dealer)
        .create_customer(pb::CreateCustomerRequest::default())
        .await;
    assert_invalid(missing, &["customer"]);
    assert_eq!(platform.count("customer").await, 0);
    assert_eq!(platform.count("customer_phone").await, 0);
}

#[tokio::test]
async fn external_ids_are_unique_per_issuer() {
    let platform = TestPlatform::spawn().await;
    let with_dms = |phone: &str| pb::Customer {
        external_ids: vec![pb::ExternalId {
            issuer: "D1001".into(),
            value: "DMS-7".into(),
        }],
        ..person("王", "伟", phone)
    };
    create(&platform, with_dms("13800138000"))
        .await
        .expect("first");
    assert_refused(
        create(&platform, with_dms("13900139000")).await,
        Code::AlreadyExists,
        "EXTERNAL_ID_TAKEN",
    );
    // Another issuer may use the same number.
    let other = pb::Customer {
        external_ids: vec![pb::ExternalId {
            issuer: "D1002".into(),
            value: "DMS-7".into(),
        }],
        ..person("李", "娜", "13900139000")
    };
    create(&platform, other).await.expect("other issuer");
    assert_eq!(platform.count("customer").await, 2);
}

#[tokio::test]
async fn get_refuses_malformed_and_unknown_names() {
    let platform = TestPlatform::spawn().await;
    let mut client = platform.customers("HQ", Role::Hq);
    for name in [
        "",
        "customers/",
        "customers/42",
        "vehicles/01936f0e-0000-7000-8000-000000000000",
    ] {
        assert_invalid(
            client
                .get_customer(pb::GetCustomerRequest { name: name.into() })
                .await,
            &["name"],
        );
    }
    assert_refused(
        client
            .get_customer(pb::GetCustomerRequest {
                name: "customers/01936f0e-0000-7000-8000-000000000000".into(),
            })
            .await,
        Code::NotFound,
        "CUSTOMER_NOT_FOUND",
    );
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

#[tokio::test]
async fn update_changes_only_masked_fields_and_checks_etags() {
    let platform = TestPlatform::spawn().await;
    let created = create(&platform, person("王", "伟", "13800138000"))
        .await
        .expect("created");
    let mut client = platform.customers("D1001", Role::Dealer);

    let change = pb::Customer {
        name: created.name.clone(),
        etag: created.etag.clone(),
        phones: vec![pb::Phone {
            number: "+86 139 0013 9000".into(),
            kind: 0,
        }],
        person_name: Some(pb::PersonName {
            family_name: "ignored".into(),
            given_name: "芳".into(),
        }),
        ..Default::default()
    };
    let updated = client
        .update_customer(pb::UpdateCustomerRequest {
            customer: Some(change.clone()),
            update_mask: mask(&["phones", "person_name.given_name"]),
            request_id: String::new(),
        })
        .await
        .expect("update")
        .into_inner()
        .customer
        .expect("customer");
    assert_eq!(updated.phones[0].number, "+8613900139000");
    assert_eq!(updated.display_name, "王芳");
    assert_eq!(updated.address, created.address, "unmasked fields stay");
    assert_ne!(updated.etag, created.etag);

    // The etag read before the update is stale now.
    let stale = client
        .update_customer(pb::UpdateCustomerRequest {
            customer: Some(pb::Customer {
                preferred_language: "en".into(),
                ..change.clone()
            }),
            update_mask: mask(&["preferred_language"]),
            request_id: String::new(),
        })
        .await;
    assert_refused(stale, Code::Aborted, "ETAG_MISMATCH");

    let bad_mask = client
        .update_customer(pb::UpdateCustomerRequest {
            customer: Some(pb::Customer {
                etag: updated.etag.clone(),
                ..change.clone()
            }),
            update_mask: mask(&["phones", "source_channel", "no_such_field"]),
            request_id: String::new(),
        })
        .await;
    assert_invalid(bad_mask, &["update_mask.paths[1]", "update_mask.paths[2]"]);

    let empty_mask = client
        .update_customer(pb::UpdateCustomerRequest {
            customer: Some(change.clone()),
            update_mask: None,
            request_id: String::new(),
        })
        .await;
    assert_invalid(empty_mask, &["update_mask"]);

    let bad_value = client
        .update_customer(pb::UpdateCustomerRequest {
            customer: Some(pb::Customer {
                etag: updated.etag.clone(),
                emails: vec![pb::Email {
                    address: "nope".into(),
                }],
                ..change.clone()
            }),
            update_mask: mask(&["emails"]),
            request_id: String::new(),
        })
        .await;
    assert_invalid(bad_value, &["customer.emails[0].address"]);

    let unknown = client
        .update_customer(pb::UpdateCustomerRequest {
            customer: Some(pb::Customer {
                name: "customers/01936f0e-0000-7000-8000-000000000000".into(),
                ..change.clone()
            }),
            update_mask: mask(&["phones"]),
            request_id: String::new(),
        })
        .await;
    assert_refused(unknown, Code::NotFound, "CUSTOMER_NOT_FOUND");

    // None of the refused updates changed anything.
    let now = client
        .get_customer(pb::GetCustomerRequest {
            name: created.name.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .customer
        .expect("customer");
    assert_eq!(now, updated);
}

#[tokio::test]
async fn update_is_idempotent_on_request_id() {
    let platform = TestPlatform::spawn().await;
    let created = create(&platform, person("王", "伟", "13800138000"))
        .await
        .expect("created");
    let mut client = platform.customers("D1001", Role::Dealer);
    let request = pb::UpdateCustomerRequest {
        customer: Some(pb::Customer {
            name: created.name.clone(),
            etag: created.etag.clone(),
            preferred_language: "en-GB".into(),
            ..Default::default()
        }),
        update_mask: mask(&["preferred_language"]),
        request_id: "upd-1".into(),
    };
    let first = client
        .update_customer(request.clone())
        .await
        .expect("first")
        .into_inner();
    // The retry carries the now-stale etag, yet returns the first answer instead of ABORTED.
    let retry = client
        .update_customer(request.clone())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, retry);
    let other = pb::UpdateCustomerRequest {
        update_mask: mask(&["preferred_language", "birthday"]),
        ..request
    };
    assert_refused(
        client.update_customer(other).await,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
    );
}
