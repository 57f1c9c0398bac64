//! Demo data for `dealernet dev` that is loaded through the public gRPC API, as the
//! factory, dealers, a workshop, the hotline and HQ would make it: it exercises the real
//! services, and runs once, on empty services.

mod hotline;
mod vehicles;

use std::net::SocketAddr;

use anyhow::Context;
use dealernet_kit::auth::{Principal, Role, TokenKeys};
use dealernet_proto::vehicles::v1::vehicle_service_client::VehicleServiceClient;
use tonic::{Request, transport::Channel};

const TOKEN_TTL_SECS: i64 = 600;

/// What the demo loaded.
#[derive(Debug, Default, Clone, Copy)]
pub struct Loaded {
    pub vehicles: u32,
    pub cases: u32,
}

/// Loads demo vehicles (with customers, outlets and the registry in place) and demo
/// hotline cases, each only into an empty service.
pub async fn load(addr: SocketAddr, keys: TokenKeys, hotline: bool) -> anyhow::Result<Loaded> {
    let channel = Channel::from_shared(format!("http://{addr}"))?
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
