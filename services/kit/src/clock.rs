//! The time a service acts at: the system clock in production, a clock the test moves by
//! hand when deadlines are under test (tests never sleep until a deadline passes).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

/// Where "now" comes from.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The machine's clock.
    #[default]
    System,
    /// A clock that stands still until moved.
    Manual(ManualClock),
}

impl Clock {
    /// The current time at the database's precision (microseconds).
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now().trunc_subsecs(6),
            Clock::Manual(m) => m.now(),
        }
    }
}

/// A clock that shows one instant until it is set or advanced; clones share it.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(at.trunc_subsecs(6))))
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = at.trunc_subsecs(6);
    }

    pub fn advance(&self, by: TimeDelta) {
        let mut t = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *t += by;
    }
}

impl From<ManualClock> for Clock {
    fn from(m: ManualClock) -> Clock {
        Clock::Manual(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clocks_are_shared_and_move_only_when_told() {
        let start = DateTime::from_timestamp(1_790_000_000, 123_456_789).expect("t");
        let manual = ManualClock::new(start);
        let clock = Clock::from(manual.clone());
        assert_eq!(clock.now(), start.trunc_subsecs(6));
        manual.advance(TimeDelta::hours(2));
        assert_eq!(clock.now(), start.trunc_subsecs(6) + TimeDelta::hours(2));
        manual.set(start);
        assert_eq!(clock.now(), start.trunc_subsecs(6));
        assert!(Clock::System.now() > start);
    }
}
