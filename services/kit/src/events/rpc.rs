//! The event RPCs every service serves the same way — StreamEvents, AckEvents,
//! ListParkedEvents, RetryParkedEvent — checked and scoped here once.

use dealernet_proto::types::v1::ParkedEvent;
use sqlx::PgPool;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use uuid::Uuid;

use super::{
    Apply, Cursor, Outbox, ParkedRetry, StreamItem, StreamRequest, StreamResponse, consumer,
    consumer_name,
};
use crate::auth::{Principal, Role};
use crate::error::{FieldViolations, invalid_argument, not_found, refusal};

/// Parked events listed per call, at most.
const MAX_PARKED_PAGE: i32 = 500;
const DEFAULT_PARKED_PAGE: i32 = 100;

/// Head office or a platform system: who acknowledges streams and handles parked events.
pub fn require_operator(principal: &Principal) -> Result<(), Status> {
    if principal.is_head_office() || principal.has_role(Role::System) {
        return Ok(());
    }
    Err(refusal(
        tonic::Code::PermissionDenied,
        "EVENTS_NOT_PERMITTED",
        "only head office and platform systems manage event consumers",
        [],
    ))
}

/// Serves StreamEvents over `outbox`: the caller's request checked against the event
/// types the service publishes; outlets (when `outlets_allowed`) get their own events.
pub async fn stream_events<R: StreamResponse>(
    outbox: &Outbox,
    principal: &Principal,
    after_cursor: &str,
    event_types: &[String],
    consumer: &str,
    known_types: &[&str],
    outlets_allowed: bool,
) -> Result<ReceiverStream<Result<R, Status>>, Status> {
    let request = StreamRequest::new(
        principal,
        after_cursor,
        event_types,
        consumer,
        known_types,
        outlets_allowed,
    )?;
    outbox.stream(request, respond).await
}

/// A stream item as the StreamEvents message. An event whose payload does not decode goes
/// out as its envelope alone (and is logged): its consumers park it, the stream goes on.
pub fn respond<R: StreamResponse>(item: StreamItem) -> Result<R, Status> {
    Ok(match item {
        StreamItem::Event(e) => R::event(e.envelope(), &e.payload).unwrap_or_else(|err| {
            tracing::error!(event_id = %e.event_id, error = %err, "an outbox payload does not decode");
            R::unreadable(e.envelope())
        }),
        StreamItem::Checkpoint(c) => R::checkpoint(c.encode()),
    })
}

/// Serves AckEvents: the consumer's registered position after the acknowledgement.
pub async fn ack_events(
    pool: &PgPool,
    principal: &Principal,
    consumer: &str,
    cursor: &str,
) -> Result<String, Status> {
    require_operator(principal)?;
    let mut v = FieldViolations::new();
    if let Err(e) = consumer_name(consumer, "consumer") {
        v.append(e);
    }
    let cursor = Cursor::parse(cursor, "cursor")
        .map_err(|e| v.append(e))
        .unwrap_or_default();
    if !v.is_empty() {
        return Err(invalid_argument("INVALID_ARGUMENT", &v));
    }
    let at = super::ack(pool, consumer, cursor)
        .await
        .map_err(|e| crate::db::status(&e))?;
    Ok(at.encode())
}

/// Serves ListParkedEvents for a service consuming `sources`.
pub async fn list_parked_events(
    pool: &PgPool,
    principal: &Principal,
    source: &str,
    page_size: i32,
    sources: &[&str],
) -> Result<Vec<ParkedEvent>, Status> {
    require_operator(principal)?;
    let mut v = FieldViolations::new();
    if !source.is_empty() && !sources.contains(&source) {
        v.add(
            "source",
            format!(
                "not a source of this service; its sources: {}",
                sources.join(", ")
            ),
        );
    }
    if !(0..=MAX_PARKED_PAGE).contains(&page_size) {
        v.add(
            "page_size",
            format!("0 to {MAX_PARKED_PAGE} (0: {DEFAULT_PARKED_PAGE})"),
        );
    }
    if !v.is_empty() {
        return Err(invalid_argument("INVALID_ARGUMENT", &v));
    }
    let limit = if page_size == 0 {
        DEFAULT_PARKED_PAGE
    } else {
        page_size
    };
    consumer::list_parked(pool, source, limit as usize)
        .await
        .map_err(|e| crate::db::status(&e))
}

/// Checks a RetryParkedEvent request: the event id, for a source of the service.
pub fn retry_request(
    principal: &Principal,
    source: &str,
    event_id: &str,
    sources: &[&str],
) -> Result<Uuid, Status> {
    require_operator(principal)?;
    let mut v = FieldViolations::new();
    if !sources.contains(&source) {
        v.add("source", format!("required: one of {}", sources.join(", ")));
    }
    let id = Uuid::parse_str(event_id)
        .map_err(|_| v.add("event_id", "must be the UUID of a parked event"))
        .unwrap_or_default();
    if !v.is_empty() {
        return Err(invalid_argument("INVALID_ARGUMENT", &v));
    }
    Ok(id)
}

/// Serves RetryParkedEvent for one source: whether it applied, or the event as still
/// parked.
pub async fn retry_parked_event<A: Apply>(
    pool: &PgPool,
    apply: &A,
    source: &str,
    event_id: Uuid,
) -> Result<(bool, Option<ParkedEvent>), Status> {
    match consumer::retry_parked(pool, apply, source, event_id)
        .await
        .map_err(|e| crate::db::status(&e))?
    {
        ParkedRetry::NotFound => Err(not_found(
            "PARKED_EVENT_NOT_FOUND",
            "parkedEvent",
            &format!("{source}/{event_id}"),
        )),
        ParkedRetry::Applied => Ok((true, None)),
        ParkedRetry::StillParked(p) => Ok((false, Some(*p))),
    }
}
