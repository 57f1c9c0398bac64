//! Authentication at the edge: every bad credential is UNAUTHENTICATED with its reason
//! before any service sees the call; RS256/ES256 public keys and JWKS files for production.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use dealernet_kit::{auth::Role, config::Layer};
use dealernet_proto::dealers::v1::{self as dpb, dealer_service_client::DealerServiceClient};
use dealernet_tests::{Bearer, TEST_JWT_SECRET, TestPlatform};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use tonic::Code;

use crate::assert_refused;

const ISSUER: &str = "https://idp.dealernet.example";
const AUDIENCE: &str = "dealernet-gateway";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(org: &str, role: &str) -> serde_json::Value {
    json!({"sub": "someone", "org": org, "roles": [role], "iat": now(), "exp": now() + 600,
           "iss": ISSUER, "aud": AUDIENCE})
}

fn hs256(claims: &serde_json::Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
    .expect("encode")
}

async fn list(platform: &TestPlatform, bearer: Bearer) -> Result<(), tonic::Status> {
    DealerServiceClient::with_interceptor(platform.channel(), bearer)
        .list_outlets(dpb::ListOutletsRequest::default())
        .await
        .map(|_| ())
}

#[tokio::test]
async fn missing_malformed_forged_and_expired_tokens_are_refused() {
    let platform = TestPlatform::spawn_gateway().await;
    list(&platform, Bearer::valid("HQ", Role::Hq))
        .await
        .expect("a valid token passes");
    let cases = [
        (Bearer::none(), "CREDENTIALS_MISSING"),
        (Bearer::raw("Basic dXNlcjpwYXNz"), "CREDENTIALS_MALFORMED"),
        (Bearer::raw("Bearer not-a-jwt"), "TOKEN_MALFORMED"),
        (
            Bearer::signed(
                "another-key-another-key-another-key-0123",
                "HQ",
                Role::Hq,
                600,
            ),
            "TOKEN_BAD_SIGNATURE",
        ),
        (
            Bearer::signed(TEST_JWT_SECRET, "HQ", Role::Hq, -3600),
            "TOKEN_EXPIRED",
        ),
    ];
    for (bearer, reason) in cases {
        assert_refused(list(&platform, bearer).await, Code::Unauthenticated, reason);
    }
    let mut early = claims("HQ", "hq");
    early["nbf"] = json!(now() + 3600);
    assert_refused(
        list(&platform, Bearer::raw(&format!("Bearer {}", hs256(&early)))).await,
        Code::Unauthenticated,
        "TOKEN_NOT_YET_VALID",
    );
    // Claims altered after signing.
    let token = hs256(&claims("D1001", "dealer"));
    let parts: Vec<&str> = token.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(claims("HQ", "hq").to_string());
    assert_refused(
        list(
            &platform,
            Bearer::raw(&format!("Bearer {}.{forged}.{}", parts[0], parts[2])),
        )
        .await,
        Code::Unauthenticated,
        "TOKEN_BAD_SIGNATURE",
    );
}

#[tokio::test]
async fn issuer_and_audience_are_checked_when_configured() {
    let platform = TestPlatform::spawn_gateway_with(|l| Layer {
        jwt_issuer: Some(ISSUER.into()),
        jwt_audience: Some(AUDIENCE.into()),
        ..l
    })
    .await;
    let good = claims("HQ", "hq");
    list(&platform, Bearer::raw(&format!("Bearer {}", hs256(&good))))
        .await
        .expect("issuer and audience match");
    let mut other_audience = good.clone();
    other_audience["aud"] = json!("some-other-api");
    let mut other_issuer = good.clone();
    other_issuer["iss"] = json!("https://evil.example");
    let mut no_audience = good;
    no_audience.as_object_mut().expect("object").remove("aud");
    for claims in [other_audience, other_issuer, no_audience] {
        assert_refused(
            list(
                &platform,
                Bearer::raw(&format!("Bearer {}", hs256(&claims))),
            )
            .await,
            Code::Unauthenticated,
            "TOKEN_WRONG_AUDIENCE",
        );
    }
}

