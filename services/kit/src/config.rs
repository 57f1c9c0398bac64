//! Layered configuration: defaults → `dealernet.toml` → `DEALERNET_*` environment → flags,
//! validated once at start so that a bad setting stops the process with a clear message
//! instead of failing on the first request.

use std::{net::SocketAddr, path::Path, str::FromStr};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use crate::gateway_config::{
    DEFAULT_API_KEY_CACHE_TTL_SECS, DEFAULT_BURST, DEFAULT_MAX_DEADLINE_MS, DEFAULT_RATE_PER_ORG,
    GatewaySettings, MAX_API_KEY_CACHE_TTL_SECS, MAX_DEADLINE_MS_BOUNDS, RateLimits,
};
pub use crate::telemetry::LogFormat;

/// A comma-separated environment value as a list (blank items dropped).
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The services one `dealernet` process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKind {
    /// The customer registry.
    Customers,
    /// The vehicle lifecycle service.
    Vehicles,
    /// The call center.
    Callcenter,
    /// The dealer network: outlets, staff, locator, leads, scorecards.
    Dealers,
    /// The public front door: authentication, method permissions, rate limits, routing.
    Gateway,
}

impl ServiceKind {
    /// Every service, in start-up order.
    pub const ALL: &'static [ServiceKind] = &[
        ServiceKind::Customers,
        ServiceKind::Vehicles,
        ServiceKind::Callcenter,
        ServiceKind::Dealers,
        ServiceKind::Gateway,
    ];

    /// The services behind the gateway: what a process runs when `services` is not set.
    pub const BACKENDS: &'static [ServiceKind] = &[
        ServiceKind::Customers,
        ServiceKind::Vehicles,
        ServiceKind::Callcenter,
        ServiceKind::Dealers,
    ];

    /// The name used in `--services` and as the PostgreSQL schema.
    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Customers => "customers",
            ServiceKind::Vehicles => "vehicles",
            ServiceKind::Callcenter => "callcenter",
            ServiceKind::Dealers => "dealers",
            ServiceKind::Gateway => "gateway",
        }
    }
}

impl FromStr for ServiceKind {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.name() == s.trim())
            .ok_or_else(|| {
                let known: Vec<_> = ServiceKind::ALL.iter().map(|k| k.name()).collect();
                ConfigError(format!(
                    "unknown service '{s}': known services are {}",
                    known.join(", ")
                ))
            })
    }
}

/// A setting that could not be read or is invalid; the message names the setting.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// One layer of settings; every field is optional so that layers can be stacked.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub listen_addr: Option<String>,
    /// Where `GET /metrics` (Prometheus) answers, as ip:port; unset or blank: nowhere.
    pub metrics_addr: Option<String>,
    pub database_url: Option<SecretString>,
    pub database_max_connections: Option<u32>,
    pub services: Option<Vec<String>>,
    pub jwt_secret: Option<SecretString>,
    pub id_hash_key: Option<SecretString>,
    pub page_token_key: Option<SecretString>,
    pub concurrency_limit: Option<usize>,
    pub idempotency_retention_hours: Option<u64>,
    /// How often a caught-up StreamEvents call looks for other replicas' commits.
    pub events_poll_interval_ms: Option<u64>,
    /// How long published events are kept (once every registered consumer passed them).
    pub events_retention_hours: Option<u64>,
    /// Customer value: key account from this contribution on, in CNY fen.
    pub value_key_account_min_minor: Option<u64>,
    /// Customer value: relationship from this many purchases on.
    pub value_relationship_min_purchases: Option<u64>,
    /// Customer value: relationship from this many service visits on.
    pub value_relationship_min_visits: Option<u64>,
    /// Customer value: relationship from this many days between first and last transaction.
    pub value_relationship_min_tenure_days: Option<u64>,
    /// Customer value: how many of the latest survey answers are "recent".
    pub value_recent_surveys: Option<u64>,
    pub log: Option<String>,
    /// How log lines are written: `json` (the default) or `text` (the default of `dev`).
    pub log_format: Option<String>,
    /// Where the customer registry answers, for services that call it (vehicles);
    /// defaults to this process when it runs the registry too.
    pub customers_url: Option<String>,
    /// Where the call center answers, for services that ask it for follow-up calls
    /// (vehicles); defaults to this process when it runs the call center too.
    pub callcenter_url: Option<String>,
    /// Where the dealers service answers, for services that check outlets or hand it
    /// leads (vehicles, callcenter); defaults to this process when it runs dealers too.
    pub dealers_url: Option<String>,
    /// Seconds between two runs of the dealers service's lead deadline sweeper; 0 turns
    /// it off in this process (another replica, or a test, sweeps).
    pub lead_sweep_interval_secs: Option<u64>,
    /// Where the vehicle service answers, for the gateway.
    pub vehicles_url: Option<String>,
    /// Gateway: PEM certificate chain and private key of the public listener (TLS on
    /// when both are set).
    pub tls_cert_file: Option<String>,
    pub tls_key_file: Option<String>,
    /// Gateway: browser origins allowed to call over gRPC-Web (CORS); empty: none.
    pub cors_allowed_origins: Option<Vec<String>>,
    /// Gateway: required `iss` and `aud` of external bearer tokens, when set.
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    /// Gateway: PEM public key (RSA or EC P-256) verifying RS256/ES256 external tokens.
    pub jwt_public_key_file: Option<String>,
    /// Gateway: a JWKS file (JSON) of keys verifying RS256/ES256 external tokens by `kid`.
    pub jwt_jwks_file: Option<String>,
    /// Gateway: sustained calls per second of one organisation, and the bucket's depth.
    pub rate_limit_per_org_rps: Option<u32>,
    pub rate_limit_burst: Option<u32>,
    /// Gateway: per-role overrides of the rate, as `role=rps` items.
    pub rate_limit_role_rps: Option<Vec<String>>,
    /// Gateway: the longest deadline a call may have, in milliseconds.
    pub max_deadline_ms: Option<u64>,
    /// Gateway: how long a verified API key is trusted before it is looked up again.
    pub api_key_cache_ttl_secs: Option<u64>,
}

