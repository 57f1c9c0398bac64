//! Birthday announcements: once a day (the hotline's days, +08:00), every active person
//! whose birthday it is gets one `CustomerBirthday` event, written in the transaction
//! that records the announcement (`birthday_announcement`, one row per customer and
//! year), so a restart, a second pass or a second replica announces nobody twice. The
//! call center turns the event into a greeting call for those who consented.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use dealernet_kit::{
    auth::{Principal, Role},
    calendar::Calendar,
    clock::Clock,
};
use sqlx::PgPool;
use uuid::Uuid;

/// Announcements per transaction at most.
const BATCH: i64 = 500;
/// How often the task looks at the day. Every pass after the day's first finds nothing
/// left (an index lookup), so a short period only makes the day start sooner.
const LOOK_EVERY: Duration = Duration::from_secs(600);

/// The month-days (month × 100 + day) whose birthdays fall on `day`: a 29 February
/// birthday is kept on 28 February in common years.
pub fn month_days(day: NaiveDate) -> Vec<i32> {
    let key = |d: NaiveDate| d.month() as i32 * 100 + d.day() as i32;
    let mut keys = vec![key(day)];
    if day.month() == 2 && day.day() == 28 && !day.leap_year() {
        keys.push(229);
    }
    keys
}

/// The day of `now` in the hotline's offset.
pub fn local_day(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&Calendar::china_offset()).date_naive()
}

/// The announcing task.
#[derive(Debug, Clone)]
pub struct Birthdays {
    pool: PgPool,
}

impl Birthdays {
    /// Announces over `pool` (connections seeing the `customers` schema).
    pub fn new(pool: PgPool) -> Birthdays {
        Birthdays { pool }
    }

    /// Announces the birthdays of `now`'s day not yet announced; returns how many.
    pub async fn announce(&self, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        let day = local_day(now);
        let principal = Principal::new("customers-birthdays", "CUSTOMERS", &[Role::System])
            .map_err(|e| sqlx::Error::Protocol(format!("announcer principal: {e}")))?;
        let keys = month_days(day);
        let mut announced = 0;
        loop {
            let mut tx = self.pool.begin().await?;
            let ids: Vec<Uuid> = sqlx::query_scalar(include_str!("../sql/announce_birthdays.sql"))
                .bind(&keys)
                .bind(day.year())
                .bind(now)
                .bind(BATCH)
                .fetch_all(&mut *tx)
                .await?;
            for id in &ids {
                crate::events::customer_birthday(&mut tx, &principal, *id, day, now).await?;
            }
            tx.commit().await?;
            if ids.is_empty() {
                return Ok(announced);
            }
            announced += ids.len() as u64;
        }
    }

    /// Announces each day's birthdays for as long as the process runs, telling the day
    /// by `clock`.
    pub async fn run(self, clock: Clock) {
        let mut tick = tokio::time::interval(LOOK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.announce(clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(announced = n, "birthdays announced"),
                Err(e) => tracing::warn!(error = %e, "birthday announcement failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn leap_day_birthdays_fall_on_28_february_in_common_years() {
        assert_eq!(month_days(day(2027, 2, 28)), vec![228, 229]);
        assert_eq!(month_days(day(2028, 2, 28)), vec![228]);
        assert_eq!(month_days(day(2028, 2, 29)), vec![229]);
        assert_eq!(month_days(day(2027, 3, 1)), vec![301]);
        assert_eq!(month_days(day(2027, 12, 31)), vec![1231]);
    }

    #[test]
    fn the_day_is_the_hotlines() {
        let late_utc = DateTime::parse_from_rfc3339("2027-03-01T16:30:00Z")
            .expect("t")
            .with_timezone(&Utc);
        assert_eq!(local_day(late_utc), day(2027, 3, 2));
        let early_utc = DateTime::parse_from_rfc3339("2027-03-01T15:59:59Z")
            .expect("t")
            .with_timezone(&Utc);
        assert_eq!(local_day(early_utc), day(2027, 3, 1));
    }
}
