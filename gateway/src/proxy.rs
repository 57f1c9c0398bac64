//! Forwarding: each call goes to the service that owns its package as an HTTP/2 stream of
//! the same frames — the body is never decoded, so unary and all three streaming kinds
//! pass alike, and trailers (status, error details) come back as the service sent them.
//!
//! Each backend is a small pool of lazily connected, keep-alive HTTP/2 connections
//! (tonic `Channel`s), used round-robin so that one connection's stream limit and
//! single-threaded framing do not cap the gateway.

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use dealernet_kit::error;
use http::{Request, Response};
use tonic::{
    Code,
    body::Body,
    transport::{Channel, Endpoint},
};
use tower::{Service, ServiceExt};

use crate::catalogue::{Backend, Catalogue};

/// Connections per backend.
const CONNECTIONS_PER_BACKEND: usize = 4;
/// How long connecting to a backend may take before calls to it fail with UNAVAILABLE.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Pings on idle connections, so that a backend that vanished (no FIN: a dead node) is
/// noticed within interval + timeout rather than at the next call's deadline.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The connections to one backend.
#[derive(Debug)]
struct Pool {
    backend: Backend,
    channels: Vec<Channel>,
    next: AtomicUsize,
}

impl Pool {
    fn connect(backend: Backend, url: &str) -> Result<Pool, String> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| format!("{}_url '{url}': {e}", backend.name()))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(true)
            .http2_adaptive_window(true);
        Ok(Pool {
            backend,
            channels: (0..CONNECTIONS_PER_BACKEND)
                .map(|_| endpoint.connect_lazy())
                .collect(),
            next: AtomicUsize::new(0),
        })
    }

    fn channel(&self) -> Channel {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.channels.len();
        self.channels[i].clone()
    }
}

/// Where each backend answers.
#[derive(Debug, Clone)]
pub struct BackendUrls {
    pub customers: String,
    pub vehicles: String,
    pub callcenter: String,
    pub dealers: String,
}

/// The forwarding service: the gateway router's fallback for every path it does not
/// answer itself.
#[derive(Debug, Clone)]
pub struct Proxy {
    catalogue: Arc<Catalogue>,
    pools: Arc<Vec<Pool>>,
}

impl Proxy {
    pub fn new(catalogue: Arc<Catalogue>, urls: &BackendUrls) -> Result<Proxy, String> {
        let pools = vec![
            Pool::connect(Backend::Customers, &urls.customers)?,
            Pool::connect(Backend::Vehicles, &urls.vehicles)?,
            Pool::connect(Backend::Callcenter, &urls.callcenter)?,
            Pool::connect(Backend::Dealers, &urls.dealers)?,
        ];
        Ok(Proxy {
            catalogue,
            pools: Arc::new(pools),
        })
    }

    /// A connection to `backend` (for the health prober).
    pub fn channel(&self, backend: Backend) -> Option<Channel> {
        self.pools
            .iter()
            .find(|p| p.backend == backend)
            .map(Pool::channel)
    }
}

type BoxFuture<T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, Infallible>> + Send>>;

impl Service<Request<axum::body::Body>> for Proxy {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Response<Body>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is per backend, decided once the path is known.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<axum::body::Body>) -> Self::Future {
        let backend = self
            .catalogue
            .method(request.uri().path())
            .map(|m| m.backend);
        let pool = backend.and_then(|b| self.pools.iter().find(|p| p.backend == b));
        let Some(pool) = pool else {
            let status = error::refusal(
                Code::Unimplemented,
                "METHOD_NOT_FOUND",
                format!("no such method: {}", request.uri().path()),
                [],
            );
            return Box::pin(async move { Ok(status.into_http()) });
        };
        let name = pool.backend.name();
        let channel = pool.channel();
        // The body goes through untouched; the trace headers become this span's, so that
        // the backend's span is the gateway's child.
        let mut request = request;
        dealernet_kit::telemetry::propagation::inject_current(request.headers_mut());
        Box::pin(async move {
            match channel.oneshot(request.map(Body::new)).await {
                Ok(response) => Ok(response),
                Err(e) => {
                    tracing::warn!(backend = name, error = %e, "backend unreachable");
                    Ok(error::refusal(
                        Code::Unavailable,
                        "BACKEND_UNAVAILABLE",
                        format!("the {name} service is unavailable, retry with backoff"),
                        [("service", name.to_owned())],
                    )
                    .into_http())
                }
            }
        })
    }
}