impl Layer {
    /// Reads a TOML file; a missing file is an empty layer only when `required` is false.
    pub fn from_file(path: &Path, required: bool) -> Result<Layer, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                toml::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(Layer::default()),
            Err(e) => Err(ConfigError(format!("{}: {e}", path.display()))),
        }
    }

    /// Reads `DEALERNET_*` variables (and `DATABASE_URL`, the common convention).
    pub fn from_env() -> Result<Layer, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads settings from any key → value lookup named like the environment variables.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Layer, ConfigError> {
        let parse_num = |key: &str| -> Result<Option<u64>, ConfigError> {
            get(key)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| ConfigError(format!("{key}: '{v}' is not a whole number")))
                })
                .transpose()
        };
        Ok(Layer {
            listen_addr: get("DEALERNET_LISTEN_ADDR"),
            metrics_addr: get("DEALERNET_METRICS_ADDR"),
            database_url: get("DEALERNET_DATABASE_URL")
                .or_else(|| get("DATABASE_URL"))
                .map(SecretString::from),
            database_max_connections: parse_num("DEALERNET_DATABASE_MAX_CONNECTIONS")?
                .map(|n| n.min(u64::from(u32::MAX)) as u32),
            services: get("DEALERNET_SERVICES").map(|v| list(&v)),
            jwt_secret: get("DEALERNET_JWT_SECRET").map(SecretString::from),
            id_hash_key: get("DEALERNET_ID_HASH_KEY").map(SecretString::from),
            page_token_key: get("DEALERNET_PAGE_TOKEN_KEY").map(SecretString::from),
            concurrency_limit: parse_num("DEALERNET_CONCURRENCY_LIMIT")?.map(|n| n as usize),
            idempotency_retention_hours: parse_num("DEALERNET_IDEMPOTENCY_RETENTION_HOURS")?,
            events_poll_interval_ms: parse_num("DEALERNET_EVENTS_POLL_INTERVAL_MS")?,
            events_retention_hours: parse_num("DEALERNET_EVENTS_RETENTION_HOURS")?,
            value_key_account_min_minor: parse_num("DEALERNET_VALUE_KEY_ACCOUNT_MIN_MINOR")?,
            value_relationship_min_purchases: parse_num(
                "DEALERNET_VALUE_RELATIONSHIP_MIN_PURCHASES",
            )?,
            value_relationship_min_visits: parse_num("DEALERNET_VALUE_RELATIONSHIP_MIN_VISITS")?,
            value_relationship_min_tenure_days: parse_num(
                "DEALERNET_VALUE_RELATIONSHIP_MIN_TENURE_DAYS",
            )?,
            value_recent_surveys: parse_num("DEALERNET_VALUE_RECENT_SURVEYS")?,
            log: get("DEALERNET_LOG"),
            log_format: get("DEALERNET_LOG_FORMAT"),
            customers_url: get("DEALERNET_CUSTOMERS_URL"),
            callcenter_url: get("DEALERNET_CALLCENTER_URL"),
            dealers_url: get("DEALERNET_DEALERS_URL"),
            lead_sweep_interval_secs: parse_num("DEALERNET_LEAD_SWEEP_INTERVAL_SECS")?,
            vehicles_url: get("DEALERNET_VEHICLES_URL"),
            tls_cert_file: get("DEALERNET_TLS_CERT_FILE"),
            tls_key_file: get("DEALERNET_TLS_KEY_FILE"),
            cors_allowed_origins: get("DEALERNET_CORS_ALLOWED_ORIGINS").map(|v| list(&v)),
            jwt_issuer: get("DEALERNET_JWT_ISSUER"),
            jwt_audience: get("DEALERNET_JWT_AUDIENCE"),
            jwt_public_key_file: get("DEALERNET_JWT_PUBLIC_KEY_FILE"),
            jwt_jwks_file: get("DEALERNET_JWT_JWKS_FILE"),
            rate_limit_per_org_rps: parse_num("DEALERNET_RATE_LIMIT_PER_ORG_RPS")?
                .map(|n| n.min(u64::from(u32::MAX)) as u32),
            rate_limit_burst: parse_num("DEALERNET_RATE_LIMIT_BURST")?
                .map(|n| n.min(u64::from(u32::MAX)) as u32),
            rate_limit_role_rps: get("DEALERNET_RATE_LIMIT_ROLE_RPS").map(|v| list(&v)),
            max_deadline_ms: parse_num("DEALERNET_MAX_DEADLINE_MS")?,
            api_key_cache_ttl_secs: parse_num("DEALERNET_API_KEY_CACHE_TTL_SECS")?,
        })
    }

    /// Stacks `over` on top of `self`: a value set in `over` wins.
    pub fn merge(self, over: Layer) -> Layer {
        Layer {
            listen_addr: over.listen_addr.or(self.listen_addr),
            metrics_addr: over.metrics_addr.or(self.metrics_addr),
            database_url: over.database_url.or(self.database_url),
            database_max_connections: over
                .database_max_connections
                .or(self.database_max_connections),
            services: over.services.or(self.services),
            jwt_secret: over.jwt_secret.or(self.jwt_secret),
            id_hash_key: over.id_hash_key.or(self.id_hash_key),
            page_token_key: over.page_token_key.or(self.page_token_key),
            concurrency_limit: over.concurrency_limit.or(self.concurrency_limit),
            idempotency_retention_hours: over
                .idempotency_retention_hours
                .or(self.idempotency_retention_hours),
            events_poll_interval_ms: over
                .events_poll_interval_ms
                .or(self.events_poll_interval_ms),
            events_retention_hours: over.events_retention_hours.or(self.events_retention_hours),
            value_key_account_min_minor: over
                .value_key_account_min_minor
                .or(self.value_key_account_min_minor),
            value_relationship_min_purchases: over
                .value_relationship_min_purchases
                .or(self.value_relationship_min_purchases),
            value_relationship_min_visits: over
                .value_relationship_min_visits
                .or(self.value_relationship_min_visits),
            value_relationship_min_tenure_days: over
                .value_relationship_min_tenure_days
                .or(self.value_relationship_min_tenure_days),
            value_recent_surveys: over.value_recent_surveys.or(self.value_recent_surveys),
            log: over.log.or(self.log),
            log_format: over.log_format.or(self.log_format),
            customers_url: over.customers_url.or(self.customers_url),
            callcenter_url: over.callcenter_url.or(self.callcenter_url),
            dealers_url: over.dealers_url.or(self.dealers_url),
            lead_sweep_interval_secs: over
                .lead_sweep_interval_secs
                .or(self.lead_sweep_interval_secs),
            vehicles_url: over.vehicles_url.or(self.vehicles_url),
            tls_cert_file: over.tls_cert_file.or(self.tls_cert_file),
            tls_key_file: over.tls_key_file.or(self.tls_key_file),
            cors_allowed_origins: over.cors_allowed_origins.or(self.cors_allowed_origins),
            jwt_issuer: over.jwt_issuer.or(self.jwt_issuer),
            jwt_audience: over.jwt_audience.or(self.jwt_audience),
            jwt_public_key_file: over.jwt_public_key_file.or(self.jwt_public_key_file),
            jwt_jwks_file: over.jwt_jwks_file.or(self.jwt_jwks_file),
            rate_limit_per_org_rps: over.rate_limit_per_org_rps.or(self.rate_limit_per_org_rps),
            rate_limit_burst: over.rate_limit_burst.or(self.rate_limit_burst),
            rate_limit_role_rps: over.rate_limit_role_rps.or(self.rate_limit_role_rps),
            max_deadline_ms: over.max_deadline_ms.or(self.max_deadline_ms),
            api_key_cache_ttl_secs: over.api_key_cache_ttl_secs.or(self.api_key_cache_ttl_secs),
        }
    }
}

