//! The call-center bench data: due callbacks as the hotline would have scheduled and
//! retried them, shared by `callcenter_datagen` (which COPYs them) and its tests, and the
//! case texts `loadgen open-case` sends (mirrored in `bench/sql/open_case.sql`).
//!
//! Callback `n` (1..=N) is drawn from a generator seeded with `n` and placed relative to
//! the load's `now`: it was scheduled during the last few days for a bench customer (their
//! mobile number, as ScheduleCallback picks it from the registry), got its first due time
//! from the policy's calling calendar, and about 30 % have had one or two unanswered
//! attempts whose retry time comes from the service's own rules
//! (`domain::callback::after_attempt`). Every one is PENDING and due at or before `now`,
//! and none has expired, so a claim returns it without stopping it.
//!
//! Purposes are CUSTOMER_REQUEST and CASE_FOLLOW_UP only: the claim asks the registry for
//! consent on the other purposes (one more gRPC call per claim), which is not what this
//! queue measures. Follow-ups carry no case reference (`case_id` NULL): the claim reads
//! and returns the column either way.

use chrono::{DateTime, Duration, Utc};
use dealernet_callcenter::domain::callback::{
    DEFAULT_EXPIRY_DAYS, DEFAULT_MAX_ATTEMPTS, Next, Outcome, Policy, Purpose, after_attempt,
};
use dealernet_customers::demo::Rng;
use dealernet_kit::calendar::Calendar;
use uuid::Uuid;

use crate::{copy_text::CopyText, mobile_e164, vehicles};

/// Calling hours of the bench's callbacks: the whole day, so that a run finds its queue
/// open at any hour (the service hands out callbacks only inside their calling hours, and
/// only on the hotline's business days — run the claim bench Monday to Friday).
pub const CALLING_START: u32 = 0;
pub const CALLING_END: u32 = 24;

/// Mixed into every per-callback seed.
const SEED: u64 = 0x6361_6c6c_6261_636b;
/// Callbacks were scheduled between this long ago…
const OLDEST_SECS: usize = 4 * 24 * 3600;
/// …and this long ago.
const NEWEST_SECS: usize = 60;
/// Draws of a schedule before giving up on a calendar with no calling window lately.
const TRIES: usize = 200;
/// Agents who scheduled the callbacks and made the earlier attempts: `agent.1`….
pub const SCHEDULING_AGENTS: usize = 60;

/// The columns of `callback` in the order [`Callbacks::push`] writes them.
pub const CALLBACK_COLUMNS: &str = "callback (id, customer_id, phone, reason, purpose, case_id, \
    repair_order, outlet, status, due_at, attempts, last_outcome, stop_reason, stop_note, \
    claimed_by, max_attempts, expire_at, calling_start, calling_end, created_by, create_time, \
    version)";
/// The columns of `call_attempt` in the order [`Callbacks::push`] writes them.
pub const ATTEMPT_COLUMNS: &str = "call_attempt (callback_id, attempt, at, agent, outcome, notes)";

#[rustfmt::skip]
const REQUEST_REASONS: &[&str] = &[
    "客户来电咨询保养价格，要求稍后回电",
    "客户询问新车到店时间，请回电告知",
    "客户要求回电确认试驾时间",
    "客户咨询延保政策，通话中断，请回电",
    "客户询问充电桩安装进度",
    "客户要求回电说明发票开具事宜",
    "客户咨询车辆异响问题，需技术人员回电",
];

#[rustfmt::skip]
const FOLLOW_UP_REASONS: &[&str] = &[
    "跟进投诉处理结果，确认客户是否满意",
    "回访维修后车辆使用情况",
    "告知客户配件到货时间",
    "跟进道路救援后续安排",
    "确认客户问题是否已由经销商解决",
];

/// An earlier attempt that left the callback pending.
#[rustfmt::skip]
const RETRY_OUTCOMES: &[(Outcome, &str)] = &[
    (Outcome::NoAnswer, "无人接听"),
    (Outcome::NoAnswer, "响铃后无人接听"),
    (Outcome::Busy, "占线"),
    (Outcome::PoweredOff, "关机"),
    (Outcome::Unreachable, "无法接通"),
];

/// One earlier attempt of a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub agent: String,
    pub outcome: Outcome,
    pub notes: &'static str,
}

/// One callback as loaded: PENDING, due at or before the load's `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCallback {
    pub id: Uuid,
    /// Customer number in the bench key space.
    pub customer: u64,
    pub phone: String,
    pub reason: &'static str,
    pub purpose: Purpose,
    pub outlet: String,
    pub due_at: DateTime<Utc>,
    pub policy: Policy,
    pub created_by: String,
    pub create_time: DateTime<Utc>,
    pub attempts: Vec<Attempt>,
}

