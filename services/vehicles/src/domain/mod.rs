//! The vehicle service's domain: values and rules, no IO.

pub mod catalogue;
pub mod lifecycle;
pub mod recall;
pub mod repair;
pub mod vehicle;
pub mod vin;
pub mod warranty;
