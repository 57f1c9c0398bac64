//! Shared by the benchmark tools: the deterministic key spaces.
//!
//! Customer `n` (1..=N) has an id and a mobile number that the data generator, the load
//! generator and the pgbench scripts (`bench/sql/*.sql`) all compute the same way, so a
//! load run can hit existing customers without first reading the database. Vehicles work
//! the same way: see [`vehicles`].

pub mod callcenter;
pub mod copy_text;
pub mod vehicles;

use dealernet_customers::demo::{Person, Rng};
use uuid::Uuid;

/// Mixed into every per-customer seed so that bench people differ from `dev` demo people.
const SEED: u64 = 0x6465_616c_6572_6e65;

/// `00000000-0000-7000-8000-` + `n` zero-padded to 12 digits: version/variant bits of a
/// UUIDv7 (valid to the server's parser) and trivially computable in SQL.
pub fn customer_id(n: u64) -> Uuid {
    let text = format!("00000000-0000-7000-8000-{n:012}");
    Uuid::parse_str(&text).expect("twelve decimal digits are valid hex")
}

/// The mobile number of customer `n` in E.164: `+8613` + `n % 10` + `n` in 8 digits.
/// All `13x` prefixes are valid mainland mobile ranges, so the server's phonenumber
/// validation accepts every one of them.
pub fn mobile_e164(n: u64) -> String {
    format!("+8613{}{:08}", n % 10, n)
}

/// The generated person behind customer `n`: the demo generator seeded per customer, so
/// that the load generator can rebuild the same name without sharing state with datagen.
pub fn person(n: u64) -> Person {
    let mut rng = Rng::new(SEED ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut p = Person::random(&mut rng);
    // E.164 is one of the notations the server's phone parser accepts as input.
    p.mobile = mobile_e164(n);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_deterministic() {
        assert_eq!(
            customer_id(42).to_string(),
            "00000000-0000-7000-8000-000000000042"
        );
        assert_eq!(mobile_e164(1_000_000), "+8613001000000");
        assert_eq!(mobile_e164(7), "+8613700000007");
        assert_eq!(person(5).family, person(5).family);
    }
}
