//! One OpenTelemetry client span per database statement. sqlx reports each statement as
//! a `sqlx::query` event when it finishes (with its SQL, never its bound values, and its
//! elapsed time); this layer turns the event into a span that started that long ago, as a
//! child of the span the statement ran in. One place, so that no store function needs its
//! own instrumentation.

use std::time::{Duration, SystemTime};

use opentelemetry::{
    KeyValue,
    trace::{Span as _, SpanKind, TraceContextExt, Tracer as _},
};
use tracing::{Event, Subscriber, field::Field};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{Layer, layer::Context};

/// The target sqlx logs its statements under.
pub const SQLX_TARGET: &str = "sqlx::query";

/// The layer; the tracer comes from the global provider.
#[derive(Debug, Default)]
pub struct DbSpans;

#[derive(Default)]
struct Statement {
    summary: String,
    text: String,
    elapsed_secs: f64,
    rows_affected: Option<u64>,
    rows_returned: Option<u64>,
}

impl tracing::field::Visit for Statement {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.text = value.trim().to_owned(),
            _ => {}
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed_secs = value;
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "rows_affected" => self.rows_affected = Some(value),
            "rows_returned" => self.rows_returned = Some(value),
            _ => {}
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

impl<S: Subscriber> Layer<S> for DbSpans {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != SQLX_TARGET {
            return;
        }
        let mut statement = Statement::default();
        event.record(&mut statement);
        let parent = tracing::Span::current().context();
        if !parent.span().span_context().is_valid() {
            // A statement outside any call or task span (start-up, migrations): not traced.
            return;
        }
        let end = SystemTime::now();
        let elapsed = Duration::try_from_secs_f64(statement.elapsed_secs).unwrap_or_default();
        let start = end.checked_sub(elapsed).unwrap_or(end);
        let operation = statement
            .summary
            .split_whitespace()
            .next()
            .unwrap_or("SQL")
            .to_ascii_uppercase();
        let text = if statement.text.is_empty() {
            statement.summary.trim_end_matches(" …").to_owned()
        } else {
            statement.text
        };
        let mut attributes = vec![
            KeyValue::new("db.system.name", "postgresql"),
            KeyValue::new("db.operation.name", operation.clone()),
            KeyValue::new("db.query.text", text),
        ];
        if let Some(rows) = statement.rows_returned.or(statement.rows_affected) {
            attributes.push(KeyValue::new("db.response.returned_rows", rows as i64));
        }
        let tracer = opentelemetry::global::tracer("dealernet-db");
        let mut span = tracer
            .span_builder(operation)
            .with_kind(SpanKind::Client)
            .with_start_time(start)
            .with_attributes(attributes)
            .start_with_context(&tracer, &parent);
        span.end_with_timestamp(end);
    }
}
