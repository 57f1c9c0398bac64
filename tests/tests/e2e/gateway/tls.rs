//! TLS on the public listener (rustls), certificate and key from the settings.

use dealernet_kit::{auth::Role, config::Layer};
use dealernet_proto::dealers::v1 as dpb;
use dealernet_tests::{Bearer, TestPlatform};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

#[tokio::test]
async fn the_gateway_serves_tls_with_the_configured_certificate() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("certificate");
    let dir = std::env::temp_dir().join(format!("dealernet-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).expect("write key");
    let platform = TestPlatform::spawn_gateway_with(|l| Layer {
        tls_cert_file: Some(cert_file.display().to_string()),
        tls_key_file: Some(key_file.display().to_string()),
        ..l
    })
    .await;
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(cert.cert.pem()))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{}", platform.addr))
        .expect("uri")
        .tls_config(tls)
        .expect("tls config")
        .connect()
        .await
        .expect("a TLS connection to the gateway");
    let mut hq = dpb::dealer_service_client::DealerServiceClient::with_interceptor(
        channel,
        Bearer::valid("HQ", Role::Hq),
    );
    hq.list_outlets(dpb::ListOutletsRequest::default())
        .await
        .expect("a call over TLS");
    // Plaintext is not spoken on a TLS listener.
    let plain = Channel::from_shared(format!("http://{}", platform.addr))
        .expect("uri")
        .connect()
        .await;
    if let Ok(plain) = plain {
        let mut client = dpb::dealer_service_client::DealerServiceClient::with_interceptor(
            plain,
            Bearer::valid("HQ", Role::Hq),
        );
        client
            .list_outlets(dpb::ListOutletsRequest::default())
            .await
            .expect_err("no plaintext gRPC on the TLS listener");
    }
}
