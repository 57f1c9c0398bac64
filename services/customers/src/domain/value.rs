//! Customer value: from the figures of a customer's facts (sales, service visits,
//! surveys, complaints) to its scores and tier. Pure: every stored score depends on the
//! figures and the thresholds only, never on the clock, so that recomputing one customer
//! and rebuilding all give the same row. Recency, the one score that depends on "now",
//! is computed when read.

use chrono::{DateTime, Utc};

/// The one currency values are kept in; amounts are its minor unit (fen).
pub const CURRENCY: &str = "CNY";

/// Frequency bands: transactions (purchases + service visits) from which the score
/// climbs one step above 1.
const FREQUENCY_BANDS: [i64; 4] = [2, 4, 8, 16];
/// Monetary bands in fen: 50k, 150k, 300k and 600k CNY of contribution.
const MONETARY_BANDS: [i64; 4] = [5_000_000, 15_000_000, 30_000_000, 60_000_000];
/// Recency bands in days since the last transaction: within 90 days scores 5, … more
/// than two years 1.
const RECENCY_BANDS: [i64; 4] = [90, 180, 365, 730];
/// The score base when a customer has complaints but answered no survey.
const NEUTRAL_SATISFACTION: i64 = 3;
/// The most a run of unanswered complaints lowers the satisfaction score.
const MAX_COMPLAINT_PENALTY: i64 = 2;

/// The thresholds of the tiers and of "recent" satisfaction (settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Key account from this contribution (fen) on.
    pub key_account_min_minor: i64,
    /// Relationship from this many purchases on (repeat purchase)…
    pub relationship_min_purchases: i64,
    /// …or this many service visits…
    pub relationship_min_visits: i64,
    /// …or this many days between the first and the last transaction.
    pub relationship_min_tenure_days: i64,
    /// How many of the latest surveys make "recent" satisfaction.
    pub recent_surveys: i64,
}

/// What a customer's facts (its own and its merged customers') add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub purchases: i64,
    pub sales_minor: i64,
    pub service_visits: i64,
    pub service_minor: i64,
    /// Distinct cars it bought or had repaired in the network.
    pub cars: i64,
    /// Of those, the cars with at least one repair order at a network station.
    pub cars_serviced: i64,
    /// First and last transaction (sale or closed repair order).
    pub first_activity_at: Option<DateTime<Utc>>,
    pub last_activity_at: Option<DateTime<Utc>>,
    pub surveys: i64,
    /// The latest `Rules::recent_surveys` answers: how many, the sum of their
    /// satisfaction, and how many were promoters (NPS 9–10) or detractors (0–6).
    pub recent_surveys: i64,
    pub recent_satisfaction_sum: i64,
    pub recent_promoters: i64,
    pub recent_detractors: i64,
    pub complaints: i64,
    /// Complaints opened after the latest survey answer (all of them without one).
    pub complaints_since_survey: i64,
}

/// T, R or K.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Transactional,
    Relationship,
    KeyAccount,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Transactional, Tier::Relationship, Tier::KeyAccount];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Transactional => "TRANSACTIONAL",
            Tier::Relationship => "RELATIONSHIP",
            Tier::KeyAccount => "KEY_ACCOUNT",
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The stored part of a customer's value: the figures and what follows from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub figures: Figures,
    pub tier: Tier,
    pub contribution_minor: i64,
    pub tenure_days: i64,
    /// Mean satisfaction of the recent surveys in hundredths (433 = 4.33), rounded half up.
    pub recent_satisfaction_centi: Option<i64>,
    /// Promoters minus detractors among the recent surveys, in percent (−100..100).
    pub recent_nps: Option<i64>,
    /// 1..5; 0 when there is nothing to judge by (no survey, no complaint).
    pub satisfaction_score: i64,
    pub loyalty_score: i64,
    pub frequency_score: i64,
    pub monetary_score: i64,
}

/// 1 plus the number of bands `x` reaches.
fn banded(x: i64, bands: &[i64; 4]) -> i64 {
    1 + bands.iter().filter(|b| x >= **b).count() as i64
}

/// `num / den` rounded half up, for non-negative `num` and positive `den`.
fn div_round(num: i64, den: i64) -> i64 {
    (2 * num + den) / (2 * den)
}

/// The cars with a repair order at a network station, as a percentage of the cars known
/// (every station is authorised, so this is the share of cars the network services).
pub fn service_share_percent(cars: i64, cars_serviced: i64) -> i64 {
    if cars <= 0 {
        0
    } else {
        div_round(100 * cars_serviced.clamp(0, cars), cars)
    }
}

