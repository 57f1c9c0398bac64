//! `dealernet.gateway.v1.GatewayService`: the calls the gateway answers itself. Callers
//! reach it through the edge like any other service, so the principal comes from the
//! internal token, verified by the kit's interceptor as every service does.

use dealernet_kit::{auth::Principal, paging::PageTokens};
use dealernet_proto::gateway::v1::{self as pb, gateway_service_server::GatewayService};
use tonic::{Request, Response, Status};

use crate::{
    apikeys::{self, ApiKeys},
    customer360::Customer360,
};

/// The handlers of `GatewayService`.
#[derive(Debug, Clone)]
pub struct GatewayApi {
    api_keys: ApiKeys,
    page_tokens: PageTokens,
    customer360: Customer360,
}

impl GatewayApi {
    pub fn new(api_keys: ApiKeys, page_tokens: PageTokens, customer360: Customer360) -> GatewayApi {
        GatewayApi {
            api_keys,
            page_tokens,
            customer360,
        }
    }
}

#[tonic::async_trait]
impl GatewayService for GatewayApi {
    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        apikeys::api::create(&self.api_keys, &principal, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_api_key(
        &self,
        request: Request<pb::GetApiKeyRequest>,
    ) -> Result<Response<pb::GetApiKeyResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        apikeys::api::get(&self.api_keys, &principal, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        apikeys::api::list(
            &self.api_keys,
            &self.page_tokens,
            &principal,
            request.into_inner(),
        )
        .await
        .map(Response::new)
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::RevokeApiKeyResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        apikeys::api::revoke(&self.api_keys, &principal, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_customer360(
        &self,
        request: Request<pb::GetCustomer360Request>,
    ) -> Result<Response<pb::GetCustomer360Response>, Status> {
        // Authenticated like every call here; the services judge what the caller may see.
        Principal::of(&request)?;
        let (metadata, _, message) = request.into_parts();
        self.customer360
            .get(metadata, message)
            .await
            .map(Response::new)
    }
}
