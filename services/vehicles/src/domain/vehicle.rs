//! A vehicle record and one entry of its history.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{lifecycle::State, vin::Vin};

/// A stored vehicle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vehicle {
    pub vin: Vin,
    pub model_code: String,
    pub state: State,
    pub plant: String,
    pub line: String,
    pub built_at: DateTime<Utc>,
    pub engine_number: String,
    pub colour: String,
    pub holder_outlet: String,
    pub owner: Option<Uuid>,
    pub reserved_for: Option<Uuid>,
    pub reserved_until: Option<DateTime<Utc>>,
    pub odometer_km: i64,
    pub odometer_rollback_suspected: bool,
    pub version: i64,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// One entry of a vehicle's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub sequence: i64,
    pub at: DateTime<Utc>,
    pub action: String,
    pub state_after: State,
    pub actor_org: String,
    pub actor_subject: String,
    pub details: Vec<(String, String)>,
}

/// A sale of a vehicle to a registry customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    pub vin: Vin,
    pub outlet: String,
    pub customer: Uuid,
    pub currency_code: String,
    pub price_minor: i64,
    /// The maker's list price that day, in the same currency, if listed.
    pub list_minor: Option<i64>,
    pub sales_person: String,
    pub sale_type: &'static str,
    pub sold_at: DateTime<Utc>,
}
