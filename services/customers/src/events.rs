//! What the registry publishes: merges, unmerges and erasures, each written with its
//! change in the same transaction (`dealernet_kit::events`), so that every service's
//! copies follow; and birthdays, with their announcement row (`birthdays.rs`).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use dealernet_kit::{
    auth::Principal,
    events::{self, NewEvent},
};
use dealernet_proto::customers::v1 as pb;
use pb::customer_service_event::Kind;
use sqlx::PgConnection;
use uuid::Uuid;

/// The event types StreamEvents offers (the payload messages' names).
pub const EVENT_TYPES: &[&str] = &[
    "CustomerMerged",
    "CustomerUnmerged",
    "CustomerErased",
    "CustomerBirthday",
];

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn name(id: Uuid) -> String {
    format!("customers/{id}")
}

async fn publish(
    conn: &mut PgConnection,
    principal: &Principal,
    aggregate: (&'static str, String),
    event_type: &'static str,
    kind: Kind,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let message = pb::CustomerServiceEvent { kind: Some(kind) };
    let actor = format!("{}/{}", principal.organization(), principal.subject());
    let event = NewEvent::new(aggregate.0, aggregate.1, event_type, &message, actor, at);
    events::append(conn, &event).await?;
    Ok(())
}

/// `merged` merged into `survivor` by merge `merge`.
pub async fn customer_merged(
    conn: &mut PgConnection,
    principal: &Principal,
    merge: Uuid,
    survivor: Uuid,
    merged: &[Uuid],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let kind = Kind::CustomerMerged(pb::CustomerMerged {
        merge: format!("merges/{merge}"),
        survivor: name(survivor),
        merged: merged.iter().copied().map(name).collect(),
        merge_time: Some(timestamp(at)),
    });
    publish(
        conn,
        principal,
        ("customer", name(survivor)),
        "CustomerMerged",
        kind,
        at,
    )
    .await
}

/// Merge `merge` undone: `restored` exist again beside `survivor`.
pub async fn customer_unmerged(
    conn: &mut PgConnection,
    principal: &Principal,
    merge: Uuid,
    survivor: Uuid,
    restored: &[Uuid],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let kind = Kind::CustomerUnmerged(pb::CustomerUnmerged {
        merge: format!("merges/{merge}"),
        survivor: name(survivor),
        restored: restored.iter().copied().map(name).collect(),
        unmerge_time: Some(timestamp(at)),
    });
    publish(
        conn,
        principal,
        ("customer", name(survivor)),
        "CustomerUnmerged",
        kind,
        at,
    )
    .await
}

/// `customer`'s personal data erased.
pub async fn customer_erased(
    conn: &mut PgConnection,
    principal: &Principal,
    customer: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let kind = Kind::CustomerErased(pb::CustomerErased {
        customer: name(customer),
        erase_time: Some(timestamp(at)),
    });
    publish(
        conn,
        principal,
        ("customer", name(customer)),
        "CustomerErased",
        kind,
        at,
    )
    .await
}

/// `customer`'s birthday is `day`: the customer and the day only, no birth year.
pub async fn customer_birthday(
    conn: &mut PgConnection,
    principal: &Principal,
    customer: Uuid,
    day: NaiveDate,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let kind = Kind::CustomerBirthday(pb::CustomerBirthday {
        customer: name(customer),
        greeting_date: Some(dealernet_proto::types::v1::Date {
            year: day.year(),
            month: day.month() as i32,
            day: day.day() as i32,
        }),
    });
    publish(
        conn,
        principal,
        ("customer", name(customer)),
        "CustomerBirthday",
        kind,
        at,
    )
    .await
}