/// A fresh P-256 key: (PKCS#8 private key PEM, public key PEM, JWKS document with kid).
fn es256_key(kid: &str) -> (String, String, String) {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let point = pair.public_key_raw();
    assert_eq!(point.len(), 65, "an uncompressed P-256 point");
    let jwks = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..]),
    }]});
    (
        pair.serialize_pem(),
        pair.public_key_pem(),
        jwks.to_string(),
    )
}

fn es256(private_pem: &str, kid: Option<&str>, claims: &serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid.map(str::to_owned);
    encode(
        &header,
        claims,
        &EncodingKey::from_ec_pem(private_pem.as_bytes()).expect("ec key"),
    )
    .expect("encode")
}

fn write_temp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("dealernet-gateway-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[tokio::test]
async fn production_tokens_verify_with_a_public_key_or_a_jwks_file() {
    let (private, public, _) = es256_key("unused");
    let platform = TestPlatform::spawn_gateway_with(|l| Layer {
        jwt_public_key_file: Some(write_temp("idp.pem", &public)),
        jwt_issuer: Some(ISSUER.into()),
        jwt_audience: Some(AUDIENCE.into()),
        ..l
    })
    .await;
    let good = claims("D1001", "dealer");
    list(
        &platform,
        Bearer::raw(&format!("Bearer {}", es256(&private, None, &good))),
    )
    .await
    .expect("an ES256 token of the identity provider");
    // The shared dev key no longer makes tokens the gateway accepts.
    assert_refused(
        list(&platform, Bearer::raw(&format!("Bearer {}", hs256(&good)))).await,
        Code::Unauthenticated,
        "TOKEN_MALFORMED",
    );
    let (other_private, _, _) = es256_key("other");
    assert_refused(
        list(
            &platform,
            Bearer::raw(&format!("Bearer {}", es256(&other_private, None, &good))),
        )
        .await,
        Code::Unauthenticated,
        "TOKEN_BAD_SIGNATURE",
    );

    let (private, _, jwks) = es256_key("key-2026");
    let platform = TestPlatform::spawn_gateway_with(|l| Layer {
        jwt_jwks_file: Some(write_temp("jwks.json", &jwks)),
        ..l
    })
    .await;
    list(
        &platform,
        Bearer::raw(&format!(
            "Bearer {}",
            es256(&private, Some("key-2026"), &good)
        )),
    )
    .await
    .expect("a token naming its JWKS key");
    assert_refused(
        list(
            &platform,
            Bearer::raw(&format!(
                "Bearer {}",
                es256(&private, Some("key-1999"), &good)
            )),
        )
        .await,
        Code::Unauthenticated,
        "TOKEN_MALFORMED",
    );
}

#[tokio::test]
async fn rs256_tokens_verify_with_an_rsa_public_key() {
    // A key pair made for these tests only (tests/fixtures); it signs nothing real.
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    let private = std::fs::read(format!("{fixtures}/rs256-test-private.pem")).expect("private key");
    let platform = TestPlatform::spawn_gateway_with(|l| Layer {
        jwt_public_key_file: Some(format!("{fixtures}/rs256-test-public.pem")),
        ..l
    })
    .await;
    let token = encode(
        &Header::new(Algorithm::RS256),
        &claims("S3001", "station"),
        &EncodingKey::from_rsa_pem(&private).expect("rsa key"),
    )
    .expect("encode");
    list(&platform, Bearer::raw(&format!("Bearer {token}")))
        .await
        .expect("an RS256 token of the identity provider");
    // The same claims signed HS256 with the public key's bytes as the secret (the
    // key-confusion attack) are refused.
    let public = std::fs::read(format!("{fixtures}/rs256-test-public.pem")).expect("public key");
    let confused = encode(
        &Header::new(Algorithm::HS256),
        &claims("HQ", "hq"),
        &EncodingKey::from_secret(&public),
    )
    .expect("encode");
    assert_refused(
        list(&platform, Bearer::raw(&format!("Bearer {confused}"))).await,
        Code::Unauthenticated,
        "TOKEN_MALFORMED",
    );
}
