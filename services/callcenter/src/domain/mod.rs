//! The hotline's rules, no IO.

pub mod callback;
pub mod case;
pub mod sla;
