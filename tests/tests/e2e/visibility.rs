//! Object-level visibility: every read RPC × role × own/foreign customer.

use dealernet_kit::auth::Role;
use dealernet_proto::customers::v1 as pb;
use dealernet_tests::{CustomersClient, TestPlatform};
use tonic::Code;

use crate::{assert_refused, person};

/// Customer A belongs to dealer D1001, customer B to station S3001.
async fn two_customers(platform: &TestPlatform) -> (pb::Customer, pb::Customer) {
    let mut a = person("张", "伟", "13800138000");
    a.emails = vec![pb::Email {
        address: "zhangwei@example.com".into(),
    }];
    a.external_ids = vec![pb::ExternalId {
        issuer: "D1001".into(),
        value: "DMS-1".into(),
    }];
    a.national_id = "11010519491231002X".into();
    let create = |org: &'static str, role, c: pb::Customer| {
        let mut client = platform.customers(org, role);
        async move {
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
    };
    let a = create("D1001", Role::Dealer, a).await;
    let b = create("S3001", Role::Station, person("李", "娜", "13900139000")).await;
    (a, b)
}

async fn get(client: &mut CustomersClient, name: &str) -> pb::Customer {
    client
        .get_customer(pb::GetCustomerRequest { name: name.into() })
        .await
        .expect("get")
        .into_inner()
        .customer
        .expect("customer")
}

async fn list(client: &mut CustomersClient, req: pb::ListCustomersRequest) -> Vec<pb::Customer> {
    client
        .list_customers(req)
        .await
        .expect("list")
        .into_inner()
        .customers
}

const VIEWERS: [(&str, Role, bool); 5] = [
    // (organisation, role, sees A in full)
    ("HQ", Role::Hq, true),
    ("CALLCENTER", Role::Agent, true),
    ("D1001", Role::Dealer, true),
    ("D1002", Role::Dealer, false),
    ("S3001", Role::Station, false),
];

#[tokio::test]
async fn reads_are_full_for_linked_and_central_callers_masked_otherwise() {
    let platform = TestPlatform::spawn().await;
    let (a, b) = two_customers(&platform).await;
    for (org, role, full) in VIEWERS {
        let mut client = platform.customers(org, role);
        let by_name = get(&mut client, &a.name).await;
        let by_phone = list(
            &mut client,
            pb::ListCustomersRequest {
                phone: "13800138000".into(),
                ..Default::default()
            },
        )
        .await;
        let by_email = list(
            &mut client,
            pb::ListCustomersRequest {
                email: "zhangwei@example.com".into(),
                ..Default::default()
            },
        )
        .await;
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
        for (how, seen) in [
            ("get", by_name),
            ("phone", by_phone[0].clone()),
            ("email", by_email[0].clone()),
            ("external id", by_ext[0].clone()),
        ] {
            if full {
                assert_eq!(seen, a, "{org} via {how}");
            } else {
                assert!(seen.masked, "{org} via {how}");
                assert_eq!(seen.name, a.name);
                assert_eq!(seen.display_name, "张*");
                assert_eq!(seen.phones[0].number, "+86138****8000");
                assert_eq!(seen.emails[0].address, "z***@example.com");
                let address = seen.address.clone().expect("province and city");
                assert_eq!(
                    (
                        address.province.as_str(),
                        address.street.as_str(),
                        address.postal_code.as_str()
                    ),
                    ("广东省", "", "")
                );
                assert!(
                    seen.external_ids.is_empty()
                        && seen.national_id_last4.is_empty()
                        && seen.birthday.is_none()
                );
            }
        }
        // Browsing without an exact identifier covers only one's own customers.
        let browsed: Vec<String> = list(
            &mut client,
            pb::ListCustomersRequest {
                province: "广东省".into(),
                ..Default::default()
            },
        )
        .await
        .into_iter()
        .map(|c| c.name)
        .collect();
        let expected: Vec<String> = match org {
            "HQ" | "CALLCENTER" => vec![a.name.clone(), b.name.clone()],
            "D1001" => vec![a.name.clone()],
            "S3001" => vec![b.name.clone()],
            _ => vec![],
        };
        assert_eq!(browsed, expected, "{org} browsing");
    }
}

#[tokio::test]
async fn acting_on_a_foreign_customer_needs_a_link() {
    let platform = TestPlatform::spawn().await;
    let (a, _) = two_customers(&platform).await;
    let mut other = platform.customers("D1002", Role::Dealer);
    let denied = |r: Result<_, tonic::Status>| {
        assert_refused(r, Code::PermissionDenied, "CUSTOMER_NOT_LINKED");
    };
    denied(
        other
            .list_consents(pb::ListConsentsRequest {
                parent: a.name.clone(),
                page_size: 0,
                page_token: String::new(),
            })
            .await
            .map(|_| ()),
    );
    denied(
        other
            .list_relationships(pb::ListRelationshipsRequest {
                parent: a.name.clone(),
                page_size: 0,
                page_token: String::new(),
            })
            .await
            .map(|_| ()),
    );
    denied(
        other
            .update_customer(pb::UpdateCustomerRequest {
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
            .map(|_| ()),
    );
    denied(
        other
            .set_consent(pb::SetConsentRequest {
                parent: a.name.clone(),
                consent: Some(pb::Consent {
                    channel: pb::ContactChannel::Sms as i32,
                    purpose: pb::ConsentPurpose::Marketing as i32,
                    status: pb::ConsentStatus::Granted as i32,
                    capture_source: pb::SourceChannel::DealerPos as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .map(|_| ()),
    );
    assert_eq!(platform.count("consent").await, 0);

    // Only central principals link; once linked, the dealer sees and acts in full.
    let link = pb::LinkCustomerRequest {
        name: a.name.clone(),
        organization: "D1002".into(),
        reason: "LEAD".into(),
        request_id: String::new(),
    };
    assert_refused(
        other.link_customer(link.clone()).await,
        Code::PermissionDenied,
        "LINK_NOT_ALLOWED",
    );
    let mut hq = platform.customers("HQ", Role::Hq);
    assert!(
        hq.link_customer(link.clone())
            .await
            .expect("link")
            .into_inner()
            .created
    );
    assert!(
        !hq.link_customer(link)
            .await
            .expect("again")
            .into_inner()
            .created
    );
    assert_eq!(get(&mut other, &a.name).await, a);

    // Resolving a customer by its identifier links the resolving outlet too.
    let mut station = platform.customers("S3002", Role::Station);
    assert!(get(&mut station, &a.name).await.masked);
    let resolved = station
        .resolve_customer(pb::ResolveCustomerRequest {
            customer: Some(person("张", "伟", "13800138000")),
            request_id: String::new(),
        })
        .await
        .expect("resolve")
        .into_inner();
    assert!(!resolved.created && !resolved.customer.expect("c").masked);
    assert_eq!(get(&mut station, &a.name).await, a);
}
