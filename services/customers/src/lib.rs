//! The customer registry: one record per person or organisation, shared by dealers,
//! service stations and the hotline.
//!
//! - [`domain`]: values and rules (normalised contact points, national ID protection);
//! - [`store`]: PostgreSQL persistence in the `customers` schema;
//! - [`api`]: the `dealernet.customers.v1.CustomerService` handlers;
//! - [`demo`]: realistic generated customers for `dev` mode and benchmarks.

pub mod api;
pub mod audit;
pub mod birthdays;
pub mod demo;
pub mod domain;
mod error;
pub mod events;
pub mod segments;
pub mod store;
pub mod value_feed;

use std::time::Duration;

use dealernet_kit::{auth::Authenticate, config::Secrets, events::Outbox, paging::PageTokens};
use dealernet_proto::customers::v1::customer_service_server::CustomerServiceServer;
use sqlx::{PgPool, migrate::Migrator};
use tonic::service::interceptor::InterceptedService;
use uuid::Uuid;

pub use error::Error;

use domain::{Customer, IdHasher, Profile, State};

/// The PostgreSQL schema the registry owns.
pub const SCHEMA: &str = "customers";

/// The registry's migrations, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/customers");

/// The value thresholds of the settings' defaults (the service's until
/// [`Service::with_value_rules`]; tests score with them).
pub const DEFAULT_VALUE_RULES: domain::value::Rules = {
    use dealernet_kit::config as c;
    domain::value::Rules {
        key_account_min_minor: c::DEFAULT_VALUE_KEY_ACCOUNT_MIN_MINOR as i64,
        relationship_min_purchases: c::DEFAULT_VALUE_RELATIONSHIP_MIN_PURCHASES as i64,
        relationship_min_visits: c::DEFAULT_VALUE_RELATIONSHIP_MIN_VISITS as i64,
        relationship_min_tenure_days: c::DEFAULT_VALUE_RELATIONSHIP_MIN_TENURE_DAYS as i64,
        recent_surveys: c::DEFAULT_VALUE_RECENT_SURVEYS as i64,
    }
};

/// The value thresholds of the settings.
pub fn value_rules(settings: &dealernet_kit::config::ValueSettings) -> domain::value::Rules {
    // The settings are validated to fit (at most i64::MAX and 100,000).
    let n = |x: u64| i64::try_from(x).unwrap_or(i64::MAX);
    domain::value::Rules {
        key_account_min_minor: n(settings.key_account_min_minor),
        relationship_min_purchases: n(settings.relationship_min_purchases),
        relationship_min_visits: n(settings.relationship_min_visits),
        relationship_min_tenure_days: n(settings.relationship_min_tenure_days),
        recent_surveys: n(settings.recent_surveys),
    }
}

/// The registry service: handlers plus what they share.
#[derive(Debug, Clone)]
pub struct Service {
    pool: PgPool,
    reads: dealernet_kit::db::WarmReads,
    hasher: IdHasher,
    page_tokens: PageTokens,
    audit: audit::AuditLog,
    outbox: Outbox,
    /// The thresholds customer value is scored by.
    value_rules: domain::value::Rules,
}

impl Service {
    /// A service over a pool whose connections see the `customers` schema. Starts the
    /// access-log writer, so it must be called inside a Tokio runtime. Live event streams
    /// look for other replicas' events every `events_poll`.
    pub fn new(pool: PgPool, secrets: &Secrets, events_poll: Duration) -> Service {
        Service {
            outbox: Outbox::new(pool.clone(), events_poll),
            audit: audit::AuditLog::start(pool.clone()),
            reads: dealernet_kit::db::WarmReads::new(pool.clone()),
            pool,
            hasher: IdHasher::new(secrets.id_hash_key.clone()),
            page_tokens: PageTokens::new(secrets.page_token_key.clone()),
            value_rules: DEFAULT_VALUE_RULES,
        }
    }

    /// The daily birthday announcements over the registry's pool (a background task).
    pub fn birthdays(&self) -> birthdays::Birthdays {
        birthdays::Birthdays::new(self.pool.clone())
    }

    /// The service scoring customer value by `rules` (the settings) instead of the defaults.
    pub fn with_value_rules(self, rules: domain::value::Rules) -> Service {
        Service {
            value_rules: rules,
            ..self
        }
    }

    /// The pool (for the event consumers).
    pub fn pool(&self) -> PgPool {
        self.pool.clone()
    }

    /// The registry's outbox (for its pruning task).
    pub fn outbox(&self) -> Outbox {
        self.outbox.clone()
    }

    /// The tonic service, authenticating every call.
    pub fn into_server(
        self,
        auth: Authenticate,
    ) -> InterceptedService<CustomerServiceServer<Service>, Authenticate> {
        CustomerServiceServer::with_interceptor(self, auth)
    }

    /// The access-log writer's figures, read at each call (the metrics endpoint's hook).
    pub fn access_log_stats(
        &self,
    ) -> impl Fn() -> dealernet_kit::metrics::AccessLogStats + Send + Sync + 'static {
        self.audit.stats_source()
    }

    /// The keyed hasher of national ID numbers (demo data and tests need it).
    pub fn hasher(&self) -> &IdHasher {
        &self.hasher
    }

    /// Background work, forever: filling in phonetic name keys of rows written before the
    /// duplicate-detection migration, then periodic clean-up of expired idempotency keys and
    /// stale resolve claims.
    pub async fn run_maintenance(self, idempotency_retention_hours: u64) {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            loop {
                match store::duplicates::backfill_phonetic(&self.pool, 1000).await {
                    Ok(0) => break,
                    Ok(n) => tracing::debug!(rows = n, "phonetic name keys filled in"),
                    Err(e) => {
                        tracing::warn!(error = %e, "phonetic name key backfill failed");
                        break;
                    }
                }
            }
            match dealernet_kit::idempotency::purge(&self.pool, idempotency_retention_hours).await {
                Ok(n) if n > 0 => tracing::info!(deleted = n, "idempotency keys purged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "idempotency purge failed"),
            }
            if let Err(e) = store::purge_claims(&self.pool).await {
                tracing::warn!(error = %e, "resolve claim purge failed");
            }
        }
    }
}

impl Customer {
    /// A new active customer created by `organization` now.
    pub fn new(profile: Profile, organization: &str) -> Customer {
        let now = store::now();
        Customer {
            id: Uuid::now_v7(),
            profile,
            created_by_org: organization.to_owned(),
            state: State::Active,
            merged_into: None,
            create_time: now,
            update_time: now,
            version: 1,
        }
    }
}
