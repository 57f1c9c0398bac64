//! Outlets: what they can do, their status, and the one rule deciding whether an outlet
//! may do something now (used by CheckOutletPermission and by lead routing alike).

use chrono::{DateTime, Utc};
use dealernet_kit::db_names;

use super::{geo::Point, hours::Calendar};

/// An outlet as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Outlet {
    pub code: String,
    pub display_name: String,
    /// The owning group's code; `None` for an independent outlet.
    pub group: Option<String>,
    pub region: String,
    pub address: Address,
    pub location: Point,
    /// Sorted, no repeats.
    pub capabilities: Vec<Capability>,
    pub brands: Vec<String>,
    pub phone: String,
    pub calendar: Calendar,
    pub status: Status,
    pub status_reason: String,
    pub status_time: DateTime<Utc>,
    pub version: i64,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// Where an outlet is, as on its signboard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub province: String,
    pub city: String,
    pub district: String,
    pub street: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub region_code: String,
}

/// A dealer group as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub code: String,
    pub display_name: String,
    pub create_time: DateTime<Utc>,
}

/// What an outlet does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    Sales,
    Service,
    Parts,
    Survey,
}

db_names!(Capability {
    Sales => "SALES",
    Service => "SERVICE",
    Parts => "PARTS",
    Survey => "SURVEY",
});

impl Capability {
    pub const ALL: [Capability; 4] = [
        Capability::Sales,
        Capability::Service,
        Capability::Parts,
        Capability::Survey,
    ];
}

/// True for a "4S" outlet: sales, service, parts and survey.
pub fn is_four_s(capabilities: &[Capability]) -> bool {
    Capability::ALL.iter().all(|c| capabilities.contains(c))
}

/// Where an outlet is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Active,
    Suspended,
    Closed,
}

db_names!(Status {
    Active => "ACTIVE",
    Suspended => "SUSPENDED",
    Closed => "CLOSED",
});

/// An HQ decision about an outlet's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Suspend,
    Reactivate,
    Close,
}

impl StatusChange {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusChange::Suspend => "SUSPEND",
            StatusChange::Reactivate => "REACTIVATE",
            StatusChange::Close => "CLOSE",
        }
    }

    /// The status after the change, or the stable reason it is refused.
    pub fn apply(self, from: Status) -> Result<Status, &'static str> {
        match (self, from) {
            (_, Status::Closed) => Err("OUTLET_CLOSED"),
            (StatusChange::Suspend, Status::Active) => Ok(Status::Suspended),
            (StatusChange::Suspend, Status::Suspended) => Err("OUTLET_ALREADY_SUSPENDED"),
            (StatusChange::Reactivate, Status::Suspended) => Ok(Status::Active),
            (StatusChange::Reactivate, Status::Active) => Err("OUTLET_NOT_SUSPENDED"),
            (StatusChange::Close, Status::Active | Status::Suspended) => Ok(Status::Closed),
        }
    }
}

/// Something an outlet may or may not do right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ReceiveStock,
    Reserve,
    Sell,
    Repair,
    ReceiveSalesLead,
    ReceiveServiceLead,
}

impl Action {
    /// The capability the action needs.
    pub fn capability(self) -> Capability {
        match self {
            Action::ReceiveStock | Action::Reserve | Action::Sell | Action::ReceiveSalesLead => {
                Capability::Sales
            }
            Action::Repair | Action::ReceiveServiceLead => Capability::Service,
        }
    }
}

/// Whether an outlet in `status` with `capabilities` may do `action` now; the stable
/// refusal reason otherwise. Status is checked first: a suspended outlet is reported as
/// suspended even when it also lacks the capability, since that is what HQ must undo.
pub fn permits(
    status: Status,
    capabilities: &[Capability],
    action: Action,
) -> Result<(), &'static str> {
    match status {
        Status::Suspended => Err("OUTLET_SUSPENDED"),
        Status::Closed => Err("OUTLET_CLOSED"),
        Status::Active if !capabilities.contains(&action.capability()) => {
            Err("OUTLET_LACKS_CAPABILITY")
        }
        Status::Active => Ok(()),
    }
}

/// Checks an outlet or group code: 1 to 32 characters of A-Z, 0-9, '-' or '_' — the
/// shape of a token's organisation, since an outlet's staff act under its code.
pub fn check_code(code: &str) -> Result<(), &'static str> {
    let ok = (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err("must be 1 to 32 characters of A-Z, 0-9, '-' or '_'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_table() {
        use Action::*;
        use Capability::*;
        let four_s = [Sales, Service, Parts, Survey];
        let station = [Service, Parts];
        type Case<'a> = (Status, &'a [Capability], Action, Result<(), &'a str>);
        let cases: &[Case] = &[
            (Status::Active, &four_s, Sell, Ok(())),
            (Status::Active, &four_s, Repair, Ok(())),
            (Status::Active, &station, Repair, Ok(())),
            (
                Status::Active,
                &station,
                ReceiveStock,
                Err("OUTLET_LACKS_CAPABILITY"),
            ),
            (
                Status::Active,
                &station,
                ReceiveSalesLead,
                Err("OUTLET_LACKS_CAPABILITY"),
            ),
            (Status::Active, &station, ReceiveServiceLead, Ok(())),
            (Status::Active, &[Sales], Reserve, Ok(())),
            (Status::Suspended, &four_s, Sell, Err("OUTLET_SUSPENDED")),
            (Status::Suspended, &station, Sell, Err("OUTLET_SUSPENDED")),
            (Status::Closed, &four_s, ReceiveStock, Err("OUTLET_CLOSED")),
        ];
        for (status, caps, action, want) in cases {
            assert_eq!(
                permits(*status, caps, *action),
                *want,
                "{status:?} {caps:?} {action:?}"
            );
        }
    }

    #[test]
    fn status_changes() {
        use StatusChange::*;
        assert_eq!(Suspend.apply(Status::Active), Ok(Status::Suspended));
        assert_eq!(
            Suspend.apply(Status::Suspended),
            Err("OUTLET_ALREADY_SUSPENDED")
        );
        assert_eq!(Reactivate.apply(Status::Suspended), Ok(Status::Active));
        assert_eq!(
            Reactivate.apply(Status::Active),
            Err("OUTLET_NOT_SUSPENDED")
        );
        assert_eq!(Close.apply(Status::Suspended), Ok(Status::Closed));
        for change in [Suspend, Reactivate, Close] {
            assert_eq!(change.apply(Status::Closed), Err("OUTLET_CLOSED"));
        }
    }

    #[test]
    fn codes_and_four_s() {
        assert!(check_code("D1001").is_ok());
        assert!(check_code("SH-PD_01").is_ok());
        for bad in ["", "d1001", "D 1", &"X".repeat(33), "上海"] {
            assert!(check_code(bad).is_err(), "{bad}");
        }
        assert!(is_four_s(&Capability::ALL));
        assert!(!is_four_s(&[Capability::Sales, Capability::Service]));
    }
}
