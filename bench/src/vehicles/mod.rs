//! The vehicle key space, shared by `vehicle_datagen`, `copy_production`, `loadgen` and
//! the pgbench scripts (`bench/sql/vehicle_*.sql`), which all compute it the same way.
//!
//! Vehicle `n` (1 ≤ n ≤ 9,999,999) is built from `n` alone:
//! - model index `m = (n - 1) % 20` into [`CATALOGUE`], whose model year is
//!   `2019 + m * 9 / 20` (so models 0–15 are model year 2025 or older);
//! - VIN `LDN` `V` `<m + 1 in 2 digits>` `B1` `<check digit>` `<model-year code>`
//!   `<n in 7 digits>`: WMI `LDN`, VDS `V..B1`, ISO 3779 check digit, year code K (2019)
//!   … V (2027), and a 7-digit sequence number;
//! - its whole life (build time, stock, sale, delivery, owners, odometer) from a random
//!   generator seeded with `n` ([`life::Life`]).
//!
//! Loaded vehicles are `1..=N` (N < [`FIRST_NEW`]); vehicles made during a run
//! (StreamProduction, the COPY comparison, pgbench) take numbers from [`FIRST_NEW`] up.

pub mod life;
pub mod repairs;
pub mod rows;

use chrono::{DateTime, NaiveDate, Utc};
use dealernet_customers::demo::Rng;
use dealernet_vehicles::domain::{
    catalogue::{Body, Powertrain},
    vin::{Vin, check_digit},
};

/// Highest vehicle number a VIN can carry (7 digits).
pub const MAX_VEHICLE: u64 = 9_999_999;
/// First number of vehicles made during benchmark runs; loads stay below it.
pub const FIRST_NEW: u64 = 5_000_001;
/// World manufacturer identifier of every bench VIN ("L": made in China).
pub const WMI: &str = "LDN";
/// Model-year codes (VIN position 10) from 2019 on.
pub const YEAR_CODES: &[u8; 9] = b"KLMNPRSTV";
pub const FIRST_MODEL_YEAR: i32 = 2019;
/// Models `0..REPAIRABLE_MODELS` are old enough that every vehicle of theirs is delivered.
pub const REPAIRABLE_MODELS: u64 = 16;
/// Dealers (sales outlets) are `D1000`…`D2999`; service stations `S3000`…`S3999`.
pub const DEALERS: u64 = 2_000;
pub const STATIONS: u64 = 1_000;
pub const CURRENCY: &str = "CNY";

/// The end of the generated history: every loaded timestamp is before it.
pub fn data_end() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 11, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("valid date")
        .and_utc()
}

/// One catalogue entry of the bench maker.
#[derive(Debug, Clone, Copy)]
pub struct BenchModel {
    pub code: &'static str,
    pub brand: &'static str,
    pub series: &'static str,
    pub body: Body,
    pub powertrain: Powertrain,
    pub model_year: i32,
    pub warranty_months: i32,
    pub warranty_km: i32,
    /// Retail list price in fen (CNY minor units).
    pub list_minor: i64,
}

/// A model; the brand follows the series (DA… Auto, DE… Electric, DC… Commercial).
const fn model(
    code: &'static str,
    series: &'static str,
    (body, powertrain): (Body, Powertrain),
    model_year: i32,
    warranty: (i32, i32),
    list_yuan: i64,
) -> BenchModel {
    BenchModel {
        code,
        brand: match series.as_bytes()[1] {
            b'E' => "Dealernet Electric",
            b'C' => "Dealernet Commercial",
            _ => "Dealernet Auto",
        },
        series,
        body,
        powertrain,
        model_year,
        warranty_months: warranty.0,
        warranty_km: warranty.1,
        list_minor: list_yuan * 100,
    }
}

const CAR: (i32, i32) = (36, 100_000);
const EV: (i32, i32) = (60, 150_000);
const LCV: (i32, i32) = (24, 200_000);

