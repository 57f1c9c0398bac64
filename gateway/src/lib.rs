//! The gateway: the platform's one public endpoint.
//!
//! Every call is authenticated (JWT or API key), checked against the method permission
//! table and its organisation's rate limit, given a bounded deadline, a request id and
//! trace context, and forwarded untouched to the service that owns it (see [`edge`] and
//! [`proxy`]). The gateway answers health, reflection (for the whole platform) and its own
//! `GatewayService` itself; gRPC-Web (browser consoles) and TLS are served on the same
//! listener.

mod api;
pub mod apikeys;
pub mod catalogue;
mod customer360;
mod deadline;
pub mod edge;
mod health;
mod internal_token;
pub mod jwt;
pub mod permissions;
pub mod proxy;
mod rate_limit;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use dealernet_kit::{
    auth::{Authenticate, TokenKeys},
    config::Config,
    db,
    metrics::{MethodTable, Metrics},
    paging::PageTokens,
    server::{ConcurrencyLimitLayer, RequestContextLayer},
};
use dealernet_proto::gateway::v1::gateway_service_server::GatewayServiceServer;
use http::{HeaderName, HeaderValue, Method};
use sqlx::migrate::Migrator;
use tokio::{net::TcpListener, task::JoinHandle};
use tonic::{
    service::Routes,
    transport::{Identity, ServerTlsConfig, server::TcpIncoming},
};
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use api::GatewayApi;
pub use apikeys::ApiKeys;
pub use proxy::BackendUrls;

use crate::{
    catalogue::Catalogue, edge::EdgeState, internal_token::InternalTokens, jwt::JwtVerifier,
    proxy::Proxy, rate_limit::OrgRateLimiter,
};

/// The PostgreSQL schema the gateway owns (API keys).
pub const SCHEMA: &str = "gateway";

/// The gateway's migrations, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations/gateway");

/// A built gateway: listener bound, backends known (connected lazily), not yet serving.
pub struct Gateway {
    listener: TcpListener,
    addr: SocketAddr,
    routes: Routes,
    state: Arc<EdgeState>,
    tls: Option<ServerTlsConfig>,
    cors: CorsLayer,
    concurrency_limit: usize,
    health: health::Prober,
    metrics: Metrics,
    methods: MethodTable,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("addr", &self.addr).finish()
    }
}

/// Builds the external-token verifier the settings ask for.
fn jwt_verifier(config: &Config) -> anyhow::Result<JwtVerifier> {
    let settings = &config.gateway;
    let verifier = match (&settings.jwt_public_key_file, &settings.jwt_jwks_file) {
        (Some(path), _) => JwtVerifier::from_public_key_file(path).map_err(anyhow::Error::msg)?,
        (None, Some(path)) => JwtVerifier::from_jwks_file(path).map_err(anyhow::Error::msg)?,
        (None, None) => JwtVerifier::hs256(&config.secrets.jwt_secret),
    };
    Ok(verifier.with_claims(settings.jwt_issuer.clone(), settings.jwt_audience.clone()))
}

fn cors(origins: &[String]) -> CorsLayer {
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let names = |list: &[&'static str]| -> Vec<HeaderName> {
        list.iter().map(|n| HeaderName::from_static(n)).collect()
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::POST, Method::OPTIONS])
        .allow_headers(names(&[
            "authorization",
            "content-type",
            "grpc-timeout",
            "traceparent",
            "x-api-key",
            "x-grpc-web",
            "x-purpose",
            "x-request-id",
            "x-user-agent",
        ]))
        .expose_headers(names(&[
            "grpc-message",
            "grpc-status",
            "grpc-status-details-bin",
            "x-request-id",
        ]))
        .max_age(Duration::from_secs(3600))
}

/// The methods the gateway answers or forwards, each labelled with the backend that owns
/// it; health, reflection and `GatewayService` are the gateway's own.
fn method_table(catalogue: &Catalogue) -> MethodTable {
    let owners = catalogue.service_backends();
    let services: Vec<&str> = owners.iter().map(|(s, _)| s.as_str()).collect();
    MethodTable::new(&[dealernet_proto::FILE_DESCRIPTOR_SET], &services).with_backends(|service| {
        owners
            .iter()
            .find(|(s, _)| s == service)
            .map_or(catalogue::Backend::Gateway.name(), |(_, b)| b.name())
    })
}

