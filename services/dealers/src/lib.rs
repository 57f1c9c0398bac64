//! The dealer network: dealer groups and outlets (capabilities, status, business hours),
//! staff, the outlet locator, leads routed to outlets with respond-before deadlines and
//! re-routed when a deadline passes, and scorecards.
//!
//! - [`domain`]: values and rules, no IO — business hours, distances, routing, lead moves;
//! - [`store`]: PostgreSQL persistence in the `dealers` schema;
//! - [`api`]: the `dealernet.dealers.v1.DealerService` handlers;
//! - [`router`]: places a lead at an outlet (shared by the handlers and the sweeper);
//! - [`sweeper`]: the deadline sweeper that re-routes overdue leads;
//! - [`consumers`]: other services' events applied (scorecard figures, merges, erasures);
//! - [`demo`]: the demo network for `dev` mode and the benchmark's outlet generator.

pub mod api;
pub mod consumers;
pub mod demo;
pub mod domain;
mod error;
pub mod router;
pub mod store;
pub mod sweeper;

use dealernet_kit::{auth::Authenticate, clock::Clock, config::Secrets, paging::PageTokens};
use dealernet_proto::dealers::v1::dealer_service_server::DealerServiceServer;
use sqlx::{PgPool, migrate::Migrator};
use tonic::service::interceptor::InterceptedService;

pub use error::Error;

/// The PostgreSQL schema the service owns.
pub const SCHEMA: &str = "dealers";

/// The service's migrations, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/dealers");

/// The dealer service: handlers plus what they share.
#[derive(Debug, Clone)]
pub struct Service {
    pool: PgPool,
    page_tokens: PageTokens,
    clock: Clock,
}

impl Service {
    /// A service over a pool whose connections see the `dealers` schema, telling time by
    /// `clock` (the system clock outside tests).
    pub fn new(pool: PgPool, secrets: &Secrets, clock: Clock) -> Service {
        Service {
            pool,
            page_tokens: PageTokens::new(secrets.page_token_key.clone()),
            clock,
        }
    }

    /// The tonic service, authenticating every call.
    pub fn into_server(
        self,
        auth: Authenticate,
    ) -> InterceptedService<DealerServiceServer<Service>, Authenticate> {
        DealerServiceServer::with_interceptor(self, auth)
    }

    /// The service's pool (for its event consumers).
    pub fn pool(&self) -> PgPool {
        self.pool.clone()
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
