//! Calendar months in requests: a `types.v1.Date` naming a month (day unset or 1), and
//! inclusive month ranges, as the HQ insights take them.

use chrono::{Datelike, NaiveDate};
use dealernet_proto::types::v1 as types;

use crate::error::FieldViolations;

/// The longest range of months one insight request may span (ten years).
pub const MAX_MONTHS: i32 = 120;

/// The first day of the month `d` names; problems are added to `v` under `field`.
pub fn month(v: &mut FieldViolations, field: &str, d: Option<&types::Date>) -> Option<NaiveDate> {
    let Some(d) = d else {
        v.add(field, "required: a year and month");
        return None;
    };
    if d.day != 0 && d.day != 1 {
        v.add(
            format!("{field}.day"),
            "must be unset (0) or 1: a month is asked for",
        );
        return None;
    }
    let first = u32::try_from(d.month)
        .ok()
        .filter(|_| (1..=9999).contains(&d.year))
        .and_then(|m| NaiveDate::from_ymd_opt(d.year, m, 1));
    if first.is_none() {
        v.add(field, "is not a month: year 1 to 9999, month 1 to 12");
    }
    first
}

/// An inclusive range of months: `end` not before `start`, at most [`MAX_MONTHS`] months.
pub fn month_range(
    v: &mut FieldViolations,
    (start_field, start): (&str, Option<&types::Date>),
    (end_field, end): (&str, Option<&types::Date>),
) -> Option<(NaiveDate, NaiveDate)> {
    let (start, end) = (month(v, start_field, start), month(v, end_field, end));
    let (start, end) = (start?, end?);
    let span = (end.year() - start.year()) * 12 + end.month() as i32 - start.month() as i32 + 1;
    if span < 1 {
        v.add(end_field, "must not be before the start month");
        return None;
    }
    if span > MAX_MONTHS {
        v.add(
            end_field,
            format!("at most {MAX_MONTHS} months after the start month"),
        );
        return None;
    }
    Some((start, end))
}

/// A month as the API shows it (day 1).
pub fn month_to_proto(d: NaiveDate) -> types::Date {
    types::Date {
        year: d.year(),
        month: d.month() as i32,
        day: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: i32, day: i32) -> types::Date {
        types::Date { year, month, day }
    }

    #[test]
    fn ranges_are_inclusive_and_bounded() {
        let mut v = FieldViolations::new();
        let r = month_range(
            &mut v,
            ("start", Some(&date(2025, 11, 0))),
            ("end", Some(&date(2026, 2, 1))),
        );
        assert_eq!(
            r,
            NaiveDate::from_ymd_opt(2025, 11, 1).zip(NaiveDate::from_ymd_opt(2026, 2, 1))
        );
        assert!(v.into_result().is_ok());
        let mut v = FieldViolations::new();
        let one = month_range(
            &mut v,
            ("s", Some(&date(2026, 3, 1))),
            ("e", Some(&date(2026, 3, 1))),
        );
        assert!(one.is_some());
        let mut v = FieldViolations::new();
        assert!(
            month_range(
                &mut v,
                ("s", Some(&date(2026, 3, 1))),
                ("e", Some(&date(2026, 2, 1)))
            )
            .is_none()
        );
        assert!(v.into_result().is_err());
        let mut v = FieldViolations::new();
        assert!(
            month_range(
                &mut v,
                ("s", Some(&date(2010, 1, 1))),
                ("e", Some(&date(2020, 1, 1)))
            )
            .is_none()
        );
        assert!(v.into_result().is_err());
    }

    #[test]
    fn refuses_days_and_impossible_months() {
        for bad in [
            date(2026, 13, 0),
            date(2026, 0, 0),
            date(0, 1, 0),
            date(2026, 5, 17),
        ] {
            let mut v = FieldViolations::new();
            assert!(month(&mut v, "m", Some(&bad)).is_none(), "{bad:?}");
            assert!(v.into_result().is_err());
        }
        let mut v = FieldViolations::new();
        assert!(month(&mut v, "m", None).is_none());
        assert!(v.into_result().is_err());
    }
}
