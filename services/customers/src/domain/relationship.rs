//! Typed links between customers, and which kinds of party each type joins.

use chrono::{DateTime, NaiveDate, Utc};
use dealernet_kit::db_names;
use uuid::Uuid;

use super::Kind;

/// How two customers are related; read "customer is <type> of related".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationshipType {
    HouseholdMember,
    Spouse,
    Employer,
    FleetManager,
}

db_names!(RelationshipType {
    HouseholdMember => "HOUSEHOLD_MEMBER",
    Spouse => "SPOUSE",
    Employer => "EMPLOYER",
    FleetManager => "FLEET_MANAGER",
});

impl RelationshipType {
    /// The kinds of (subject, related customer) this type joins.
    pub fn parties(self) -> (Kind, Kind) {
        match self {
            RelationshipType::HouseholdMember | RelationshipType::Spouse => {
                (Kind::Person, Kind::Person)
            }
            RelationshipType::Employer => (Kind::Person, Kind::Organization),
            RelationshipType::FleetManager => (Kind::Organization, Kind::Person),
        }
    }
}

/// A stored relationship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub related_id: Uuid,
    pub kind: RelationshipType,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub recorded_by: String,
    pub create_time: DateTime<Utc>,
}
