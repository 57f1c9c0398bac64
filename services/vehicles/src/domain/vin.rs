//! Vehicle identification numbers (ISO 3779; GB 16735 makes the check digit mandatory in
//! China): validation with a precise reason, and the parts decoded for display.

use chrono::Datelike;

/// A valid VIN, upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vin(String);

/// What is wrong with a VIN, each with its position where it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VinError {
    Length(usize),
    Character { position: usize, found: char },
    CheckDigit { expected: char, found: char },
}

impl std::fmt::Display for VinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VinError::Length(n) => write!(f, "must be 17 characters, got {n}"),
            VinError::Character { position, found } => write!(
                f,
                "character {position} ('{found}') is not allowed: only A-Z without I, O, Q, and 0-9"
            ),
            VinError::CheckDigit { expected, found } => {
                write!(
                    f,
                    "check digit (position 9) expected {expected} found {found}"
                )
            }
        }
    }
}

/// Position weights of the check-digit sum (position 9 itself weighs 0).
const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// The ISO 3779 transliteration of a character, `None` for characters a VIN cannot hold.
fn value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        'A' | 'J' => Some(1),
        'B' | 'K' | 'S' => Some(2),
        'C' | 'L' | 'T' => Some(3),
        'D' | 'M' | 'U' => Some(4),
        'E' | 'N' | 'V' => Some(5),
        'F' | 'W' => Some(6),
        'G' | 'P' | 'X' => Some(7),
        'H' | 'Y' => Some(8),
        'R' | 'Z' => Some(9),
        _ => None,
    }
}

/// The check digit of 17 characters whose values are known.
pub fn check_digit(chars: &[char]) -> char {
    let sum: u32 = chars
        .iter()
        .zip(WEIGHTS)
        .map(|(c, w)| value(*c).unwrap_or(0) * w)
        .sum();
    match sum % 11 {
        10 => 'X',
        n => char::from_digit(n, 10).unwrap_or('0'),
    }
}

impl Vin {
    /// Validates `input` (surrounding spaces ignored, case-insensitive).
    pub fn parse(input: &str) -> Result<Vin, VinError> {
        let vin = input.trim().to_ascii_uppercase();
        let chars: Vec<char> = vin.chars().collect();
        if chars.len() != 17 {
            return Err(VinError::Length(chars.len()));
        }
        if let Some((i, c)) = chars.iter().enumerate().find(|(_, c)| value(**c).is_none()) {
            return Err(VinError::Character {
                position: i + 1,
                found: *c,
            });
        }
        let expected = check_digit(&chars);
        if chars[8] != expected {
            return Err(VinError::CheckDigit {
                expected,
                found: chars[8],
            });
        }
        Ok(Vin(vin))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The world manufacturer identifier (positions 1-3).
    pub fn wmi(&self) -> &str {
        &self.0[..3]
    }

    /// The region of manufacture, from position 1.
    pub fn region(&self) -> &'static str {
        match self.0.as_bytes()[0] {
            b'A'..=b'H' => "Africa",
            b'J'..=b'R' => "Asia",
            b'S'..=b'Z' => "Europe",
            b'1'..=b'5' => "North America",
            b'6' | b'7' => "Oceania",
            _ => "South America",
        }
    }

    /// The model year from position 10. The code repeats every 30 years; the latest year
    /// that is not after next year is taken.
    pub fn model_year(&self, today: chrono::NaiveDate) -> Option<i32> {
        const CODES: &str = "ABCDEFGHJKLMNPRSTVWXY123456789";
        let code = self.0.as_bytes()[9] as char;
        let offset = CODES.find(code)? as i32;
        let latest = today.year() + 1;
        let mut year = 1980 + offset;
        while year + 30 <= latest {
            year += 30;
        }
        Some(year)
    }
}

impl std::fmt::Display for Vin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real VINs with correct check digits (checked with PyPI vininfo as an oracle).
    const VALID: &[&str] = &[
        "1M8GDM9AXKP042788",
        "1HGCM82633A004352",
        "JH4KA7561PC008269",
        "11111111111111111",
    ];

    fn day() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("date")
    }

    #[test]
    fn real_vins_are_valid() {
        for v in VALID {
            assert_eq!(Vin::parse(v).expect(v).as_str(), *v);
        }
        assert_eq!(
            Vin::parse(" 1hgcm82633a004352 ")
                .expect("lower case")
                .as_str(),
            "1HGCM82633A004352"
        );
    }

    #[test]
    fn every_single_mutation_is_caught() {
        for v in VALID {
            let chars: Vec<char> = v.chars().collect();
            for pos in 0..17 {
                for replacement in ['0', '5', 'A', 'K', 'Z'] {
                    if chars[pos] == replacement {
                        continue;
                    }
                    let mut mutated = chars.clone();
                    mutated[pos] = replacement;
                    let mutated: String = mutated.into_iter().collect();
                    // A change can leave the sum unchanged (same transliteration value).
                    let same_value = value(chars[pos]) == value(replacement);
                    if !same_value {
                        assert!(Vin::parse(&mutated).is_err(), "{mutated} (from {v}) passed");
                    }
                }
            }
        }
    }

    #[test]
    fn each_defect_is_named() {
        assert_eq!(Vin::parse("1HGCM82633A00435"), Err(VinError::Length(16)));
        assert_eq!(
            Vin::parse("1HGCM8I633A004352"),
            Err(VinError::Character {
                position: 7,
                found: 'I'
            })
        );
        assert_eq!(
            Vin::parse("1HGCM82643A004352"),
            Err(VinError::CheckDigit {
                expected: '3',
                found: '4'
            })
        );
        let text = VinError::CheckDigit {
            expected: 'X',
            found: '5',
        }
        .to_string();
        assert!(text.contains("expected X found 5"), "{text}");
    }

    #[test]
    fn decoded_for_display() {
        let honda = Vin::parse("1HGCM82633A004352").expect("valid");
        assert_eq!((honda.wmi(), honda.region()), ("1HG", "North America"));
        assert_eq!(honda.model_year(day()), Some(2003));
        assert_eq!(
            Vin::parse("1M8GDM9AXKP042788")
                .expect("valid")
                .model_year(day()),
            Some(2019)
        );
        assert_eq!(
            Vin::parse("JH4KA7561PC008269")
                .expect("valid")
                .model_year(day()),
            Some(2023)
        );
    }
}
