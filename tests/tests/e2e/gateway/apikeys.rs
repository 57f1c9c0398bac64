//! API keys: issued, listed and revoked by HQ only, stored as hashes, shown once, each
//! acting as its principal; revoked keys stop at once, on open connections too.

use std::time::Duration;

use dealernet_kit::auth::Role;
use dealernet_proto::{gateway::v1 as gpb, vehicles::v1 as vpb};
use dealernet_tests::{Bearer, TestPlatform};
use prost_types::Timestamp;
use tonic::Code;
use vpb::vehicle_service_client::VehicleServiceClient;

use crate::assert_refused;

/// One item of the factory's production feed.
pub fn feed_item(id: &str, vin: &str) -> vpb::StreamProductionRequest {
    vpb::StreamProductionRequest {
        item_id: id.into(),
        vin: vin.into(),
        model: "models/DA7-2026".into(),
        plant: "CN-SH-01".into(),
        line: "L2".into(),
        built_at: Some(Timestamp {
            seconds: 1_790_000_000,
            nanos: 0,
        }),
        engine_number: format!("EM-{id}"),
        colour: "White".into(),
    }
}

fn production(vin: &str) -> vpb::RegisterProductionRequest {
    vpb::RegisterProductionRequest {
        vin: vin.into(),
        model: "models/DA7-2026".into(),
        plant: "CN-SH-01".into(),
        line: "L2".into(),
        built_at: Some(Timestamp {
            seconds: 1_790_000_000,
            nanos: 0,
        }),
        engine_number: format!("EM-{vin}"),
        colour: "Pearl White".into(),
        request_id: String::new(),
    }
}

/// HQ issues a key; the answer holds its secret.
pub async fn issue(
    platform: &TestPlatform,
    org: &str,
    roles: &[&str],
    expire_time: Option<Timestamp>,
) -> (gpb::ApiKey, String) {
    let answer = platform
        .gateway("HQ", Role::Hq)
        .create_api_key(gpb::CreateApiKeyRequest {
            api_key: Some(gpb::ApiKey {
                display_name: format!("{org} test key"),
                organization: org.into(),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                expire_time,
                ..Default::default()
            }),
            request_id: uuid_like(org, roles),
        })
        .await
        .expect("issue a key")
        .into_inner();
    (answer.api_key.expect("key"), answer.secret)
}

fn uuid_like(org: &str, roles: &[&str]) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{org}-{}-{}",
        roles.join("+"),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[tokio::test]
async fn a_factory_key_registers_production_and_nothing_else() {
    let platform = TestPlatform::spawn_gateway().await;
    crate::sale::priced_model(&platform).await;
    let (key, secret) = issue(&platform, "PLANT-SH", &["factory"], None).await;
    assert!(key.name.starts_with("apiKeys/"), "{key:?}");
    assert_eq!(key.state, gpb::ApiKeyState::Active as i32);
    assert!(secret.starts_with("dnk_"), "{secret}");
    let mut factory =
        VehicleServiceClient::with_interceptor(platform.channel(), Bearer::api_key(&secret));
    let built = factory
        .register_production(production(&crate::test_vin(1)))
        .await
        .expect("the factory registers a car")
        .into_inner();
    assert!(built.vehicle.is_some());
    // The key's principal, not a person, is who the services saw.
    assert_refused(
        factory
            .sell_vehicle(vpb::SellVehicleRequest::default())
            .await,
        Code::PermissionDenied,
        "METHOD_NOT_ALLOWED",
    );
    // The same key as `x-api-key`.
    let mut request = tonic::Request::new(vpb::DecodeVinRequest {
        vin: crate::test_vin(2),
    });
    request
        .metadata_mut()
        .insert("x-api-key", secret.parse().expect("ascii"));
    VehicleServiceClient::new(platform.channel())
        .decode_vin(request)
        .await
        .expect("x-api-key works too");
    // Only a hash is stored: the secret appears nowhere in the gateway's table.
    let mut db = platform.db().await;
    let (stored,): (String,) = sqlx::query_as("SELECT row_to_json(k)::text FROM gateway.api_key k")
        .fetch_one(&mut db)
        .await
        .expect("the key's row");
    // `dnk_<prefix>_<secret>`: the secret is base64url, which has '_' in it too.
    let secret_part = secret.splitn(3, '_').nth(2).expect("secret part");
    assert_eq!(secret_part.len(), 43, "{secret}");
    assert!(!stored.contains(secret_part), "{stored}");
}

