//! Logging and spans, initialised once per process.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Keeps telemetry running; dropping it flushes what is buffered.
#[derive(Debug)]
#[must_use = "telemetry stops when the guard is dropped"]
pub struct TelemetryGuard(());

/// Installs the global subscriber: human-readable lines on stderr, filtered by `filter`
/// (an `EnvFilter` directive such as `info,dealernet_customers=debug`; `RUST_LOG` wins
/// when set). A second call is a no-op, so tests may call it freely.
pub fn init(filter: &str) -> TelemetryGuard {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_new(filter).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr).with_target(false))
        .try_init();
    TelemetryGuard(())
}