fn tls(config: &Config) -> anyhow::Result<Option<ServerTlsConfig>> {
    let Some((cert, key)) = &config.gateway.tls else {
        return Ok(None);
    };
    let cert = std::fs::read(cert).with_context(|| format!("tls_cert_file {}", cert.display()))?;
    let key = std::fs::read(key).with_context(|| format!("tls_key_file {}", key.display()))?;
    Ok(Some(
        ServerTlsConfig::new().identity(Identity::from_pem(cert, key)),
    ))
}

impl Gateway {
    /// Connects the API-key store and binds `config.listen_addr`; `backends` says where
    /// each service answers. Calls, rate-limit refusals and the pool are counted in
    /// `metrics`.
    pub async fn build(
        config: &Config,
        backends: &BackendUrls,
        metrics: &Metrics,
    ) -> anyhow::Result<Gateway> {
        let url = config.require_database_url()?;
        let pool = db::pool(url, SCHEMA, config.database_max_connections.min(8))
            .await
            .context("connecting the gateway pool")?;
        metrics.watch_pool(SCHEMA, pool.clone());
        let catalogue = Arc::new(Catalogue::platform());
        let methods = method_table(&catalogue);
        let proxy = Proxy::new(catalogue.clone(), backends).map_err(anyhow::Error::msg)?;
        let api_keys = ApiKeys::new(pool, config.gateway.api_key_cache_ttl);
        let keys = TokenKeys::new(config.secrets.jwt_secret.clone());
        let state = Arc::new(EdgeState {
            catalogue: (*catalogue).clone(),
            jwt: jwt_verifier(config)?,
            api_keys: api_keys.clone(),
            rate_limiter: OrgRateLimiter::new(&config.gateway.rate_limits),
            internal_tokens: InternalTokens::new(keys.clone()),
            max_deadline: config.gateway.max_deadline,
            metrics: metrics.clone(),
        });
        let (reporter, health_service) = tonic_health::server::health_reporter();
        let reflection = |builder: tonic_reflection::server::Builder<'static>| {
            builder
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(dealernet_proto::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection(tonic_reflection::server::Builder::configure())
            .build_v1()
            .context("reflection v1")?;
        let reflection_v1alpha = reflection(tonic_reflection::server::Builder::configure())
            .build_v1alpha()
            .context("reflection v1alpha")?;
        let api = GatewayApi::new(
            api_keys,
            PageTokens::new(config.secrets.page_token_key.clone()),
            customer360::Customer360::new(proxy.clone()),
        );
        let routes = Routes::new(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(GatewayServiceServer::with_interceptor(
                api,
                Authenticate::new(keys),
            ))
            .into_axum_router()
            // Everything the gateway does not answer itself is forwarded.
            .fallback_service(proxy.clone());
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .with_context(|| format!("binding {}", config.listen_addr))?;
        let addr = listener.local_addr()?;
        Ok(Gateway {
            listener,
            addr,
            routes: Routes::from(routes),
            state,
            tls: tls(config)?,
            cors: cors(&config.gateway.cors_allowed_origins),
            concurrency_limit: config.concurrency_limit,
            health: health::Prober::new(reporter, proxy, catalogue),
            metrics: metrics.clone(),
            methods,
        })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` resolves, then drains in-flight calls.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let mut background: Vec<JoinHandle<()>> = vec![tokio::spawn(self.health.run())];
        let state = self.state.clone();
        background.push(tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                state.rate_limiter.forget_idle();
            }
        }));
        let mut server = tonic::transport::Server::builder()
            // gRPC-Web arrives as HTTP/1.1 from browsers.
            .accept_http1(true);
        if let Some(tls) = self.tls {
            server = server.tls_config(tls).context("tls configuration")?;
        }
        let incoming = TcpIncoming::from(self.listener)
            .with_nodelay(Some(true))
            .with_keepalive(Some(Duration::from_secs(60)));
        let result = server
            // Outermost: CORS answers browsers' preflights, then gRPC-Web is turned into
            // gRPC, so that everything inside sees one protocol.
            .layer(self.cors)
            .layer(tonic_web::GrpcWebLayer::new())
            // Every call gets a request id and a span, refusals included.
            .layer(RequestContextLayer::new("gateway"))
            // Counted before the limit and the checks, so that shed and refused calls are
            // counted too.
            .layer(self.metrics.gateway_layer(self.methods))
            // Shed before any work (token checks, database reads) is spent on a call.
            .layer(ConcurrencyLimitLayer::new(self.concurrency_limit))
            .layer(edge::EdgeLayer::new(self.state))
            .add_routes(self.routes)
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await;
        for task in background {
            task.abort();
        }
        result.context("serving the gateway")
    }
}
