//! Staff members: one person's employment at one outlet.

use chrono::{DateTime, Utc};
use dealernet_kit::db_names;
use uuid::Uuid;

/// What a staff member does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    SalesPerson,
    ServiceAdvisor,
    Technician,
    Manager,
}

db_names!(Role {
    SalesPerson => "SALES_PERSON",
    ServiceAdvisor => "SERVICE_ADVISOR",
    Technician => "TECHNICIAN",
    Manager => "MANAGER",
});

/// A staff member as stored. The id is what sales and repair orders refer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: Uuid,
    pub outlet: String,
    pub display_name: String,
    pub role: Role,
    pub employee_number: Option<String>,
    pub active: bool,
    pub version: i64,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}
