//! The customer record and the rules that hold for every stored customer.

use chrono::{DateTime, NaiveDate, Utc};
use dealernet_kit::db_names;
use dealernet_kit::error::FieldViolations;
use uuid::Uuid;

use super::{contact::Phone, national_id::NationalId};

/// Person or organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Person,
    Organization,
}

/// The channel through which a customer first reached the maker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceChannel {
    DealerPos,
    ServiceStation,
    Hotline,
    Web,
    Import,
}

/// Lifecycle state of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Active,
    Merged,
    Erased,
}

db_names!(Kind { Person => "PERSON", Organization => "ORGANIZATION" });
db_names!(SourceChannel {
    DealerPos => "DEALER_POS",
    ServiceStation => "SERVICE_STATION",
    Hotline => "HOTLINE",
    Web => "WEB",
    Import => "IMPORT",
});
db_names!(State { Active => "ACTIVE", Merged => "MERGED", Erased => "ERASED" });

/// A postal address; every part may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub province: String,
    pub city: String,
    pub district: String,
    pub street: String,
    pub postal_code: String,
    pub region_code: String,
}

/// An identifier issued by another system; unique per issuer across the registry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExternalId {
    pub issuer: String,
    pub value: String,
}

/// Everything a client can set on a customer, already normalised and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub kind: Kind,
    pub family_name: String,
    pub given_name: String,
    pub organization_name: String,
    pub phones: Vec<Phone>,
    pub emails: Vec<String>,
    pub address: Address,
    pub birthday: Option<NaiveDate>,
    pub preferred_language: String,
    pub external_ids: Vec<ExternalId>,
    pub national_id: Option<NationalId>,
    pub source_channel: SourceChannel,
    /// Code of the preferred dealer outlet, or empty.
    pub preferred_dealer: String,
    /// Code of the preferred service station, or empty.
    pub preferred_station: String,
}

/// A stored customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: Uuid,
    pub profile: Profile,
    pub created_by_org: String,
    pub state: State,
    pub merged_into: Option<Uuid>,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    /// Bumped by every change; the etag is derived from it.
    pub version: i64,
}

/// Limits on a customer's parts; generous for real data, tight enough to refuse junk.
pub const MAX_PERSON_NAME_PART: usize = 64;
pub const MAX_ORGANIZATION_NAME: usize = 200;
pub const MAX_PHONES: usize = 10;
pub const MAX_EMAILS: usize = 10;
pub const MAX_EXTERNAL_IDS: usize = 20;

impl Profile {
    /// The name to show: family + given name (no space between CJK parts, family first
    /// otherwise too, as names are written in China), or the organisation's name.
    pub fn display_name(&self) -> String {
        match self.kind {
            Kind::Organization => self.organization_name.clone(),
            Kind::Person => {
                let cjk = |s: &str| s.chars().any(is_cjk);
                if cjk(&self.family_name)
                    || cjk(&self.given_name)
                    || self.given_name.is_empty()
                    || self.family_name.is_empty()
                {
                    format!("{}{}", self.family_name, self.given_name)
                } else {
                    format!("{} {}", self.family_name, self.given_name)
                }
            }
        }
    }

    /// The key that `name_prefix` searches: the display name lower-cased without spaces.
    pub fn name_key(&self) -> String {
        name_key(&self.display_name())
    }

    /// Rules that involve several fields; field-level rules are checked while parsing.
    pub fn check(&self) -> FieldViolations {
        let mut v = FieldViolations::new();
        match self.kind {
            Kind::Person => {
                if self.family_name.is_empty() && self.given_name.is_empty() {
                    v.add(
                        "person_name",
                        "a person needs a family name or a given name",
                    );
                }
                if !self.organization_name.is_empty() {
                    v.add("organization_name", "must be empty for a person");
                }
            }
            Kind::Organization => {
                if self.organization_name.is_empty() {
                    v.add(
                        "organization_name",
                        "an organisation needs its registered name",
                    );
                }
                if !self.family_name.is_empty() || !self.given_name.is_empty() {
                    v.add("person_name", "must be empty for an organisation");
                }
                if self.birthday.is_some() {
                    v.add("birthday", "must be empty for an organisation");
                }
                if self.national_id.is_some() {
                    v.add("national_id", "must be empty for an organisation");
                }
            }
        }
        v
    }
}

/// Lower-cases and drops whitespace, so "Wang Xiaoming" and "wangxiaoming" meet.
pub fn name_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FA1F}')
}

/// Trims and checks a free-text value: at most `max` characters, no control characters.
pub fn clean_text(input: &str, max: usize) -> Result<String, String> {
    let text = input.trim();
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(text.to_owned())
}

/// Checks an issuer code: 1 to 32 characters of A-Z, 0-9, '-' and '_'.
pub fn check_issuer(issuer: &str) -> Result<(), String> {
    let ok = !issuer.is_empty()
        && issuer.len() <= 32
        && issuer
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err("must be 1 to 32 characters of A-Z, 0-9, '-' or '_'".into())
    }
}

/// Checks a BCP 47 language tag in its common shape (`zh`, `zh-CN`, `zh-Hans-CN`).
pub fn check_language(tag: &str) -> Result<(), String> {
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if tag.len() <= 35 && primary_ok && rest_ok {
        Ok(())
    } else {
        Err(format!("'{tag}' is not a language tag such as zh-CN"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(family: &str, given: &str) -> Profile {
        Profile {
            kind: Kind::Person,
            family_name: family.into(),
            given_name: given.into(),
            organization_name: String::new(),
            phones: vec![],
            emails: vec![],
            address: Address::default(),
            birthday: None,
            preferred_language: String::new(),
            external_ids: vec![],
            national_id: None,
            source_channel: SourceChannel::Hotline,
            preferred_dealer: String::new(),
            preferred_station: String::new(),
        }
    }

    #[test]
    fn display_names() {
        assert_eq!(person("王", "小明").display_name(), "王小明");
        assert_eq!(person("Wang", "Xiaoming").display_name(), "Wang Xiaoming");
        assert_eq!(person("Wang", "Xiaoming").name_key(), "wangxiaoming");
    }

    #[test]
    fn person_needs_a_name() {
        assert!(!person("", "").check().is_empty());
        assert!(person("王", "").check().is_empty());
    }

    #[test]
    fn text_and_codes() {
        assert_eq!(clean_text("  a ", 5).as_deref(), Ok("a"));
        assert!(clean_text("abcdef", 5).is_err());
        assert!(clean_text("a\u{0}b", 5).is_err());
        assert!(check_issuer("D1001").is_ok());
        assert!(check_issuer("d1001").is_err());
        assert!(check_language("zh-CN").is_ok());
        assert!(check_language("zh-Hans-CN").is_ok());
        assert!(check_language("chinese").is_err());
    }
}
