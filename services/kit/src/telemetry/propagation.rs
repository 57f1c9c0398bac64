//! W3C trace context across process boundaries: taken from the headers of an incoming
//! call, and written onto every outgoing one (the gateway's forwarded calls and the
//! services' calls to each other), so that one client call is one trace.

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};
use tonic::{Request, Status, metadata::MetadataMap, service::Interceptor};
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The caller's trace context (`traceparent`, `tracestate`), or an empty context.
pub fn extract(headers: &HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// Writes the current span's context over whatever trace headers `headers` carries: the
/// next hop is a child of this process's span, not of the original caller's.
pub fn inject_current(headers: &mut HeaderMap) {
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut HeaderInjector(headers))
    });
}

/// The current span's W3C `traceparent`, when it has a valid (exported) context.
pub fn current_traceparent() -> Option<String> {
    let mut headers = HeaderMap::new();
    inject_current(&mut headers);
    headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Writes the current span's context into a tonic request's metadata.
pub fn inject_into_metadata(metadata: &mut MetadataMap) {
    let mut headers = std::mem::take(metadata).into_headers();
    inject_current(&mut headers);
    *metadata = MetadataMap::from_headers(headers);
}

/// A tonic interceptor for clients one service keeps of another: every call carries the
/// trace context of the span it is made in.
#[derive(Debug, Clone, Copy, Default)]
pub struct PropagateTraceContext;

impl Interceptor for PropagateTraceContext {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        inject_into_metadata(request.metadata_mut());
        Ok(request)
    }
}

/// A channel whose calls carry the caller's trace context.
pub type TracedChannel = tonic::service::interceptor::InterceptedService<
    tonic::transport::Channel,
    PropagateTraceContext,
>;

/// Wraps `channel` so that every call made on it carries the current trace context.
pub fn traced(channel: tonic::transport::Channel) -> TracedChannel {
    tonic::service::interceptor::InterceptedService::new(channel, PropagateTraceContext)
}