impl Value {
    /// Scores `figures` under `rules`.
    pub fn of(figures: Figures, rules: &Rules) -> Value {
        let f = &figures;
        let contribution_minor = f.sales_minor.saturating_add(f.service_minor);
        let tenure_days = match (f.first_activity_at, f.last_activity_at) {
            (Some(first), Some(last)) => (last - first).num_days().max(0),
            _ => 0,
        };
        let recent_satisfaction_centi = (f.recent_surveys > 0)
            .then(|| div_round(100 * f.recent_satisfaction_sum, f.recent_surveys));
        let recent_nps = (f.recent_surveys > 0).then(|| {
            let net = f.recent_promoters - f.recent_detractors;
            // Rounded half away from zero, symmetric for promoters and detractors.
            let magnitude = div_round(100 * net.abs(), f.recent_surveys);
            if net < 0 { -magnitude } else { magnitude }
        });
        let satisfaction_score = if f.surveys == 0 && f.complaints == 0 {
            0
        } else {
            let base = recent_satisfaction_centi
                .map(|c| div_round(c, 100))
                .unwrap_or(NEUTRAL_SATISFACTION);
            (base - f.complaints_since_survey.min(MAX_COMPLAINT_PENALTY)).clamp(1, 5)
        };
        let repeat_buyer = f.purchases >= 2;
        let long_tenure = tenure_days >= rules.relationship_min_tenure_days;
        let regular_visitor = f.service_visits >= rules.relationship_min_visits;
        let serviced_here = f.cars > 0 && 2 * f.cars_serviced >= f.cars;
        let loyalty_score = 1 + [repeat_buyer, long_tenure, regular_visitor, serviced_here]
            .iter()
            .filter(|b| **b)
            .count() as i64;
        let tier = if contribution_minor >= rules.key_account_min_minor {
            Tier::KeyAccount
        } else if f.purchases >= rules.relationship_min_purchases
            || f.service_visits >= rules.relationship_min_visits
            || tenure_days >= rules.relationship_min_tenure_days
        {
            Tier::Relationship
        } else {
            Tier::Transactional
        };
        Value {
            frequency_score: banded(f.purchases + f.service_visits, &FREQUENCY_BANDS),
            monetary_score: banded(contribution_minor, &MONETARY_BANDS),
            figures,
            tier,
            contribution_minor,
            tenure_days,
            recent_satisfaction_centi,
            recent_nps,
            satisfaction_score,
            loyalty_score,
        }
    }
}

