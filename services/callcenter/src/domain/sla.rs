//! SLA clocks: due times in open minutes of a calendar, stopped while the case waits on
//! the customer, and the state a sweep finds a case in.

use chrono::{DateTime, NaiveTime, Utc};
use dealernet_kit::{calendar::Calendar, db_names};

/// A policy's targets in open minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlaState {
    Ok,
    Warning,
    Breached,
}

db_names!(SlaState {
    Ok => "OK",
    Warning => "WARNING",
    Breached => "BREACHED",
});

/// A warning is due once this share of the allowed time has run (the last fifth left).
const WARN_AT_PERCENT: i64 = 80;

/// The hotline's business hours: Monday to Friday 08:00–20:00 (+08:00), closed on its
/// holidays. SLA clocks and calling windows run on these days only.
pub fn hotline_calendar(holidays: impl IntoIterator<Item = chrono::NaiveDate>) -> Calendar {
    let t = |h| NaiveTime::from_hms_opt(h, 0, 0).expect("whole hours are valid times");
    let day = Some((t(8), t(20)));
    Calendar::new(
        Calendar::china_offset(),
        [day, day, day, day, day, None, None],
        holidays,
    )
    .expect("the hotline's hours are well formed")
}

/// The due times of a clock, and when each due time starts to warn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub first_response_warn: DateTime<Utc>,
    pub first_response_due: DateTime<Utc>,
    pub resolution_warn: DateTime<Utc>,
    pub resolution_due: DateTime<Utc>,
}

/// Starts a clock at `at`; `None` when the calendar is never open.
pub fn start(calendar: &Calendar, at: DateTime<Utc>, t: Targets) -> Option<Clock> {
    let point = |minutes: i64| calendar.add_open_minutes(at, minutes);
    Some(Clock {
        first_response_warn: point(t.first_response_minutes * WARN_AT_PERCENT / 100)?,
        first_response_due: point(t.first_response_minutes)?,
        resolution_warn: point(t.resolution_minutes * WARN_AT_PERCENT / 100)?,
        resolution_due: point(t.resolution_minutes)?,
    })
}

/// The clock after a pause from `paused_at` to `resumed_at`: the resolution points move
/// later by the open time that passed while paused (closed hours cost nothing either).
/// A case only waits on the customer after its first response, so those points stay.
pub fn resume(
    calendar: &Calendar,
    clock: Clock,
    paused_at: DateTime<Utc>,
    resumed_at: DateTime<Utc>,
) -> Clock {
    let paused = calendar.open_minutes_between(paused_at, resumed_at);
    let shift = |t: DateTime<Utc>| calendar.add_open_minutes(t, paused).unwrap_or(t);
    Clock {
        resolution_warn: shift(clock.resolution_warn),
        resolution_due: shift(clock.resolution_due),
        ..clock
    }
}

/// The state of a running clock at `now`: BREACHED once a due time passed (the first
/// response only while none happened), WARNING once at most a fifth of the allowed open
/// time is left, else OK.
pub fn state_at(now: DateTime<Utc>, clock: Clock, responded: bool) -> SlaState {
    let first_open = !responded;
    if now >= clock.resolution_due || (first_open && now >= clock.first_response_due) {
        SlaState::Breached
    } else if now >= clock.resolution_warn || (first_open && now >= clock.first_response_warn) {
        SlaState::Warning
    } else {
        SlaState::Ok
    }
}

