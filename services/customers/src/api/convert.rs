//! proto ↔ domain: parsing client input into a validated [`Profile`] (collecting every
//! violation, with field paths as the client wrote them) and rendering stored customers.

use chrono::{Datelike, NaiveDate, Utc};
use dealernet_kit::error::FieldViolations;
use dealernet_proto::{customers::v1 as pb, types::v1 as types};
use prost_types::Timestamp;
use uuid::Uuid;

use crate::domain::{
    Address, Customer, ExternalId, IdHasher, Kind, PhoneKind, Profile, SourceChannel, State,
    contact::{normalize_email, normalize_phone},
    profile::{
        MAX_EMAILS, MAX_EXTERNAL_IDS, MAX_ORGANIZATION_NAME, MAX_PERSON_NAME_PART, MAX_PHONES,
        check_issuer, check_language, clean_text,
    },
};

/// The resource name of a customer.
pub fn resource_name(id: Uuid) -> String {
    format!("customers/{id}")
}

/// Parses `customers/{uuid}`; `field` names the request field for the violation.
pub fn parse_name(name: &str, field: &str) -> Result<Uuid, FieldViolations> {
    name.strip_prefix("customers/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| {
            FieldViolations::one(
                field,
                format!("'{name}' is not a customer name (customers/{{uuid}})"),
            )
        })
}

/// The etag of a stored version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

const MAX_ADDRESS_PART: usize = 100;
const MAX_STREET: usize = 200;
const MAX_EXTERNAL_VALUE: usize = 64;

