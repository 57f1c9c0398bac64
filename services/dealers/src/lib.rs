//! The dealer network: dealer groups and outlets (capabilities, status, business hours),
//! staff, the outlet locator, leads routed to outlets with respond-before deadlines and
//! re-routed when a deadline passes, and scorecards.
//!
//! - [`domain`]: values and rules, no IO — business hours, distances, routing, lead moves.

pub mod domain;
