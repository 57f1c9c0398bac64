//! The dealer network's domain: values and rules, no IO.

pub mod geo;
pub mod hours;
pub mod lead;
pub mod outlet;
pub mod routing;
pub mod scorecard;
pub mod staff;
