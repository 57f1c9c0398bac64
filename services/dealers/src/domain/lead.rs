//! Leads: what the customer wants, where the lead is in its life, and which moves an
//! outlet may make.

use chrono::{DateTime, TimeDelta, Utc};
use dealernet_kit::db_names;
use uuid::Uuid;

use super::{geo::Point, outlet::Action};

/// A lead as stored, without its routing history.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub interest: Interest,
    pub model_code: Option<String>,
    pub source: Source,
    pub campaign: Option<String>,
    pub preferred_outlet: Option<String>,
    /// Where the customer is: what routing measures distances from.
    pub location: Point,
    pub city: String,
    pub notes: String,
    pub response_window: TimeDelta,
    pub status: Status,
    pub outlet: String,
    pub respond_before: DateTime<Utc>,
    /// Set once no further outlet could take the lead; the sweeper leaves it alone.
    pub escalate_time: Option<DateTime<Utc>>,
    pub staff_id: Option<Uuid>,
    pub first_contact_time: Option<DateTime<Utc>>,
    pub appointment_time: Option<DateTime<Utc>>,
    pub lost_reason: Option<String>,
    pub close_time: Option<DateTime<Utc>>,
    pub created_by: String,
    pub version: i64,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// One assignment of a lead to an outlet.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// 1 for the first assignment.
    pub seq: i32,
    pub outlet: String,
    pub reason: RoutingReason,
    pub assign_time: DateTime<Utc>,
    pub respond_before: DateTime<Utc>,
    pub distance_km: f64,
    /// When the outlet lost the lead again, and why (the next assignment's reason).
    pub end_time: Option<DateTime<Utc>>,
}

/// What the customer wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    Buy,
    TestDrive,
    Service,
    TradeIn,
}

db_names!(Interest {
    Buy => "BUY",
    TestDrive => "TEST_DRIVE",
    Service => "SERVICE",
    TradeIn => "TRADE_IN",
});

impl Interest {
    /// What an outlet must be allowed to do to receive such a lead.
    pub fn action(self) -> Action {
        match self {
            Interest::Service => Action::ReceiveServiceLead,
            Interest::Buy | Interest::TestDrive | Interest::TradeIn => Action::ReceiveSalesLead,
        }
    }
}

/// Where a lead came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Hotline,
    Web,
    Campaign,
}

db_names!(Source {
    Hotline => "HOTLINE",
    Web => "WEB",
    Campaign => "CAMPAIGN",
});

/// Where a lead is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    New,
    Contacted,
    Appointment,
    Won,
    Lost,
}

db_names!(Status {
    New => "NEW",
    Contacted => "CONTACTED",
    Appointment => "APPOINTMENT",
    Won => "WON",
    Lost => "LOST",
});

impl Status {
    /// Still being worked (counts towards an outlet's load).
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::Contacted | Status::Appointment)
    }
}

/// Whether an outlet may move a lead from `from` to `to`, or the stable reason why not.
/// Leaving NEW is the first contact (an appointment made on the first call counts), so
/// a lead cannot be lost before anyone spoke to the customer — otherwise an outlet could
/// drop leads instead of letting them move on to an outlet that will call.
pub fn advance(from: Status, to: Status) -> Result<(), &'static str> {
    use Status::*;
    match (from, to) {
        (Won | Lost, _) => Err("LEAD_CLOSED"),
        (New, Contacted | Appointment)
        | (Contacted, Appointment | Won | Lost)
        | (Appointment, Appointment | Won | Lost) => Ok(()),
        _ => Err("ILLEGAL_LEAD_TRANSITION"),
    }
}

/// Why a lead was assigned to an outlet; the reasons that take a lead away from an
/// outlet are also how the previous assignment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutingReason {
    Preferred,
    Nearest,
    DeadlineMissed,
    OutletUnavailable,
    Manual,
}

db_names!(RoutingReason {
    Preferred => "PREFERRED",
    Nearest => "NEAREST",
    DeadlineMissed => "DEADLINE_MISSED",
    OutletUnavailable => "OUTLET_UNAVAILABLE",
    Manual => "MANUAL",
});

/// How many outlets one lead may be routed to automatically (the first assignment and
/// up to three re-routes); after that it stays where it is, escalated.
pub const MAX_ASSIGNMENTS: usize = 4;
/// Open time an outlet has for first contact unless the lead says otherwise.
pub const DEFAULT_RESPONSE_WINDOW: TimeDelta = TimeDelta::hours(4);
/// Shortest and longest response windows accepted.
pub const MIN_RESPONSE_WINDOW: TimeDelta = TimeDelta::minutes(15);
pub const MAX_RESPONSE_WINDOW: TimeDelta = TimeDelta::days(5);

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn transition_table() {
        let all = [New, Contacted, Appointment, Won, Lost];
        let legal = [
            (New, Contacted),
            (New, Appointment),
            (Contacted, Appointment),
            (Contacted, Won),
            (Contacted, Lost),
            (Appointment, Appointment),
            (Appointment, Won),
            (Appointment, Lost),
        ];
        for from in all {
            for to in all {
                let got = advance(from, to);
                if legal.contains(&(from, to)) {
                    assert_eq!(got, Ok(()), "{from:?} → {to:?}");
                } else if matches!(from, Won | Lost) {
                    assert_eq!(got, Err("LEAD_CLOSED"), "{from:?} → {to:?}");
                } else {
                    assert_eq!(got, Err("ILLEGAL_LEAD_TRANSITION"), "{from:?} → {to:?}");
                }
            }
        }
    }

    #[test]
    fn interests_route_by_capability() {
        use crate::domain::outlet::Capability;
        assert_eq!(Interest::Service.action().capability(), Capability::Service);
        for i in [Interest::Buy, Interest::TestDrive, Interest::TradeIn] {
            assert_eq!(i.action().capability(), Capability::Sales);
        }
        assert!(Contacted.is_open() && !Won.is_open());
    }
}
