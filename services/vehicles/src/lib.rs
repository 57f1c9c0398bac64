//! The vehicle service: one record per VIN from factory to scrap — the catalogue and
//! price list, the guarded lifecycle, odometer, repair orders, warranty and recalls.
//!
//! - [`domain`]: VINs and the catalogue, no IO;
//! - [`store`]: PostgreSQL persistence in the `vehicles` schema;
//! - [`api`]: the `dealernet.vehicles.v1.VehicleService` handlers.

pub mod api;
pub mod customers;
pub mod domain;
mod error;
pub mod events;
pub mod merges;
pub mod outlets;
pub mod store;

use chrono::{DateTime, SubsecRound, Utc};
use dealernet_kit::{auth::Authenticate, config::Secrets, events::Outbox, paging::PageTokens};
use dealernet_proto::vehicles::v1::vehicle_service_server::VehicleServiceServer;
use sqlx::{PgPool, migrate::Migrator};
use tonic::service::interceptor::InterceptedService;

pub use error::Error;

/// The PostgreSQL schema the service owns.
pub const SCHEMA: &str = "vehicles";

/// The service's migrations, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/vehicles");

/// The vehicle service: handlers plus what they share.
#[derive(Debug, Clone)]
pub struct Service {
    pool: PgPool,
    reads: dealernet_kit::db::WarmReads,
    page_tokens: PageTokens,
    customers: customers::CustomerDirectory,
    outlets: outlets::OutletDirectory,
    outbox: Outbox,
}

impl Service {
    /// A service over a pool whose connections see the `vehicles` schema, confirming
    /// customers with the registry at `customers_url`, outlets with the dealers service
    /// at `dealers_url`. Live event streams look for other replicas' events every
    /// `events_poll`.
    pub fn new(
        pool: PgPool,
        secrets: &Secrets,
        customers_url: &str,
        dealers_url: &str,
        events_poll: std::time::Duration,
    ) -> Result<Service, String> {
        Ok(Service {
            outbox: Outbox::new(pool.clone(), events_poll),
            reads: dealernet_kit::db::WarmReads::new(pool.clone()),
            pool,
            page_tokens: PageTokens::new(secrets.page_token_key.clone()),
            customers: customers::CustomerDirectory::new(
                customers_url,
                secrets.jwt_secret.clone(),
            )?,
            outlets: outlets::OutletDirectory::new(dealers_url, secrets.jwt_secret.clone())?,
        })
    }

    /// The service's outbox (for its pruning task).
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
    ) -> InterceptedService<VehicleServiceServer<Service>, Authenticate> {
        VehicleServiceServer::with_interceptor(self, auth)
    }
}

/// The current time at the database's precision (microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
