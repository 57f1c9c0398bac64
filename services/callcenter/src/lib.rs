//! The call center: one hotline for asking, buying and repairing. Caller identification
//! through the registry, every contact logged, cases with SLAs on business hours and
//! routing into the dealer network, callbacks with retry rules and consent, satisfaction
//! surveys and complaint analytics.
//!
//! - [`domain`]: case workflow, SLA clocks, retry rules — no IO;
//! - [`store`]: PostgreSQL persistence in the `callcenter` schema;
//! - [`api`]: the `dealernet.callcenter.v1.CallCenterService` handlers;
//! - [`customers`], [`dealers`]: the registry and dealer-network clients;
//! - [`customer_events`]: the registry's events applied (erasures, merges, birthdays).

pub mod api;
pub mod customer_events;
pub mod customers;
pub mod dealers;
pub mod domain;
mod error;
pub mod events;
pub mod store;
pub mod vehicles;

use std::time::Duration;

use dealernet_kit::{
    auth::Authenticate, clock::Clock, config::Secrets, events::Outbox, paging::PageTokens,
};
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
    /// `None`: no vehicle service to list recall campaigns' cars from.
    fleet: Option<vehicles::Fleet>,
    clock: Clock,
    outbox: Outbox,
}

impl Service {
    /// A service over a pool whose connections see the `callcenter` schema, asking the
    /// registry at `customers_url`, the dealer network at `dealers_url` and the vehicle
    /// service at `vehicles_url` (recall campaigns' owners), on `clock`. Live event
    /// streams look for other replicas' events every `events_poll`.
    pub fn new(
        pool: PgPool,
        secrets: &Secrets,
        peers: (&str, &str, Option<&str>),
        clock: Clock,
        events_poll: Duration,
    ) -> Result<Service, String> {
        let (customers_url, dealers_url, vehicles_url) = peers;
        Ok(Service {
            outbox: Outbox::new(pool.clone(), events_poll),
            fleet: vehicles_url
                .map(|url| vehicles::Fleet::new(url, secrets.jwt_secret.clone()))
                .transpose()?,
            pool,
            page_tokens: PageTokens::new(secrets.page_token_key.clone()),
            registry: customers::Registry::new(customers_url, secrets.jwt_secret.clone())?,
            network: dealers::Network::new(dealers_url, secrets.jwt_secret.clone())?,
            clock,
        })
    }

    /// The call center's outbox (for its pruning task).
    pub fn outbox(&self) -> Outbox {
        self.outbox.clone()
    }

    /// The pool (for the consumers the service runs).
    pub fn pool(&self) -> PgPool {
        self.pool.clone()
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