/// 1..5 by the days from the last transaction to `now`; 0 without any transaction.
pub fn recency_score(last_activity_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> i64 {
    match last_activity_at {
        None => 0,
        Some(last) => {
            let days = (now - last).num_days().max(0);
            5 - RECENCY_BANDS.iter().filter(|b| days > **b).count() as i64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const RULES: Rules = Rules {
        key_account_min_minor: 50_000_000,
        relationship_min_purchases: 2,
        relationship_min_visits: 3,
        relationship_min_tenure_days: 730,
        recent_surveys: 5,
    };

    fn day(n: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::days(n)
    }

    fn one_sale(minor: i64) -> Figures {
        Figures {
            purchases: 1,
            sales_minor: minor,
            cars: 1,
            first_activity_at: Some(day(0)),
            last_activity_at: Some(day(0)),
            ..Figures::default()
        }
    }

    #[test]
    fn a_single_purchase_is_transactional() {
        let v = Value::of(one_sale(19_980_000), &RULES);
        assert_eq!(v.tier, Tier::Transactional);
        assert_eq!(v.contribution_minor, 19_980_000);
        assert_eq!(v.monetary_score, 3, "199,800 CNY is past the 150k band");
        assert_eq!(v.frequency_score, 1);
        assert_eq!(v.loyalty_score, 1, "one car, never serviced here");
        assert_eq!(v.satisfaction_score, 0, "nothing to judge by");
        assert_eq!(v.recent_satisfaction_centi, None);
        assert_eq!(v.tenure_days, 0);
    }

    #[test]
    fn tiers_follow_the_thresholds_and_key_accounts_win() {
        let repeat = Figures {
            purchases: 2,
            ..one_sale(20_000_000)
        };
        assert_eq!(Value::of(repeat.clone(), &RULES).tier, Tier::Relationship);
        let visits = Figures {
            service_visits: 3,
            ..one_sale(100)
        };
        assert_eq!(Value::of(visits, &RULES).tier, Tier::Relationship);
        let tenure = Figures {
            last_activity_at: Some(day(730)),
            ..one_sale(100)
        };
        let v = Value::of(tenure, &RULES);
        assert_eq!((v.tier, v.tenure_days), (Tier::Relationship, 730));
        let key = Figures {
            sales_minor: 40_000_000,
            service_minor: 10_000_000,
            ..repeat
        };
        let v = Value::of(key, &RULES);
        assert_eq!(v.tier, Tier::KeyAccount, "exactly at the threshold");
        assert_eq!(v.monetary_score, 4);
        let just_below = Figures {
            service_minor: 9_999_999,
            ..v.figures
        };
        assert_eq!(Value::of(just_below, &RULES).tier, Tier::Relationship);
    }

    #[test]
    fn loyalty_counts_repeat_purchase_tenure_visits_and_serviced_cars() {
        let f = Figures {
            purchases: 2,
            service_visits: 3,
            cars: 2,
            cars_serviced: 1,
            last_activity_at: Some(day(800)),
            ..one_sale(1)
        };
        assert_eq!(service_share_percent(f.cars, f.cars_serviced), 50);
        assert_eq!(Value::of(f.clone(), &RULES).loyalty_score, 5);
        let fewer = Figures { cars: 3, ..f };
        assert_eq!(service_share_percent(fewer.cars, fewer.cars_serviced), 33);
        assert_eq!(Value::of(fewer, &RULES).loyalty_score, 4);
    }

    #[test]
    fn satisfaction_is_the_recent_mean_less_later_complaints() {
        let f = Figures {
            surveys: 7,
            recent_surveys: 3,
            recent_satisfaction_sum: 13,
            recent_promoters: 2,
            recent_detractors: 1,
            ..Figures::default()
        };
        let v = Value::of(f.clone(), &RULES);
        assert_eq!(v.recent_satisfaction_centi, Some(433));
        assert_eq!(v.recent_nps, Some(33));
        assert_eq!(v.satisfaction_score, 4);
        let complained = Figures {
            complaints: 4,
            complaints_since_survey: 1,
            ..f.clone()
        };
        assert_eq!(Value::of(complained, &RULES).satisfaction_score, 3);
        let angry = Figures {
            complaints: 9,
            complaints_since_survey: 9,
            recent_satisfaction_sum: 3,
            ..f
        };
        let v = Value::of(angry, &RULES);
        assert_eq!(v.satisfaction_score, 1, "never below 1");
        assert_eq!(v.recent_satisfaction_centi, Some(100));
        let only_complaints = Figures {
            complaints: 1,
            complaints_since_survey: 1,
            ..Figures::default()
        };
        assert_eq!(Value::of(only_complaints, &RULES).satisfaction_score, 2);
        let detractors = Figures {
            surveys: 2,
            recent_surveys: 2,
            recent_satisfaction_sum: 3,
            recent_detractors: 1,
            ..Figures::default()
        };
        let v = Value::of(detractors, &RULES);
        assert_eq!(v.recent_nps, Some(-50));
        assert_eq!(v.recent_satisfaction_centi, Some(150));
        assert_eq!(v.satisfaction_score, 2, "1.5 rounds half up");
    }

    #[test]
    fn frequency_and_monetary_bands() {
        let f = |n: i64| Figures {
            purchases: n,
            ..Figures::default()
        };
        let scores: Vec<i64> = [0, 1, 2, 3, 4, 8, 16, 100]
            .iter()
            .map(|n| Value::of(f(*n), &RULES).frequency_score)
            .collect();
        assert_eq!(scores, [1, 1, 2, 2, 3, 4, 5, 5]);
        let m = |minor: i64| Value::of(one_sale(minor), &RULES).monetary_score;
        assert_eq!(
            [
                m(0),
                m(4_999_999),
                m(5_000_000),
                m(30_000_000),
                m(60_000_000)
            ],
            [1, 1, 2, 4, 5]
        );
    }

    #[test]
    fn recency_is_measured_when_read() {
        assert_eq!(recency_score(None, day(10)), 0);
        let at = |d| recency_score(Some(day(0)), day(d));
        assert_eq!(
            [at(0), at(90), at(91), at(180), at(365), at(730), at(731)],
            [5, 5, 4, 4, 3, 2, 1]
        );
        assert_eq!(
            recency_score(Some(day(5)), day(0)),
            5,
            "a future date is now"
        );
    }

    #[test]
    fn tiers_round_trip_their_names() {
        for t in Tier::ALL {
            assert_eq!(Tier::parse(t.as_str()), Some(t));
        }
        assert_eq!(Tier::parse("GOLD"), None);
    }
}
