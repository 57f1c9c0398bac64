//! Business-hours arithmetic: opening hours per weekday in one fixed UTC offset, with
//! closed dates (public holidays). SLAs, deadlines and calling windows count time only
//! while a calendar is open. China keeps one offset (+08:00) all year, so a fixed offset
//! per calendar is exact there.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Timelike, Utc,
};

/// The longest span searched for an open hour; a calendar never open within it is
/// treated as never open.
pub const HORIZON_DAYS: i64 = 800;
const DAY_MINUTES: u16 = 24 * 60;

/// Opening hours per weekday (any number of periods a day, e.g. with a lunch break) and
/// closed dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    offset: FixedOffset,
    /// Monday first: open periods as minutes of the local day, `[open, close)`, sorted
    /// and apart; `close` may be 1440 (midnight).
    week: [Vec<(u16, u16)>; 7],
    closed: BTreeSet<NaiveDate>,
}

fn minutes(t: NaiveTime) -> u16 {
    (t.hour() * 60 + t.minute()) as u16
}

impl Calendar {
    /// A calendar with at most one open span per weekday (Monday first).
    pub fn new(
        offset: FixedOffset,
        week: [Option<(NaiveTime, NaiveTime)>; 7],
        closed: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Calendar, String> {
        let periods: Vec<(u32, u16, u16)> = week
            .iter()
            .enumerate()
            .filter_map(|(day, span)| span.map(|(o, c)| (day as u32, minutes(o), minutes(c))))
            .collect();
        Calendar::from_periods(offset, &periods, closed)
    }

    /// A calendar from (weekday 0 = Monday, open minute, close minute) periods; a close
    /// of 1440 is midnight. Periods of one day must not overlap.
    pub fn from_periods(
        offset: FixedOffset,
        periods: &[(u32, u16, u16)],
        closed: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Calendar, String> {
        let mut week: [Vec<(u16, u16)>; 7] = Default::default();
        for &(day, open, close) in periods {
            if day > 6 || open >= close || close > DAY_MINUTES {
                return Err(format!(
                    "weekday {}: {open} to {close} is not an opening period",
                    day + 1
                ));
            }
            week[day as usize].push((open, close));
        }
        for (day, spans) in week.iter_mut().enumerate() {
            spans.sort_unstable();
            if spans.windows(2).any(|w| w[0].1 > w[1].0) {
                return Err(format!("weekday {}: opening periods overlap", day + 1));
            }
        }
        Ok(Calendar {
            offset,
            week,
            closed: closed.into_iter().collect(),
        })
    }

    /// The same hours every day.
    pub fn daily(
        offset: FixedOffset,
        open: NaiveTime,
        close: NaiveTime,
        closed: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Calendar, String> {
        Calendar::new(offset, [Some((open, close)); 7], closed)
    }

    /// China Standard Time, +08:00.
    pub fn china_offset() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
    }

    pub fn offset(&self) -> FixedOffset {
        self.offset
    }

    /// The open spans of a local date, in order.
    fn spans(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.closed.contains(&date) {
            return Vec::new();
        }
        let Some(midnight) = self
            .offset
            .from_local_datetime(&date.and_time(NaiveTime::MIN))
            .single()
            .map(|d| d.with_timezone(&Utc))
        else {
            return Vec::new();
        };
        self.week[date.weekday().num_days_from_monday() as usize]
            .iter()
            .map(|&(open, close)| {
                (
                    midnight + Duration::minutes(i64::from(open)),
                    midnight + Duration::minutes(i64::from(close)),
                )
            })
            .collect()
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.offset).date_naive()
    }

    /// Whether the local date of `at` has open hours at all (not a closed weekday, not a
    /// closed date).
    pub fn is_business_day(&self, at: DateTime<Utc>) -> bool {
        !self.spans(self.local_date(at)).is_empty()
    }

    /// Whether the calendar is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.spans(self.local_date(at))
            .iter()
            .any(|(open, close)| *open <= at && at < *close)
    }