impl DueCallback {
    /// Callback `n` for a load at `now`, its customer one of `1..=customers`, scheduled on
    /// `calendar` (the default policy's calling hours on the hotline's business days).
    /// `None` if no draw gives a callback due by `now` (a calendar without calling hours
    /// in the last days).
    pub fn new(
        n: u64,
        customers: u64,
        now: DateTime<Utc>,
        calendar: &Calendar,
    ) -> Option<DueCallback> {
        let mut rng = Rng::new(SEED ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let customer = 1 + rng.below(customers as usize) as u64;
        let purpose = if rng.chance(60) {
            Purpose::CustomerRequest
        } else {
            Purpose::CaseFollowUp
        };
        let (reason, outlet) = match purpose {
            Purpose::CustomerRequest => (*rng.pick(REQUEST_REASONS), String::new()),
            _ => {
                let outlet = if rng.chance(30) {
                    format!("D{}", 1000 + rng.below(vehicles::DEALERS as usize))
                } else {
                    String::new()
                };
                (*rng.pick(FOLLOW_UP_REASONS), outlet)
            }
        };
        let agent = |rng: &mut Rng| format!("agent.{}", 1 + rng.below(SCHEDULING_AGENTS));
        let created_by = agent(&mut rng);
        let earlier = match rng.below(10) {
            0..=6 => 0,
            7 | 8 => 1,
            _ => 2,
        };
        for _ in 0..TRIES {
            let age = NEWEST_SECS + rng.below(OLDEST_SECS - NEWEST_SECS);
            let create_time = now - Duration::seconds(age as i64);
            let policy = Policy {
                max_attempts: DEFAULT_MAX_ATTEMPTS,
                expire_at: create_time + Duration::days(DEFAULT_EXPIRY_DAYS),
                calling_start: CALLING_START,
                calling_end: CALLING_END,
            };
            // The customer asked for a call in the next hours; a follow-up is planned
            // up to a day ahead. ScheduleCallback moves it into calling hours.
            let delay = match purpose {
                Purpose::CustomerRequest => rng.below(4 * 3600),
                _ => rng.below(24 * 3600),
            };
            let Some(mut due) = calendar.next_open(create_time + Duration::seconds(delay as i64))
            else {
                continue;
            };
            let mut attempts = Vec::new();
            let mut pending = true;
            for k in 1..=earlier {
                // An agent claimed it and called within ten minutes of its due time.
                let at = due + Duration::seconds(rng.below(600) as i64);
                let (outcome, notes) = *rng.pick(RETRY_OUTCOMES);
                attempts.push(Attempt {
                    at,
                    agent: agent(&mut rng),
                    outcome,
                    notes,
                });
                match after_attempt(outcome, at, k, &policy, calendar) {
                    Next::Retry(next) => due = next,
                    Next::Completed | Next::Stop(_) => {
                        pending = false;
                        break;
                    }
                }
            }
            if pending && due <= now && now < policy.expire_at {
                let mut random = [0u8; 10];
                random[..2].copy_from_slice(&(rng.next_u64() as u16).to_be_bytes());
                random[2..].copy_from_slice(&n.to_be_bytes());
                let millis = create_time.timestamp_millis().max(0) as u64;
                return Some(DueCallback {
                    // A UUIDv7 of the scheduling time, as the service makes; `n` in its
                    // random bits keeps the ids unique.
                    id: uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid(),
                    customer,
                    phone: mobile_e164(customer),
                    reason,
                    purpose,
                    outlet,
                    due_at: due,
                    policy,
                    created_by,
                    create_time,
                    attempts,
                });
            }
        }
        None
    }

    /// The version the service would be at: each earlier attempt was a claim (+1) and
    /// its recording (+1).
    pub fn version(&self) -> i64 {
        1 + 2 * self.attempts.len() as i64
    }
}

/// COPY text of a batch of callbacks and their attempts.
#[derive(Debug, Default)]
pub struct Callbacks {
    pub callbacks: CopyText,
    pub attempts: CopyText,
}

impl Callbacks {
    pub fn push(&mut self, c: &DueCallback) {
        let last = c.attempts.last().map_or("", |a| a.outcome.as_str());
        let t = &mut self.callbacks;
        t.uuid(c.id)
            .uuid(crate::customer_id(c.customer))
            .text(&c.phone)
            .text(c.reason)
            .text(c.purpose.as_str())
            .null()
            .text("")
            .text(&c.outlet)
            .text("PENDING")
            .time(c.due_at)
            .int(c.attempts.len() as i64)
            .text(last)
            .text("")
            .text("")
            .text("")
            .int(i64::from(c.policy.max_attempts))
            .time(c.policy.expire_at)
            .int(i64::from(c.policy.calling_start))
            .int(i64::from(c.policy.calling_end))
            .text(&c.created_by)
            .time(c.create_time)
            .int(c.version());
        t.end();
        for (i, a) in c.attempts.iter().enumerate() {
            self.attempts
                .uuid(c.id)
                .int(i as i64 + 1)
                .time(a.at)
                .text(&a.agent)
                .text(a.outcome.as_str())
                .text(a.notes);
            self.attempts.end();
        }
    }
}

/// The default policy's calling calendar with the hotline's `holidays`, as
/// ScheduleCallback uses it.
pub fn default_calling_calendar(holidays: &[chrono::NaiveDate]) -> Calendar {
    Policy {
        max_attempts: DEFAULT_MAX_ATTEMPTS,
        expire_at: DateTime::<Utc>::MAX_UTC,
        calling_start: CALLING_START,
        calling_end: CALLING_END,
    }
    .calling_calendar(holidays)
}

/// What `loadgen open-case` sends: an INQUIRY's subject and description, picked at
/// random. `bench/sql/open_case.sql` carries the same texts.
#[rustfmt::skip]
pub const INQUIRY_TEXTS: &[(&str, &str)] = &[
    ("咨询保养周期", "客户询问新车首保时间及之后的保养间隔里程，希望了解保养项目和大致费用。"),
    ("咨询延保政策", "客户想了解原厂延保的价格、年限和覆盖范围，以及购买后能否转让给下一任车主。"),
    ("咨询充电桩安装", "客户新购电动车，询问家用充电桩的申请流程、安装条件和预计安装时间。"),
    ("咨询车机升级", "客户询问车机系统最新版本的升级方式，是否需要到店，以及升级后新增的功能。"),
];

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Calendar::china_offset()
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("moment")
            .with_timezone(&Utc)
    }

    #[test]
    fn every_callback_is_due_unexpired_and_consistent() {
        let calendar = default_calling_calendar(&[]);
        // A Monday before calling hours (after a weekend), a Wednesday afternoon, a Sunday.
        for now in [
            local(2026, 11, 23, 7, 30),
            local(2026, 11, 25, 15, 0),
            local(2026, 11, 29, 12, 0),
        ] {
            let mut ids = std::collections::HashSet::new();
            let mut retried = 0;
            for n in 1..=2_000 {
                let c = DueCallback::new(n, 1_000, now, &calendar).expect("a schedule");
                assert!(c.due_at <= now && now < c.policy.expire_at, "{n}: {c:?}");
                assert!(
                    c.create_time <= c.due_at && calendar.is_open(c.due_at),
                    "{n}"
                );
                assert!((1..=1_000).contains(&c.customer));
                assert_eq!(c.phone, mobile_e164(c.customer));
                assert!(matches!(
                    c.purpose,
                    Purpose::CustomerRequest | Purpose::CaseFollowUp
                ));
                assert!(c.purpose.consent().is_none());
                let mut before = c.create_time;
                for a in &c.attempts {
                    assert!(before <= a.at && a.at < c.due_at, "{n}: {c:?}");
                    before = a.at;
                }
                assert!(c.attempts.len() < DEFAULT_MAX_ATTEMPTS as usize);
                retried += usize::from(!c.attempts.is_empty());
                assert!(ids.insert(c.id), "duplicate id for {n}");
                assert_eq!(c.id.get_version_num(), 7);
            }
            assert!((400..800).contains(&retried), "{retried} retried of 2000");
        }
    }

    #[test]
    fn callbacks_are_deterministic() {
        let calendar = default_calling_calendar(&[]);
        let now = local(2026, 11, 25, 15, 0);
        assert_eq!(
            DueCallback::new(7, 100, now, &calendar),
            DueCallback::new(7, 100, now, &calendar)
        );
    }

    #[test]
    fn rows_have_every_column() {
        let calendar = default_calling_calendar(&[]);
        let now = local(2026, 11, 25, 15, 0);
        let mut b = Callbacks::default();
        for n in 1..=50 {
            b.push(&DueCallback::new(n, 100, now, &calendar).expect("a schedule"));
        }
        let text = std::str::from_utf8(b.callbacks.as_bytes()).expect("utf8");
        let columns = CALLBACK_COLUMNS.matches(',').count() + 1;
        for line in text.lines() {
            assert_eq!(line.split('\t').count(), columns, "{line}");
        }
        let text = std::str::from_utf8(b.attempts.as_bytes()).expect("utf8");
        for line in text.lines() {
            assert_eq!(line.split('\t').count(), 6, "{line}");
        }
    }
}