/// Validated settings of one process.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen_addr: SocketAddr,
    /// Where the Prometheus endpoint listens; `None`: this process serves none.
    pub metrics_addr: Option<SocketAddr>,
    /// `None` only in `dev` mode, which starts its own PostgreSQL.
    pub database_url: Option<SecretString>,
    pub database_max_connections: u32,
    pub services: Vec<ServiceKind>,
    pub secrets: Secrets,
    pub concurrency_limit: usize,
    pub idempotency_retention_hours: u64,
    pub events_poll_interval_ms: u64,
    pub events_retention_hours: u64,
    /// The customer value thresholds.
    pub value: ValueSettings,
    pub log: String,
    pub log_format: LogFormat,
    pub customers_url: Option<String>,
    pub callcenter_url: Option<String>,
    /// Where the dealers service answers, for services that check outlets or hand it
    /// leads (vehicles, callcenter); defaults to this process when it runs dealers too.
    pub dealers_url: Option<String>,
    /// Seconds between lead deadline sweeps; 0 means this process does not sweep.
    pub lead_sweep_interval_secs: u64,
    /// Where the vehicle service answers (the gateway's route to it).
    pub vehicles_url: Option<String>,
    /// The gateway's settings (validated only when this process runs the gateway).
    pub gateway: GatewaySettings,
}

