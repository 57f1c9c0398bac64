//! gRPC server assembly: the services of one process behind one listener, with health,
//! reflection (v1 and v1alpha: grpcurl 1.8 and the Python client speak only v1alpha),
//! request ids, a span per call, and a server-wide concurrency limit that sheds load.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use http::{HeaderValue, Request, Response};
use opentelemetry::trace::TraceContextExt;
use tokio::{net::TcpListener, sync::Semaphore};
use tonic::{body::Body, server::NamedService, service::Routes, transport::server::TcpIncoming};
use tonic_health::ServingStatus;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::metrics::{MethodTable, Metrics};

/// The request-id header: taken from the caller when it sends a sane one, made up otherwise,
/// and echoed on the response so client logs and server logs can be joined.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request id of the current call, in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// What a call's work may need to know about the call outside its handler's arguments:
/// events written while serving it carry its request id and trace context.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub request_id: String,
    /// The `traceparent` header the call came with.
    pub traceparent: Option<String>,
    /// Turns true when the server starts shutting down: long-lived streams (StreamEvents)
    /// end then, since a graceful shutdown waits for every call in flight.
    pub draining: Option<tokio::sync::watch::Receiver<bool>>,
}

tokio::task_local! {
    static CALL: CallContext;
}

impl CallContext {
    /// The call being served on this task, if any.
    pub fn current() -> Option<CallContext> {
        CALL.try_with(Clone::clone).ok()
    }
}

/// The services of one process, ready to serve.
pub struct GrpcServer {
    routes: Routes,
    service_names: Vec<&'static str>,
    descriptor_sets: Vec<&'static [u8]>,
    concurrency_limit: usize,
    metrics: Metrics,
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer")
            .field("services", &self.service_names)
            .finish()
    }
}

impl GrpcServer {
    /// An empty server that admits at most `concurrency_limit` calls at once and counts
    /// them in `metrics`.
    pub fn new(concurrency_limit: usize, metrics: Metrics) -> GrpcServer {
        GrpcServer {
            routes: Routes::default(),
            service_names: Vec::new(),
            descriptor_sets: Vec::new(),
            concurrency_limit,
            metrics,
        }
    }

    /// Adds a service; health reports it SERVING once the server runs.
    pub fn add_service<S>(mut self, service: S) -> GrpcServer
    where
        S: Service<Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.service_names.push(S::NAME);
        self.routes = self.routes.add_service(service);
        self
    }

    /// Registers an encoded `FileDescriptorSet` for reflection.
    pub fn add_descriptors(mut self, set: &'static [u8]) -> GrpcServer {
        self.descriptor_sets.push(set);
        self
    }

    /// Serves on `listener` until `shutdown` resolves, then drains in-flight calls.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), tonic::transport::Error> {
        let (drain, draining) = tokio::sync::watch::channel(false);
        let (health, health_service) = tonic_health::server::health_reporter();
        for name in &self.service_names {
            health
                .set_service_status(*name, ServingStatus::Serving)
                .await;
        }
        let reflection = |builder: tonic_reflection::server::Builder<'static>| {
            self.descriptor_sets.iter().fold(
                builder.register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET),
                |b, set| b.register_encoded_file_descriptor_set(set),
            )
        };
        let reflection_v1 = reflection(tonic_reflection::server::Builder::configure()).build_v1();
        let reflection_v1alpha =
            reflection(tonic_reflection::server::Builder::configure()).build_v1alpha();
        let methods = MethodTable::new(&self.descriptor_sets, &self.service_names);
        let mut routes = self.routes.add_service(health_service);
        match (reflection_v1, reflection_v1alpha) {
            (Ok(v1), Ok(v1alpha)) => routes = routes.add_service(v1).add_service(v1alpha),
            (Err(e), _) | (_, Err(e)) => tracing::error!(error = %e, "reflection unavailable"),
        }

        tonic::transport::Server::builder()
            // Outermost: every call gets an id and a span, including shed ones, so that
            // refusals are logged with the id the client saw.
            .layer(RequestContextLayer::new("services").draining(draining))
            // Counted before the limit, so that shed calls are counted too.
            .layer(self.metrics.grpc_layer(methods))
            // Then the limit: past it, calls are refused at once rather than queued, so
            // latency stays bounded and clients back off.
            .layer(ConcurrencyLimitLayer::new(self.concurrency_limit))
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming(listener), async move {
                shutdown.await;
                let _ = drain.send(true);
                for name in &self.service_names {
                    health
                        .set_service_status(*name, ServingStatus::NotServing)
                        .await;
                }
            })
            .await
    }
}

/// Accepted connections with Nagle's algorithm off: a small gRPC reply must not wait for
/// the client's delayed ACK (measured: ~40 ms stalls on a quarter of calls without it),
/// and keepalive probes so that dead peers are noticed.
fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(std::time::Duration::from_secs(60)))
}

/// Assigns each call its request id and runs it inside a `grpc` span: an OpenTelemetry
/// server span, child of the caller's when it sent a W3C `traceparent`.
#[derive(Debug, Clone)]
pub struct RequestContextLayer {
    /// Which part of the platform serves the call (`gateway` or `services`), as a span
    /// attribute: in one process the gateway's span and the backend's span of a call have
    /// the same method.
    component: &'static str,
    draining: Option<tokio::sync::watch::Receiver<bool>>,
}

impl RequestContextLayer {
    pub fn new(component: &'static str) -> RequestContextLayer {
        RequestContextLayer {
            component,
            draining: None,
        }
    }

