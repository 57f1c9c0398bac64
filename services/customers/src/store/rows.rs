//! Database rows and their conversion into domain values.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::domain::{
    Address, Customer, ExternalId, Kind, NationalId, Phone, PhoneKind, Profile, SourceChannel,
    State,
};

/// One row of `select_customer.sql`.
#[derive(Debug, sqlx::FromRow)]
pub struct CustomerRow {
    id: Uuid,
    kind: String,
    family_name: String,
    given_name: String,
    organization_name: String,
    province: String,
    city: String,
    district: String,
    street: String,
    postal_code: String,
    region_code: String,
    birthday: Option<NaiveDate>,
    preferred_language: String,
    source_channel: String,
    created_by_org: String,
    national_id_hash: Option<Vec<u8>>,
    national_id_last4: String,
    state: String,
    merged_into: Option<Uuid>,
    version: i64,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    preferred_dealer: String,
    preferred_station: String,
    phone_numbers: Vec<String>,
    phone_kinds: Vec<String>,
    emails: Vec<String>,
    external_issuers: Vec<String>,
    external_values: Vec<String>,
}

fn corrupt(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected {column} '{value}' in customer row").into())
}

impl CustomerRow {
    pub fn into_customer(self) -> Result<Customer, sqlx::Error> {
        let phones = self
            .phone_numbers
            .into_iter()
            .zip(self.phone_kinds)
            .map(|(e164, kind)| {
                let kind = PhoneKind::parse(&kind).ok_or_else(|| corrupt("phone kind", &kind))?;
                Ok(Phone { e164, kind })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let external_ids = self
            .external_issuers
            .into_iter()
            .zip(self.external_values)
            .map(|(issuer, value)| ExternalId { issuer, value })
            .collect();
        let national_id = self.national_id_hash.map(|hash| NationalId {
            hash,
            last4: self.national_id_last4,
        });
        Ok(Customer {
            id: self.id,
            profile: Profile {
                kind: Kind::parse(&self.kind).ok_or_else(|| corrupt("kind", &self.kind))?,
                family_name: self.family_name,
                given_name: self.given_name,
                organization_name: self.organization_name,
                phones,
                emails: self.emails,
                address: Address {
                    province: self.province,
                    city: self.city,
                    district: self.district,
                    street: self.street,
                    postal_code: self.postal_code,
                    region_code: self.region_code,
                },
                birthday: self.birthday,
                preferred_language: self.preferred_language,
                external_ids,
                national_id,
                source_channel: SourceChannel::parse(&self.source_channel)
                    .ok_or_else(|| corrupt("source_channel", &self.source_channel))?,
                preferred_dealer: self.preferred_dealer,
                preferred_station: self.preferred_station,
            },
            created_by_org: self.created_by_org,
            state: State::parse(&self.state).ok_or_else(|| corrupt("state", &self.state))?,
            merged_into: self.merged_into,
            create_time: self.create_time,
            update_time: self.update_time,
            version: self.version,
        })
    }
}
