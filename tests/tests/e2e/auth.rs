//! Every call needs a valid bearer token; health and reflection do not.

use dealernet_kit::auth::Role;
use dealernet_proto::customers::v1 as pb;
use dealernet_tests::{Bearer, TEST_JWT_SECRET, TestPlatform};
use tonic::Code;

use crate::assert_refused;

async fn get_with(
    platform: &TestPlatform,
    bearer: Bearer,
) -> Result<pb::GetCustomerResponse, tonic::Status> {
    platform
        .customers_with(bearer)
        .get_customer(pb::GetCustomerRequest {
            name: "customers/01936f0e-0000-7000-8000-000000000000".into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn missing_expired_and_forged_tokens_are_unauthenticated() {
    let platform = TestPlatform::spawn().await;
    let cases = [
        ("missing", Bearer::none()),
        ("not bearer", Bearer::raw("Basic dXNlcjpwYXNz")),
        ("garbage", Bearer::raw("Bearer not.a.token")),
        (
            "expired",
            Bearer::signed(TEST_JWT_SECRET, "HQ", Role::Hq, -3600),
        ),
        (
            "forged",
            Bearer::signed(
                "another-key-another-key-another-key-0000",
                "HQ",
                Role::Hq,
                3600,
            ),
        ),
    ];
    for (what, bearer) in cases {
        let status = assert_refused(
            get_with(&platform, bearer).await,
            Code::Unauthenticated,
            "UNAUTHENTICATED",
        );
        assert!(!status.message().is_empty(), "{what}");
    }
}

#[tokio::test]
async fn unauthenticated_mutations_write_nothing() {
    let platform = TestPlatform::spawn().await;
    let result = platform
        .customers_with(Bearer::signed(
            TEST_JWT_SECRET,
            "D1001",
            Role::Dealer,
            -60 * 60,
        ))
        .create_customer(pb::CreateCustomerRequest {
            customer: Some(crate::person("王", "伟", "13800138000")),
            request_id: String::new(),
        })
        .await;
    assert_refused(result, Code::Unauthenticated, "UNAUTHENTICATED");
    assert_eq!(platform.count("customer").await, 0);
}

#[tokio::test]
async fn a_valid_token_passes() {
    let platform = TestPlatform::spawn().await;
    // The customer does not exist, but the call got past authentication.
    let status = get_with(&platform, Bearer::valid("D1001", Role::Dealer))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
}
