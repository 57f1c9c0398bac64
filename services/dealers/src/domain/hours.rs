//! Business hours: weekly opening periods in the outlet's local time, holiday closures by
//! date, and the one calculation lead deadlines rest on — "this much open time after
//! that instant".
//!
//! Local time is a fixed offset from UTC per outlet: mainland China is UTC+8 all year
//! (no daylight saving), so an offset is exact there and needs no time-zone database.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, Utc, Weekday};

/// Minutes in a day; a period may close at 24:00.
pub const DAY_MINUTES: u16 = 24 * 60;
/// Most opening periods on one weekday.
pub const MAX_PERIODS_PER_DAY: usize = 4;

/// One opening period of a day, in minutes since local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub open: u16,
    pub close: u16,
}

/// Parses "HH:MM" into minutes since midnight; "24:00" only when `allow_midnight_end`.
pub fn parse_clock(text: &str, allow_midnight_end: bool) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if allow_midnight_end => Some(DAY_MINUTES),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// Formats minutes since midnight as "HH:MM".
pub fn format_clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The opening periods of each weekday, sorted and non-overlapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    /// Index 0 is Monday.
    days: [Vec<Period>; 7],
}

impl WeeklyHours {
    /// Builds the week from periods in any order; the error says what is wrong.
    pub fn new(
        periods: impl IntoIterator<Item = (Weekday, Period)>,
    ) -> Result<WeeklyHours, String> {
        let mut week = WeeklyHours::default();
        for (day, p) in periods {
            if p.open >= p.close || p.close > DAY_MINUTES {
                return Err(format!(
                    "{day}: {}–{} does not close after it opens",
                    format_clock(p.open),
                    format_clock(p.close)
                ));
            }
            week.days[day.num_days_from_monday() as usize].push(p);
        }
        for (i, periods) in week.days.iter_mut().enumerate() {
            let day = Weekday::try_from(i as u8).unwrap_or(Weekday::Mon);
            if periods.len() > MAX_PERIODS_PER_DAY {
                return Err(format!("{day}: at most {MAX_PERIODS_PER_DAY} periods"));
            }
            periods.sort();
            if let Some(w) = periods.windows(2).find(|w| w[1].open < w[0].close) {
                return Err(format!(
                    "{day}: {}–{} overlaps {}–{}",
                    format_clock(w[1].open),
                    format_clock(w[1].close),
                    format_clock(w[0].open),
                    format_clock(w[0].close)
                ));
            }
        }
        Ok(week)
    }

    pub fn periods(&self, day: Weekday) -> &[Period] {
        &self.days[day.num_days_from_monday() as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }

    /// Every period, Monday first.
    pub fn iter(&self) -> impl Iterator<Item = (Weekday, Period)> + '_ {
        self.days.iter().enumerate().flat_map(|(i, ps)| {
            let day = Weekday::try_from(i as u8).unwrap_or(Weekday::Mon);
            ps.iter().map(move |p| (day, *p))
        })
    }
}

