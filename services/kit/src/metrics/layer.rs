//! The tower layer counting gRPC calls, and the table of known methods that its `service`
//! and `method` labels come from.

use std::{
    collections::HashMap,
    fmt,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Instant,
};

use http::{Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use prometheus_client::{
    encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::{Registry, Unit},
};
use prost::Message;
use tonic::body::Body;
use tower::{Layer, Service};

use crate::server::Shed;

/// The label value of anything outside a fixed set: a path that is no known method.
pub const UNKNOWN: &str = "unknown";

/// Upper bounds of the duration buckets, in seconds: from a cached point read to a slow
/// Customer360; streams that outlive 10 s land in `+Inf`.
const DURATION_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// gRPC status names by code (the `code` label).
const CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// The status name of a `grpc-status` value; anything unparsable is `UNKNOWN`.
fn code_name(value: &[u8]) -> &'static str {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .and_then(|n| CODES.get(n).copied())
        .unwrap_or("UNKNOWN")
}

/// The four series of one layer: calls by method and status, their duration, calls in
/// flight, calls shed by the concurrency limit.
#[derive(Debug)]
pub(super) struct CallMetrics {
    requests: Family<(MethodLabels, Code), Counter>,
    duration: Family<MethodLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    shed: Counter,
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

impl CallMetrics {
    /// Registers the four series named `{prefix}_…`, described as `what`.
    pub(super) fn register(registry: &mut Registry, prefix: &str, what: &str) -> CallMetrics {
        let metrics = CallMetrics {
            requests: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
            in_flight: Gauge::default(),
            shed: Counter::default(),
        };
        registry.register(
            format!("{prefix}_requests"),
            format!("{what}, by method and gRPC status, counted when the status is sent"),
            metrics.requests.clone(),
        );
        registry.register_with_unit(
            format!("{prefix}_request_duration"),
            format!("{what}: time from the request to the status, streams included"),
            Unit::Seconds,
            metrics.duration.clone(),
        );
        registry.register(
            format!("{prefix}_in_flight_requests"),
            format!("{what} and not finished yet"),
            metrics.in_flight.clone(),
        );
        registry.register(
            format!("{prefix}_shed_requests"),
            format!("{what} and refused at once by the concurrency limit (UNAVAILABLE)"),
            metrics.shed.clone(),
        );
        metrics
    }
}

/// The labels of one known method, made once at start and shared by all its calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MethodLabels(Arc<MethodName>);

#[derive(Debug, PartialEq, Eq, Hash)]
struct MethodName {
    /// Only on the gateway's series: the service the call is routed to.
    backend: Option<&'static str>,
    /// `dealernet.customers.v1.CustomerService`.
    service: Box<str>,
    /// `GetCustomer`.
    method: Box<str>,
}

impl EncodeLabelSet for MethodLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), fmt::Error> {
        if let Some(backend) = self.0.backend {
            ("backend", backend).encode(encoder.encode_label())?;
        }
        ("service", &*self.0.service).encode(encoder.encode_label())?;
        ("method", &*self.0.method).encode(encoder.encode_label())
    }
}

/// The `code` label: a gRPC status name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Code(&'static str);

impl EncodeLabelSet for Code {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), fmt::Error> {
        ("code", self.0).encode(encoder.encode_label())
    }
}

/// The gRPC methods a server answers, by path: the only source of `service` and `method`
/// label values.
#[derive(Debug, Clone)]
pub struct MethodTable {
    by_path: HashMap<String, MethodLabels>,
    unknown: MethodLabels,
}

/// Health and reflection, which every server of the platform answers.
const STANDARD_SERVICES: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

impl MethodTable {
    /// The methods of `services` (full names) in `descriptor_sets`, plus health and
    /// reflection.
    pub fn new(descriptor_sets: &[&[u8]], services: &[&str]) -> MethodTable {
        let standard = [
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ];
        let mut by_path = HashMap::new();
        for bytes in descriptor_sets.iter().chain(&standard) {
            let set = match prost_types::FileDescriptorSet::decode(*bytes) {
                Ok(set) => set,
                Err(e) => {
                    tracing::error!(error = %e, "descriptor set unreadable: its methods count as unknown");
                    continue;
                }
            };
            for file in &set.file {
                for service in &file.service {
                    let full = format!("{}.{}", file.package(), service.name());
                    if !services.contains(&full.as_str()) && !STANDARD_SERVICES.contains(&&*full) {
                        continue;
                    }
                    for method in &service.method {
                        let labels = MethodLabels(Arc::new(MethodName {
                            backend: None,
                            service: full.as_str().into(),
                            method: method.name().into(),
                        }));
                        by_path.insert(format!("/{full}/{}", method.name()), labels);
                    }
                }
            }
        }
        MethodTable {
            by_path,
            unknown: MethodTable::unknown(None),
        }
    }

