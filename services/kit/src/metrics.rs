//! Prometheus metrics of one process: the registry, the tower layer that counts gRPC calls
//! (on every server and on the gateway), figures read at scrape time (database pools, the
//! access-log writer), and the `GET /metrics` endpoint on a port of its own.
//!
//! Every label takes its values from a set fixed at start — the methods of the descriptor
//! set (any other path is `unknown`), gRPC status names, rate classes, schema names — so no
//! caller can make the number of series grow.
//!
//! A [`Metrics`] is a value of the platform, not a global: tests run many platforms in one
//! process, and each must count only its own calls.

mod endpoint;
mod layer;

use std::{
    fmt,
    sync::{Arc, Mutex, MutexGuard, OnceLock},
};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{
        MetricType,
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::ConstGauge,
        info::Info,
    },
    registry::Registry,
};
use sqlx::PgPool;

pub use endpoint::serve;
pub use layer::{GrpcMetrics, GrpcMetricsLayer, MethodTable, UNKNOWN};

use crate::config::ServiceKind;
use layer::CallMetrics;

/// The metrics of one process; clones share one registry.
#[derive(Clone)]
pub struct Metrics(Arc<Shared>);

struct Shared {
    registry: Mutex<Registry>,
    // Registered when first used, so a process shows only the series of what it runs.
    server: OnceLock<Arc<CallMetrics>>,
    gateway: OnceLock<GatewayMetrics>,
    sources: Arc<Sources>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Locks `mutex` even if a panicking thread poisoned it: counters stay usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Metrics {
    /// A registry holding `dealernet_build_info` for a process running `services`.
    pub fn new(services: &[ServiceKind]) -> Metrics {
        let mut registry = Registry::default();
        let names: Vec<&str> = services.iter().map(|s| s.name()).collect();
        registry.register(
            "dealernet_build",
            "The build and the services this process runs",
            Info::new(vec![
                ("version", env!("CARGO_PKG_VERSION").to_owned()),
                ("services", names.join(",")),
            ]),
        );
        let sources = Arc::new(Sources::default());
        registry.register_collector(Box::new(sources.clone()));
        Metrics(Arc::new(Shared {
            registry: Mutex::new(registry),
            server: OnceLock::new(),
            gateway: OnceLock::new(),
            sources,
        }))
    }

    /// The layer counting a backend server's calls (`dealernet_grpc_server_*`).
    pub fn grpc_layer(&self, methods: MethodTable) -> GrpcMetricsLayer {
        let calls = self.0.server.get_or_init(|| {
            Arc::new(CallMetrics::register(
                &mut lock(&self.0.registry),
                "dealernet_grpc_server",
                "gRPC calls served",
            ))
        });
        GrpcMetricsLayer::new(calls.clone(), methods)
    }

    /// The layer counting the gateway's calls (`dealernet_gateway_*`, with a `backend`
    /// label when `methods` has backends).
    pub fn gateway_layer(&self, methods: MethodTable) -> GrpcMetricsLayer {
        GrpcMetricsLayer::new(self.gateway().calls.clone(), methods)
    }

    /// Counts a call the gateway refused for its rate limit; `class` is the rate class
    /// (an overriding role's name, or `default`).
    pub fn count_rate_limited(&self, class: &'static str) {
        self.gateway()
            .rate_limited
            .get_or_create(&[("role", class)])
            .inc();
    }

    fn gateway(&self) -> &GatewayMetrics {
        self.0.gateway.get_or_init(|| {
            let mut registry = lock(&self.0.registry);
            let rate_limited = Family::default();
            registry.register(
                "dealernet_gateway_rate_limited_requests",
                "Calls the gateway refused for their organisation's rate limit, by rate class",
                rate_limited.clone(),
            );
            GatewayMetrics {
                calls: Arc::new(CallMetrics::register(
                    &mut registry,
                    "dealernet_gateway",
                    "Calls through the gateway",
                )),
                rate_limited,
            }
        })
    }

    /// Reports `pool`'s connections as those of `service` at every scrape.
    pub fn watch_pool(&self, service: &'static str, pool: PgPool) {
        lock(&self.0.sources.pools).push((service, pool));
    }

    /// Reports the access-log writer's figures, read from `source` at every scrape.
    pub fn watch_access_log(&self, source: impl Fn() -> AccessLogStats + Send + Sync + 'static) {
        lock(&self.0.sources.access_logs).push(Box::new(source));
    }

    /// Every series in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &lock(&self.0.registry))?;
        Ok(text)
    }
}

#[derive(Debug)]
struct GatewayMetrics {
    calls: Arc<CallMetrics>,
    rate_limited: Family<[(&'static str, &'static str); 1], Counter>,
}

/// The access-log writer's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessLogStats {
    /// Answers waiting for the writer, each with one or more records (the batch being
    /// written is not counted).
    pub queue_depth: u64,
    /// Records committed since start.
    pub written: u64,
    /// Records whose write failed since start (their reads failed too).
    pub failed: u64,
}

/// Reads an access-log writer's figures.
type AccessLogSource = Box<dyn Fn() -> AccessLogStats + Send + Sync>;

/// What is read at scrape time rather than counted as it happens.
#[derive(Default)]
struct Sources {
    pools: Mutex<Vec<(&'static str, PgPool)>>,
    access_logs: Mutex<Vec<AccessLogSource>>,
}

impl fmt::Debug for Sources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sources").finish_non_exhaustive()
    }
}

impl Collector for Sources {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let pools = lock(&self.pools).clone();
        if !pools.is_empty() {
            let mut family = encoder.encode_descriptor(
                "dealernet_db_pool_connections",
                "Open connections of each service's PostgreSQL pool, by state; in_use includes connections kept for warm reads.",
                None,
                MetricType::Gauge,
            )?;
            for (service, pool) in &pools {
                let idle = pool.num_idle() as i64;
                let in_use = (i64::from(pool.size()) - idle).max(0);
                for (state, n) in [("idle", idle), ("in_use", in_use)] {
                    let labels = [("service", *service), ("state", state)];
                    ConstGauge::new(n).encode(family.encode_family(&labels)?)?;
                }
            }
            let mut family = encoder.encode_descriptor(
                "dealernet_db_pool_max_connections",
                "The most connections each service's PostgreSQL pool opens.",
                None,
                MetricType::Gauge,
            )?;
            for (service, pool) in &pools {
                let max = i64::from(pool.options().get_max_connections());
                ConstGauge::new(max).encode(family.encode_family(&[("service", *service)])?)?;
            }
        }
        let logs = lock(&self.access_logs);
        if !logs.is_empty() {
            let stats = logs
                .iter()
                .map(|read| read())
                .fold(AccessLogStats::default(), |sum, s| AccessLogStats {
                    queue_depth: sum.queue_depth + s.queue_depth,
                    written: sum.written + s.written,
                    failed: sum.failed + s.failed,
                });
            let gauge = ConstGauge::new(stats.queue_depth as i64);
            gauge.encode(encoder.encode_descriptor(
                "dealernet_access_log_queue_depth",
                "Answers waiting for the access-log writer, each with one or more records.",
                None,
                gauge.metric_type(),
            )?)?;
            let mut family = encoder.encode_descriptor(
                "dealernet_access_log_records",
                "Access-log records the writer handled, by outcome.",
                None,
                MetricType::Counter,
            )?;
            for (outcome, n) in [("written", stats.written), ("failed", stats.failed)] {
                ConstCounter::new(n).encode(family.encode_family(&[("outcome", outcome)])?)?;
            }
        }
        Ok(())
    }
}