/// When an outlet is open: weekly hours in local time and dates it is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub offset: FixedOffset,
    pub hours: WeeklyHours,
    pub closed: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// The same hours as the platform's business-hours calendar, which does the
    /// arithmetic for every service.
    fn business_hours(&self) -> Option<dealernet_kit::calendar::Calendar> {
        let periods: Vec<(u32, u16, u16)> = self
            .hours
            .iter()
            .map(|(day, p)| (day.num_days_from_monday(), p.open, p.close))
            .collect();
        dealernet_kit::calendar::Calendar::from_periods(
            self.offset,
            &periods,
            self.closed.iter().copied(),
        )
        .ok()
    }

    /// The instant at which `open_time` of opening hours has passed since `start`;
    /// closed time (nights, closed weekdays, holidays) does not count. A deadline that
    /// uses up a period exactly falls on its closing time. `None` when the outlet is not
    /// open at all within the calendar's horizon.
    pub fn add_open_time(
        &self,
        start: DateTime<Utc>,
        open_time: TimeDelta,
    ) -> Option<DateTime<Utc>> {
        self.business_hours()?.add_open_time(start, open_time)
    }

    /// Whether the outlet is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.business_hours().is_some_and(|c| c.is_open(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Weekday::*;

    fn p(open: &str, close: &str) -> Period {
        Period {
            open: parse_clock(open, false).expect("open"),
            close: parse_clock(close, true).expect("close"),
        }
    }

    /// Mon–Fri 09:00–18:00 in Shanghai (UTC+8).
    fn office(closed: &[&str]) -> Calendar {
        let week = [Mon, Tue, Wed, Thu, Fri].map(|d| (d, p("09:00", "18:00")));
        Calendar {
            offset: FixedOffset::east_opt(8 * 3600).expect("offset"),
            hours: WeeklyHours::new(week).expect("week"),
            closed: closed.iter().map(|d| d.parse().expect("date")).collect(),
        }
    }

    /// A Shanghai local time as an instant.
    fn sh(local: &str) -> DateTime<Utc> {
        DateTime::parse_from_str(&format!("{local} +0800"), "%Y-%m-%d %H:%M %z")
            .expect("time")
            .to_utc()
    }

    #[test]
    fn deadlines_skip_nights_weekends_and_holidays() {
        // 2026-11-20 is a Friday; 2026-11-23 the Monday after.
        let cases: &[(&str, i64, &[&str], &str, &str)] = &[
            (
                "2026-11-18 10:00",
                240,
                &[],
                "2026-11-18 14:00",
                "within one day",
            ),
            (
                "2026-11-18 16:00",
                240,
                &[],
                "2026-11-19 11:00",
                "overnight",
            ),
            (
                "2026-11-18 07:30",
                120,
                &[],
                "2026-11-18 11:00",
                "before opening",
            ),
            (
                "2026-11-18 19:00",
                60,
                &[],
                "2026-11-19 10:00",
                "after closing",
            ),
            (
                "2026-11-18 14:00",
                240,
                &[],
                "2026-11-18 18:00",
                "uses the day up exactly",
            ),
            (
                "2026-11-20 17:00",
                240,
                &[],
                "2026-11-23 12:00",
                "across the weekend",
            ),
            (
                "2026-11-21 11:00",
                60,
                &[],
                "2026-11-23 10:00",
                "received on Saturday",
            ),
            (
                "2026-11-20 17:00",
                240,
                &["2026-11-23"],
                "2026-11-24 12:00",
                "weekend and a holiday Monday",
            ),
            (
                "2026-11-20 17:00",
                240,
                &["2026-11-20"],
                "2026-11-23 13:00",
                "received on a holiday",
            ),
            (
                "2026-11-18 10:00",
                5 * 540,
                &[],
                "2026-11-25 10:00",
                "five open days",
            ),
        ];
        for (start, minutes, closed, want, what) in cases {
            let got = office(closed).add_open_time(sh(start), TimeDelta::minutes(*minutes));
            assert_eq!(got, Some(sh(want)), "{what}");
        }
    }

    #[test]
    fn lunch_breaks_and_midnight() {
        let cal = Calendar {
            offset: FixedOffset::east_opt(8 * 3600).expect("offset"),
            hours: WeeklyHours::new([
                (Wed, p("09:00", "12:00")),
                (Wed, p("13:30", "24:00")),
                (Thu, p("00:00", "02:00")),
            ])
            .expect("week"),
            closed: BTreeSet::new(),
        };
        let add =
            |start: &str, minutes: i64| cal.add_open_time(sh(start), TimeDelta::minutes(minutes));
        assert_eq!(add("2026-11-18 11:00", 120), Some(sh("2026-11-18 14:30")));
        assert_eq!(add("2026-11-18 12:15", 30), Some(sh("2026-11-18 14:00")));
        assert_eq!(add("2026-11-18 23:00", 120), Some(sh("2026-11-19 01:00")));
        // Thursday's hours end at 02:00; the next opening is Wednesday a week later.
        assert_eq!(add("2026-11-19 01:00", 120), Some(sh("2026-11-25 10:00")));
        assert!(cal.is_open(sh("2026-11-18 09:00")));
        assert!(!cal.is_open(sh("2026-11-18 12:00")));
        assert!(cal.is_open(sh("2026-11-19 01:59")));
    }

    #[test]
    fn seconds_and_offsets_are_kept() {
        let start = DateTime::parse_from_rfc3339("2026-11-18T02:00:30.5Z")
            .expect("t")
            .to_utc();
        let got = office(&[]).add_open_time(start, TimeDelta::minutes(30));
        let want = DateTime::parse_from_rfc3339("2026-11-18T02:30:30.5Z")
            .expect("t")
            .to_utc();
        assert_eq!(got, Some(want), "10:00:30.5 local + 30 min");
        let mut utc = office(&[]);
        utc.offset = FixedOffset::east_opt(0).expect("utc");
        let got = utc.add_open_time(sh("2026-11-18 17:00"), TimeDelta::minutes(60));
        assert_eq!(
            got,
            Some(sh("2026-11-18 18:00")),
            "09:00 UTC is 17:00 in Shanghai"
        );
    }

    #[test]
    fn never_open_has_no_deadline() {
        let mut cal = office(&[]);
        cal.hours = WeeklyHours::default();
        assert_eq!(
            cal.add_open_time(sh("2026-11-18 10:00"), TimeDelta::minutes(1)),
            None
        );
        let mut all_closed = office(&[]);
        let first: NaiveDate = "2026-11-18".parse().expect("d");
        all_closed.closed = (0..=dealernet_kit::calendar::HORIZON_DAYS + 1)
            .map(|i| first + TimeDelta::days(i))
            .collect();
        assert_eq!(
            all_closed.add_open_time(sh("2026-11-18 08:00"), TimeDelta::minutes(1)),
            None
        );
    }

    #[test]
    fn weeks_are_validated() {
        assert!(
            WeeklyHours::new([(Mon, p("09:00", "12:00")), (Mon, p("11:00", "18:00"))]).is_err()
        );
        assert!(
            WeeklyHours::new([(
                Mon,
                Period {
                    open: 600,
                    close: 600
                }
            )])
            .is_err()
        );
        assert!(
            WeeklyHours::new([(
                Mon,
                Period {
                    open: 0,
                    close: 1441
                }
            )])
            .is_err()
        );
        assert!(WeeklyHours::new([(Mon, p("09:00", "12:00")), (Mon, p("12:00", "18:00"))]).is_ok());
        let five = (0..5).map(|i| {
            (
                Tue,
                Period {
                    open: i * 60,
                    close: i * 60 + 30,
                },
            )
        });
        assert!(WeeklyHours::new(five).is_err());
        assert_eq!(parse_clock("24:00", false), None);
        assert_eq!(parse_clock("24:00", true), Some(1440));
        assert_eq!(parse_clock("9:00", false), None);
        assert_eq!(parse_clock("09:60", false), None);
        assert_eq!(format_clock(545), "09:05");
    }
}