/// When the state of a running clock can next change: `None` once breached.
pub fn next_check(clock: Clock, responded: bool, state: SlaState) -> Option<DateTime<Utc>> {
    let (first, resolution) = match state {
        SlaState::Ok => (clock.first_response_warn, clock.resolution_warn),
        SlaState::Warning => (clock.first_response_due, clock.resolution_due),
        SlaState::Breached => return None,
    };
    Some(if responded {
        resolution
    } else {
        first.min(resolution)
    })
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;

    fn at(mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Calendar::china_offset()
            .with_ymd_and_hms(2026, mo, d, h, mi, 0)
            .single()
            .expect("moment")
            .with_timezone(&Utc)
    }

    /// 2026-10-01 (Thursday) and 2026-10-02 are public holidays.
    fn hotline() -> Calendar {
        hotline_calendar([
            NaiveDate::from_ymd_opt(2026, 10, 1).expect("date"),
            NaiveDate::from_ymd_opt(2026, 10, 2).expect("date"),
        ])
    }

    const NORMAL: Targets = Targets {
        first_response_minutes: 240,
        resolution_minutes: 2_880,
    };

    #[test]
    fn due_times_skip_nights_weekends_and_holidays() {
        let c = hotline();
        // (opened, first response due, resolution due); 4 h and 4 business days of 12 h.
        let cases = [
            // Monday 10:00: same day 14:00; the 1st and 2nd are holidays, so 48 open
            // hours end on Tuesday the 6th.
            (at(9, 28, 10, 0), at(9, 28, 14, 0), at(10, 6, 10, 0)),
            // Friday 18:00: 2 h Friday + 2 h Monday; Thursday the 1st and Friday the 2nd
            // are holidays, so resolution runs past them.
            (at(9, 25, 18, 0), at(9, 28, 10, 0), at(10, 5, 18, 0)),
            // Saturday: the clock starts Monday 08:00.
            (at(9, 26, 15, 0), at(9, 28, 12, 0), at(10, 5, 20, 0)),
            // Wednesday 19:00 before the holidays: 1 h, then Monday.
            (at(9, 30, 19, 0), at(10, 5, 11, 0), at(10, 8, 19, 0)),
        ];
        for (opened, first, resolution) in cases {
            let clock = start(&c, opened, NORMAL).expect("clock");
            assert_eq!(
                clock.first_response_due, first,
                "first response of {opened}"
            );
            assert_eq!(clock.resolution_due, resolution, "resolution of {opened}");
        }
    }

    #[test]
    fn waiting_on_the_customer_stops_the_clock() {
        let c = hotline();
        let clock = start(&c, at(9, 28, 10, 0), NORMAL).expect("clock");
        let due = clock.resolution_due;
        assert_eq!(due, at(10, 6, 10, 0));
        // Paused Monday 10:00–11:30 (90 open minutes): due 90 minutes later.
        let later = resume(&c, clock, at(9, 28, 10, 0), at(9, 28, 11, 30));
        assert_eq!(later.resolution_due, at(10, 6, 11, 30));
        assert_eq!(later.first_response_due, clock.first_response_due);
        // Paused over the holidays and the weekend from Wednesday 19:00 to Monday 09:00:
        // only the two open hours (Wednesday 19–20, Monday 08–09) count.
        let over = resume(&c, clock, at(9, 30, 19, 0), at(10, 5, 9, 0));
        assert_eq!(over.resolution_due, at(10, 6, 12, 0));
        // Paused and resumed while closed: nothing moves.
        assert_eq!(resume(&c, clock, at(9, 26, 10, 0), at(9, 27, 10, 0)), clock);
    }

    #[test]
    fn states_through_a_case_s_life() {
        let c = hotline();
        let clock = start(&c, at(9, 28, 10, 0), NORMAL).expect("clock");
        let state = |now, responded| state_at(now, clock, responded);
        assert_eq!(state(at(9, 28, 12, 0), false), SlaState::Ok);
        // 4/5 of the first-response time gone at 13:12: warning.
        assert_eq!(state(at(9, 28, 13, 11), false), SlaState::Ok);
        assert_eq!(state(at(9, 28, 13, 12), false), SlaState::Warning);
        assert_eq!(state(at(9, 28, 14, 0), false), SlaState::Breached);
        // Once responded, only the resolution counts.
        assert_eq!(state(at(9, 28, 14, 0), true), SlaState::Ok);
        // 4/5 of 2,880 open minutes (2,304) from Monday 10:00 is Monday the 5th 12:24.
        assert_eq!(state(at(10, 2, 10, 0), true), SlaState::Ok);
        assert_eq!(state(at(10, 5, 12, 23), true), SlaState::Ok);
        assert_eq!(state(at(10, 5, 12, 24), true), SlaState::Warning);
        assert_eq!(state(at(10, 6, 10, 0), true), SlaState::Breached);
        // The sweeper looks again exactly when the state can change.
        assert_eq!(
            next_check(clock, false, SlaState::Ok),
            Some(at(9, 28, 13, 12))
        );
        assert_eq!(
            next_check(clock, true, SlaState::Ok),
            Some(at(10, 5, 12, 24))
        );
        assert_eq!(
            next_check(clock, false, SlaState::Warning),
            Some(at(9, 28, 14, 0))
        );
        assert_eq!(next_check(clock, true, SlaState::Breached), None);
    }
}
