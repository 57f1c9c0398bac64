//! One vehicle's life up to [`data_end`](super::data_end), drawn from a generator seeded
//! with its number: built in its model year, registered, dispatched to a dealer, in transit,
//! received, in stock, sold, delivered, perhaps resold. Its state is where that timeline
//! stands at the end of the data, so it depends on `n` alone.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use dealernet_customers::demo::Rng;
use dealernet_vehicles::domain::lifecycle::State;

use super::{BenchModel, data_end, model_of, unit};

/// Mixed into every per-vehicle seed.
const SEED: u64 = 0x7665_6869_636c_6573;

pub const PLANTS: [(&str, &str); 3] = [
    ("CN-SH-01", "PLANT-SH"),
    ("CN-CQ-02", "PLANT-CQ"),
    ("CN-GZ-03", "PLANT-GZ"),
];
pub const CARRIERS: [(&str, &str); 4] = [
    ("安吉物流", "CARRIER-AJ"),
    ("中远海运汽车物流", "CARRIER-COSCO"),
    ("长久物流", "CARRIER-CJ"),
    ("一汽国际物流", "CARRIER-FAW"),
];
const COLOURS: [&str; 8] = [
    "White", "White", "Black", "Silver", "Grey", "Blue", "Red", "Green",
];

/// The sale of a vehicle (present once it reached SOLD).
#[derive(Debug, Clone)]
pub struct SaleTerms {
    pub price_minor: i64,
    pub sales_person: String,
    pub sale_type: &'static str,
}

#[derive(Debug, Clone)]
pub struct Life {
    pub n: u64,
    pub model: &'static BenchModel,
    pub plant: usize,
    pub line: String,
    pub engine_number: String,
    pub colour: &'static str,
    pub built_at: DateTime<Utc>,
    /// RegisterProduction: the record's create time and first event.
    pub registered_at: DateTime<Utc>,
    pub dispatched_at: DateTime<Utc>,
    pub carrier: usize,
    pub transit_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// Index of the dealer the car is shipped to and sold by.
    pub dealer: u64,
    pub sold_at: DateTime<Utc>,
    pub delivered_at: DateTime<Utc>,
    /// A used-car sale to a second owner, if there is one before the end of the data.
    pub resold_at: Option<DateTime<Utc>>,
    pub sale: SaleTerms,
    /// Index of the service station the owner normally uses.
    pub home_station: u64,
    pub delivery_km: i64,
    /// Kilometres driven per day after delivery.
    pub km_per_day: f64,
    owner_seed: u64,
    second_owner_seed: u64,
}

fn days(rng: &mut Rng, from: f64, to: f64) -> TimeDelta {
    let d = from + (to - from) * unit(rng);
    TimeDelta::microseconds((d * 86_400e6) as i64)
}

