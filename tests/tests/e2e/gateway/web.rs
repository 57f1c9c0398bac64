//! gRPC-Web for browser consoles, driven by a real gRPC-Web client (Python sonora, over
//! HTTP/1.1), with CORS origins from the settings.

use dealernet_kit::{
    auth::{Principal, Role, TokenKeys},
    config::Layer,
};
use dealernet_tests::{TEST_JWT_SECRET, TestPlatform};

const CONSOLE: &str = "https://console.dealernet.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_web_client_calls_through_the_gateway() {
    let platform = TestPlatform::spawn_gateway_with(|l| Layer {
        cors_allowed_origins: Some(vec![CONSOLE.into()]),
        ..l
    })
    .await;
    crate::network(&platform).await;
    let principal = Principal::new("console.user", "HQ", &[Role::Hq]).expect("principal");
    let token = TokenKeys::new(secrecy::SecretString::from(TEST_JWT_SECRET)).mint(&principal, 600);
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let url = format!("http://{}", platform.addr);
    let output = tokio::process::Command::new("python3")
        .arg(format!("{root}/tests/smoke/grpc_web.py"))
        .args([
            url.as_str(),
            token.as_str(),
            CONSOLE,
            &format!("{root}/proto"),
        ])
        .output()
        .await
        .expect("python3 must be installed (with `pip install sonora grpcio grpcio-tools`)");
    assert!(
        output.status.success(),
        "the gRPC-Web client failed (it needs `pip install sonora grpcio grpcio-tools`):\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
