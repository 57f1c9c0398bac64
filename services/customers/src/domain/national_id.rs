//! Mainland resident identity numbers (GB 11643): validated, then kept only as a keyed hash
//! (to match on) and the last four characters (to show). The clear number never reaches
//! the database or the logs.

use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Weights of the first 17 characters in the ISO 7064 MOD 11-2 checksum.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each remainder 0..=10.
const CHECK: &[u8; 11] = b"10X98765432";

/// What is kept of a national ID number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NationalId {
    pub hash: Vec<u8>,
    pub last4: String,
}

/// Validates an 18-character number: 17 digits, a valid birth date, the check character.
/// Returns the upper-cased number.
pub fn validate(input: &str) -> Result<String, String> {
    let id = input.trim().to_ascii_uppercase();
    if id.len() != 18 {
        return Err(format!("must be 18 characters, got {}", id.chars().count()));
    }
    let bytes = id.as_bytes();
    if let Some(pos) = bytes[..17].iter().position(|b| !b.is_ascii_digit()) {
        return Err(format!("character {} must be a digit", pos + 1));
    }
    let (check_char, body) = (bytes[17], &bytes[..17]);
    if !(check_char.is_ascii_digit() || check_char == b'X') {
        return Err("character 18 must be a digit or X".into());
    }
    let birth = &id[6..14];
    if NaiveDate::parse_from_str(birth, "%Y%m%d").is_err() {
        return Err(format!(
            "characters 7-14 ('{birth}') are not a valid birth date"
        ));
    }
    let expected = check_character(body);
    if expected != check_char {
        return Err(format!(
            "check character is wrong: expected {} found {}",
            expected as char, check_char as char
        ));
    }
    Ok(id)
}

/// The check character (ISO 7064 MOD 11-2) of the first 17 digits.
pub fn check_character(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b.wrapping_sub(b'0')) * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

/// Hashes national ID numbers with a server-side key, so that a stolen database cannot be
/// reversed by enumerating the (small) space of valid numbers without the key.
#[derive(Clone)]
pub struct IdHasher {
    key: SecretString,
}

impl std::fmt::Debug for IdHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdHasher(..)")
    }
}

impl IdHasher {
    pub fn new(key: SecretString) -> IdHasher {
        IdHasher { key }
    }

    /// Validates and reduces a number to what may be stored.
    pub fn protect(&self, input: &str) -> Result<NationalId, String> {
        let id = validate(input)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("hmac takes any key length"));
        mac.update(id.as_bytes());
        Ok(NationalId {
            hash: mac.finalize().into_bytes().to_vec(),
            last4: id[14..].to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Published sample numbers with correct check characters.
    const VALID: &[&str] = &[
        "11010519491231002X",
        "440524188001010014",
        "110101199003074477",
    ];

    #[test]
    fn valid_numbers_pass() {
        for id in VALID {
            assert_eq!(validate(id).as_deref(), Ok(*id));
        }
        assert_eq!(
            validate("11010519491231002x").as_deref(),
            Ok("11010519491231002X")
        );
    }

    #[test]
    fn each_defect_is_named() {
        assert!(
            validate("1101051949123100")
                .expect_err("short")
                .contains("18 characters")
        );
        assert!(
            validate("11010519491231A02X")
                .expect_err("letter")
                .contains("character 15")
        );
        assert!(
            validate("110105194913310021")
                .expect_err("date")
                .contains("birth date")
        );
        let wrong = validate("110105194912310021").expect_err("check");
        assert!(wrong.contains("expected X found 1"), "{wrong}");
    }

    #[test]
    fn hash_is_keyed_and_last4_kept() {
        let a = IdHasher::new(SecretString::from("a".repeat(32)));
        let b = IdHasher::new(SecretString::from("b".repeat(32)));
        let pa = a.protect(VALID[0]).expect("valid");
        assert_eq!(pa.last4, "002X");
        assert_eq!(pa, a.protect(&VALID[0].to_lowercase()).expect("valid"));
        assert_ne!(pa.hash, b.protect(VALID[0]).expect("valid").hash);
        assert!(!pa.hash.windows(4).any(|w| w == b"1101"));
    }
}
