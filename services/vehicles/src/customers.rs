//! The customer registry as the vehicle service sees it: a gRPC client that confirms a
//! customer exists before a car is sold or handed over to them. Each service verifies
//! callers itself, so this client presents its own short-lived `system` token.

use dealernet_kit::auth::{Principal, Role, TokenKeys};
use dealernet_kit::telemetry::{TracedChannel, traced};
use dealernet_proto::customers::v1::{self as pb, customer_service_client::CustomerServiceClient};
use secrecy::SecretString;
use tonic::{Code, Request, transport::Channel};
use uuid::Uuid;

use crate::Error;

/// The organisation code the vehicle service acts under.
const SELF_ORG: &str = "VEHICLES";

/// Confirms customers against the registry.
#[derive(Debug, Clone)]
pub struct CustomerDirectory {
    client: CustomerServiceClient<TracedChannel>,
    keys: TokenKeys,
}

impl CustomerDirectory {
    /// A directory calling the registry at `url`; connects on first use.
    pub fn new(url: &str, jwt_secret: SecretString) -> Result<CustomerDirectory, String> {
        let channel = Channel::from_shared(url.to_owned())
            .map_err(|e| format!("customers_url '{url}': {e}"))?
            .connect_lazy();
        Ok(CustomerDirectory {
            client: CustomerServiceClient::new(traced(channel)),
            keys: TokenKeys::new(jwt_secret),
        })
    }

    /// The active customer behind `id` (the survivor when it was merged); refused when the
    /// registry does not know it or it was erased.
    pub async fn confirm(&self, id: Uuid, purpose: &str) -> Result<Uuid, Error> {
        let principal = Principal::new("vehicles-service", SELF_ORG, &[Role::System])
            .map_err(|e| Error::Unavailable(format!("cannot act as the vehicle service: {e}")))?;
        let mut request = self.keys.request(
            &principal,
            pb::GetCustomerRequest {
                name: format!("customers/{id}"),
            },
        );
        request.metadata_mut().insert(
            "x-purpose",
            purpose
                .parse()
                .map_err(|_| Error::Unavailable("purpose is not ASCII".into()))?,
        );
        let response = match self.client.clone().get_customer(request).await {
            Ok(r) => r.into_inner(),
            Err(status) if status.code() == Code::NotFound => {
                return Err(Error::Precondition {
                    reason: "CUSTOMER_NOT_FOUND",
                    message: format!("customers/{id} is not in the registry"),
                });
            }
            Err(status) => {
                tracing::warn!(status = %status.message(), code = ?status.code(), "customer registry call failed");
                return Err(Error::Unavailable(
                    "the customer registry cannot be reached; retry later".into(),
                ));
            }
        };
        let customer = response.customer.unwrap_or_default();
        if customer.state == pb::CustomerState::Erased as i32 {
            return Err(Error::Precondition {
                reason: "CUSTOMER_ERASED",
                message: format!("customers/{id} was erased"),
            });
        }
        customer
            .name
            .strip_prefix("customers/")
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| Error::Unavailable("the registry answered without a customer".into()))
    }

    /// The customer's record as the caller of a vehicle-service RPC may see it: the call
    /// carries the caller's own credentials and purpose, so the registry masks, refuses
    /// and audits exactly as it would for a direct read. `None` when it does not know the
    /// customer.
    pub async fn read_as_caller(
        &self,
        caller: &tonic::metadata::MetadataMap,
        id: Uuid,
    ) -> Result<Option<pb::Customer>, Error> {
        let mut request = Request::new(pb::GetCustomerRequest {
            name: format!("customers/{id}"),
        });
        for header in ["authorization", "x-purpose", "x-request-id", "traceparent"] {
            if let Some(value) = caller.get(header) {
                request.metadata_mut().insert(header, value.clone());
            }
        }
        match self.client.clone().get_customer(request).await {
            Ok(r) => Ok(r.into_inner().customer),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status)
                if matches!(
                    status.code(),
                    Code::InvalidArgument | Code::PermissionDenied | Code::Unauthenticated
                ) =>
            {
                Err(Error::Registry(status))
            }
            Err(status) => {
                tracing::warn!(status = %status.message(), code = ?status.code(), "customer registry call failed");
                Err(Error::Unavailable(
                    "the customer registry cannot be reached; retry later".into(),
                ))
            }
        }
    }
}