/// Keys that must never appear in logs or debug output.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// HS256 key that signs and verifies bearer tokens.
    pub jwt_secret: SecretString,
    /// HMAC key of the keyed hash of national ID numbers; changing it breaks matching.
    pub id_hash_key: SecretString,
    /// HMAC key that makes page tokens tamper-evident.
    pub page_token_key: SecretString,
}

/// The thresholds of customer value's tiers (the registry's; see `domain::value` there).
/// Changing one changes stored tiers only after `dealernet segments rebuild`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueSettings {
    pub key_account_min_minor: u64,
    pub relationship_min_purchases: u64,
    pub relationship_min_visits: u64,
    pub relationship_min_tenure_days: u64,
    pub recent_surveys: u64,
}

/// Shortest accepted secret, in bytes: HS256 wants at least the hash size.
pub const MIN_SECRET_LEN: usize = 32;

// The defaults and bounds of the settings, in one place: docs/operations.md quotes them and
// `tests/operations_doc.rs` holds the two together.

/// Default `listen_addr`: loopback only, so a container must set one (`0.0.0.0:50051`).
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:50051";
/// Default `database_max_connections`: the most connections of each service's pool.
pub const DEFAULT_DATABASE_MAX_CONNECTIONS: u32 = 16;
/// Default `concurrency_limit`: calls in flight per listener before new ones are shed.
pub const DEFAULT_CONCURRENCY_LIMIT: usize = 1024;
/// Default `idempotency_retention_hours`: the age past which saved responses are purged.
pub const DEFAULT_IDEMPOTENCY_RETENTION_HOURS: u64 = 48;
/// Shortest accepted `idempotency_retention_hours`.
pub const MIN_IDEMPOTENCY_RETENTION_HOURS: u64 = 24;
/// Default `events_poll_interval_ms`: the most a commit in another replica waits to be
/// streamed (this process's own commits wake the streams at once).
pub const DEFAULT_EVENTS_POLL_INTERVAL_MS: u64 = 100;
/// Shortest accepted `events_poll_interval_ms`.
pub const MIN_EVENTS_POLL_INTERVAL_MS: u64 = 10;
/// Longest accepted `events_poll_interval_ms`.
pub const MAX_EVENTS_POLL_INTERVAL_MS: u64 = 10_000;
/// Default `events_retention_hours`: a week.
pub const DEFAULT_EVENTS_RETENTION_HOURS: u64 = 168;
/// Shortest accepted `events_retention_hours`.
pub const MIN_EVENTS_RETENTION_HOURS: u64 = 1;
/// Default `value_key_account_min_minor`: 500,000.00 CNY of sales and service.
pub const DEFAULT_VALUE_KEY_ACCOUNT_MIN_MINOR: u64 = 50_000_000;
/// Default `value_relationship_min_purchases`: a repeat purchase.
pub const DEFAULT_VALUE_RELATIONSHIP_MIN_PURCHASES: u64 = 2;
/// Default `value_relationship_min_visits`.
pub const DEFAULT_VALUE_RELATIONSHIP_MIN_VISITS: u64 = 3;
/// Default `value_relationship_min_tenure_days`: two years.
pub const DEFAULT_VALUE_RELATIONSHIP_MIN_TENURE_DAYS: u64 = 730;
/// Default `value_recent_surveys`.
pub const DEFAULT_VALUE_RECENT_SURVEYS: u64 = 5;
/// Largest accepted `value_recent_surveys`.
pub const MAX_VALUE_RECENT_SURVEYS: u64 = 100;
/// Largest accepted count or day threshold of customer value (keeps them within `i32`).
pub const MAX_VALUE_THRESHOLD: u64 = 100_000;

