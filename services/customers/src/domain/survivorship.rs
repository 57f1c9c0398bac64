//! Survivorship: which value of a single field survives a merge, and how multi-valued
//! parts are united.

use uuid::Uuid;

use super::{Customer, Profile, SourceChannel};

/// How a single-valued field is chosen among the non-empty values of the involved customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// From the customer whose source channel comes first in the list (ties: most recent).
    SourcePriority(Vec<SourceChannel>),
    /// From the most recently updated customer.
    MostRecent,
    /// The value most customers agree on (ties: the survivor's, then the most recent).
    MostFrequent,
}

/// The default channel trust order.
pub const DEFAULT_PRIORITY: &[SourceChannel] = &[
    SourceChannel::DealerPos,
    SourceChannel::ServiceStation,
    SourceChannel::Hotline,
    SourceChannel::Web,
    SourceChannel::Import,
];

/// A single-valued part of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    PersonName,
    OrganizationName,
    Address,
    Birthday,
    PreferredLanguage,
    NationalId,
    PreferredDealer,
    PreferredStation,
}

impl Field {
    pub const ALL: &'static [Field] = &[
        Field::PersonName,
        Field::OrganizationName,
        Field::Address,
        Field::Birthday,
        Field::PreferredLanguage,
        Field::NationalId,
        Field::PreferredDealer,
        Field::PreferredStation,
    ];

    /// The API's name of the field.
    pub fn name(self) -> &'static str {
        match self {
            Field::PersonName => "person_name",
            Field::OrganizationName => "organization_name",
            Field::Address => "address",
            Field::Birthday => "birthday",
            Field::PreferredLanguage => "preferred_language",
            Field::NationalId => "national_id",
            Field::PreferredDealer => "preferred_dealer",
            Field::PreferredStation => "preferred_service_station",
        }
    }

    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.name() == s)
    }

    fn is_empty(self, p: &Profile) -> bool {
        match self {
            Field::PersonName => p.family_name.is_empty() && p.given_name.is_empty(),
            Field::OrganizationName => p.organization_name.is_empty(),
            Field::Address => p.address == Default::default(),
            Field::Birthday => p.birthday.is_none(),
            Field::PreferredLanguage => p.preferred_language.is_empty(),
            Field::NationalId => p.national_id.is_none(),
            Field::PreferredDealer => p.preferred_dealer.is_empty(),
            Field::PreferredStation => p.preferred_station.is_empty(),
        }
    }

    /// A comparable rendering of the field's value, for MOST_FREQUENT.
    fn key(self, p: &Profile) -> String {
        match self {
            Field::PersonName => format!("{}\u{1f}{}", p.family_name, p.given_name),
            Field::OrganizationName => p.organization_name.clone(),
            Field::Address => format!("{:?}", p.address),
            Field::Birthday => format!("{:?}", p.birthday),
            Field::PreferredLanguage => p.preferred_language.clone(),
            Field::NationalId => format!("{:?}", p.national_id.as_ref().map(|n| &n.hash)),
            Field::PreferredDealer => p.preferred_dealer.clone(),
            Field::PreferredStation => p.preferred_station.clone(),
        }
    }

    fn copy(self, from: &Profile, to: &mut Profile) {
        match self {
            Field::PersonName => {
                to.family_name = from.family_name.clone();
                to.given_name = from.given_name.clone();
            }
            Field::OrganizationName => to.organization_name = from.organization_name.clone(),
            Field::Address => to.address = from.address.clone(),
            Field::Birthday => to.birthday = from.birthday,
            Field::PreferredLanguage => to.preferred_language = from.preferred_language.clone(),
            Field::NationalId => to.national_id = from.national_id.clone(),
            Field::PreferredDealer => to.preferred_dealer = from.preferred_dealer.clone(),
            Field::PreferredStation => to.preferred_station = from.preferred_station.clone(),
        }
    }
}

/// Picks the customer whose value of `field` survives; `None` when all are empty.
fn pick<'a>(field: Field, involved: &[&'a Customer], rule: &Rule) -> Option<&'a Customer> {
    let filled: Vec<&Customer> = involved
        .iter()
        .copied()
        .filter(|c| !field.is_empty(&c.profile))
        .collect();
    let most_recent = |cs: &[&'a Customer]| {
        cs.iter()
            .copied()
            .max_by_key(|c| (c.update_time, c.version))
    };
    match rule {
        Rule::MostRecent => most_recent(&filled),
        Rule::SourcePriority(order) => {
            let rank = |c: &Customer| {
                order
                    .iter()
                    .position(|s| *s == c.profile.source_channel)
                    .unwrap_or(order.len())
            };
            let best = filled.iter().map(|c| rank(c)).min()?;
            let top: Vec<&Customer> = filled.iter().copied().filter(|c| rank(c) == best).collect();
            most_recent(&top)
        }
        Rule::MostFrequent => {
            let count = |c: &Customer| {
                filled
                    .iter()
                    .filter(|o| field.key(&o.profile) == field.key(&c.profile))
                    .count()
            };
            let best = filled.iter().map(|c| count(c)).max()?;
            let top: Vec<&Customer> = filled
                .iter()
                .copied()
                .filter(|c| count(c) == best)
                .collect();
            // The survivor is involved[0]: it wins ties, then the most recent.
            top.iter()
                .copied()
                .find(|c| c.id == involved[0].id)
                .or_else(|| most_recent(&top))
        }
    }
}

/// The survivor's profile after merging `duplicates` into it: single fields by `rule` or
/// `overrides` (field → the customer to take it from), phones, e-mails and external ids
/// united (the survivor's first).
pub fn merged_profile(
    survivor: &Customer,
    duplicates: &[Customer],
    rule: &Rule,
    overrides: &[(Field, Uuid)],
) -> Profile {
    let involved: Vec<&Customer> = std::iter::once(survivor).chain(duplicates).collect();
    let mut merged = survivor.profile.clone();
    for &field in Field::ALL {
        let source = match overrides.iter().find(|(f, _)| *f == field) {
            Some((_, id)) => involved.iter().copied().find(|c| c.id == *id),
            None => pick(field, &involved, rule),
        };
        if let Some(source) = source {
            field.copy(&source.profile, &mut merged);
        }
    }
    for other in duplicates {
        for phone in &other.profile.phones {
            if !merged.phones.iter().any(|p| p.e164 == phone.e164) {
                merged.phones.push(phone.clone());
            }
        }
        for email in &other.profile.emails {
            if !merged.emails.contains(email) {
                merged.emails.push(email.clone());
            }
        }
        for id in &other.profile.external_ids {
            if !merged.external_ids.contains(id) {
                merged.external_ids.push(id.clone());
            }
        }
    }
    merged.external_ids.sort();
    merged
}
