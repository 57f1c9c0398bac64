//! The maker's catalogue: model codes and their retail prices over time.

use chrono::{DateTime, NaiveDate, Utc};
use dealernet_kit::db_names;

/// Body style of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Sedan,
    Hatchback,
    Suv,
    Mpv,
    Pickup,
    Van,
}

/// Powertrain of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Powertrain {
    Ice,
    Hev,
    Phev,
    Bev,
}

db_names!(Body { Sedan => "SEDAN", Hatchback => "HATCHBACK", Suv => "SUV", Mpv => "MPV", Pickup => "PICKUP", Van => "VAN" });
db_names!(Powertrain { Ice => "ICE", Hev => "HEV", Phev => "PHEV", Bev => "BEV" });

/// A catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub code: String,
    pub brand: String,
    pub series: String,
    pub body: Body,
    pub powertrain: Powertrain,
    pub model_year: i32,
    pub warranty_months: i32,
    pub warranty_km: i32,
    pub create_time: DateTime<Utc>,
}

/// A retail price for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    pub model_code: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub currency_code: String,
    pub minor_units: i64,
}

impl Price {
    /// Whether two periods share a day (an open end runs forever).
    pub fn overlaps(&self, other: &Price) -> bool {
        let ends_before = |a: &Price, b: &Price| a.valid_to.is_some_and(|to| to < b.valid_from);
        !(ends_before(self, other) || ends_before(other, self))
    }
}

/// Checks a model code: 2 to 20 characters of A-Z, 0-9 and '-'.
pub fn check_code(code: &str) -> Result<(), String> {
    let ok = (2..=20).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err("must be 2 to 20 characters of A-Z, 0-9 and '-'".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(from: (i32, u32, u32), to: Option<(i32, u32, u32)>) -> Price {
        let d = |(y, m, day): (i32, u32, u32)| NaiveDate::from_ymd_opt(y, m, day).expect("date");
        Price {
            model_code: "M".into(),
            valid_from: d(from),
            valid_to: to.map(d),
            currency_code: "CNY".into(),
            minor_units: 1,
        }
    }

    #[test]
    fn periods_overlap_when_they_share_a_day() {
        let jan = price((2026, 1, 1), Some((2026, 1, 31)));
        assert!(!jan.overlaps(&price((2026, 2, 1), None)));
        assert!(jan.overlaps(&price((2026, 1, 31), None)));
        assert!(price((2025, 1, 1), None).overlaps(&price((2030, 1, 1), None)));
        assert!(!price((2027, 1, 1), None).overlaps(&jan));
    }

    #[test]
    fn codes() {
        assert!(check_code("DA7-2026").is_ok());
        assert!(check_code("d").is_err());
        assert!(check_code("A B").is_err());
    }
}
