//! The registry's domain: values and rules, no IO.

/// Names as stored in the database's text columns.
macro_rules! db_names {
    ($ty:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

pub mod consent;
pub mod contact;
pub mod matching;
pub mod national_id;
pub mod profile;
pub mod relationship;
pub mod survivorship;
pub mod visibility;

pub use consent::{Channel, Consent, Decision, Purpose};
pub use contact::{Phone, PhoneKind};
pub use national_id::{IdHasher, NationalId};
pub use profile::{Address, Customer, ExternalId, Kind, Profile, SourceChannel, State};
