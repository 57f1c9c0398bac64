//! Cases: kinds, priorities, the workflow, and which team takes which kind.

use chrono::{DateTime, Utc};
use dealernet_kit::db_names;
use uuid::Uuid;

use super::sla::{Clock, SlaState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseType {
    Inquiry,
    SalesLead,
    ServiceRequest,
    Complaint,
    TechnicalSupport,
    Recall,
    /// A suspected odometer rollback: a matter of the car (possibly fraud), for the
    /// operations desk; needs no customer.
    OdometerRollback,
}

db_names!(CaseType {
    Inquiry => "INQUIRY",
    SalesLead => "SALES_LEAD",
    ServiceRequest => "SERVICE_REQUEST",
    Complaint => "COMPLAINT",
    TechnicalSupport => "TECHNICAL_SUPPORT",
    Recall => "RECALL",
    OdometerRollback => "ODOMETER_ROLLBACK",
});

impl CaseType {
    pub const ALL: &'static [CaseType] = &[
        CaseType::Inquiry,
        CaseType::SalesLead,
        CaseType::ServiceRequest,
        CaseType::Complaint,
        CaseType::TechnicalSupport,
        CaseType::Recall,
        CaseType::OdometerRollback,
    ];

    /// The team that takes a new case of this kind.
    pub fn team(self) -> Team {
        match self {
            CaseType::Inquiry | CaseType::Recall => Team::CustomerSupport,
            CaseType::SalesLead | CaseType::ServiceRequest | CaseType::OdometerRollback => {
                Team::Operations
            }
            CaseType::Complaint => Team::Complaints,
            CaseType::TechnicalSupport => Team::TechnicalSupport,
        }
    }

    /// Whether a case of this kind must name a customer (else it names the vehicle).
    pub fn needs_customer(self) -> bool {
        self != CaseType::OdometerRollback
    }
}

/// Priorities, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

db_names!(Priority {
    Low => "LOW",
    Normal => "NORMAL",
    High => "HIGH",
    Urgent => "URGENT",
});

impl Priority {
    pub const ALL: &'static [Priority] = &[
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    /// One step more urgent (URGENT stays URGENT).
    pub fn raised(self) -> Priority {
        match self {
            Priority::Low => Priority::Normal,
            Priority::Normal => Priority::High,
            Priority::High | Priority::Urgent => Priority::Urgent,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Team {
    CustomerSupport,
    TechnicalSupport,
    Operations,
    Complaints,
}

db_names!(Team {
    CustomerSupport => "CUSTOMER_SUPPORT",
    TechnicalSupport => "TECHNICAL_SUPPORT",
    Operations => "OPERATIONS",
    Complaints => "COMPLAINTS",
});

impl Team {
    /// Who takes a case this team's SLA breached.
    pub fn lead(self) -> &'static str {
        match self {
            Team::CustomerSupport => "lead.customer-support",
            Team::TechnicalSupport => "lead.technical-support",
            Team::Operations => "lead.operations",
            Team::Complaints => "lead.complaints",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    New,
    Assigned,
    InProgress,
    WaitingOnCustomer,
    Resolved,
    Closed,
    Reopened,
}

db_names!(Status {
    New => "NEW",
    Assigned => "ASSIGNED",
    InProgress => "IN_PROGRESS",
    WaitingOnCustomer => "WAITING_ON_CUSTOMER",
    Resolved => "RESOLVED",
    Closed => "CLOSED",
    Reopened => "REOPENED",
});

impl Status {
    pub const ALL: &'static [Status] = &[
        Status::New,
        Status::Assigned,
        Status::InProgress,
        Status::WaitingOnCustomer,
        Status::Resolved,
        Status::Closed,
        Status::Reopened,
    ];

    /// Whether the workflow allows `self` → `to`; the stable refusal reason if not.
    pub fn check_move(self, to: Status) -> Result<(), &'static str> {
        use Status::*;
        match (self, to) {
            (New, Assigned)
            | (Assigned, InProgress | Resolved)
            | (InProgress, WaitingOnCustomer | Resolved)
            | (WaitingOnCustomer, InProgress | Resolved)
            | (Resolved, Closed | Reopened)
            | (Closed, Reopened)
            | (Reopened, InProgress | Resolved) => Ok(()),
            _ => Err("CASE_TRANSITION_NOT_ALLOWED"),
        }
    }

    /// Whether entering this status is the case's first response (work has begun).
    pub fn responds(self) -> bool {
        matches!(self, Status::InProgress | Status::Resolved)
    }

    /// Whether the SLA clock runs in this status.
    pub fn clock_runs(self) -> bool {
        matches!(
            self,
            Status::New | Status::Assigned | Status::InProgress | Status::Reopened
        )
    }
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub id: Uuid,
    pub case_type: CaseType,
    pub priority: Priority,
    pub status: Status,
    /// `None` only on kinds that need no customer (see [`CaseType::needs_customer`]).
    pub customer: Option<Uuid>,
    pub vin: String,
    pub outlet: String,
    pub team: Team,
    pub assignee: String,
    pub subject: String,
    pub description: String,
    pub category: String,
    pub model_code: String,
    pub lead: String,
    /// HOTLINE or the outlet whose hours the clock runs on.
    pub calendar: String,
    pub clock: Clock,
    pub first_response_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub next_check_at: Option<DateTime<Utc>>,
    pub sla_state: SlaState,
    pub escalations: i32,
    pub created_by: String,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    pub resolve_time: Option<DateTime<Utc>>,
    pub close_time: Option<DateTime<Utc>>,
    pub version: i64,
}

/// The calendar name of the hotline's own hours.
pub const HOTLINE: &str = "HOTLINE";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_move_of_the_workflow() {
        use Status::*;
        let allowed = [
            (New, Assigned),
            (Assigned, InProgress),
            (Assigned, Resolved),
            (InProgress, WaitingOnCustomer),
            (InProgress, Resolved),
            (WaitingOnCustomer, InProgress),
            (WaitingOnCustomer, Resolved),
            (Resolved, Closed),
            (Resolved, Reopened),
            (Closed, Reopened),
            (Reopened, InProgress),
            (Reopened, Resolved),
        ];
        for &from in Status::ALL {
            for &to in Status::ALL {
                let want = if allowed.contains(&(from, to)) {
                    Ok(())
                } else {
                    Err("CASE_TRANSITION_NOT_ALLOWED")
                };
                assert_eq!(from.check_move(to), want, "{from:?} → {to:?}");
            }
        }
    }

    #[test]
    fn routing_and_escalation() {
        assert_eq!(CaseType::Complaint.team(), Team::Complaints);
        assert_eq!(CaseType::SalesLead.team(), Team::Operations);
        assert_eq!(CaseType::TechnicalSupport.team(), Team::TechnicalSupport);
        assert_eq!(CaseType::Recall.team(), Team::CustomerSupport);
        assert_eq!(CaseType::OdometerRollback.team(), Team::Operations);
        assert!(!CaseType::OdometerRollback.needs_customer());
        assert!(CaseType::Complaint.needs_customer());
        assert_eq!(Priority::Low.raised(), Priority::Normal);
        assert_eq!(Priority::Urgent.raised(), Priority::Urgent);
    }
}