impl Life {
    pub fn new(n: u64) -> Life {
        let mut rng = Rng::new(SEED ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let model = model_of(n);
        let m = super::model_index(n);
        let day = |y: i32, mo: u32, d: u32| {
            NaiveDate::from_ymd_opt(y, mo, d)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .expect("valid date")
                .and_utc()
        };
        // Model year Y is built from July of Y-1 to June of Y (and not after the data ends).
        let start = day(model.model_year - 1, 7, 1);
        let end = day(model.model_year, 7, 1).min(data_end() - TimeDelta::hours(12));
        let span = (end - start).num_seconds() as f64;
        let built_at = start + TimeDelta::seconds((span * unit(&mut rng)) as i64);
        let registered_at = built_at + TimeDelta::seconds(600 + rng.below(6_600) as i64);
        let dispatched_at = registered_at + days(&mut rng, 0.5, 4.0);
        let transit = days(&mut rng, 2.0, 9.0);
        let transit_at = dispatched_at + transit / 2;
        let received_at = dispatched_at + transit;
        // Stock time is skewed: most cars sell within weeks, some wait for months.
        let stock = 5.0 + 145.0 * unit(&mut rng).powi(2);
        let sold_at = received_at + TimeDelta::microseconds((stock * 86_400e6) as i64);
        let delivered_at = sold_at + days(&mut rng, 2.0, 12.0);
        let resold_at = rng
            .chance(15)
            .then(|| delivered_at + days(&mut rng, 400.0, 1_800.0))
            .filter(|t| *t < data_end());
        let sale_type = match rng.below(100) {
            0..=87 => "RETAIL",
            88..=96 => "FLEET",
            _ => "DEMO",
        };
        // 0–14 % off the list price, rounded to 100 yuan.
        let price = model.list_minor as f64 * (1.0 - 0.14 * unit(&mut rng));
        let price_minor = (price / 10_000.0).round() as i64 * 10_000;
        let sale = SaleTerms {
            price_minor,
            sales_person: format!("SP{:05}", rng.below(100_000)),
            sale_type,
        };
        let plant = m % PLANTS.len();
        Life {
            n,
            model,
            plant,
            line: format!("L{}", 1 + rng.below(4)),
            engine_number: format!("{}{:08}", engine_prefix(model), rng.below(100_000_000)),
            colour: COLOURS[rng.below(COLOURS.len())],
            built_at,
            registered_at,
            dispatched_at,
            carrier: rng.below(CARRIERS.len()),
            transit_at,
            received_at,
            dealer: rng.below(super::DEALERS as usize) as u64,
            sold_at,
            delivered_at,
            resold_at,
            sale,
            home_station: rng.below(super::STATIONS as usize) as u64,
            delivery_km: 3 + rng.below(58) as i64,
            km_per_day: 15.0 + 75.0 * unit(&mut rng),
            owner_seed: rng.next_u64(),
            second_owner_seed: rng.next_u64(),
        }
    }

    /// Where the vehicle stands at `t`.
    pub fn state_at(&self, t: DateTime<Utc>) -> State {
        if t < self.dispatched_at {
            State::Produced
        } else if t < self.received_at {
            State::InTransit
        } else if t < self.sold_at {
            State::InStock
        } else if t < self.delivered_at {
            State::Sold
        } else {
            State::Delivered
        }
    }

    /// The state of the loaded record.
    pub fn state(&self) -> State {
        self.state_at(data_end())
    }

    /// The first owner, a customer number in `1..=customers` (bench customer key space).
    pub fn first_owner(&self, customers: u64) -> u64 {
        1 + self.owner_seed % customers
    }

    /// The second owner after a used-car sale (never the first one when there are two
    /// customers or more).
    pub fn second_owner(&self, customers: u64) -> u64 {
        let first = self.first_owner(customers);
        let other = 1 + self.second_owner_seed % customers;
        if other == first && customers > 1 {
            1 + other % customers
        } else {
            other
        }
    }

    /// The odometer at `t` (0 before delivery): the delivery reading plus the daily
    /// distance since. Never decreases, so a reading taken now is never a rollback.
    pub fn km_at(&self, t: DateTime<Utc>) -> i64 {
        if t < self.delivered_at {
            return 0;
        }
        let days = (t - self.delivered_at).num_seconds() as f64 / 86_400.0;
        self.delivery_km + (days * self.km_per_day) as i64
    }
}

fn engine_prefix(model: &BenchModel) -> &'static str {
    use dealernet_vehicles::domain::catalogue::Powertrain::*;
    match model.powertrain {
        Ice => "DN15T",
        Hev => "DN20H",
        Phev => "DN15P",
        Bev => "TZ220",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vehicles::{REPAIRABLE_MODELS, model_index};

    #[test]
    fn lives_are_deterministic_and_ordered() {
        for n in [1, 2, 17, 999, 123_456, 2_000_000] {
            let (a, b) = (Life::new(n), Life::new(n));
            assert_eq!(a.built_at, b.built_at);
            assert_eq!(a.engine_number, b.engine_number);
            assert!(a.built_at < a.registered_at && a.registered_at < a.dispatched_at);
            assert!(a.dispatched_at < a.transit_at && a.transit_at < a.received_at);
            assert!(a.received_at < a.sold_at && a.sold_at < a.delivered_at);
            assert!(
                a.resold_at
                    .is_none_or(|t| t > a.delivered_at && t < data_end())
            );
            assert!(a.built_at < data_end());
        }
    }

    #[test]
    fn older_models_are_all_delivered_and_the_mix_is_realistic() {
        let mut counts = std::collections::HashMap::new();
        for n in 1..=100_000 {
            let life = Life::new(n);
            let state = life.state();
            if model_index(n) < REPAIRABLE_MODELS as usize {
                assert_eq!(state, State::Delivered, "vehicle {n}");
            }
            *counts.entry(state).or_insert(0u32) += 1;
        }
        let share = |s| f64::from(counts.get(&s).copied().unwrap_or(0)) / 1000.0;
        assert!(share(State::Delivered) > 85.0, "{counts:?}");
        assert!(share(State::InStock) > 2.0, "{counts:?}");
        for s in [State::Produced, State::InTransit, State::Sold] {
            assert!(share(s) > 0.05, "{s:?}: {counts:?}");
        }
    }

    #[test]
    fn odometer_never_goes_back() {
        let life = Life::new(42);
        let later = life.delivered_at + TimeDelta::days(400);
        assert_eq!(life.km_at(life.delivered_at), life.delivery_km);
        assert!(life.km_at(later) >= life.km_at(later - TimeDelta::days(1)));
    }
}
