//! The access log: every unmasked answer recorded, with who, what, why and when.

use dealernet_kit::auth::Role;
use dealernet_proto::customers::v1 as pb;
use dealernet_tests::{Bearer, TestPlatform};
use tonic::Code;

use crate::{assert_invalid, assert_refused, person};

async fn records(
    platform: &TestPlatform,
    req: pb::ListAccessLogRequest,
    org: &str,
    role: Role,
) -> Result<Vec<pb::AccessRecord>, tonic::Status> {
    platform
        .customers(org, role)
        .list_access_log(req)
        .await
        .map(|r| r.into_inner().records)
}

#[tokio::test]
async fn unmasked_answers_are_recorded_masked_ones_are_not() {
    let platform = TestPlatform::spawn().await;
    let mut dealer = platform.customers("D1001", Role::Dealer);
    let a = dealer
        .create_customer(pb::CreateCustomerRequest {
            customer: Some(person("王", "伟", "13800138000")),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .customer
        .expect("customer");
    let get = pb::GetCustomerRequest {
        name: a.name.clone(),
    };

    // HQ must say why.
    let mut no_purpose = platform.customers_with(Bearer::valid("HQ", Role::Hq).without_purpose());
    assert_invalid(no_purpose.get_customer(get.clone()).await, &["x-purpose"]);
    assert_invalid(
        no_purpose
            .list_customers(pb::ListCustomersRequest::default())
            .await,
        &["x-purpose"],
    );

    let mut hq = platform.customers("HQ", Role::Hq);
    let mut request = tonic::Request::new(get.clone());
    request
        .metadata_mut()
        .insert("x-request-id", "audit-42".parse().expect("ascii"));
    hq.get_customer(request).await.expect("hq read");
    // A foreign dealer gets a masked record: nothing personal left, nothing to record.
    assert!(
        platform
            .customers("D1002", Role::Dealer)
            .get_customer(get.clone())
            .await
            .expect("masked")
            .into_inner()
            .customer
            .expect("c")
            .masked
    );

    let log = records(
        &platform,
        pb::ListAccessLogRequest {
            customer: a.name.clone(),
            ..Default::default()
        },
        "HQ",
        Role::Hq,
    )
    .await
    .expect("log");
    // Newest first: HQ's read, then the dealer's create answer.
    assert_eq!(log.len(), 2, "{log:?}");
    let read = &log[0];
    assert_eq!(
        (
            read.subject.as_str(),
            read.organization.as_str(),
            read.method.as_str()
        ),
        ("hq.user", "HQ", "GetCustomer")
    );
    assert_eq!(
        (read.purpose.as_str(), read.request_id.as_str()),
        (dealernet_tests::TEST_PURPOSE, "audit-42")
    );
    assert_eq!(read.roles, ["hq"]);
    assert_eq!(read.customer, a.name);
    assert!(
        read.fields.contains(&"phones".to_owned()) && read.fields.contains(&"name".to_owned()),
        "{:?}",
        read.fields
    );
    assert_eq!(log[1].method, "CreateCustomer");

    // A list answer records each unmasked customer.
    hq.list_customers(pb::ListCustomersRequest::default())
        .await
        .expect("list");
    let by_hq = records(
        &platform,
        pb::ListAccessLogRequest {
            organization: "HQ".into(),
            ..Default::default()
        },
        "HQ",
        Role::Hq,
    )
    .await
    .expect("log");
    assert_eq!(
        by_hq.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        ["ListCustomers", "GetCustomer"]
    );
}

#[tokio::test]
async fn who_may_read_the_log() {
    let platform = TestPlatform::spawn().await;
    let mut dealer = platform.customers("D1001", Role::Dealer);
    let a = dealer
        .create_customer(pb::CreateCustomerRequest {
            customer: Some(person("王", "伟", "13800138000")),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .customer
        .expect("customer");
    dealer
        .get_customer(pb::GetCustomerRequest {
            name: a.name.clone(),
        })
        .await
        .expect("own read");
    platform
        .customers("CALLCENTER", Role::Agent)
        .get_customer(pb::GetCustomerRequest {
            name: a.name.clone(),
        })
        .await
        .expect("hotline read");

    // The dealer sees who outside it read its customer, not its own reads.
    let seen = records(
        &platform,
        pb::ListAccessLogRequest::default(),
        "D1001",
        Role::Dealer,
    )
    .await
    .expect("dealer view");
    assert_eq!(
        seen.iter()
            .map(|r| r.organization.as_str())
            .collect::<Vec<_>>(),
        ["CALLCENTER"]
    );
    // Another dealer has no linked customers, so nothing.
    assert!(
        records(
            &platform,
            pb::ListAccessLogRequest::default(),
            "D1002",
            Role::Dealer
        )
        .await
        .expect("other")
        .is_empty()
    );
    assert_invalid(
        records(
            &platform,
            pb::ListAccessLogRequest {
                organization: "HQ".into(),
                ..Default::default()
            },
            "D1001",
            Role::Dealer,
        )
        .await,
        &["organization"],
    );
    assert_refused(
        records(
            &platform,
            pb::ListAccessLogRequest::default(),
            "CALLCENTER",
            Role::Agent,
        )
        .await,
        Code::PermissionDenied,
        "ACCESS_LOG_NOT_ALLOWED",
    );
    // Paging and time ranges.
    let page = platform
        .customers("HQ", Role::Hq)
        .list_access_log(pb::ListAccessLogRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("page")
        .into_inner();
    assert_eq!(page.records.len(), 1);
    assert!(!page.next_page_token.is_empty());
    let future = prost_types::Timestamp {
        seconds: 4_000_000_000,
        nanos: 0,
    };
    let none = records(
        &platform,
        pb::ListAccessLogRequest {
            start_time: Some(future),
            ..Default::default()
        },
        "HQ",
        Role::Hq,
    )
    .await
    .expect("future");
    assert!(none.is_empty());
    assert_invalid(
        records(
            &platform,
            pb::ListAccessLogRequest {
                start_time: Some(future),
                end_time: Some(prost_types::Timestamp {
                    seconds: 1,
                    nanos: 0,
                }),
                ..Default::default()
            },
            "HQ",
            Role::Hq,
        )
        .await,
        &["end_time"],
    );
}
