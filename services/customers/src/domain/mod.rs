//! The registry's domain: values and rules, no IO.

pub mod contact;
pub mod national_id;
pub mod profile;

pub use contact::{Phone, PhoneKind};
pub use national_id::{IdHasher, NationalId};
pub use profile::{Address, Customer, ExternalId, Kind, Profile, SourceChannel, State};
