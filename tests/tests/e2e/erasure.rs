//! EraseCustomer: personal data gone, the id and its history kept.

use dealernet_kit::auth::Role;
use dealernet_proto::{customers::v1 as pb, types::v1 as types};
use dealernet_tests::{Bearer, TestPlatform};
use tonic::Code;

use crate::{assert_invalid, assert_refused, person};

const PHONE: &str = "+8613812345678";

async fn rich_customer(platform: &TestPlatform) -> String {
    let mut dealer = platform.customers("D1001", Role::Dealer);
    let mut c = person("孙", "丽", "138 1234 5678");
    c.emails = vec![pb::Email {
        address: "sunli@example.com".into(),
    }];
    c.national_id = "11010519491231002X".into();
    c.birthday = Some(types::Date {
        year: 1949,
        month: 12,
        day: 31,
    });
    c.external_ids = vec![pb::ExternalId {
        issuer: "D1001".into(),
        value: "DMS-77".into(),
    }];
    let name = dealer
        .resolve_customer(pb::ResolveCustomerRequest {
            customer: Some(c),
            request_id: "pos-erase-1".into(),
        })
        .await
        .expect("resolve")
        .into_inner()
        .customer
        .expect("customer")
        .name;
    dealer
        .set_consent(pb::SetConsentRequest {
            parent: name.clone(),
            consent: Some(pb::Consent {
                channel: pb::ContactChannel::Phone as i32,
                purpose: pb::ConsentPurpose::Marketing as i32,
                status: pb::ConsentStatus::Granted as i32,
                capture_source: pb::SourceChannel::DealerPos as i32,
                ..Default::default()
            }),
            request_id: "consent-erase-1".into(),
        })
        .await
        .expect("consent");
    name
}

fn erase_request(name: &str, reason: &str) -> pb::EraseCustomerRequest {
    pb::EraseCustomerRequest {
        name: name.into(),
        reason: reason.into(),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn only_hq_with_a_reason_may_erase() {
    let platform = TestPlatform::spawn().await;
    let name = rich_customer(&platform).await;
    for (org, role) in [
        ("D1001", Role::Dealer),
        ("CALLCENTER", Role::Agent),
        ("S3001", Role::Station),
        ("D1001", Role::Hq),
    ] {
        let result = platform
            .customers(org, role)
            .erase_customer(erase_request(&name, "asked"))
            .await;
        assert_refused(result, Code::PermissionDenied, "HQ_ROLE_REQUIRED");
    }
    let mut hq = platform.customers("HQ", Role::Hq);
    assert_invalid(
        hq.erase_customer(erase_request(&name, "  ")).await,
        &["reason"],
    );
    assert_invalid(
        hq.erase_customer(erase_request(&name, &"x".repeat(501)))
            .await,
        &["reason"],
    );
    assert_invalid(
        hq.erase_customer(erase_request("customer/1", "")).await,
        &["name", "reason"],
    );
    assert_refused(
        hq.erase_customer(erase_request(
            "customers/01936f0e-0000-7000-8000-000000000000",
            "asked",
        ))
        .await,
        Code::NotFound,
        "CUSTOMER_NOT_FOUND",
    );
    assert_eq!(platform.count("erasure_log").await, 0);
    assert_eq!(
        platform.count("customer_phone").await,
        1,
        "nothing was erased"
    );
}

#[tokio::test]
async fn erasure_removes_the_person_and_keeps_the_id() {
    let platform = TestPlatform::spawn().await;
    let name = rich_customer(&platform).await;
    let mut steward = platform.customers_with(Bearer::valid("HQ", Role::Steward));
    let erased = steward
        .erase_customer(pb::EraseCustomerRequest {
            name: name.clone(),
            reason: "ticket PI-2026-0042".into(),
            request_id: "erase-1".into(),
        })
        .await
        .expect("erase")
        .into_inner()
        .customer
        .expect("customer");
    assert_eq!(erased.name, name);
    assert_eq!(erased.state, pb::CustomerState::Erased as i32);
    assert_eq!(
        (
            erased.display_name.as_str(),
            erased
                .person_name
                .clone()
                .unwrap_or_default()
                .family_name
                .as_str()
        ),
        ("", "")
    );
    assert!(erased.phones.is_empty() && erased.emails.is_empty() && erased.external_ids.is_empty());
    assert_eq!(
        (
            erased.address.clone(),
            erased.birthday,
            erased.national_id_last4.as_str()
        ),
        (None, None, "")
    );

    // Later reads show the erased customer, not an error.
    let mut agent = platform.customers("CALLCENTER", Role::Agent);
    let read = agent
        .get_customer(pb::GetCustomerRequest { name: name.clone() })
        .await
        .expect("get")
        .into_inner()
        .customer
        .expect("c");
    assert_eq!(read, erased);
    let check = agent
        .check_contact_permission(pb::CheckContactPermissionRequest {
            name: name.clone(),
            channel: pb::ContactChannel::Phone as i32,
            purpose: pb::ConsentPurpose::Marketing as i32,
            at: None,
        })
        .await
        .expect("check")
        .into_inner();
    assert_eq!(
        (check.allowed, check.reason.as_str()),
        (false, "CUSTOMER_ERASED")
    );

    // Nothing personal is left in the schema, including saved idempotent responses.
    let mut db = platform.db().await;
    let (hash, phones, ext, withdrawn, logs, saved): (Option<Vec<u8>>, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT national_id_hash FROM customers.customer), \
                (SELECT count(*) FROM customers.customer_phone), \
                (SELECT count(*) FROM customers.external_id), \
                (SELECT count(*) FROM customers.consent WHERE status = 'WITHDRAWN'), \
                (SELECT count(*) FROM customers.erasure_log WHERE reason = 'ticket PI-2026-0042'), \
                (SELECT count(*) FROM customers.idempotency WHERE position(convert_to($1, 'UTF8') IN coalesce(response, ''::bytea)) > 0)",
    )
    .bind(PHONE)
    .fetch_one(&mut db)
    .await
    .expect("inspect");
    assert_eq!(
        (hash, phones, ext, withdrawn, logs, saved),
        (None, 0, 0, 1, 1, 0)
    );
    assert_eq!(
        platform.count("customer_link").await,
        1,
        "the relationship to the dealer stays"
    );

    // Irreversible and closed to changes; a retry of the erase replays its answer.
    assert_refused(
        steward.erase_customer(erase_request(&name, "again")).await,
        Code::FailedPrecondition,
        "CUSTOMER_ERASED",
    );
    let replay = steward
        .erase_customer(pb::EraseCustomerRequest {
            name: name.clone(),
            reason: "ticket PI-2026-0042".into(),
            request_id: "erase-1".into(),
        })
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(replay.customer, Some(erased));
    let update = agent
        .update_customer(pb::UpdateCustomerRequest {
            customer: Some(pb::Customer {
                name: name.clone(),
                preferred_language: "en".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["preferred_language".into()],
            }),
            request_id: String::new(),
        })
        .await;
    assert_refused(update, Code::FailedPrecondition, "CUSTOMER_ERASED");

    // The same person coming back is a new customer.
    let again = platform
        .customers("D1001", Role::Dealer)
        .resolve_customer(pb::ResolveCustomerRequest {
            customer: Some(person("孙", "丽", PHONE)),
            request_id: String::new(),
        })
        .await
        .expect("resolve")
        .into_inner();
    assert!(again.created);
    assert_ne!(again.customer.expect("c").name, name);
}
