//! Recall campaigns: which vehicles one affects.

use chrono::{DateTime, Utc};
use dealernet_kit::db_names;

use super::vin::Vin;

/// Whether a campaign still accepts remedies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Open,
    Closed,
}

db_names!(Status {
    Open => "OPEN",
    Closed => "CLOSED",
});

/// How a campaign chooses its vehicles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// An explicit list (kept only as the affected rows).
    Vins(Vec<Vin>),
    /// Vehicles of these models built in `[from, to)`.
    BuildWindow {
        models: Vec<String>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// Vehicles a part of this batch was fitted to by a repair order.
    PartBatch { part_number: String, batch: String },
}

impl Selection {
    /// The name stored in the database.
    pub fn kind(&self) -> &'static str {
        match self {
            Selection::Vins(_) => "VIN_LIST",
            Selection::BuildWindow { .. } => "MODEL_BUILD_WINDOW",
            Selection::PartBatch { .. } => "PART_BATCH",
        }
    }
}

/// A campaign as stored, with how many vehicles it affects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub code: String,
    pub title: String,
    pub description: String,
    pub remedy: String,
    pub selection: Selection,
    pub status: Status,
    pub affected_count: i64,
    pub create_time: DateTime<Utc>,
    pub close_time: Option<DateTime<Utc>>,
}
