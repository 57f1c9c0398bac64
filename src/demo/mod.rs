//! Demo data for `dealernet dev` that is loaded through the public gRPC API, as the
//! factory, dealers, a workshop, the hotline and HQ would make it: it exercises the real
//! services, and runs once, on empty services.

mod hotline;
mod vehicles;

use std::{net::SocketAddr, path::Path};

use anyhow::Context;
use dealernet_kit::auth::{Principal, Role, TokenKeys};
use dealernet_proto::vehicles::v1::vehicle_service_client::VehicleServiceClient;
use tonic::{
    Request,
    transport::{Certificate, Channel, ClientTlsConfig},
};

const TOKEN_TTL_SECS: i64 = 600;

/// What the demo loaded.
#[derive(Debug, Default, Clone, Copy)]
pub struct Loaded {
    pub vehicles: u32,
    pub cases: u32,
}

/// Loads demo vehicles (with customers, outlets and the registry in place) and demo
/// hotline cases, each only into an empty service. `tls_cert`: the public listener's
/// certificate when it speaks TLS (trusted as its own authority, for the name localhost).
pub async fn load(
    addr: SocketAddr,
    keys: TokenKeys,
    hotline: bool,
    tls_cert: Option<&Path>,
) -> anyhow::Result<Loaded> {
    let endpoint = match tls_cert {
        None => Channel::from_shared(format!("http://{addr}"))?,
        Some(cert) => {
            let pem = std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?;
            Channel::from_shared(format!("https://{addr}"))?.tls_config(
                ClientTlsConfig::new()
                    .ca_certificate(Certificate::from_pem(pem))
                    .domain_name("localhost"),
            )?
        }
    };
    let channel = endpoint
        .connect()
        .await
        .context("connecting to the platform")?;
    let actors = Actors { keys, channel };
    let vehicles = vehicles::load(&actors).await.context("demo vehicles")?;
    let cases = if hotline {
        hotline::load(&actors).await.context("demo hotline cases")?
    } else {
        0
    };
    Ok(Loaded { vehicles, cases })
}

/// Who acts: a token per organisation and role.
pub struct Actors {
    keys: TokenKeys,
    channel: Channel,
}

impl Actors {
    pub fn request<T>(&self, org: &str, role: Role, message: T) -> anyhow::Result<Request<T>> {
        let principal = Principal::new(&format!("demo.{}", org.to_lowercase()), org, &[role])
            .map_err(anyhow::Error::msg)?;
        let mut request = Request::new(message);
        let metadata = request.metadata_mut();
        metadata.insert(
            "authorization",
            format!("Bearer {}", self.keys.mint(&principal, TOKEN_TTL_SECS)).parse()?,
        );
        metadata.insert("x-purpose", "dev demo data".parse()?);
        Ok(request)
    }

    pub fn vehicles(&self) -> VehicleServiceClient<Channel> {
        VehicleServiceClient::new(self.channel.clone())
    }
}