    /// The same methods, each with the `backend` label `backend_of(service)` names (the
    /// gateway's series).
    pub fn with_backends(self, backend_of: impl Fn(&str) -> &'static str) -> MethodTable {
        let by_path = self
            .by_path
            .into_iter()
            .map(|(path, MethodLabels(name))| {
                let labels = MethodLabels(Arc::new(MethodName {
                    backend: Some(backend_of(&name.service)),
                    service: name.service.clone(),
                    method: name.method.clone(),
                }));
                (path, labels)
            })
            .collect();
        MethodTable {
            by_path,
            unknown: MethodTable::unknown(Some(UNKNOWN)),
        }
    }

    fn unknown(backend: Option<&'static str>) -> MethodLabels {
        MethodLabels(Arc::new(MethodName {
            backend,
            service: UNKNOWN.into(),
            method: UNKNOWN.into(),
        }))
    }

    /// The labels of a request path: a known method's, else `unknown`.
    fn labels(&self, path: &str) -> MethodLabels {
        self.by_path.get(path).unwrap_or(&self.unknown).clone()
    }
}

/// Counts and times every call through it. Placed outside the concurrency limit, so shed
/// calls are counted too.
#[derive(Debug, Clone)]
pub struct GrpcMetricsLayer {
    calls: Arc<CallMetrics>,
    methods: Arc<MethodTable>,
}

impl GrpcMetricsLayer {
    pub(super) fn new(calls: Arc<CallMetrics>, methods: MethodTable) -> GrpcMetricsLayer {
        GrpcMetricsLayer {
            calls,
            methods: Arc::new(methods),
        }
    }
}

impl<S> Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics {
            inner,
            calls: self.calls.clone(),
            methods: self.methods.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
    calls: Arc<CallMetrics>,
    methods: Arc<MethodTable>,
}

use crate::server::BoxFuture;

impl<S, B> Service<Request<B>> for GrpcMetrics<S>
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
        let mut call = Call::start(
            self.calls.clone(),
            self.methods.labels(request.uri().path()),
        );
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = match future.await {
                Ok(response) => response,
                Err(e) => {
                    call.finish("UNKNOWN");
                    return Err(e);
                }
            };
            if response.extensions().get::<Shed>().is_some() {
                call.calls.shed.inc();
            }
            match response.headers().get("grpc-status") {
                // Trailers-only (every refusal and error): the status is known now.
                Some(status) => {
                    call.finish(code_name(status.as_bytes()));
                    Ok(response)
                }
                // Otherwise it comes in the trailers, after the (maybe streamed) messages.
                None => Ok(response.map(|inner| Body::new(Observed { inner, call }))),
            }
        })
    }
}

/// One call being counted; finished exactly once, by its status or by being dropped.
struct Call {
    calls: Arc<CallMetrics>,
    method: MethodLabels,
    started: Instant,
    finished: bool,
}

impl Call {
    fn start(calls: Arc<CallMetrics>, method: MethodLabels) -> Call {
        calls.in_flight.inc();
        Call {
            calls,
            method,
            started: Instant::now(),
            finished: false,
        }
    }