/// Parses a client's customer into a profile, or reports every invalid field under
/// `customer.`.
pub fn profile_from_proto(c: &pb::Customer, hasher: &IdHasher) -> Result<Profile, FieldViolations> {
    let mut v = FieldViolations::new();
    let mut text = |field: &str, value: &str, max: usize| -> String {
        clean_text(value, max).unwrap_or_else(|e| {
            v.add(field, e);
            String::new()
        })
    };
    let name = c.person_name.clone().unwrap_or_default();
    let family_name = text(
        "person_name.family_name",
        &name.family_name,
        MAX_PERSON_NAME_PART,
    );
    let given_name = text(
        "person_name.given_name",
        &name.given_name,
        MAX_PERSON_NAME_PART,
    );
    let organization_name = text(
        "organization_name",
        &c.organization_name,
        MAX_ORGANIZATION_NAME,
    );
    let a = c.address.clone().unwrap_or_default();
    let address = Address {
        province: text("address.province", &a.province, MAX_ADDRESS_PART),
        city: text("address.city", &a.city, MAX_ADDRESS_PART),
        district: text("address.district", &a.district, MAX_ADDRESS_PART),
        street: text("address.street", &a.street, MAX_STREET),
        postal_code: a.postal_code.trim().to_owned(),
        region_code: a.region_code.trim().to_ascii_uppercase(),
    };
    let region_ok = address.region_code.is_empty()
        || (address.region_code.len() == 2
            && address.region_code.bytes().all(|b| b.is_ascii_uppercase()));
    if !region_ok {
        v.add(
            "address.region_code",
            "must be an ISO 3166-1 alpha-2 code such as CN",
        );
    }
    let in_china = address.region_code.is_empty() || address.region_code == "CN";
    if !address.postal_code.is_empty() {
        let six_digits = address.postal_code.len() == 6
            && address.postal_code.bytes().all(|b| b.is_ascii_digit());
        if in_china && !six_digits {
            v.add("address.postal_code", "must be six digits");
        } else if address.postal_code.len() > 16 {
            v.add("address.postal_code", "must be at most 16 characters");
        }
    }

    let kind = match pb::CustomerKind::try_from(c.kind) {
        Ok(pb::CustomerKind::Person) => Some(Kind::Person),
        Ok(pb::CustomerKind::Organization) => Some(Kind::Organization),
        _ => {
            v.add(
                "kind",
                "required: CUSTOMER_KIND_PERSON or CUSTOMER_KIND_ORGANIZATION",
            );
            None
        }
    };
    let source_channel = source_channel_from_proto(c.source_channel);
    if source_channel.is_none() {
        v.add(
            "source_channel",
            "required: one of the SOURCE_CHANNEL_* values",
        );
    }

    let mut phones = Vec::new();
    if c.phones.len() > MAX_PHONES {
        v.add("phones", format!("at most {MAX_PHONES} phone numbers"));
    }
    for (i, phone) in c.phones.iter().enumerate() {
        let kind = match pb::PhoneKind::try_from(phone.kind) {
            Ok(pb::PhoneKind::Unspecified) => None,
            Ok(pb::PhoneKind::Mobile) => Some(PhoneKind::Mobile),
            Ok(pb::PhoneKind::Home) => Some(PhoneKind::Home),
            Ok(pb::PhoneKind::Work) => Some(PhoneKind::Work),
            Err(_) => {
                v.add(format!("phones[{i}].kind"), "unknown phone kind");
                None
            }
        };
        match normalize_phone(&phone.number, kind) {
            Ok(p)
                if phones
                    .iter()
                    .any(|q: &crate::domain::Phone| q.e164 == p.e164) => {}
            Ok(p) => phones.push(p),
            Err(e) => v.add(format!("phones[{i}].number"), e),
        }
    }

    let mut emails = Vec::new();
    if c.emails.len() > MAX_EMAILS {
        v.add("emails", format!("at most {MAX_EMAILS} e-mail addresses"));
    }
    for (i, email) in c.emails.iter().enumerate() {
        match normalize_email(&email.address) {
            Ok(e) if emails.contains(&e) => {}
            Ok(e) => emails.push(e),
            Err(e) => v.add(format!("emails[{i}].address"), e),
        }
    }

    let mut external_ids: Vec<ExternalId> = Vec::new();
    if c.external_ids.len() > MAX_EXTERNAL_IDS {
        v.add(
            "external_ids",
            format!("at most {MAX_EXTERNAL_IDS} external ids"),
        );
    }
    for (i, x) in c.external_ids.iter().enumerate() {
        let issuer = x.issuer.trim().to_owned();
        if let Err(e) = check_issuer(&issuer) {
            v.add(format!("external_ids[{i}].issuer"), e);
        }
        let value = x.value.trim().to_owned();
        if value.is_empty()
            || value.len() > MAX_EXTERNAL_VALUE
            || value.chars().any(char::is_control)
        {
            v.add(
                format!("external_ids[{i}].value"),
                format!("must be 1 to {MAX_EXTERNAL_VALUE} printable characters"),
            );
        }
        let id = ExternalId { issuer, value };
        if !external_ids.contains(&id) {
            external_ids.push(id);
        }
    }
    external_ids.sort();

    let birthday = c.birthday.as_ref().and_then(|d| {
        if *d == types::Date::default() {
            return None;
        }
        match NaiveDate::from_ymd_opt(d.year, d.month.max(0) as u32, d.day.max(0) as u32) {
            Some(date) if date.year() >= 1900 && date <= Utc::now().date_naive() => Some(date),
            Some(_) => {
                v.add("birthday", "must be between 1900-01-01 and today");
                None
            }
            None => {
                v.add(
                    "birthday",
                    format!("{}-{}-{} is not a calendar date", d.year, d.month, d.day),
                );
                None
            }
        }
    });

    let preferred_language = c.preferred_language.trim().to_owned();
    if !preferred_language.is_empty()
        && let Err(e) = check_language(&preferred_language)
    {
        v.add("preferred_language", e);
    }

    let national_id = if c.national_id.trim().is_empty() {
        None
    } else {
        hasher
            .protect(&c.national_id)
            .map_err(|e| v.add("national_id", e))
            .ok()
    };

    let mut outlet = |field: &str, code: &str| -> String {
        let code = code.trim().to_owned();
        if !code.is_empty()
            && let Err(e) = check_issuer(&code)
        {
            v.add(field, format!("an outlet code {e}"));
        }
        code
    };
    let preferred_dealer = outlet("preferred_dealer", &c.preferred_dealer);
    let preferred_station = outlet("preferred_service_station", &c.preferred_service_station);

    let (Some(kind), Some(source_channel)) = (kind, source_channel) else {
        return Err(v);
    };
    let profile = Profile {
        kind,
        family_name,
        given_name,
        organization_name,
        phones,
        emails,
        address,
        birthday,
        preferred_language,
        external_ids,
        national_id,
        source_channel,
        preferred_dealer,
        preferred_station,
    };
    let mut all = v;
    for (field, description) in profile.check().iter() {
        all.add(field, description);
    }
    all.into_result().map(|()| profile)
}

