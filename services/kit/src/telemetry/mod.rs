//! Logs, spans and traces, initialised once per process.
//!
//! While spans are exported, every span is an OpenTelemetry span with the caller's trace
//! (from its W3C `traceparent`) or a new one. Otherwise log lines carry the trace id of
//! the `traceparent` a call came with (the gateway starts one when a client sent none).
//! Export is by OTLP/gRPC, on when an endpoint is set
//! (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; the exporter
//! honours the other standard `OTEL_EXPORTER_OTLP_*` variables, the SDK `OTEL_TRACES_SAMPLER`
//! and `OTEL_TRACES_SAMPLER_ARG`, the resource `OTEL_SERVICE_NAME` and
//! `OTEL_RESOURCE_ATTRIBUTES`). Database statements become client spans only while
//! exporting: recording them costs a formatted SQL string per statement.
//!
//! No personal data goes into a span or a log line: spans carry method names, ids the
//! platform made up, organisation codes and SQL text (never bound values).

mod db_spans;
mod json_log;
pub mod propagation;

use std::str::FromStr;

use opentelemetry::{KeyValue, trace::TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    resource::{EnvResourceDetector, ResourceDetector, TelemetryResourceDetector},
    trace::SdkTracerProvider,
};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::{
    EnvFilter, Layer, filter::Targets, fmt, fmt::MakeWriter, fmt::format::JsonFields, prelude::*,
};

pub use propagation::{PropagateTraceContext, TracedChannel, traced};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line (production).
    #[default]
    Json,
    /// Human-readable lines (`dev`).
    Text,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "json" => Ok(LogFormat::Json),
            "text" => Ok(LogFormat::Text),
            other => Err(format!("'{other}' is not a log format (json or text)")),
        }
    }
}

/// What a process tells telemetry about itself.
#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    /// `EnvFilter` directives for log lines, e.g. `info,dealernet_customers=debug`;
    /// `RUST_LOG` wins when set.
    pub filter: String,
    pub format: LogFormat,
    /// `service.name` unless `OTEL_SERVICE_NAME` says otherwise.
    pub service_name: String,
    /// Where spans are exported (OTLP/gRPC); `None`: not exported.
    pub otlp_endpoint: Option<String>,
}

impl TelemetrySettings {
    /// Settings for a process named `service_name`, the export endpoint taken from the
    /// standard environment variables.
    pub fn from_env(filter: &str, format: LogFormat, service_name: &str) -> TelemetrySettings {
        let endpoint = [
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ]
        .iter()
        .filter_map(|key| std::env::var(key).ok())
        .find(|v| !v.trim().is_empty());
        TelemetrySettings {
            filter: filter.to_owned(),
            format,
            service_name: service_name.to_owned(),
            otlp_endpoint: endpoint,
        }
    }
}

/// Keeps telemetry running; dropping it flushes and stops the span exporter.
#[derive(Debug)]
#[must_use = "telemetry stops when the guard is dropped"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Sends every finished span now (tests, and before a planned exit).
    pub fn flush(&self) {
        if let Some(provider) = &self.provider
            && let Err(e) = provider.force_flush()
        {
            tracing::warn!(error = %e, "spans could not be flushed");
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Installs the global subscriber writing log lines to stderr. A second call in the same
/// process is a no-op (its guard holds nothing), so tests may call it freely.
pub fn init(settings: &TelemetrySettings) -> TelemetryGuard {
    init_with_writer(settings, std::io::stderr)
}

/// [`init`] with log lines going to `writer` (tests capture them). Must run inside a
/// Tokio runtime when spans are exported: the OTLP client is a tonic channel.
pub fn init_with_writer<W>(settings: &TelemetrySettings, writer: W) -> TelemetryGuard
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let log_filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_new(&settings.filter).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let log_lines = match settings.format {
        LogFormat::Json => fmt::layer()
            .with_writer(writer)
            .fmt_fields(JsonFields::new())
            .event_format(json_log::JsonLines)
            .boxed(),
        LogFormat::Text => fmt::layer().with_writer(writer).with_target(false).boxed(),
    };
    // OpenTelemetry spans only while exporting: building one per call costs a few per cent
    // of a point read's throughput (bench/README.md), not worth paying for nothing. Without
    // them, log lines take the trace id of the W3C traceparent the gateway passes on or
    // starts, and trace headers pass through the gateway as they came.
    let provider = settings
        .otlp_endpoint
        .as_ref()
        .map(|e| tracer_provider(settings, e));
    let spans = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("dealernet"))
            // Spans at info and above become OpenTelemetry spans, whatever the log
            // filter says.
            .with_filter(Targets::new().with_default(LevelFilter::INFO))
    });
    let statements = provider.is_some().then(|| {
        db_spans::DbSpans
            .with_filter(Targets::new().with_target(db_spans::SQLX_TARGET, LevelFilter::DEBUG))
    });
    let installed = tracing_subscriber::registry()
        .with(log_lines.with_filter(log_filter))
        .with(spans)
        .with(statements)
        .try_init()
        .is_ok();
    if !installed {
        if let Some(provider) = provider {
            let _ = provider.shutdown();
        }
        return TelemetryGuard { provider: None };
    }
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    if let (Some(provider), Some(endpoint)) = (&provider, &settings.otlp_endpoint) {
        opentelemetry::global::set_tracer_provider(provider.clone());
        tracing::info!(endpoint = %endpoint, "exporting spans by OTLP");
    }
    TelemetryGuard { provider }
}

/// The process's tracer provider, exporting by OTLP/gRPC to `endpoint`.
fn tracer_provider(settings: &TelemetrySettings, endpoint: &str) -> SdkTracerProvider {
    let builder = SdkTracerProvider::builder().with_resource(resource(settings));
    match opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
    {
        Ok(exporter) => builder.with_batch_exporter(exporter).build(),
        Err(e) => {
            eprintln!("spans will not be exported: OTLP exporter for '{endpoint}': {e}");
            builder.build()
        }
    }
}

/// `service.name`, `service.version` and `service.instance.id` (the host name, which is
/// the pod name on Kubernetes), overridden by `OTEL_RESOURCE_ATTRIBUTES` and then
/// `OTEL_SERVICE_NAME`.
fn resource(settings: &TelemetrySettings) -> Resource {
    let instance = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let detectors: [Box<dyn ResourceDetector>; 2] = [
        Box::new(TelemetryResourceDetector),
        Box::new(EnvResourceDetector::new()),
    ];
    let resource = Resource::builder_empty()
        .with_service_name(settings.service_name.clone())
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("service.instance.id", instance),
        ])
        .with_detectors(&detectors);
    // The standard's precedence: OTEL_SERVICE_NAME over a service.name in the attributes.
    match std::env::var("OTEL_SERVICE_NAME") {
        Ok(name) if !name.trim().is_empty() => resource.with_service_name(name).build(),
        _ => resource.build(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_formats_parse() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!(" text ".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
