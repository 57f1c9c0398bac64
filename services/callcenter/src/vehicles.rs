//! The vehicle service as the call center sees it: which owners a recall campaign
//! reaches, read page by page with the call center's own `system` token.

use dealernet_kit::auth::{Principal, Role, TokenKeys};
use dealernet_kit::telemetry::{TracedChannel, traced};
use dealernet_proto::vehicles::v1::{self as pb, vehicle_service_client::VehicleServiceClient};
use secrecy::SecretString;
use tonic::{Status, transport::Channel};

/// Affected vehicles asked for per call.
const PAGE: i32 = 500;

/// An affected car with an owner to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallOwner {
    pub vehicle: String,
    pub owner: String,
    /// The outlet answerable for the car.
    pub outlet: String,
}

/// The vehicle service client.
#[derive(Debug, Clone)]
pub struct Fleet {
    client: VehicleServiceClient<TracedChannel>,
    keys: TokenKeys,
}

impl Fleet {
    pub fn new(url: &str, jwt_secret: SecretString) -> Result<Fleet, String> {
        let channel = Channel::from_shared(url.to_owned())
            .map_err(|e| format!("vehicles_url '{url}': {e}"))?
            .connect_lazy();
        Ok(Fleet {
            client: VehicleServiceClient::new(traced(channel)),
            keys: TokenKeys::new(jwt_secret),
        })
    }

    /// One page of the campaign's not yet remedied cars that have an owner, and the
    /// token of the next page (empty after the last).
    pub async fn recall_owners(
        &self,
        campaign: &str,
        page_token: &str,
    ) -> Result<(Vec<RecallOwner>, String), Status> {
        let principal = Principal::new("callcenter-service", "CALLCENTER", &[Role::System])
            .map_err(Status::internal)?;
        let request = self.keys.request(
            &principal,
            pb::ListAffectedVehiclesRequest {
                campaign: campaign.to_owned(),
                completed: Some(false),
                page_size: PAGE,
                page_token: page_token.to_owned(),
            },
        );
        let page = self
            .client
            .clone()
            .list_affected_vehicles(request)
            .await?
            .into_inner();
        let owners = page
            .vehicles
            .into_iter()
            .filter(|v| !v.owner.is_empty())
            .map(|v| RecallOwner {
                vehicle: v.vehicle,
                owner: v.owner,
                outlet: v.outlet,
            })
            .collect();
        Ok((owners, page.next_page_token))
    }
}
