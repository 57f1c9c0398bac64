//! The call center: one hotline for asking, buying and repairing. Caller identification
//! through the registry, every contact logged, cases with SLAs on business hours and
//! routing into the dealer network, callbacks with retry rules and consent, satisfaction
//! surveys and complaint analytics.
//!
//! - [`domain`]: case workflow, SLA clocks, retry rules — no IO;
//! - [`store`]: PostgreSQL persistence in the `callcenter` schema;
//! - [`api`]: the `dealernet.callcenter.v1.CallCenterService` handlers;
//! - [`customers`], [`dealers`]: the registry and dealer-network clients.

pub mod api;
pub mod customers;
pub mod dealers;
pub mod domain;
mod error;
pub mod store;

use std::time::Duration;

use dealernet_kit::{auth::Authenticate, clock::Clock, config::Secrets, paging::PageTokens};
use dealernet_proto::callcenter::v1::call_center_service_server::CallCenterServiceServer;
use sqlx::{PgPool, migrate::Migrator};
use tonic::service::interceptor::InterceptedService;

pub use error::Error;

/// The PostgreSQL schema the service owns.
pub const SCHEMA: &str = "callcenter";

/// The service's migrations, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/callcenter");

/// How often the background SLA sweeper runs.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// The call center: handlers plus what they share.
#[derive(Debug, Clone)]
pub struct Service {
    pool: PgPool,
    page_tokens: PageTokens,
    registry: customers::Registry,
    network: dealers::Network,
    clock: Clock,
}

impl Service {
    /// A service over a pool whose connections see the `callcenter` schema, asking the
    /// registry at `customers_url` and the dealer network at `dealers_url`, on `clock`.
    pub fn new(
        pool: PgPool,
        secrets: &Secrets,
        customers_url: &str,
        dealers_url: &str,
        clock: Clock,
    ) -> Result<Service, String> {
        Ok(Service {
            pool,
            page_tokens: PageTokens::new(secrets.page_token_key.clone()),
            registry: customers::Registry::new(customers_url, secrets.jwt_secret.clone())?,
            network: dealers::Network::new(dealers_url, secrets.jwt_secret.clone())?,
            clock,
        })
    }

    /// The tonic service, authenticating every call.
    pub fn into_server(
        self,
        auth: Authenticate,
    ) -> InterceptedService<CallCenterServiceServer<Service>, Authenticate> {
        CallCenterServiceServer::with_interceptor(self, auth)
    }

    /// Sweeps SLA clocks every few seconds until the task is dropped. Several sweepers
    /// (replicas) may run: each case is handled by one at a time and escalated once.
    pub async fn run_sla_sweeper(self) {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.sweep(self.clock.now()).await {
                tracing::warn!(error = %e, "sla sweep failed");
            }
        }
    }
}
