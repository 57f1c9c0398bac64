//! PostgreSQL persistence of the call center. Functions take the caller's connection.

pub mod callback;
pub mod case;
pub mod complaint_trend;
pub mod desk;