#[tokio::test]
async fn only_hq_manages_keys_and_the_secret_is_shown_once() {
    let platform = TestPlatform::spawn_gateway().await;
    for (org, role) in [
        ("D1001", Role::Dealer),
        ("HQ", Role::Steward),
        ("CALLCENTER", Role::Agent),
    ] {
        assert_refused(
            platform
                .gateway(org, role)
                .list_api_keys(gpb::ListApiKeysRequest::default())
                .await,
            Code::PermissionDenied,
            "METHOD_NOT_ALLOWED",
        );
    }
    let mut hq = platform.gateway("HQ", Role::Hq);
    let request = gpb::CreateApiKeyRequest {
        api_key: Some(gpb::ApiKey {
            display_name: "D1001 POS 3".into(),
            organization: "D1001".into(),
            roles: vec!["dealer".into()],
            ..Default::default()
        }),
        request_id: "pos-3".into(),
    };
    let first = hq
        .create_api_key(request.clone())
        .await
        .expect("issue")
        .into_inner();
    let status = assert_refused(
        hq.create_api_key(request).await,
        Code::AlreadyExists,
        "API_KEY_ALREADY_ISSUED",
    );
    assert!(!status.message().contains(&first.secret));
    crate::assert_invalid(
        hq.create_api_key(gpb::CreateApiKeyRequest {
            api_key: Some(gpb::ApiKey {
                display_name: String::new(),
                organization: "d1001".into(),
                roles: vec!["pilot".into()],
                expire_time: Some(Timestamp {
                    seconds: 1,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            request_id: "bad".into(),
        })
        .await,
        &[
            "api_key.display_name",
            "api_key.organization",
            "api_key.roles[0]",
            "api_key.expire_time",
        ],
    );
    let listed = hq
        .list_api_keys(gpb::ListApiKeysRequest {
            organization: "D1001".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.api_keys, [first.api_key.clone().expect("key")]);
    let got = hq
        .get_api_key(gpb::GetApiKeyRequest {
            name: first.api_key.expect("key").name,
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.api_key.expect("key").organization, "D1001");
}

#[tokio::test]
async fn a_key_revoked_while_its_client_is_connected_stops_at_once() {
    let platform = TestPlatform::spawn_gateway().await;
    let (key, secret) = issue(&platform, "D1001", &["dealer"], None).await;
    // One connection, kept open across the revocation.
    let mut pos =
        VehicleServiceClient::with_interceptor(platform.connect().await, Bearer::api_key(&secret));
    pos.list_vehicles(vpb::ListVehiclesRequest::default())
        .await
        .expect("the key works");
    let revoked = platform
        .gateway("HQ", Role::Hq)
        .revoke_api_key(gpb::RevokeApiKeyRequest {
            name: key.name.clone(),
        })
        .await
        .expect("revoke")
        .into_inner()
        .api_key
        .expect("key");
    assert_eq!(revoked.state, gpb::ApiKeyState::Revoked as i32);
    assert_refused(
        pos.list_vehicles(vpb::ListVehiclesRequest::default()).await,
        Code::Unauthenticated,
        "API_KEY_REVOKED",
    );
    let active = platform
        .gateway("HQ", Role::Hq)
        .list_api_keys(gpb::ListApiKeysRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert!(
        active.api_keys.is_empty(),
        "revoked keys are not active: {active:?}"
    );
}

#[tokio::test]
async fn expired_and_unknown_keys_are_refused() {
    let platform = TestPlatform::spawn_gateway().await;
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let (_, secret) = issue(
        &platform,
        "S3001",
        &["station"],
        Some(Timestamp {
            seconds: soon.timestamp(),
            nanos: soon.timestamp_subsec_nanos() as i32,
        }),
    )
    .await;
    let mut station =
        VehicleServiceClient::with_interceptor(platform.channel(), Bearer::api_key(&secret));
    station
        .list_vehicles(vpb::ListVehiclesRequest::default())
        .await
        .expect("valid until it expires");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_refused(
        station
            .list_vehicles(vpb::ListVehiclesRequest::default())
            .await,
        Code::Unauthenticated,
        "API_KEY_EXPIRED",
    );
    // A made-up key of the right shape, and one whose secret part was altered.
    let forged = format!("{}x", &secret[..secret.len() - 1]);
    for bad in [
        "dnk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        forged.as_str(),
        "dnk_nonsense",
    ] {
        assert_refused(
            VehicleServiceClient::with_interceptor(platform.channel(), Bearer::api_key(bad))
                .list_vehicles(vpb::ListVehiclesRequest::default())
                .await,
            Code::Unauthenticated,
            "API_KEY_INVALID",
        );
    }
}

#[tokio::test]
async fn the_command_line_issues_and_revokes_keys_the_gateway_honours() {
    let platform = TestPlatform::spawn_gateway_with(|l| dealernet_kit::config::Layer {
        api_key_cache_ttl_secs: Some(0),
        ..l
    })
    .await;
    let config = dealernet_tests::test_config(&platform.database_url, |l| l);
    // `dealernet apikey create` prints the key on stdout; here the library call returns it.
    let (_, secret) = dealernet::apikey::create(
        &config,
        "cli@HQ",
        dealernet::apikey::NewKey {
            display_name: "carrier CN-LOG-1".into(),
            organization: "CN-LOG-1".into(),
            roles: vec!["carrier".into()],
            expire_time: None,
        },
    )
    .await
    .expect("issued from the command line");
    let mut carrier =
        VehicleServiceClient::with_interceptor(platform.channel(), Bearer::api_key(&secret));
    carrier
        .decode_vin(vpb::DecodeVinRequest {
            vin: crate::test_vin(3),
        })
        .await
        .expect("the carrier's key works");
    let prefix = secret.split('_').nth(1).expect("prefix");
    dealernet::apikey::run(
        &config,
        "",
        dealernet::apikey::Action::Revoke {
            name: format!("apiKeys/{prefix}"),
        },
    )
    .await
    .expect("revoked from the command line");
    assert_refused(
        carrier
            .decode_vin(vpb::DecodeVinRequest {
                vin: crate::test_vin(3),
            })
            .await,
        Code::Unauthenticated,
        "API_KEY_REVOKED",
    );
}