    /// Calls see `draining` in their [`CallContext`].
    pub fn draining(mut self, draining: tokio::sync::watch::Receiver<bool>) -> Self {
        self.draining = Some(draining);
        self
    }
}

impl<S> Layer<S> for RequestContextLayer {
    type Service = RequestContext<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestContext {
            inner,
            component: self.component,
            draining: self.draining.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RequestContext<S> {
    inner: S,
    component: &'static str,
    draining: Option<tokio::sync::watch::Receiver<bool>>,
}

pub(crate) type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), so that log lines
/// of a call can be joined with the caller's trace.
fn w3c_trace_id(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let (version, trace_id, parent_id, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    };
    let valid = hex(version, 2)
        && version != "ff"
        && hex(trace_id, 32)
        && trace_id.bytes().any(|b| b != b'0')
        && hex(parent_id, 16)
        && hex(flags, 2)
        && (version != "00" || parts.next().is_none());
    valid.then_some(trace_id)
}

/// The call's gRPC status on its span; the span is an error for the codes that mean the
/// server failed (OpenTelemetry's rule for gRPC servers), not the caller.
fn record_status(span: &tracing::Span, code: &str) {
    let code = code.parse::<i64>().unwrap_or(2);
    span.record("rpc.grpc.status_code", code);
    // UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS.
    if matches!(code, 2 | 4 | 12 | 13 | 14 | 15) {
        span.record("otel.status_code", "error");
    }
}

fn sane_request_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| s.to_owned())
}

impl<S, B> Service<Request<B>> for RequestContext<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Response<Body>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let id = request
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(sane_request_id)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        request.extensions_mut().insert(RequestId(id.clone()));
        let path = request.uri().path();
        let (rpc_service, rpc_method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or(("", ""));
        let span = tracing::info_span!(
            "grpc",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %rpc_service,
            rpc.method = %rpc_method,
            rpc.grpc.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            component = self.component,
            method = %path,
            request_id = %id,
            trace_id = tracing::field::Empty,
            org = tracing::field::Empty,
        );
        // The caller's trace, when it sent one; the span's (new or inherited) trace id goes
        // into every log line written while serving the call.
        let _ = span.set_parent(crate::telemetry::propagation::extract(request.headers()));
        let trace_id = span.context().span().span_context().trace_id();
        if trace_id != opentelemetry::trace::TraceId::INVALID {
            span.record("trace_id", tracing::field::display(trace_id));
        } else if let Some(trace_id) = request
            .headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .and_then(w3c_trace_id)
        {
            span.record("trace_id", trace_id);
        }
        let call = CallContext {
            request_id: id.clone(),
            traceparent: request
                .headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            draining: self.draining.clone(),
        };
        let future = span.in_scope(|| self.inner.call(request));
        let started = Instant::now();
        Box::pin(
            async move {
                let mut response = CALL.scope(call, future).await?;
                // Trailers-only responses (every error) carry grpc-status in the headers.
                let code = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("0")
                    .to_owned();
                record_status(&tracing::Span::current(), &code);
                tracing::debug!(grpc_status = %code, elapsed_us = started.elapsed().as_micros() as u64, "call finished");
                if let Ok(value) = HeaderValue::from_str(&id) {
                    response.headers_mut().insert(REQUEST_ID_HEADER, value);
                }
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// Marks a response the concurrency limit refused, so the metrics layer around it can
/// count shed calls apart from other UNAVAILABLE answers.
#[derive(Debug, Clone, Copy)]
pub struct Shed;

/// A server-wide concurrency limit that refuses (UNAVAILABLE, reason `OVERLOADED`) instead
/// of queueing. One semaphore is shared by every connection's clone of the service, unlike
/// tower's `ConcurrencyLimit`, whose clones each count on their own.
#[derive(Debug, Clone)]
pub struct ConcurrencyLimitLayer {
    permits: Arc<Semaphore>,
}

impl ConcurrencyLimitLayer {
    pub fn new(limit: usize) -> ConcurrencyLimitLayer {
        ConcurrencyLimitLayer {
            permits: Arc::new(Semaphore::new(limit)),
        }
    }
}

impl<S> Layer<S> for ConcurrencyLimitLayer {
    type Service = ConcurrencyLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConcurrencyLimit {
            inner,
            permits: self.permits.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConcurrencyLimit<S> {
    inner: S,
    permits: Arc<Semaphore>,
}

impl<S, B> Service<Request<B>> for ConcurrencyLimit<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Response<Body>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let future = self.inner.call(request);
                Box::pin(async move {
                    let response = future.await;
                    drop(permit);
                    response
                })
            }
            Err(_) => {
                tracing::warn!("call shed: concurrency limit reached");
                let status = crate::error::unavailable(
                    "OVERLOADED",
                    "server overloaded, retry with backoff",
                );
                let mut response = status.into_http();
                response.extensions_mut().insert(Shed);
                Box::pin(async move { Ok(response) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_come_from_valid_traceparents_only() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(w3c_trace_id(tp), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(w3c_trace_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn request_ids_must_be_sane() {
        assert_eq!(
            sane_request_id(&HeaderValue::from_static("abc-1")),
            Some("abc-1".into())
        );
        assert_eq!(sane_request_id(&HeaderValue::from_static("a b")), None);
        assert_eq!(sane_request_id(&HeaderValue::from_static("")), None);
    }
}
