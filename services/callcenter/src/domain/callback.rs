//! Callbacks: what each call attempt's outcome means for the next one, calling windows,
//! and which purposes need the customer's consent.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use dealernet_kit::{calendar::Calendar, db_names};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    CustomerRequest,
    CaseFollowUp,
    Survey,
    ServiceReminder,
    Marketing,
}

db_names!(Purpose {
    CustomerRequest => "CUSTOMER_REQUEST",
    CaseFollowUp => "CASE_FOLLOW_UP",
    Survey => "SURVEY",
    ServiceReminder => "SERVICE_REMINDER",
    Marketing => "MARKETING",
});

/// The registry's consent purpose a call needs, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentNeeded {
    Surveys,
    ServiceReminders,
    Marketing,
}

impl Purpose {
    /// A call the customer asked for, or about their own case, needs no consent.
    pub fn consent(self) -> Option<ConsentNeeded> {
        match self {
            Purpose::CustomerRequest | Purpose::CaseFollowUp => None,
            Purpose::Survey => Some(ConsentNeeded::Surveys),
            Purpose::ServiceReminder => Some(ConsentNeeded::ServiceReminders),
            Purpose::Marketing => Some(ConsentNeeded::Marketing),
        }
    }

    /// Whether the do-not-call list stops it: every call the customer did not ask for.
    pub fn honours_do_not_call(self) -> bool {
        self != Purpose::CustomerRequest
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Answered,
    Busy,
    NoAnswer,
    PoweredOff,
    Unreachable,
    WrongNumber,
    Declined,
}

db_names!(Outcome {
    Answered => "ANSWERED",
    Busy => "BUSY",
    NoAnswer => "NO_ANSWER",
    PoweredOff => "POWERED_OFF",
    Unreachable => "UNREACHABLE",
    WrongNumber => "WRONG_NUMBER",
    Declined => "DECLINED",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Pending,
    Claimed,
    Completed,
    Stopped,
}

db_names!(Status {
    Pending => "PENDING",
    Claimed => "CLAIMED",
    Completed => "COMPLETED",
    Stopped => "STOPPED",
});

/// A callback's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub max_attempts: i32,
    pub expire_at: DateTime<Utc>,
    /// Local (+08:00) hours: calls from `calling_start`:00 until before `calling_end`:00.
    pub calling_start: u32,
    pub calling_end: u32,
}

pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;
pub const DEFAULT_EXPIRY_DAYS: i64 = 7;
pub const DEFAULT_CALLING_START: u32 = 9;
pub const DEFAULT_CALLING_END: u32 = 20;

impl Policy {
    /// When calls may be placed: calling hours on the hotline's business days.
    pub fn calling_calendar(&self, holidays: &[NaiveDate]) -> Calendar {
        let hour = |h: u32| {
            if h >= 24 {
                NaiveTime::from_hms_opt(23, 59, 59).expect("valid time")
            } else {
                NaiveTime::from_hms_opt(h, 0, 0).expect("valid time")
            }
        };
        let day = Some((hour(self.calling_start), hour(self.calling_end)));
        Calendar::new(
            Calendar::china_offset(),
            [day, day, day, day, day, None, None],
            holidays.iter().copied(),
        )
        .expect("calling hours are checked when the policy is made")
    }
}

/// What happens after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The customer was reached.
    Completed,
    /// Try again at this time.
    Retry(DateTime<Utc>),
    /// Give up, with this reason.
    Stop(&'static str),
}

/// The next step after attempt number `attempts` (counting this one) ended with
/// `outcome` at `now`: BUSY after 15 minutes, NO_ANSWER after 2 hours, POWERED_OFF and
/// UNREACHABLE the next business day, WRONG_NUMBER and DECLINED never — always inside
/// the calling window, never past the expiry or the maximum of attempts.
pub fn after_attempt(
    outcome: Outcome,
    now: DateTime<Utc>,
    attempts: i32,
    policy: &Policy,
    calling: &Calendar,
) -> Next {
    let wanted = match outcome {
        Outcome::Answered => return Next::Completed,
        Outcome::WrongNumber => return Next::Stop("WRONG_NUMBER"),
        Outcome::Declined => return Next::Stop("DECLINED"),
        Outcome::Busy => calling.next_open(now + Duration::minutes(15)),
        Outcome::NoAnswer => calling.next_open(now + Duration::hours(2)),
        Outcome::PoweredOff | Outcome::Unreachable => calling.next_day_open(now),
    };
    if attempts >= policy.max_attempts {
        return Next::Stop("EXHAUSTED");
    }
    match wanted {
        Some(at) if at < policy.expire_at => Next::Retry(at),
        _ => Next::Stop("EXPIRED"),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Calendar::china_offset()
            .with_ymd_and_hms(2026, mo, d, h, mi, 0)
            .single()
            .expect("moment")
            .with_timezone(&Utc)
    }

    fn policy() -> Policy {
        Policy {
            max_attempts: 5,
            expire_at: at(10, 16, 0, 0),
            calling_start: 9,
            calling_end: 20,
        }
    }

    #[test]
    fn retry_schedule_for_every_outcome() {
        let p = policy();
        // 2026-10-01 and -02 are holidays; 9-28 is a Monday.
        let calling = p.calling_calendar(&[
            NaiveDate::from_ymd_opt(2026, 10, 1).expect("date"),
            NaiveDate::from_ymd_opt(2026, 10, 2).expect("date"),
        ]);
        use Next::*;
        use Outcome::*;
        let cases = [
            (Answered, at(9, 28, 10, 0), 1, Completed),
            (Busy, at(9, 28, 10, 0), 1, Retry(at(9, 28, 10, 15))),
            (NoAnswer, at(9, 28, 10, 0), 1, Retry(at(9, 28, 12, 0))),
            (PoweredOff, at(9, 28, 10, 0), 1, Retry(at(9, 29, 9, 0))),
            (Unreachable, at(9, 28, 10, 0), 1, Retry(at(9, 29, 9, 0))),
            (WrongNumber, at(9, 28, 10, 0), 1, Stop("WRONG_NUMBER")),
            (Declined, at(9, 28, 10, 0), 1, Stop("DECLINED")),
            // Calling-hours boundaries: busy at 19:50 → 20:05 is closed → next morning.
            (Busy, at(9, 28, 19, 44), 1, Retry(at(9, 28, 19, 59))),
            (Busy, at(9, 28, 19, 45), 1, Retry(at(9, 29, 9, 0))),
            (NoAnswer, at(9, 28, 18, 0), 1, Retry(at(9, 29, 9, 0))),
            // Friday evening and Wednesday before the holidays: Monday.
            (NoAnswer, at(9, 25, 19, 0), 1, Retry(at(9, 28, 9, 0))),
            (PoweredOff, at(9, 30, 11, 0), 1, Retry(at(10, 5, 9, 0))),
            // The maximum of attempts, and the expiry.
            (Busy, at(9, 28, 10, 0), 5, Stop("EXHAUSTED")),
            (Answered, at(9, 28, 10, 0), 5, Completed),
            (PoweredOff, at(10, 15, 11, 0), 1, Stop("EXPIRED")),
        ];
        for (outcome, now, attempts, want) in cases {
            assert_eq!(
                after_attempt(outcome, now, attempts, &p, &calling),
                want,
                "{outcome:?} at {now}, attempt {attempts}"
            );
        }
    }

    #[test]
    fn consent_and_do_not_call_by_purpose() {
        assert_eq!(Purpose::CustomerRequest.consent(), None);
        assert_eq!(Purpose::CaseFollowUp.consent(), None);
        assert_eq!(Purpose::Survey.consent(), Some(ConsentNeeded::Surveys));
        assert_eq!(Purpose::Marketing.consent(), Some(ConsentNeeded::Marketing));
        assert!(!Purpose::CustomerRequest.honours_do_not_call());
        assert!(Purpose::CaseFollowUp.honours_do_not_call());
    }
}