/// Default `log` filter (an `EnvFilter` directive).
pub const DEFAULT_LOG: &str = "info";
/// Default `lead_sweep_interval_secs`.
pub const DEFAULT_LEAD_SWEEP_INTERVAL_SECS: u64 = 30;
/// Longest accepted `lead_sweep_interval_secs`: leads would stay overdue too long.
pub const MAX_LEAD_SWEEP_INTERVAL_SECS: u64 = 3600;

impl Config {
    /// Validates a stacked layer. Every problem is reported, not just the first.
    pub fn from_layer(layer: Layer) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        // Read before the secrets move out of `layer`.
        let gateway = GatewaySettings::from_layer(&layer, &mut problems);
        let listen = layer.listen_addr.as_deref().unwrap_or(DEFAULT_LISTEN_ADDR);
        let listen_addr = listen.parse::<SocketAddr>().unwrap_or_else(|_| {
            problems.push(format!("listen_addr: '{listen}' is not an ip:port address"));
            SocketAddr::from(([127, 0, 0, 1], 0))
        });
        let log_format = match layer.log_format.as_deref() {
            None => LogFormat::default(),
            Some(format) => format.parse().unwrap_or_else(|e| {
                problems.push(format!("log_format: {e}"));
                LogFormat::default()
            }),
        };
        // Blank counts as unset, so the environment can turn off a file's endpoint.
        let metrics_addr = match layer.metrics_addr.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(addr) => match addr.parse::<SocketAddr>() {
                Ok(addr) if addr == listen_addr && addr.port() != 0 => {
                    problems.push(format!(
                        "metrics_addr: '{addr}' is listen_addr too; give metrics a port of its own"
                    ));
                    None
                }
                Ok(addr) => Some(addr),
                Err(_) => {
                    problems.push(format!(
                        "metrics_addr: '{addr}' is not an ip:port address (set DEALERNET_METRICS_ADDR, e.g. 0.0.0.0:9464)"
                    ));
                    None
                }
            },
        };
        let services = match &layer.services {
            None => ServiceKind::BACKENDS.to_vec(),
            Some(names) => {
                let mut kinds = Vec::new();
                for name in names.iter().filter(|n| !n.trim().is_empty()) {
                    match name.parse::<ServiceKind>() {
                        Ok(kind) if !kinds.contains(&kind) => kinds.push(kind),
                        Ok(_) => {}
                        Err(e) => problems.push(format!("services: {}", e.0)),
                    }
                }
                if kinds.is_empty() && problems.is_empty() {
                    problems.push("services: at least one service is required".into());
                }
                kinds
            }
        };
        let mut secret = |name: &str, value: Option<SecretString>| -> SecretString {
            match value {
                Some(v) if v.expose_secret().len() >= MIN_SECRET_LEN => v,
                Some(_) => {
                    problems.push(format!(
                        "{name}: must be at least {MIN_SECRET_LEN} bytes (set DEALERNET_{})",
                        name.to_uppercase()
                    ));
                    SecretString::from(String::new())
                }
                None => {
                    problems.push(format!(
                        "{name}: missing (set DEALERNET_{} or `{name}` in dealernet.toml)",
                        name.to_uppercase()
                    ));
                    SecretString::from(String::new())
                }
            }
        };
        let secrets = Secrets {
            jwt_secret: secret("jwt_secret", layer.jwt_secret),
            id_hash_key: secret("id_hash_key", layer.id_hash_key),
            page_token_key: secret("page_token_key", layer.page_token_key),
        };
        let database_max_connections = layer
            .database_max_connections
            .unwrap_or(DEFAULT_DATABASE_MAX_CONNECTIONS);
        if database_max_connections == 0 {
            problems.push("database_max_connections: must be at least 1".into());
        }
        let concurrency_limit = layer.concurrency_limit.unwrap_or(DEFAULT_CONCURRENCY_LIMIT);
        if concurrency_limit == 0 {
            problems.push("concurrency_limit: must be at least 1".into());
        }
        let idempotency_retention_hours = layer
            .idempotency_retention_hours
            .unwrap_or(DEFAULT_IDEMPOTENCY_RETENTION_HOURS);
        if idempotency_retention_hours < MIN_IDEMPOTENCY_RETENTION_HOURS {
            problems.push(format!(
                "idempotency_retention_hours: must be at least {MIN_IDEMPOTENCY_RETENTION_HOURS}"
            ));
        }
        let events_poll_interval_ms = layer
            .events_poll_interval_ms
            .unwrap_or(DEFAULT_EVENTS_POLL_INTERVAL_MS);
        if !(MIN_EVENTS_POLL_INTERVAL_MS..=MAX_EVENTS_POLL_INTERVAL_MS)
            .contains(&events_poll_interval_ms)
        {
            problems.push(format!(
                "events_poll_interval_ms: must be {MIN_EVENTS_POLL_INTERVAL_MS} to {MAX_EVENTS_POLL_INTERVAL_MS}"
            ));
        }
        let events_retention_hours = layer
            .events_retention_hours
            .unwrap_or(DEFAULT_EVENTS_RETENTION_HOURS);
        if events_retention_hours < MIN_EVENTS_RETENTION_HOURS {
            problems.push(format!(
                "events_retention_hours: must be at least {MIN_EVENTS_RETENTION_HOURS}"
            ));
        }
        let value = ValueSettings {
            key_account_min_minor: layer
                .value_key_account_min_minor
                .unwrap_or(DEFAULT_VALUE_KEY_ACCOUNT_MIN_MINOR),
            relationship_min_purchases: layer
                .value_relationship_min_purchases
                .unwrap_or(DEFAULT_VALUE_RELATIONSHIP_MIN_PURCHASES),
            relationship_min_visits: layer
                .value_relationship_min_visits
                .unwrap_or(DEFAULT_VALUE_RELATIONSHIP_MIN_VISITS),
            relationship_min_tenure_days: layer
                .value_relationship_min_tenure_days
                .unwrap_or(DEFAULT_VALUE_RELATIONSHIP_MIN_TENURE_DAYS),
            recent_surveys: layer
                .value_recent_surveys
                .unwrap_or(DEFAULT_VALUE_RECENT_SURVEYS),
        };
        if value.key_account_min_minor == 0 || value.key_account_min_minor > i64::MAX as u64 {
            problems.push(format!(
                "value_key_account_min_minor: must be 1 to {}",
                i64::MAX
            ));
        }
        for (key, n) in [
            (
                "value_relationship_min_purchases",
                value.relationship_min_purchases,
            ),
            (
                "value_relationship_min_visits",
                value.relationship_min_visits,
            ),
            (
                "value_relationship_min_tenure_days",
                value.relationship_min_tenure_days,
            ),
        ] {
            if !(1..=MAX_VALUE_THRESHOLD).contains(&n) {
                problems.push(format!("{key}: must be 1 to {MAX_VALUE_THRESHOLD}"));
            }
        }
        if !(1..=MAX_VALUE_RECENT_SURVEYS).contains(&value.recent_surveys) {
            problems.push(format!(
                "value_recent_surveys: must be 1 to {MAX_VALUE_RECENT_SURVEYS}"
            ));
        }
        if let Some(url) = &layer.database_url {
            let url = url.expose_secret();
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                problems.push("database_url: must start with postgres:// or postgresql://".into());
            }
        }
        match &layer.customers_url {
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                problems.push("customers_url: must start with http:// or https://".into());
            }
            None if (services.contains(&ServiceKind::Vehicles)
                || services.contains(&ServiceKind::Callcenter))
                && !services.contains(&ServiceKind::Customers) =>
            {
                problems.push(
                    "customers_url: required when vehicles or callcenter runs without customers (set DEALERNET_CUSTOMERS_URL)".into(),
                );
            }
            _ => {}
        }
        if let Some(url) = &layer.callcenter_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problems.push("callcenter_url: must start with http:// or https://".into());
        }
        match &layer.dealers_url {
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                problems.push("dealers_url: must start with http:// or https://".into());
            }
            None if (services.contains(&ServiceKind::Vehicles)
                || services.contains(&ServiceKind::Callcenter))
                && !services.contains(&ServiceKind::Dealers) =>
            {
                problems.push(
                    "dealers_url: required when vehicles or callcenter runs without dealers (set DEALERNET_DEALERS_URL)".into(),
                );
            }
            _ => {}
        }
        if let Some(url) = &layer.vehicles_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problems.push("vehicles_url: must start with http:// or https://".into());
        }
        if services.contains(&ServiceKind::Gateway) {
            for (key, url, kind) in [
                (
                    "customers_url",
                    &layer.customers_url,
                    ServiceKind::Customers,
                ),
                ("vehicles_url", &layer.vehicles_url, ServiceKind::Vehicles),
                (
                    "callcenter_url",
                    &layer.callcenter_url,
                    ServiceKind::Callcenter,
                ),
                ("dealers_url", &layer.dealers_url, ServiceKind::Dealers),
            ] {
                if url.is_none() && !services.contains(&kind) {
                    problems.push(format!(
                        "{key}: required when the gateway runs without {} (set DEALERNET_{})",
                        kind.name(),
                        key.to_uppercase()
                    ));
                }
            }
        }
        let lead_sweep_interval_secs = layer
            .lead_sweep_interval_secs
            .unwrap_or(DEFAULT_LEAD_SWEEP_INTERVAL_SECS);
        if lead_sweep_interval_secs > MAX_LEAD_SWEEP_INTERVAL_SECS {
            problems.push(format!(
                "lead_sweep_interval_secs: at most {MAX_LEAD_SWEEP_INTERVAL_SECS} (leads would stay overdue too long)"
            ));
        }
        if !problems.is_empty() {
            return Err(ConfigError(problems.join("; ")));
        }
        Ok(Config {
            listen_addr,
            metrics_addr,
            database_url: layer.database_url,
            database_max_connections,
            services,
            secrets,
            concurrency_limit,
            idempotency_retention_hours,
            events_poll_interval_ms,
            events_retention_hours,
            value,
            log: layer.log.unwrap_or_else(|| DEFAULT_LOG.into()),
            log_format,
            customers_url: layer.customers_url,
            callcenter_url: layer.callcenter_url,
            dealers_url: layer.dealers_url,
            lead_sweep_interval_secs,
            vehicles_url: layer.vehicles_url,
            gateway,
        })
    }

    /// The database URL, or an error naming how to provide one.
    pub fn require_database_url(&self) -> Result<&str, ConfigError> {
        self.database_url
            .as_ref()
            .map(|u| u.expose_secret())
            .ok_or_else(|| {
                ConfigError(
                    "database_url: missing (set --database-url, DATABASE_URL or DEALERNET_DATABASE_URL)"
                        .into(),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Option<SecretString> {
        Some(SecretString::from("k".repeat(MIN_SECRET_LEN)))
    }

    fn complete() -> Layer {
        Layer {
            jwt_secret: key(),
            id_hash_key: key(),
            page_token_key: key(),
            ..Layer::default()
        }
    }

    #[test]
    fn later_layers_win() {
        let file = Layer {
            listen_addr: Some("127.0.0.1:1".into()),
            concurrency_limit: Some(7),
            ..complete()
        };
        let env =
            Layer::from_lookup(|k| (k == "DEALERNET_LISTEN_ADDR").then(|| "127.0.0.1:2".into()))
                .expect("env layer");
        let config = Config::from_layer(file.merge(env)).expect("valid");
        assert_eq!(config.listen_addr.port(), 2);
        assert_eq!(config.concurrency_limit, 7);
    }

    #[test]
    fn every_problem_is_reported() {
        let layer = Layer {
            listen_addr: Some("nowhere".into()),
            services: Some(vec!["customers".into(), "teleport".into()]),
            jwt_secret: Some(SecretString::from("short")),
            ..Layer::default()
        };
        let err = Config::from_layer(layer).expect_err("invalid").0;
        for needle in [
            "listen_addr",
            "teleport",
            "jwt_secret: must be",
            "id_hash_key: missing",
        ] {
            assert!(err.contains(needle), "{needle} not in {err}");
        }
    }

    #[test]
    fn vehicles_alone_needs_the_registry_and_dealers_addresses() {
        let alone = Layer {
            services: Some(vec!["vehicles".into()]),
            ..complete()
        };
        let err = Config::from_layer(alone.clone())
            .expect_err("no registry, no dealers")
            .0;
        assert!(err.contains("customers_url"), "{err}");
        assert!(err.contains("dealers_url"), "{err}");
        let with_urls = Layer {
            customers_url: Some("http://customers:50051".into()),
            dealers_url: Some("http://dealers:50051".into()),
            ..alone
        };
        assert!(Config::from_layer(with_urls).is_ok());
        assert!(
            Config::from_layer(complete()).is_ok(),
            "both services in one process"
        );
    }

    #[test]
    fn the_lead_sweep_interval_is_bounded_and_may_be_off() {
        assert_eq!(
            Config::from_layer(complete())
                .expect("default")
                .lead_sweep_interval_secs,
            30
        );
        let off =
            Layer::from_lookup(|k| (k == "DEALERNET_LEAD_SWEEP_INTERVAL_SECS").then(|| "0".into()))
                .expect("env layer");
        let config = Config::from_layer(complete().merge(off)).expect("0 turns it off");
        assert_eq!(config.lead_sweep_interval_secs, 0);
        let slow = Layer {
            lead_sweep_interval_secs: Some(7200),
            ..complete()
        };
        let err = Config::from_layer(slow).expect_err("too slow").0;
        assert!(err.contains("lead_sweep_interval_secs"), "{err}");
    }

    #[test]
    fn value_thresholds_come_from_the_environment_and_are_bounded() {
        let env = Layer::from_lookup(|k| match k {
            "DEALERNET_VALUE_KEY_ACCOUNT_MIN_MINOR" => Some("80000000".into()),
            "DEALERNET_VALUE_RECENT_SURVEYS" => Some("3".into()),
            _ => None,
        })
        .expect("env layer");
        let config = Config::from_layer(complete().merge(env)).expect("valid");
        assert_eq!(config.value.key_account_min_minor, 80_000_000);
        assert_eq!(config.value.recent_surveys, 3);
        assert_eq!(
            config.value.relationship_min_visits,
            DEFAULT_VALUE_RELATIONSHIP_MIN_VISITS
        );
        let bad = Layer {
            value_key_account_min_minor: Some(0),
            value_recent_surveys: Some(MAX_VALUE_RECENT_SURVEYS + 1),
            value_relationship_min_tenure_days: Some(0),
            ..complete()
        };
        let err = Config::from_layer(bad).expect_err("out of bounds").0;
        for key in [
            "value_key_account_min_minor",
            "value_recent_surveys",
            "value_relationship_min_tenure_days",
        ] {
            assert!(err.contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn log_format_is_json_unless_told_and_checked() {
        let base = Layer {
            database_url: Some(SecretString::from("postgres://localhost/x")),
            ..complete()
        };
        assert_eq!(
            Config::from_layer(base.clone()).expect("valid").log_format,
            LogFormat::Json
        );
        let text = Layer::from_lookup(|k| (k == "DEALERNET_LOG_FORMAT").then(|| "text".into()))
            .expect("env layer");
        let config = Config::from_layer(base.clone().merge(text)).expect("valid");
        assert_eq!(config.log_format, LogFormat::Text);
        let bad = Layer {
            log_format: Some("xml".into()),
            ..base
        };
        let err = Config::from_layer(bad).expect_err("xml is refused");
        assert!(err.0.contains("log_format"), "{err}");
    }

    #[test]
    fn the_metrics_endpoint_is_off_unless_given_an_address() {
        assert_eq!(
            Config::from_layer(complete())
                .expect("default")
                .metrics_addr,
            None
        );
        let env = |value: &'static str| {
            Layer::from_lookup(move |k| (k == "DEALERNET_METRICS_ADDR").then(|| value.into()))
                .expect("env layer")
        };
        let file = Layer {
            metrics_addr: Some("127.0.0.1:9464".into()),
            ..complete()
        };
        let config = Config::from_layer(file.clone().merge(env("0.0.0.0:9100"))).expect("valid");
        assert_eq!(
            config.metrics_addr,
            Some(SocketAddr::from(([0, 0, 0, 0], 9100)))
        );
        let config = Config::from_layer(file.clone().merge(env(" "))).expect("blank");
        assert_eq!(config.metrics_addr, None, "a blank value turns it off");
        let err = Config::from_layer(file.clone().merge(env("9464")))
            .expect_err("no ip")
            .0;
        assert!(
            err.contains("metrics_addr: '9464' is not an ip:port"),
            "{err}"
        );
        let clash = Layer {
            listen_addr: Some("127.0.0.1:9464".into()),
            ..file
        };
        let err = Config::from_layer(clash).expect_err("one port for both").0;
        assert!(err.contains("metrics_addr"), "{err}");
    }

    #[test]
    fn env_numbers_are_checked() {
        let err =
            Layer::from_lookup(|k| (k == "DEALERNET_CONCURRENCY_LIMIT").then(|| "lots".into()))
                .expect_err("not a number");
        assert!(err.0.contains("DEALERNET_CONCURRENCY_LIMIT"));
    }
}