pub fn source_channel_from_proto(value: i32) -> Option<SourceChannel> {
    match pb::SourceChannel::try_from(value).ok()? {
        pb::SourceChannel::Unspecified => None,
        pb::SourceChannel::DealerPos => Some(SourceChannel::DealerPos),
        pb::SourceChannel::ServiceStation => Some(SourceChannel::ServiceStation),
        pb::SourceChannel::Hotline => Some(SourceChannel::Hotline),
        pb::SourceChannel::Web => Some(SourceChannel::Web),
        pb::SourceChannel::Import => Some(SourceChannel::Import),
    }
}

pub fn source_channel_to_proto(s: SourceChannel) -> pb::SourceChannel {
    match s {
        SourceChannel::DealerPos => pb::SourceChannel::DealerPos,
        SourceChannel::ServiceStation => pb::SourceChannel::ServiceStation,
        SourceChannel::Hotline => pb::SourceChannel::Hotline,
        SourceChannel::Web => pb::SourceChannel::Web,
        SourceChannel::Import => pb::SourceChannel::Import,
    }
}

pub fn timestamp(t: chrono::DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// Reads a client's timestamp; out-of-range values are refused rather than clamped.
pub fn from_timestamp(t: &Timestamp) -> Result<chrono::DateTime<Utc>, String> {
    use chrono::SubsecRound;
    u32::try_from(t.nanos)
        .ok()
        .and_then(|nanos| chrono::DateTime::from_timestamp(t.seconds, nanos))
        .map(|d| d.trunc_subsecs(6))
        .ok_or_else(|| "is not a valid timestamp".to_owned())
}

/// Renders a stored customer. The national ID number itself is never known here.
pub fn to_proto(c: &Customer) -> pb::Customer {
    let p = &c.profile;
    pb::Customer {
        name: resource_name(c.id),
        kind: match p.kind {
            Kind::Person => pb::CustomerKind::Person,
            Kind::Organization => pb::CustomerKind::Organization,
        } as i32,
        person_name: (p.kind == Kind::Person).then(|| pb::PersonName {
            family_name: p.family_name.clone(),
            given_name: p.given_name.clone(),
        }),
        organization_name: p.organization_name.clone(),
        display_name: p.display_name(),
        phones: p
            .phones
            .iter()
            .map(|ph| pb::Phone {
                number: ph.e164.clone(),
                kind: match ph.kind {
                    PhoneKind::Mobile => pb::PhoneKind::Mobile,
                    PhoneKind::Home => pb::PhoneKind::Home,
                    PhoneKind::Work => pb::PhoneKind::Work,
                } as i32,
            })
            .collect(),
        emails: p
            .emails
            .iter()
            .map(|e| pb::Email { address: e.clone() })
            .collect(),
        address: (p.address != Address::default()).then(|| types::PostalAddress {
            province: p.address.province.clone(),
            city: p.address.city.clone(),
            district: p.address.district.clone(),
            street: p.address.street.clone(),
            postal_code: p.address.postal_code.clone(),
            region_code: p.address.region_code.clone(),
        }),
        birthday: p.birthday.map(|d| types::Date {
            year: d.year(),
            month: d.month() as i32,
            day: d.day() as i32,
        }),
        preferred_language: p.preferred_language.clone(),
        source_channel: source_channel_to_proto(p.source_channel) as i32,
        creating_organization: c.created_by_org.clone(),
        external_ids: p
            .external_ids
            .iter()
            .map(|x| pb::ExternalId {
                issuer: x.issuer.clone(),
                value: x.value.clone(),
            })
            .collect(),
        national_id: String::new(),
        national_id_last4: p
            .national_id
            .as_ref()
            .map(|n| n.last4.clone())
            .unwrap_or_default(),
        state: match c.state {
            State::Active => pb::CustomerState::Active,
            State::Merged => pb::CustomerState::Merged,
            State::Erased => pb::CustomerState::Erased,
        } as i32,
        merged_into: c.merged_into.map(resource_name).unwrap_or_default(),
        create_time: Some(timestamp(c.create_time)),
        update_time: Some(timestamp(c.update_time)),
        etag: etag(c.version),
        preferred_dealer: p.preferred_dealer.clone(),
        preferred_service_station: p.preferred_station.clone(),
        masked: false,
    }
}

/// Field paths UpdateCustomer accepts.
pub const UPDATABLE_PATHS: &[&str] = &[
    "kind",
    "person_name",
    "person_name.family_name",
    "person_name.given_name",
    "organization_name",
    "phones",
    "emails",
    "address",
    "address.province",
    "address.city",
    "address.district",
    "address.street",
    "address.postal_code",
    "address.region_code",
    "birthday",
    "preferred_language",
    "external_ids",
    "national_id",
    "preferred_dealer",
    "preferred_service_station",
];

/// Checks an update mask: non-empty, known paths only.
pub fn check_mask(paths: &[String]) -> Result<(), FieldViolations> {
    let mut v = FieldViolations::new();
    if paths.is_empty() {
        v.add(
            "update_mask",
            format!(
                "required: name the fields to change, from {}",
                UPDATABLE_PATHS.join(", ")
            ),
        );
    }
    for (i, path) in paths.iter().enumerate() {
        if !UPDATABLE_PATHS.contains(&path.as_str()) {
            v.add(
                format!("update_mask.paths[{i}]"),
                format!("'{path}' is not an updatable field"),
            );
        }
    }
    v.into_result()
}

/// Applies the masked fields of `input` onto `current` and validates the result.
pub fn apply_mask(
    current: &Customer,
    input: &pb::Customer,
    paths: &[String],
    hasher: &IdHasher,
) -> Result<Profile, FieldViolations> {
    let mut merged = to_proto(current);
    let input_name = input.person_name.clone().unwrap_or_default();
    let input_address = input.address.clone().unwrap_or_default();
    for path in paths {
        match path.as_str() {
            "kind" => merged.kind = input.kind,
            "person_name" => merged.person_name = input.person_name.clone(),
            "person_name.family_name" => {
                merged
                    .person_name
                    .get_or_insert_with(Default::default)
                    .family_name = input_name.family_name.clone();
            }
            "person_name.given_name" => {
                merged
                    .person_name
                    .get_or_insert_with(Default::default)
                    .given_name = input_name.given_name.clone();
            }
            "organization_name" => merged.organization_name = input.organization_name.clone(),
            "phones" => merged.phones = input.phones.clone(),
            "emails" => merged.emails = input.emails.clone(),
            "address" => merged.address = input.address.clone(),
            "birthday" => merged.birthday = input.birthday,
            "preferred_language" => merged.preferred_language = input.preferred_language.clone(),
            "external_ids" => merged.external_ids = input.external_ids.clone(),
            "national_id" => merged.national_id = input.national_id.clone(),
            "preferred_dealer" => merged.preferred_dealer = input.preferred_dealer.clone(),
            "preferred_service_station" => {
                merged.preferred_service_station = input.preferred_service_station.clone();
            }
            address_part => {
                let a = merged.address.get_or_insert_with(Default::default);
                match address_part {
                    "address.province" => a.province = input_address.province.clone(),
                    "address.city" => a.city = input_address.city.clone(),
                    "address.district" => a.district = input_address.district.clone(),
                    "address.street" => a.street = input_address.street.clone(),
                    "address.postal_code" => a.postal_code = input_address.postal_code.clone(),
                    "address.region_code" => a.region_code = input_address.region_code.clone(),
                    _ => {}
                }
            }
        }
    }
    let mut profile = profile_from_proto(&merged, hasher)?;
    if !paths.iter().any(|p| p == "national_id") {
        profile.national_id = current.profile.national_id.clone();
    }
    Ok(profile)
}
