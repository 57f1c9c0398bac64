//! The service kit: everything a dealernet service is built from, written once.
//!
//! A service crate brings its domain, its store and its gRPC handlers; the kit brings
//! configuration, the PostgreSQL pool and migrations, the private PostgreSQL used by `dev`
//! mode and tests, server assembly (health, reflection, request ids, spans, load shedding),
//! Prometheus metrics, authentication, the error vocabulary, page tokens and idempotent
//! mutations.

pub mod auth;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
mod gateway_config;
pub mod idempotency;
pub mod local_pg;
pub mod metrics;
pub mod months;
pub mod paging;
pub mod server;
pub mod telemetry;

/// The `ErrorInfo.domain` of every error a dealernet service returns.
pub const ERROR_DOMAIN: &str = "dealernet";
