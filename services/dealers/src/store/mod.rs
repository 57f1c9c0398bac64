//! PostgreSQL persistence of the dealer network. Functions take the caller's connection
//! and never begin or commit transactions — handlers do.

pub mod lead;
pub mod outlet;
pub mod ranking;
pub mod scorecard;
pub mod staff;

/// The row lock a read takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    /// FOR SHARE: the row cannot change until the reader commits; readers don't block
    /// each other (many leads may be routed to one outlet at once).
    Share,
    /// FOR UPDATE: one writer at a time.
    Update,
}

impl Lock {
    fn sql(self) -> &'static str {
        match self {
            Lock::None => "",
            Lock::Share => " FOR SHARE",
            Lock::Update => " FOR UPDATE",
        }
    }
}

/// A stored value the code does not know: the schema and the code disagree.
fn bad_value(what: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected {what} '{value}' in the database").into())
}
