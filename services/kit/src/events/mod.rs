//! Events between services: the transactional outbox a service publishes from, the
//! `StreamEvents` loop that serves it, and the consumers that apply other services'
//! streams with durable cursors.
//!
//! Order and gaps: an event's position is `(tx_id, position)` — the writing transaction's
//! id (`pg_current_xact_id()`, taken at insert) and an identity. Transactions commit in
//! any order, so a reader goes only up to `pg_snapshot_xmin` of its snapshot: every
//! transaction below it has ended, every one at or above it will write positions above
//! anything read so far. Nothing is skipped; delivery is at least once (a consumer
//! resumes from its last durable cursor).

mod consumer;
mod outbox;
pub mod repoints;
pub mod rpc;
mod source;
mod stream;

pub use consumer::{Apply, ApplyError, Consumer, ParkedRetry, list_parked, retry_parked};
pub use outbox::{
    NewEvent, Outbox, PruneSettings, StoredEvent, ack, append, append_many, published,
};
pub use source::{Deliveries, Delivery, EventSource, Source, StreamResponse};
pub use stream::{StreamItem, StreamRequest};

use crate::error::FieldViolations;

/// A position in a service's event stream: `(transaction id, position)`, ordered.
/// Written as `"<tx>.<position>"`; clients treat it as opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Cursor {
    tx: u64,
    position: i64,
}

impl Cursor {
    /// Before every event.
    pub const START: Cursor = Cursor { tx: 0, position: 0 };

    /// Parses a cursor as StreamEvents and AckEvents take it; empty is [`Cursor::START`].
    pub fn parse(text: &str, field: &str) -> Result<Cursor, FieldViolations> {
        if text.is_empty() {
            return Ok(Cursor::START);
        }
        let bad = || FieldViolations::one(field, "is not a cursor this stream returned");
        let (tx, position) = text.split_once('.').ok_or_else(bad)?;
        let tx: u64 = tx.parse().map_err(|_| bad())?;
        let position: i64 = position.parse().map_err(|_| bad())?;
        if position < 0 || (tx == 0 && position != 0) {
            return Err(bad());
        }
        Ok(Cursor { tx, position })
    }

    pub(crate) fn from_row(tx: &str, position: i64) -> Result<Cursor, sqlx::Error> {
        let tx = tx
            .parse()
            .map_err(|e| sqlx::Error::Decode(format!("xid8 '{tx}': {e}").into()))?;
        Ok(Cursor { tx, position })
    }

    /// The transaction id, as the `xid8` text PostgreSQL takes.
    pub(crate) fn tx_text(&self) -> String {
        self.tx.to_string()
    }

    pub(crate) fn position(&self) -> i64 {
        self.position
    }

    /// The text form clients pass back.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.tx, self.position)
    }
}

/// Validates a consumer name as StreamEvents and AckEvents take it.
pub fn consumer_name(name: &str, field: &str) -> Result<(), FieldViolations> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(FieldViolations::one(
            field,
            "1 to 63 characters: lower-case letters, digits and '-'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_order() {
        let a = Cursor::parse("17.3", "c").expect("a cursor");
        let b = Cursor::parse("17.40", "c").expect("a cursor");
        let c = Cursor::parse("18.1", "c").expect("a cursor");
        assert!(Cursor::START < a && a < b && b < c);
        assert_eq!(Cursor::parse(&b.encode(), "c").expect("a cursor"), b);
        assert_eq!(Cursor::parse("", "c").expect("a cursor"), Cursor::START);
        for bad in ["x", "1", "1.", ".1", "-1.2", "1.-2", "0.5", "1.2.3"] {
            assert!(Cursor::parse(bad, "c").is_err(), "{bad}");
        }
    }

    #[test]
    fn consumer_names_are_bounded() {
        assert!(consumer_name("customers-value", "c").is_ok());
        for bad in ["", "Customers", "a b", &"x".repeat(64)] {
            assert!(consumer_name(bad, "c").is_err(), "{bad}");
        }
    }
}