    /// The first open moment at or after `at`; `None` if never open.
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let first = self.local_date(at);
        (0..HORIZON_DAYS).find_map(|d| {
            self.spans(first + Duration::days(d))
                .into_iter()
                .find(|(_, close)| at < *close)
                .map(|(open, _)| open.max(at))
        })
    }

    /// The first open moment on a later local date than `at`'s ("the next business
    /// day"); `None` if never open.
    pub fn next_day_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let first = self.local_date(at);
        (1..HORIZON_DAYS).find_map(|d| {
            self.spans(first + Duration::days(d))
                .first()
                .map(|(open, _)| *open)
        })
    }

    /// The moment `minutes` of open time after `start`; `None` if never reached.
    pub fn add_open_minutes(&self, start: DateTime<Utc>, minutes: i64) -> Option<DateTime<Utc>> {
        self.add_open_time(start, Duration::minutes(minutes))
    }

    /// The moment `open_time` of open time after `start` (closed time does not count; a
    /// span used up exactly ends at its closing time); `None` if never reached.
    pub fn add_open_time(
        &self,
        start: DateTime<Utc>,
        open_time: Duration,
    ) -> Option<DateTime<Utc>> {
        let mut left = open_time.max(Duration::zero());
        let mut t = start;
        let first = self.local_date(start);
        for d in 0..HORIZON_DAYS {
            for (open, close) in self.spans(first + Duration::days(d)) {
                if t >= close {
                    continue;
                }
                t = t.max(open);
                let available = close - t;
                if left <= available {
                    return Some(t + left);
                }
                left -= available;
                t = close;
            }
        }
        None
    }

    /// Open minutes (rounded down) between `from` and `to`; 0 when `to` is not later.
    pub fn open_minutes_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = Duration::zero();
        let (first, last) = (self.local_date(from), self.local_date(to));
        let mut date = first;
        while date <= last {
            for (open, close) in self.spans(date) {
                let (a, b) = (open.max(from), close.min(to));
                if a < b {
                    total += b - a;
                }
            }
            date += Duration::days(1);
        }
        total.num_minutes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("time")
    }

    /// A local (+08:00) moment.
    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Calendar::china_offset()
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("moment")
            .with_timezone(&Utc)
    }

    /// Mon–Fri 09:00–18:00, Sat 09:00–12:00, Sunday closed; 2026-10-01 (Thursday) a
    /// holiday.
    fn office() -> Calendar {
        let weekday = Some((t(9, 0), t(18, 0)));
        Calendar::new(
            Calendar::china_offset(),
            [
                weekday,
                weekday,
                weekday,
                weekday,
                weekday,
                Some((t(9, 0), t(12, 0))),
                None,
            ],
            [NaiveDate::from_ymd_opt(2026, 10, 1).expect("date")],
        )
        .expect("calendar")
    }

    #[test]
    fn adding_open_minutes_skips_nights_weekends_and_holidays() {
        let c = office();
        // (start, minutes, expected end) — 2026-09-28 is a Monday.
        let cases = [
            (at(2026, 9, 28, 10, 0), 60, at(2026, 9, 28, 11, 0)),
            (at(2026, 9, 28, 17, 30), 60, at(2026, 9, 29, 9, 30)),
            (at(2026, 9, 28, 7, 0), 30, at(2026, 9, 28, 9, 30)),
            (at(2026, 9, 28, 20, 0), 0, at(2026, 9, 29, 9, 0)),
            // Wednesday 17:00 + 2 h: the 1st is a holiday → Friday 10:00.
            (at(2026, 9, 30, 17, 0), 120, at(2026, 10, 2, 10, 0)),
            // Friday 17:00 + 4 h: 1 h Friday, 3 h Saturday → Monday, 0 h left at Sat noon.
            (at(2026, 10, 2, 17, 0), 240, at(2026, 10, 3, 12, 0)),
            (at(2026, 10, 2, 17, 0), 241, at(2026, 10, 5, 9, 1)),
            // Sunday: nothing is open until Monday.
            (at(2026, 10, 4, 11, 0), 15, at(2026, 10, 5, 9, 15)),
        ];
        for (start, minutes, want) in cases {
            assert_eq!(
                c.add_open_minutes(start, minutes),
                Some(want),
                "{start} + {minutes}"
            );
        }
    }

    #[test]
    fn open_minutes_between_is_the_inverse() {
        let c = office();
        let from = at(2026, 9, 30, 17, 0);
        for minutes in [0, 1, 59, 60, 61, 180, 241, 600, 2_000] {
            let end = c.add_open_minutes(from, minutes).expect("end");
            assert_eq!(c.open_minutes_between(from, end), minutes, "{minutes}");
        }
        assert_eq!(
            c.open_minutes_between(at(2026, 10, 3, 12, 0), at(2026, 10, 5, 9, 0)),
            0
        );
    }

    #[test]
    fn next_open_and_next_day() {
        let c = office();
        assert_eq!(
            c.next_open(at(2026, 9, 28, 10, 0)),
            Some(at(2026, 9, 28, 10, 0))
        );
        assert_eq!(
            c.next_open(at(2026, 9, 28, 18, 0)),
            Some(at(2026, 9, 29, 9, 0))
        );
        assert_eq!(
            c.next_open(at(2026, 9, 30, 19, 0)),
            Some(at(2026, 10, 2, 9, 0))
        );
        assert_eq!(
            c.next_day_open(at(2026, 9, 28, 8, 0)),
            Some(at(2026, 9, 29, 9, 0))
        );
        assert_eq!(
            c.next_day_open(at(2026, 10, 3, 10, 0)),
            Some(at(2026, 10, 5, 9, 0))
        );
        assert!(c.is_open(at(2026, 10, 3, 11, 59)) && !c.is_open(at(2026, 10, 3, 12, 0)));
        let never = Calendar::new(Calendar::china_offset(), [None; 7], []).expect("calendar");
        assert_eq!(never.add_open_minutes(at(2026, 1, 1, 0, 0), 1), None);
        assert_eq!(never.next_open(at(2026, 1, 1, 0, 0)), None);
        assert!(Calendar::daily(Calendar::china_offset(), t(10, 0), t(9, 0), []).is_err());
    }

    #[test]
    fn several_periods_a_day_and_midnight() {
        // Monday to Sunday 09:00–12:00 and 13:30–24:00.
        let periods: Vec<(u32, u16, u16)> = (0..7)
            .flat_map(|d| [(d, 9 * 60, 12 * 60), (d, 13 * 60 + 30, 24 * 60)])
            .collect();
        let c = Calendar::from_periods(Calendar::china_offset(), &periods, []).expect("calendar");
        // Monday 11:30 + 60 open minutes: 30 before lunch, 30 after.
        assert_eq!(
            c.add_open_minutes(at(2026, 9, 28, 11, 30), 60),
            Some(at(2026, 9, 28, 14, 0))
        );
        assert!(!c.is_open(at(2026, 9, 28, 12, 30)));
        assert_eq!(
            c.next_open(at(2026, 9, 28, 12, 30)),
            Some(at(2026, 9, 28, 13, 30))
        );
        assert_eq!(
            c.open_minutes_between(at(2026, 9, 28, 11, 0), at(2026, 9, 28, 14, 0)),
            90
        );
        // Open until midnight: 23:30 + 60 runs into Tuesday 09:30.
        assert_eq!(
            c.add_open_minutes(at(2026, 9, 28, 23, 30), 60),
            Some(at(2026, 9, 29, 9, 30))
        );
        assert!(
            Calendar::from_periods(
                Calendar::china_offset(),
                &[(0, 600, 700), (0, 650, 800)],
                []
            )
            .is_err()
        );
        assert!(Calendar::from_periods(Calendar::china_offset(), &[(0, 600, 1441)], []).is_err());
    }
}
