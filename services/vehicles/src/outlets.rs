//! The dealer network as the vehicle service sees it: whether an outlet may receive
//! stock, reserve, sell or repair right now (a suspended outlet may not; an outlet without
//! the capability may not). Asked before the transaction, with the vehicle service's own
//! `system` token, so no row lock is held across the call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dealernet_kit::auth::{Principal, Role, TokenKeys};
use dealernet_kit::telemetry::{TracedChannel, traced};
use dealernet_proto::dealers::v1::{self as pb, dealer_service_client::DealerServiceClient};
use secrecy::SecretString;
use tonic::{Code, Request, transport::Channel};

use crate::Error;

const SELF_ORG: &str = "VEHICLES";
/// How long the outlet → region map is reused: regions change rarely, and an insight a
/// few seconds behind a region change is still right about every car.
const REGIONS_TTL: Duration = Duration::from_secs(30);
/// Outlets per ListOutlets page when reading the regions (the dealers service's maximum).
const REGIONS_PAGE: i32 = 1000;

/// Outlet code → sales region, as the dealer network last said.
pub type Regions = Arc<HashMap<String, String>>;

pub use pb::OutletAction as Action;

/// Asks the dealers service.
#[derive(Debug, Clone)]
pub struct OutletDirectory {
    client: DealerServiceClient<TracedChannel>,
    keys: TokenKeys,
    regions: Arc<Mutex<Option<(Instant, Regions)>>>,
}

/// The stable reasons the dealers service gives, as this service's own.
fn reason(code: &str) -> &'static str {
    match code {
        "OUTLET_SUSPENDED" => "OUTLET_SUSPENDED",
        "OUTLET_CLOSED" => "OUTLET_CLOSED",
        "OUTLET_LACKS_CAPABILITY" => "OUTLET_LACKS_CAPABILITY",
        _ => "OUTLET_NOT_PERMITTED",
    }
}

impl OutletDirectory {
    /// A directory calling the dealers service at `url`; connects on first use.
    pub fn new(url: &str, jwt_secret: SecretString) -> Result<OutletDirectory, String> {
        let channel = Channel::from_shared(url.to_owned())
            .map_err(|e| format!("dealers_url '{url}': {e}"))?
            .connect_lazy();
        Ok(OutletDirectory {
            client: DealerServiceClient::new(traced(channel)),
            keys: TokenKeys::new(jwt_secret),
            regions: Arc::default(),
        })
    }

    /// Refused with the dealers service's stable reason (OUTLET_NOT_FOUND,
    /// OUTLET_SUSPENDED, OUTLET_CLOSED, OUTLET_LACKS_CAPABILITY) unless `outlet` may do
    /// `action` now.
    pub async fn check(&self, outlet: &str, action: Action) -> Result<(), Error> {
        let request = self.request(pb::CheckOutletPermissionRequest {
            outlet: outlet.to_owned(),
            action: action as i32,
        })?;
        match self.client.clone().check_outlet_permission(request).await {
            Ok(r) => {
                let r = r.into_inner();
                if r.allowed {
                    Ok(())
                } else {
                    Err(Error::Precondition {
                        reason: reason(&r.reason),
                        message: format!(
                            "outlet {outlet} may not {}: {}",
                            action
                                .as_str_name()
                                .trim_start_matches("OUTLET_ACTION_")
                                .to_lowercase()
                                .replace('_', " "),
                            r.reason
                        ),
                    })
                }
            }
            Err(s) if s.code() == Code::NotFound => Err(Error::Precondition {
                reason: "OUTLET_NOT_FOUND",
                message: format!("outlet {outlet} is not in the dealer network"),
            }),
            Err(s) if s.code() == Code::InvalidArgument => Err(Error::Precondition {
                reason: "OUTLET_NOT_FOUND",
                message: format!("'{outlet}' is not an outlet code of the dealer network"),
            }),
            Err(s) => {
                tracing::warn!(status = %s.message(), code = ?s.code(), "dealers service call failed");
                Err(Error::Unavailable(
                    "the dealers service cannot be reached; retry later".into(),
                ))
            }
        }
    }

    /// Every outlet's sales region, read with paged ListOutlets calls and reused for
    /// `REGIONS_TTL`. Outlets without a region map to "".
    pub async fn regions(&self) -> Result<Regions, Error> {
        if let Some((at, map)) = self.regions.lock().ok().and_then(|g| g.clone())
            && at.elapsed() < REGIONS_TTL
        {
            return Ok(map);
        }
        let mut map = HashMap::new();
        let mut page_token = String::new();
        loop {
            let request = self.request(pb::ListOutletsRequest {
                page_size: REGIONS_PAGE,
                page_token,
                ..Default::default()
            })?;
            let page = self
                .client
                .clone()
                .list_outlets(request)
                .await
                .map_err(|s| {
                    tracing::warn!(status = %s.message(), code = ?s.code(), "listing outlets failed");
                    Error::Unavailable("the dealers service cannot be reached; retry later".into())
                })?
                .into_inner();
            map.extend(page.outlets.into_iter().map(|o| (o.code, o.region)));
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        let map: Regions = Arc::new(map);
        if let Ok(mut cached) = self.regions.lock() {
            *cached = Some((Instant::now(), map.clone()));
        }
        Ok(map)
    }

    /// A request to the dealers service as the vehicle service (role system).
    fn request<T>(&self, message: T) -> Result<Request<T>, Error> {
        let principal = Principal::new("vehicles-service", SELF_ORG, &[Role::System])
            .map_err(|e| Error::Unavailable(format!("cannot act as the vehicle service: {e}")))?;
        Ok(self.keys.request(&principal, message))
    }
}