/// Twenty models over nine model years; entry `m` has model year `2019 + m * 9 / 20`.
pub const CATALOGUE: [BenchModel; 20] = {
    use Body::*;
    use Powertrain::*;
    #[rustfmt::skip]
    let catalogue = [
        model("DA3-2019", "DA3", (Sedan, Ice), 2019, CAR, 89_800),
        model("DA5-2019", "DA5", (Suv, Ice), 2019, CAR, 129_800),
        model("DC1-2019", "DC1", (Van, Ice), 2019, LCV, 115_000),
        model("DA3-2020", "DA3", (Sedan, Ice), 2020, CAR, 92_800),
        model("DE1-2020", "DE1", (Hatchback, Bev), 2020, EV, 109_800),
        model("DA5-2021", "DA5", (Suv, Hev), 2021, CAR, 145_800),
        model("DA7-2021", "DA7", (Suv, Phev), 2021, CAR, 189_800),
        model("DC2-2022", "DC2", (Pickup, Ice), 2022, (36, 150_000), 158_800),
        model("DA3-2022", "DA3", (Sedan, Hev), 2022, CAR, 99_800),
        model("DE1-2023", "DE1", (Hatchback, Bev), 2023, EV, 105_800),
        model("DA9-2023", "DA9", (Mpv, Phev), 2023, CAR, 239_800),
        model("DE3-2023", "DE3", (Sedan, Bev), 2023, EV, 169_800),
        model("DA5-2024", "DA5", (Suv, Hev), 2024, CAR, 149_800),
        model("DA7-2024", "DA7", (Suv, Phev), 2024, CAR, 179_800),
        model("DE3-2025", "DE3", (Sedan, Bev), 2025, EV, 159_800),
        model("DC1-2025", "DC1", (Van, Ice), 2025, LCV, 118_000),
        model("DE5-2026", "DE5", (Suv, Bev), 2026, EV, 209_800),
        model("DA7-2026", "DA7", (Suv, Phev), 2026, CAR, 176_800),
        model("DE5-2027", "DE5", (Suv, Bev), 2027, EV, 199_800),
        model("DA9-2027", "DA9", (Mpv, Phev), 2027, CAR, 229_800),
    ];
    catalogue
};

/// The catalogue index of vehicle `n`.
pub fn model_index(n: u64) -> usize {
    ((n - 1) % CATALOGUE.len() as u64) as usize
}

pub fn model_of(n: u64) -> &'static BenchModel {
    &CATALOGUE[model_index(n)]
}

/// The VIN of vehicle `n` (see the module documentation).
pub fn vin(n: u64) -> Vin {
    assert!(
        (1..=MAX_VEHICLE).contains(&n),
        "vehicle {n} is outside the VIN key space"
    );
    let m = model_index(n);
    let year = m * 9 / 20;
    let mut chars: Vec<char> = format!("{WMI}V{:02}B10{}{n:07}", m + 1, YEAR_CODES[year] as char)
        .chars()
        .collect();
    chars[8] = check_digit(&chars);
    Vin::parse(&chars.into_iter().collect::<String>()).expect("bench VINs are valid")
}

/// Dealer outlet code of index `i` (0-based).
pub fn dealer(i: u64) -> String {
    format!("D{}", 1_000 + i % DEALERS)
}

/// Service station code of index `i` (0-based).
pub fn station(i: u64) -> String {
    format!("S{}", 3_000 + i % STATIONS)
}

/// A vehicle of `1..=total` that is certainly DELIVERED: one of the older models, whose
/// every vehicle is delivered. pgbench picks the same way (`vehicle_repair_cycle.sql`).
pub fn random_repairable(rng: &mut Rng, total: u64) -> u64 {
    let models = CATALOGUE.len() as u64;
    assert!(total >= models, "need at least {models} vehicles");
    let block = rng.below((total / models) as usize) as u64;
    models * block + 1 + rng.below(REPAIRABLE_MODELS as usize) as u64
}

/// A uniform number in [0, 1).
pub fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vins_are_valid_unique_and_carry_the_model_year() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).expect("date");
        let mut seen = std::collections::HashSet::new();
        for n in (1..=20_000).chain([999_999, 1_000_000, 2_000_000, FIRST_NEW, MAX_VEHICLE]) {
            let v = vin(n);
            assert!(seen.insert(v.clone()), "{v} repeats");
            assert_eq!(v.wmi(), WMI);
            assert_eq!(v.model_year(today), Some(model_of(n).model_year), "{v}");
        }
        // Computed independently (see vehicle_*.sql): n = 1 is model 0, year 2019.
        assert_eq!(vin(1).as_str(), "LDNV01B11K0000001");
        assert_eq!(vin(1_234_567).as_str(), "LDNV07B14M1234567");
    }

    #[test]
    fn catalogue_model_years_follow_the_index_rule() {
        for (m, model) in CATALOGUE.iter().enumerate() {
            assert_eq!(
                model.model_year,
                FIRST_MODEL_YEAR + (m * 9 / 20) as i32,
                "{}",
                model.code
            );
            dealernet_vehicles::domain::catalogue::check_code(model.code).expect("code");
        }
        assert!(CATALOGUE[REPAIRABLE_MODELS as usize - 1].model_year <= 2025);
    }

    #[test]
    fn repairable_picks_stay_in_range() {
        let mut rng = Rng::new(7);
        for _ in 0..10_000 {
            let n = random_repairable(&mut rng, 20_005);
            assert!((1..=20_005).contains(&n));
            assert!(model_index(n) < REPAIRABLE_MODELS as usize);
        }
    }
}
