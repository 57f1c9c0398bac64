//! The registry's domain: values and rules, no IO.

pub mod consent;
pub mod contact;
pub mod matching;
pub mod national_id;
pub mod profile;
pub mod relationship;
pub mod survivorship;
pub mod value;
pub mod visibility;

pub use consent::{Channel, Consent, Decision, Purpose};
pub use contact::{Phone, PhoneKind};
pub use national_id::{IdHasher, NationalId};
pub use profile::{Address, Customer, ExternalId, Kind, Profile, SourceChannel, State};
