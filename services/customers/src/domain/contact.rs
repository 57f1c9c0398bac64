//! Contact points in their one canonical form: phones in E.164, e-mails lower-cased.
//! Matching and duplicate detection compare these forms only.

use phonenumber::{PhoneNumber, country};

/// The kind of a phone line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneKind {
    Mobile,
    Home,
    Work,
}

impl PhoneKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneKind::Mobile => "MOBILE",
            PhoneKind::Home => "HOME",
            PhoneKind::Work => "WORK",
        }
    }

    pub fn parse(s: &str) -> Option<PhoneKind> {
        match s {
            "MOBILE" => Some(PhoneKind::Mobile),
            "HOME" => Some(PhoneKind::Home),
            "WORK" => Some(PhoneKind::Work),
            _ => None,
        }
    }
}

/// A phone number in E.164 form, e.g. `+8613800138000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    pub e164: String,
    pub kind: PhoneKind,
}

/// Longest input accepted before parsing; real numbers with separators are far shorter.
const MAX_PHONE_INPUT: usize = 40;

/// Parses a number in any common notation; numbers without a country code are read as
/// mainland China numbers. `kind` `None` derives it: mobile numbers are MOBILE, others HOME.
pub fn normalize_phone(input: &str, kind: Option<PhoneKind>) -> Result<Phone, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err("must not be empty".into());
    }
    if input.len() > MAX_PHONE_INPUT {
        return Err(format!("must be at most {MAX_PHONE_INPUT} characters"));
    }
    let number: PhoneNumber = phonenumber::parse(Some(country::Id::CN), input)
        .map_err(|_| format!("'{input}' is not a phone number"))?;
    if !phonenumber::is_valid(&number) {
        return Err(format!("'{input}' is not a valid phone number"));
    }
    let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
    let derived = match number.number_type(&phonenumber::metadata::DATABASE) {
        phonenumber::Type::Mobile => PhoneKind::Mobile,
        _ => PhoneKind::Home,
    };
    Ok(Phone {
        e164,
        kind: kind.unwrap_or(derived),
    })
}

/// Longest e-mail address (RFC 5321 path limit).
const MAX_EMAIL: usize = 254;

/// Validates an address (`local@domain.tld`, no quoting or IP literals) and lower-cases it.
pub fn normalize_email(input: &str) -> Result<String, String> {
    let email = input.trim().to_lowercase();
    if email.is_empty() {
        return Err("must not be empty".into());
    }
    if email.len() > MAX_EMAIL {
        return Err(format!("must be at most {MAX_EMAIL} characters"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(format!("'{input}' has no '@'"));
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    if !local_ok {
        return Err(format!("'{input}' has an invalid part before '@'"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    if !domain_ok {
        return Err(format!("'{input}' has an invalid domain"));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_numbers_in_any_notation() {
        for input in [
            "13800138000",
            "138 0013 8000",
            "+86 138-0013-8000",
            "0086 13800138000",
            "+8613800138000",
        ] {
            let p = normalize_phone(input, None).expect(input);
            assert_eq!(p.e164, "+8613800138000", "{input}");
            assert_eq!(p.kind, PhoneKind::Mobile);
        }
        let landline = normalize_phone("010-6552 9988", None).expect("beijing landline");
        assert_eq!(landline.e164, "+861065529988");
        assert_eq!(landline.kind, PhoneKind::Home);
        assert_eq!(
            normalize_phone("(021) 6321 0000", Some(PhoneKind::Work))
                .expect("shanghai")
                .kind,
            PhoneKind::Work
        );
    }

    #[test]
    fn foreign_numbers_keep_their_country() {
        assert_eq!(
            normalize_phone("+49 30 901820", None).expect("berlin").e164,
            "+4930901820"
        );
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for input in [
            "",
            "abc",
            "12345",
            "1380013800",
            "+86 12345",
            &"1".repeat(60),
        ] {
            assert!(normalize_phone(input, None).is_err(), "{input}");
        }
    }

    #[test]
    fn emails_are_lower_cased() {
        assert_eq!(
            normalize_email(" Wang.Li@Example.COM ").as_deref(),
            Ok("wang.li@example.com")
        );
        assert_eq!(
            normalize_email("a+tag@mail.qq.com").as_deref(),
            Ok("a+tag@mail.qq.com")
        );
    }

    #[test]
    fn invalid_emails_are_refused() {
        for input in [
            "",
            "plain",
            "@x.com",
            "a@",
            "a@b",
            "a@b.c",
            "a..b@x.com",
            "a@-x.com",
            "a b@x.com",
            "a@x.c0m",
        ] {
            assert!(normalize_email(input).is_err(), "{input}");
        }
        assert!(normalize_email(&format!("{}@x.com", "a".repeat(65))).is_err());
    }
}
