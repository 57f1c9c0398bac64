//! ListCustomers: filters, stable paging, tamper-evident tokens.

use dealernet_kit::auth::Role;
use dealernet_proto::{customers::v1 as pb, types::v1 as types};
use dealernet_tests::{CustomersClient, TestPlatform};

use crate::{assert_invalid, person};

async fn seed(client: &mut CustomersClient, n: usize) -> Vec<pb::Customer> {
    let mut out = Vec::new();
    for i in 0..n {
        let mut c = person("张", &format!("{i}号"), &format!("1380000{i:04}"));
        if i % 2 == 0 {
            c.address = Some(types::PostalAddress {
                province: "北京市".into(),
                city: "北京市".into(),
                ..Default::default()
            });
        }
        c.emails = vec![pb::Email {
            address: format!("user{i}@example.com"),
        }];
        c.external_ids = vec![pb::ExternalId {
            issuer: "D1001".into(),
            value: format!("DMS-{i}"),
        }];
        out.push(
            client
                .create_customer(pb::CreateCustomerRequest {
                    customer: Some(c),
                    request_id: String::new(),
                })
                .await
                .expect("create")
                .into_inner()
                .customer
                .expect("customer"),
        );
    }
    out
}

async fn list(
    client: &mut CustomersClient,
    req: pb::ListCustomersRequest,
) -> pb::ListCustomersResponse {
    client.list_customers(req).await.expect("list").into_inner()
}

#[tokio::test]
async fn pages_cover_everything_once_in_creation_order() {
    let platform = TestPlatform::spawn().await;
    let mut client = platform.customers("HQ", Role::Hq);
    let created = seed(&mut client, 23).await;
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(
            &mut client,
            pb::ListCustomersRequest {
                page_size: 5,
                page_token: token.clone(),
                ..Default::default()
            },
        )
        .await;
        assert!(page.customers.len() <= 5);
        seen.extend(page.customers.into_iter().map(|c| c.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let expected: Vec<String> = created.iter().map(|c| c.name.clone()).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn filters_match_normalised_values() {
    let platform = TestPlatform::spawn().await;
    let mut client = platform.customers("HQ", Role::Hq);
    let created = seed(&mut client, 6).await;
    let names =
        |r: pb::ListCustomersResponse| r.customers.into_iter().map(|c| c.name).collect::<Vec<_>>();

    let by_phone = list(
        &mut client,
        pb::ListCustomersRequest {
            phone: "+86 138 0000 0003".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(names(by_phone), [created[3].name.clone()]);
    let by_email = list(
        &mut client,
        pb::ListCustomersRequest {
            email: "USER4@Example.com".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(names(by_email), [created[4].name.clone()]);
    let by_name = list(
        &mut client,
        pb::ListCustomersRequest {
            name_prefix: "张5".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(names(by_name), [created[5].name.clone()]);
    let by_place = list(
        &mut client,
        pb::ListCustomersRequest {
            province: "北京市".into(),
            city: "北京市".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(names(by_place), [0, 2, 4].map(|i| created[i].name.clone()));
    let by_ext = list(
        &mut client,
        pb::ListCustomersRequest {
            external_id: Some(pb::ExternalId {
                issuer: "D1001".into(),
                value: "DMS-1".into(),
            }),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(names(by_ext), [created[1].name.clone()]);
    let combined = list(
        &mut client,
        pb::ListCustomersRequest {
            province: "北京市".into(),
            phone: "13800000001".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(combined.customers.is_empty());
    let wildcard = list(
        &mut client,
        pb::ListCustomersRequest {
            name_prefix: "%".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(
        wildcard.customers.is_empty(),
        "LIKE wildcards match themselves"
    );
}

#[tokio::test]
async fn bad_list_requests_are_refused() {
    let platform = TestPlatform::spawn().await;
    let mut client = platform.customers("HQ", Role::Hq);
    seed(&mut client, 3).await;
    let page = list(
        &mut client,
        pb::ListCustomersRequest {
            page_size: 1,
            ..Default::default()
        },
    )
    .await;
    let token = page.next_page_token;
    assert!(!token.is_empty());

    assert_invalid(
        client
            .list_customers(pb::ListCustomersRequest {
                page_size: -1,
                ..Default::default()
            })
            .await,
        &["page_size"],
    );
    assert_invalid(
        client
            .list_customers(pb::ListCustomersRequest {
                page_token: "garbage!".into(),
                ..Default::default()
            })
            .await,
        &["page_token"],
    );
    let mut tampered = token.clone().into_bytes();
    tampered[2] = if tampered[2] == b'A' { b'B' } else { b'A' };
    assert_invalid(
        client
            .list_customers(pb::ListCustomersRequest {
                page_token: String::from_utf8(tampered).expect("ascii"),
                ..Default::default()
            })
            .await,
        &["page_token"],
    );
    // A token is bound to the filters it was issued for.
    assert_invalid(
        client
            .list_customers(pb::ListCustomersRequest {
                page_token: token,
                province: "北京市".into(),
                ..Default::default()
            })
            .await,
        &["page_token"],
    );
    assert_invalid(
        client
            .list_customers(pb::ListCustomersRequest {
                phone: "12".into(),
                ..Default::default()
            })
            .await,
        &["phone"],
    );
    assert_invalid(
        client
            .list_customers(pb::ListCustomersRequest {
                external_id: Some(pb::ExternalId {
                    issuer: "D1001".into(),
                    value: String::new(),
                }),
                ..Default::default()
            })
            .await,
        &["external_id"],
    );
}
