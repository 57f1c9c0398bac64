//! The scorecard figures taken from other services' events, and the ranking of outlets
//! by one of them: local days, repair turnaround, recall completion, ranking order.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// The outlet's local calendar day of `at`, in its fixed UTC offset.
pub fn local_day(at: DateTime<Utc>, utc_offset_minutes: i32) -> NaiveDate {
    (at.naive_utc() + TimeDelta::minutes(i64::from(utc_offset_minutes))).date()
}

/// A closed repair order's turnaround: from opening to work completed, or to closing
/// when the order names no completion. `None` when the end is before the opening.
pub fn repair_turnaround(
    opened: DateTime<Utc>,
    completed: Option<DateTime<Utc>>,
    closed: DateTime<Utc>,
) -> Option<TimeDelta> {
    let turnaround = completed.unwrap_or(closed) - opened;
    (turnaround >= TimeDelta::zero()).then_some(turnaround)
}

/// Remedies performed over cars answerable for, at most 1 (an outlet may remedy cars
/// another outlet answers for); `None` when it answers for none.
pub fn recall_completion(remedies: i64, answerable: i64) -> Option<f64> {
    (answerable > 0).then(|| (remedies as f64 / answerable as f64).min(1.0))
}

/// A figure outlets are ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Sales,
    Conversion,
    Satisfaction,
    RepairTurnaround,
    RecallCompletion,
}

impl Metric {
    /// Whether a lower figure is the better one.
    pub fn lower_is_better(self) -> bool {
        self == Metric::RepairTurnaround
    }

    /// The order of a ranking: the better figure first, then by outlet code.
    pub fn order(self, a: (f64, &str), b: (f64, &str)) -> Ordering {
        let by_value = if self.lower_is_better() {
            a.0.total_cmp(&b.0)
        } else {
            b.0.total_cmp(&a.0)
        };
        by_value.then_with(|| a.1.cmp(b.1))
    }
}

/// One outlet's place in a ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// 1 for the best.
    pub rank: i64,
    pub outlet: String,
    pub value: f64,
}

/// Ranks `(outlet, figure)` pairs by `metric`, best first.
pub fn rank(metric: Metric, mut figures: Vec<(String, f64)>) -> Vec<Ranked> {
    figures.sort_by(|a, b| metric.order((a.1, &a.0), (b.1, &b.0)));
    figures
        .into_iter()
        .zip(1..)
        .map(|((outlet, value), rank)| Ranked {
            rank,
            outlet,
            value,
        })
        .collect()
}

/// The part of a ranking after `after` (the last entry of the previous page, as
/// (figure, outlet)): stable while the figures do not change.
pub fn after<'a>(metric: Metric, ranked: &'a [Ranked], after: Option<(f64, &str)>) -> &'a [Ranked] {
    let Some(last) = after else {
        return ranked;
    };
    let start =
        ranked.partition_point(|r| metric.order((r.value, &r.outlet), last) != Ordering::Greater);
    &ranked[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").to_utc()
    }

    #[test]
    fn local_days_follow_the_outlet_s_offset() {
        let t = at("2026-11-16T17:30:00Z");
        assert_eq!(local_day(t, 0).to_string(), "2026-11-16");
        assert_eq!(local_day(t, 480).to_string(), "2026-11-17");
        assert_eq!(
            local_day(at("2026-11-16T00:30:00Z"), -60).to_string(),
            "2026-11-15"
        );
    }

    #[test]
    fn turnaround_runs_from_opening_to_completion_else_closing() {
        let open = at("2026-11-16T09:00:00Z");
        let done = at("2026-11-16T15:00:00Z");
        let closed = at("2026-11-17T10:00:00Z");
        assert_eq!(
            repair_turnaround(open, Some(done), closed),
            Some(TimeDelta::hours(6))
        );
        assert_eq!(
            repair_turnaround(open, None, closed),
            Some(TimeDelta::hours(25))
        );
        assert_eq!(repair_turnaround(closed, Some(open), closed), None);
    }

    #[test]
    fn recall_completion_is_a_share_capped_at_one() {
        assert_eq!(recall_completion(1, 4), Some(0.25));
        assert_eq!(recall_completion(5, 4), Some(1.0));
        assert_eq!(recall_completion(3, 0), None);
    }

    #[test]
    fn rankings_put_the_better_figure_first_and_break_ties_by_code() {
        let figures = vec![
            ("B".to_owned(), 2.0),
            ("A".to_owned(), 2.0),
            ("C".to_owned(), 5.0),
            ("D".to_owned(), 1.0),
        ];
        let codes = |r: &[Ranked]| r.iter().map(|r| r.outlet.clone()).collect::<Vec<_>>();
        let sales = rank(Metric::Sales, figures.clone());
        assert_eq!(codes(&sales), ["C", "A", "B", "D"]);
        assert_eq!(
            sales.iter().map(|r| r.rank).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        let turnaround = rank(Metric::RepairTurnaround, figures);
        assert_eq!(codes(&turnaround), ["D", "A", "B", "C"]);

        assert_eq!(
            codes(after(Metric::Sales, &sales, None)),
            ["C", "A", "B", "D"]
        );
        assert_eq!(
            codes(after(Metric::Sales, &sales, Some((2.0, "A")))),
            ["B", "D"]
        );
        assert_eq!(
            codes(after(Metric::Sales, &sales, Some((1.0, "D")))),
            Vec::<String>::new()
        );
        // The previous page's last outlet has since moved: the cursor is a place, not a row.
        assert_eq!(
            codes(after(Metric::Sales, &sales, Some((3.0, "Z")))),
            ["A", "B", "D"]
        );
    }
}
