//! Warranty cover: the model's months and kilometres, counted from the sale.

use chrono::{Months, NaiveDate};

/// The answer for one day and one distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    Covered,
    NotSold,
    ExpiredByTime,
    ExpiredByDistance,
    Scrapped,
}

impl Cover {
    pub fn reason(self) -> &'static str {
        match self {
            Cover::Covered => "COVERED",
            Cover::NotSold => "NOT_SOLD",
            Cover::ExpiredByTime => "EXPIRED_BY_TIME",
            Cover::ExpiredByDistance => "EXPIRED_BY_DISTANCE",
            Cover::Scrapped => "VEHICLE_SCRAPPED",
        }
    }
}

/// The last day of cover: the day before the same date `months` later.
pub fn end_date(sold_on: NaiveDate, months: u32) -> NaiveDate {
    sold_on
        .checked_add_months(Months::new(months))
        .and_then(|d| d.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

/// Cover on `day` at `km` for a car sold on `sold_on` (if sold) with the model's limits.
pub fn check(
    sold_on: Option<NaiveDate>,
    scrapped: bool,
    months: u32,
    limit_km: i64,
    day: NaiveDate,
    km: i64,
) -> Cover {
    if scrapped {
        return Cover::Scrapped;
    }
    let Some(start) = sold_on else {
        return Cover::NotSold;
    };
    if day < start {
        return Cover::NotSold;
    }
    if day > end_date(start, months) {
        return Cover::ExpiredByTime;
    }
    if km > limit_km {
        return Cover::ExpiredByDistance;
    }
    Cover::Covered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn cover_by_time_and_distance() {
        let sold = Some(d(2024, 2, 29));
        assert_eq!(
            end_date(d(2024, 2, 29), 36),
            d(2027, 2, 27),
            "Feb 29 + 36 months is Feb 28, cover ends the day before"
        );
        let cases = [
            (sold, false, d(2025, 6, 1), 20_000, Cover::Covered),
            (sold, false, d(2027, 2, 27), 99_999, Cover::Covered),
            (sold, false, d(2027, 2, 28), 10, Cover::ExpiredByTime),
            (
                sold,
                false,
                d(2025, 6, 1),
                100_001,
                Cover::ExpiredByDistance,
            ),
            (sold, false, d(2024, 2, 28), 0, Cover::NotSold),
            (None, false, d(2025, 1, 1), 0, Cover::NotSold),
            (sold, true, d(2025, 1, 1), 0, Cover::Scrapped),
        ];
        for (sold_on, scrapped, day, km, want) in cases {
            assert_eq!(
                check(sold_on, scrapped, 36, 100_000, day, km),
                want,
                "{day} {km}"
            );
        }
    }
}