    fn finish(&mut self, code: &'static str) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        self.calls.in_flight.dec();
        self.calls
            .requests
            .get_or_create(&(self.method.clone(), Code(code)))
            .inc();
        self.calls
            .duration
            .get_or_create(&self.method)
            .observe(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for Call {
    /// Dropped unfinished: the client went away (or the server stopped) first.
    fn drop(&mut self) {
        self.finish("CANCELLED");
    }
}

/// A response body that finishes its call when the trailers pass.
struct Observed {
    inner: Body,
    call: Call,
}

impl HttpBody for Observed {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let status = trailers.get("grpc-status");
                    this.call
                        .finish(status.map_or("UNKNOWN", |s| code_name(s.as_bytes())));
                }
            }
            // A broken stream, or one that ended without a status.
            Some(Err(_)) | None => this.call.finish("UNKNOWN"),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        // A body with nothing left that never carried a status is no cancellation.
        if self.inner.is_end_stream() {
            self.call.finish("UNKNOWN");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;
    use crate::{config::ServiceKind, metrics::Metrics};

    const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";

    #[test]
    fn method_labels_come_only_from_the_known_methods() {
        let table = MethodTable::new(&[], &[]);
        let known = table.labels(HEALTH_CHECK);
        assert_eq!(
            (&*known.0.service, &*known.0.method, known.0.backend),
            ("grpc.health.v1.Health", "Check", None)
        );
        let reflection = table.labels("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
        assert_eq!(&*reflection.0.method, "ServerReflectionInfo");
        for path in [
            "/grpc.health.v1.Health/Nope",
            "/grpc.health.v1.Health/Check/",
            "/grpc.health.v1.Health",
            "/dealernet.customers.v1.CustomerService/GetCustomer",
            "/",
            "",
            "/../etc/passwd",
        ] {
            let labels = table.labels(path);
            assert_eq!(
                (&*labels.0.service, &*labels.0.method),
                (UNKNOWN, UNKNOWN),
                "{path}"
            );
        }
        // Of a descriptor set, only the services named count.
        let set = prost_types::FileDescriptorSet {
            file: vec![prost_types::FileDescriptorProto {
                package: Some("x.v1".into()),
                service: vec![prost_types::ServiceDescriptorProto {
                    name: Some("Y".into()),
                    method: vec![prost_types::MethodDescriptorProto {
                        name: Some("Z".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec();
        let named = MethodTable::new(&[&set], &["x.v1.Y"]).labels("/x.v1.Y/Z");
        assert_eq!((&*named.0.service, &*named.0.method), ("x.v1.Y", "Z"));
        let unnamed = MethodTable::new(&[&set], &["x.v1.Other"]).labels("/x.v1.Y/Z");
        assert_eq!(&*unnamed.0.method, UNKNOWN);
    }

    #[test]
    fn gateway_labels_name_the_backend() {
        let table = MethodTable::new(&[], &[]).with_backends(|_| "gateway");
        assert_eq!(table.labels(HEALTH_CHECK).0.backend, Some("gateway"));
        assert_eq!(table.labels("/x.Y/Z").0.backend, Some(UNKNOWN));
    }

    #[test]
    fn status_names() {
        assert_eq!(code_name(b"0"), "OK");
        assert_eq!(code_name(b"16"), "UNAUTHENTICATED");
        for bad in [&b"17"[..], b"-1", b"", b"OK", b"\xff"] {
            assert_eq!(code_name(bad), "UNKNOWN");
        }
    }

    /// A response body of one trailers frame, as a streaming call ends.
    struct Trailers(Option<http::HeaderMap>);

    impl HttpBody for Trailers {
        type Data = <Body as HttpBody>::Data;
        type Error = tonic::Status;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
            Poll::Ready(self.0.take().map(|t| Ok(Frame::trailers(t))))
        }
    }

    fn layer() -> (Metrics, GrpcMetricsLayer) {
        let metrics = Metrics::new(&[ServiceKind::Customers]);
        let layer = metrics.grpc_layer(MethodTable::new(&[], &[]));
        (metrics, layer)
    }

    /// The value of the sample whose line starts with `series` (name and labels).
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[tokio::test]
    async fn statuses_are_read_from_headers_trailers_or_a_drop() {
        use tower::ServiceExt;
        let (metrics, layer) = layer();
        let service = layer.layer(tower::service_fn(|request: Request<()>| async move {
            let mut trailers = http::HeaderMap::new();
            trailers.insert("grpc-status", http::HeaderValue::from_static("5"));
            let response = match request.uri().path() {
                "/grpc.health.v1.Health/Check" => {
                    let mut r = Response::new(Body::empty());
                    r.headers_mut()
                        .insert("grpc-status", http::HeaderValue::from_static("0"));
                    r
                }
                _ => Response::new(Body::new(Trailers(Some(trailers)))),
            };
            Ok::<_, Infallible>(response)
        }));
        let call = |path: &'static str| {
            service
                .clone()
                .oneshot(Request::builder().uri(path).body(()).expect("request"))
        };
        call(HEALTH_CHECK).await.expect("trailers-only");
        let streamed = call("/grpc.health.v1.Health/Watch")
            .await
            .expect("a stream");
        let mut body = streamed.into_body();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            frame.expect("frame");
        }
        drop(call("/nope").await.expect("abandoned before its trailers"));
        let text = metrics.encode().expect("encodes");
        let series = |method: &str, code: &str| {
            let service = if method == UNKNOWN {
                UNKNOWN
            } else {
                "grpc.health.v1.Health"
            };
            format!(
                "dealernet_grpc_server_requests_total{{service=\"{service}\",method=\"{method}\",code=\"{code}\"}}"
            )
        };
        assert_eq!(sample(&text, &series("Check", "OK")), Some(1.0), "{text}");
        assert_eq!(
            sample(&text, &series("Watch", "NOT_FOUND")),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            sample(&text, &series(UNKNOWN, "CANCELLED")),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            sample(&text, "dealernet_grpc_server_in_flight_requests"),
            Some(0.0)
        );
        assert!(text.contains("dealernet_build_info{version=\""), "{text}");
        assert!(
            !text.contains("dealernet_gateway_"),
            "no gateway here: {text}"
        );
    }
}
