//! SetConsent, ListConsents, CheckContactPermission.

use dealernet_kit::auth::Role;
use dealernet_proto::customers::v1 as pb;
use dealernet_tests::{CustomersClient, TestPlatform};
use prost_types::Timestamp;
use tonic::Code;

use crate::{assert_invalid, assert_refused, person};

fn ts(offset_secs: i64) -> Option<Timestamp> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    Some(Timestamp {
        seconds: now + offset_secs,
        nanos: 0,
    })
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

async fn customer(client: &mut CustomersClient) -> String {
    client
        .create_customer(pb::CreateCustomerRequest {
            customer: Some(person("周", "杰", "13800138000")),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .customer
        .expect("customer")
        .name
}

async fn set(
    client: &mut CustomersClient,
    parent: &str,
    c: pb::Consent,
) -> Result<pb::Consent, tonic::Status> {
    client
        .set_consent(pb::SetConsentRequest {
            parent: parent.into(),
            consent: Some(c),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner().consent.expect("consent"))
}

async fn check(
    client: &mut CustomersClient,
    name: &str,
    purpose: pb::ConsentPurpose,
    at: Option<Timestamp>,
) -> pb::CheckContactPermissionResponse {
    client
        .check_contact_permission(pb::CheckContactPermissionRequest {
            name: name.into(),
            channel: pb::ContactChannel::Phone as i32,
            purpose: purpose as i32,
            at,
        })
        .await
        .expect("check")
        .into_inner()
}

#[tokio::test]
async fn the_latest_answer_decides() {
    use pb::{ConsentPurpose as P, ConsentStatus as S, ContactChannel as C};
    let platform = TestPlatform::spawn().await;
    let mut agent = platform.customers("CALLCENTER", Role::Agent);
    let name = customer(&mut agent).await;

    let none = check(&mut agent, &name, P::Surveys, None).await;
    assert_eq!((none.allowed, none.reason.as_str()), (false, "NO_CONSENT"));

    let stored = set(
        &mut agent,
        &name,
        pb::Consent {
            capture_time: ts(-3600),
            ..consent(C::Phone, P::Surveys, S::Granted)
        },
    )
    .await
    .expect("grant");
    assert_eq!(stored.name, format!("{name}/consents/phone.surveys"));
    assert_eq!(stored.recorded_by, "CALLCENTER");
    let granted = check(&mut agent, &name, P::Surveys, None).await;
    assert_eq!(
        (granted.allowed, granted.reason.as_str()),
        (true, "CONSENT_GRANTED")
    );
    assert_eq!(granted.consent, Some(stored));
    let before = check(&mut agent, &name, P::Surveys, ts(-7200)).await;
    assert_eq!(
        (before.allowed, before.reason.as_str()),
        (false, "NO_CONSENT"),
        "not before it was given"
    );

    set(
        &mut agent,
        &name,
        consent(C::Phone, P::Surveys, S::Withdrawn),
    )
    .await
    .expect("withdraw");
    let withdrawn = check(&mut agent, &name, P::Surveys, None).await;
    assert_eq!(
        (withdrawn.allowed, withdrawn.reason.as_str()),
        (false, "CONSENT_WITHDRAWN")
    );

    set(
        &mut agent,
        &name,
        consent(C::Phone, P::Marketing, S::Denied),
    )
    .await
    .expect("deny");
    assert_eq!(
        check(&mut agent, &name, P::Marketing, None).await.reason,
        "CONSENT_DENIED"
    );

    let lapsed = pb::Consent {
        capture_time: ts(-10 * 86400),
        valid_until: ts(-86400),
        ..consent(C::Phone, P::Research, S::Granted)
    };
    set(&mut agent, &name, lapsed).await.expect("old grant");
    assert_eq!(
        check(&mut agent, &name, P::Research, None).await.reason,
        "CONSENT_EXPIRED"
    );
    assert!(
        check(&mut agent, &name, P::Research, ts(-2 * 86400))
            .await
            .allowed,
        "valid at that time"
    );

    // Every answer is kept in the history; the current table holds one per pair.
    assert_eq!(platform.count("consent").await, 3);
    assert_eq!(platform.count("consent_history").await, 4);
}

#[tokio::test]
async fn consents_list_in_pages() {
    use pb::{ConsentPurpose as P, ConsentStatus as S, ContactChannel as C};
    let platform = TestPlatform::spawn().await;
    let mut client = platform.customers("D1001", Role::Dealer);
    let name = customer(&mut client).await;
    let other = customer(&mut client).await;
    for channel in [C::Phone, C::Sms, C::Email] {
        for purpose in [P::ServiceReminders, P::Marketing] {
            set(&mut client, &name, consent(channel, purpose, S::Granted))
                .await
                .expect("set");
        }
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_consents(pb::ListConsentsRequest {
                parent: name.clone(),
                page_size: 4,
                page_token: token.clone(),
            })
            .await
            .expect("list")
            .into_inner();
        seen.extend(page.consents.into_iter().map(|c| c.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 6);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 6);

    let first = client
        .list_consents(pb::ListConsentsRequest {
            parent: name.clone(),
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .expect("list")
        .into_inner();
    let foreign = client
        .list_consents(pb::ListConsentsRequest {
            parent: other,
            page_size: 1,
            page_token: first.next_page_token,
        })
        .await;
    assert_invalid(foreign, &["page_token"]);
    assert_invalid(
        client
            .list_consents(pb::ListConsentsRequest {
                parent: "customers/x".into(),
                page_size: -1,
                page_token: String::new(),
            })
            .await,
        &["parent", "page_size"],
    );
}

#[tokio::test]
async fn bad_consents_are_refused_and_write_nothing() {
    use pb::{ConsentPurpose as P, ConsentStatus as S, ContactChannel as C};
    let platform = TestPlatform::spawn().await;
    let mut client = platform.customers("CALLCENTER", Role::Agent);
    let name = customer(&mut client).await;
    let good = consent(C::Phone, P::Surveys, S::Granted);
    assert_invalid(
        set(
            &mut client,
            &name,
            pb::Consent {
                purpose: 99,
                ..good.clone()
            },
        )
        .await,
        &["consent.purpose"],
    );
    assert_invalid(
        set(
            &mut client,
            &name,
            pb::Consent {
                channel: 0,
                status: 0,
                capture_source: 0,
                ..good.clone()
            },
        )
        .await,
        &[
            "consent.channel",
            "consent.status",
            "consent.capture_source",
        ],
    );
    assert_invalid(
        set(
            &mut client,
            &name,
            pb::Consent {
                capture_time: ts(86400),
                ..good.clone()
            },
        )
        .await,
        &["consent.capture_time"],
    );
    assert_invalid(
        set(
            &mut client,
            &name,
            pb::Consent {
                capture_time: ts(-60),
                valid_until: ts(-120),
                ..good.clone()
            },
        )
        .await,
        &["consent.valid_until"],
    );
    assert_invalid(
        set(&mut client, "customers/nope", good.clone()).await,
        &["parent"],
    );
    assert_invalid(
        client
            .set_consent(pb::SetConsentRequest {
                parent: name.clone(),
                consent: None,
                request_id: String::new(),
            })
            .await,
        &["consent"],
    );
    assert_refused(
        set(
            &mut client,
            "customers/01936f0e-0000-7000-8000-000000000000",
            good.clone(),
        )
        .await,
        Code::NotFound,
        "CUSTOMER_NOT_FOUND",
    );
    let unknown_check = client
        .check_contact_permission(pb::CheckContactPermissionRequest {
            name: "customers/01936f0e-0000-7000-8000-000000000000".into(),
            channel: C::Phone as i32,
            purpose: P::Surveys as i32,
            at: None,
        })
        .await;
    assert_refused(unknown_check, Code::NotFound, "CUSTOMER_NOT_FOUND");
    assert_invalid(
        client
            .check_contact_permission(pb::CheckContactPermissionRequest {
                name: name.clone(),
                channel: 0,
                purpose: 42,
                at: None,
            })
            .await,
        &["channel", "purpose"],
    );
    assert_eq!(platform.count("consent").await, 0);
    assert_eq!(platform.count("consent_history").await, 0);

    // A retry with the same request id replays; another request under that id is refused.
    let request = pb::SetConsentRequest {
        parent: name.clone(),
        consent: Some(good.clone()),
        request_id: "c-1".into(),
    };
    let first = client
        .set_consent(request.clone())
        .await
        .expect("first")
        .into_inner();
    let again = client
        .set_consent(request.clone())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, again);
    let other = pb::SetConsentRequest {
        consent: Some(pb::Consent {
            status: S::Denied as i32,
            ..good
        }),
        ..request
    };
    assert_refused(
        client.set_consent(other).await,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
    );
    assert_eq!(platform.count("consent_history").await, 1);
}
