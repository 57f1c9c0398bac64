//! Repair orders: the workshop workflow, who pays for a line, and the money on it.

use chrono::{DateTime, Utc};
use dealernet_kit::db_names;
use uuid::Uuid;

use super::vin::Vin;

/// Where a repair order is in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Open,
    InProgress,
    WaitingParts,
    Completed,
    Closed,
}

db_names!(Status {
    Open => "OPEN",
    InProgress => "IN_PROGRESS",
    WaitingParts => "WAITING_PARTS",
    Completed => "COMPLETED",
    Closed => "CLOSED",
});

impl Status {
    pub const ALL: &'static [Status] = &[
        Status::Open,
        Status::InProgress,
        Status::WaitingParts,
        Status::Completed,
        Status::Closed,
    ];

    /// Whether lines may still be added or removed.
    pub fn lines_editable(self) -> bool {
        matches!(
            self,
            Status::Open | Status::InProgress | Status::WaitingParts
        )
    }

    /// Whether the workflow allows going from `self` to `to`; the refusal reason if not.
    pub fn check_move(self, to: Status) -> Result<(), &'static str> {
        use Status::*;
        match (self, to) {
            (Open, InProgress)
            | (InProgress, WaitingParts)
            | (WaitingParts, InProgress)
            | (InProgress, Completed)
            | (Completed, Closed) => Ok(()),
            (Closed, _) => Err("REPAIR_ORDER_CLOSED"),
            _ => Err("REPAIR_ORDER_TRANSITION_NOT_ALLOWED"),
        }
    }
}

/// Who pays for a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayType {
    Customer,
    Warranty,
    Goodwill,
    Recall,
}

db_names!(PayType {
    Customer => "CUSTOMER",
    Warranty => "WARRANTY",
    Goodwill => "GOODWILL",
    Recall => "RECALL",
});

/// What a line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Labour {
        operation_code: String,
        /// Hours in hundredths.
        hundredths: i32,
        technician: String,
        /// Price of one hour, minor units.
        rate_minor: i64,
    },
    Part {
        part_number: String,
        batch: String,
        serial: String,
        quantity: i32,
        unit_minor: i64,
    },
}

impl Item {
    /// Hours × rate (rounded half up to the minor unit) or quantity × unit price; `None`
    /// on overflow.
    pub fn amount_minor(&self) -> Option<i64> {
        match self {
            Item::Labour {
                hundredths,
                rate_minor,
                ..
            } => {
                let cents = i128::from(*hundredths) * i128::from(*rate_minor);
                i64::try_from((cents + 50) / 100).ok()
            }
            Item::Part {
                quantity,
                unit_minor,
                ..
            } => unit_minor.checked_mul(i64::from(*quantity)),
        }
    }
}

/// A line as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: i32,
    pub item: Item,
    pub pay_type: PayType,
    pub fault_code: String,
    pub description: String,
    /// For recall lines, the campaign code.
    pub recall_campaign: Option<String>,
    pub amount_minor: i64,
}

/// The sums written when an order closes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub labour_hundredths: i64,
    pub labour_minor: i64,
    pub parts_minor: i64,
    pub customer_minor: i64,
    pub warranty_minor: i64,
    pub goodwill_minor: i64,
    pub recall_minor: i64,
}

impl Totals {
    pub fn of(lines: &[Line]) -> Totals {
        let mut t = Totals::default();
        for line in lines {
            match line.item {
                Item::Labour { hundredths, .. } => {
                    t.labour_hundredths += i64::from(hundredths);
                    t.labour_minor += line.amount_minor;
                }
                Item::Part { .. } => t.parts_minor += line.amount_minor,
            }
            *match line.pay_type {
                PayType::Customer => &mut t.customer_minor,
                PayType::Warranty => &mut t.warranty_minor,
                PayType::Goodwill => &mut t.goodwill_minor,
                PayType::Recall => &mut t.recall_minor,
            } += line.amount_minor;
        }
        t
    }

    pub fn total_minor(&self) -> i64 {
        self.labour_minor + self.parts_minor
    }
}

/// A repair order without its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairOrder {
    pub id: Uuid,
    pub vin: Vin,
    pub station: String,
    pub customer: Option<Uuid>,
    pub service_advisor: String,
    pub complaint: String,
    pub diagnosis: String,
    pub odometer_km: i64,
    pub status: Status,
    pub currency_code: String,
    pub opened_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Set when the order closes.
    pub totals: Option<Totals>,
    pub version: i64,
    pub update_time: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_moves() {
        use Status::*;
        let allowed = [
            (Open, InProgress),
            (InProgress, WaitingParts),
            (WaitingParts, InProgress),
            (InProgress, Completed),
            (Completed, Closed),
        ];
        for &from in Status::ALL {
            for &to in Status::ALL {
                let got = from.check_move(to);
                if allowed.contains(&(from, to)) {
                    assert_eq!(got, Ok(()), "{from:?} → {to:?}");
                } else if from == Closed {
                    assert_eq!(got, Err("REPAIR_ORDER_CLOSED"), "{from:?} → {to:?}");
                } else {
                    assert_eq!(
                        got,
                        Err("REPAIR_ORDER_TRANSITION_NOT_ALLOWED"),
                        "{from:?} → {to:?}"
                    );
                }
            }
        }
        assert!(Open.lines_editable() && WaitingParts.lines_editable());
        assert!(!Completed.lines_editable() && !Closed.lines_editable());
    }

    fn labour(hundredths: i32, rate_minor: i64, pay_type: PayType) -> Line {
        let item = Item::Labour {
            operation_code: "OP".into(),
            hundredths,
            technician: "T1".into(),
            rate_minor,
        };
        Line {
            number: 1,
            amount_minor: item.amount_minor().expect("amount"),
            item,
            pay_type,
            fault_code: String::new(),
            description: String::new(),
            recall_campaign: None,
        }
    }

    fn part(quantity: i32, unit_minor: i64, pay_type: PayType) -> Line {
        let item = Item::Part {
            part_number: "P".into(),
            batch: String::new(),
            serial: String::new(),
            quantity,
            unit_minor,
        };
        Line {
            amount_minor: item.amount_minor().expect("amount"),
            item,
            ..labour(1, 0, pay_type)
        }
    }

    #[test]
    fn amounts_and_totals() {
        // 1.25 h at 333.33/h = 416.6625 → 416.66; half a cent rounds up.
        assert_eq!(labour(125, 33_333, PayType::Customer).amount_minor, 41_666);
        assert_eq!(labour(50, 1, PayType::Customer).amount_minor, 1);
        assert_eq!(part(3, 12_000, PayType::Customer).amount_minor, 36_000);
        let over = Item::Part {
            part_number: "P".into(),
            batch: String::new(),
            serial: String::new(),
            quantity: 1000,
            unit_minor: i64::MAX / 10,
        };
        assert_eq!(over.amount_minor(), None);

        let lines = [
            labour(150, 20_000, PayType::Warranty),
            part(2, 5_000, PayType::Warranty),
            labour(50, 20_000, PayType::Customer),
            part(1, 7_000, PayType::Recall),
            part(1, 1_000, PayType::Goodwill),
        ];
        let t = Totals::of(&lines);
        assert_eq!(
            t,
            Totals {
                labour_hundredths: 200,
                labour_minor: 40_000,
                parts_minor: 18_000,
                customer_minor: 10_000,
                warranty_minor: 40_000,
                goodwill_minor: 1_000,
                recall_minor: 7_000,
            }
        );
        assert_eq!(t.total_minor(), 58_000);
    }
}
