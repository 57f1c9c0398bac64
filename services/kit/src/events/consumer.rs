//! Applying another service's stream: a durable cursor in the consumer's own schema,
//! events applied in the transaction that moves the cursor past them (so an event
//! delivered again changes nothing) — what has arrived together, in one batch —, and
//! events that cannot be applied parked with their error instead of stopping the stream.

use std::{future::Future, time::Duration};

use chrono::Utc;
use prost::Message;
use sqlx::{PgConnection, PgPool, Row};
use tokio::time::Instant;
use tokio_stream::StreamExt;
use uuid::Uuid;

use super::{Cursor, Delivery, EventSource};
use crate::db::{DbFailure, classify};

/// Why an event did not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyError {
    /// Worth trying again soon (the database or a peer is unavailable, a lost race).
    Transient(String),
    /// Applying it again will fail the same way: park it.
    Poison(String),
}

impl From<sqlx::Error> for ApplyError {
    fn from(e: sqlx::Error) -> ApplyError {
        match classify(&e) {
            DbFailure::Retryable | DbFailure::Unavailable => ApplyError::Transient(e.to_string()),
            _ => ApplyError::Poison(e.to_string()),
        }
    }
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApplyError::Transient(e) => write!(f, "transient: {e}"),
            ApplyError::Poison(e) => f.write_str(e),
        }
    }
}

/// What a consumer does with each event of one source.
pub trait Apply: Send + Sync + 'static {
    type Delivery: Delivery;
    /// The event types it wants (the stream carries only those).
    fn event_types(&self) -> &'static [&'static str];
    /// Applies one event on `conn`, inside the transaction that also moves the cursor.
    /// Must not commit; may fail (nothing it wrote stays).
    fn apply(
        &self,
        conn: &mut PgConnection,
        delivery: &Self::Delivery,
    ) -> impl Future<Output = Result<(), ApplyError>> + Send;
    /// Applies several events, in stream order, on `conn` (a batch's transaction, which
    /// also moves the cursor). By default one after the other; an applier may do better
    /// (work once per batch what each event would repeat). On any error the whole
    /// transaction rolls back, and the events are applied one by one with [`Self::apply`].
    fn apply_all(
        &self,
        conn: &mut PgConnection,
        deliveries: &[&Self::Delivery],
    ) -> impl Future<Output = Result<(), ApplyError>> + Send {
        async move {
            for delivery in deliveries {
                self.apply(conn, delivery).await?;
            }
            Ok(())
        }
    }
}

/// Transient failures of one event before it is parked.
const MAX_TRANSIENT_ATTEMPTS: u32 = 8;
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How often the position is acknowledged to the publisher (for its retention).
const ACK_EVERY: Duration = Duration::from_secs(5);

/// A background consumer of one source's stream.
pub struct Consumer<S, A> {
    /// The consumer's name at the publisher, e.g. "customers-value".
    name: String,
    source: S,
    apply: A,
    pool: PgPool,
}

/// What happened to one delivery.
enum Outcome {
    Applied,
    Parked,
    /// At or before the cursor: delivered again, ignored.
    Duplicate,
}

impl<S, A> Consumer<S, A>
where
    S: EventSource,
    A: Apply<Delivery = S::Delivery>,
{
    pub fn new(name: &str, source: S, apply: A, pool: PgPool) -> Consumer<S, A> {
        Consumer {
            name: name.to_owned(),
            source,
            apply,
            pool,
        }
    }

    /// Reads and applies the stream for as long as the process runs, reconnecting with
    /// backoff from the durable cursor whenever the stream breaks.
    pub async fn run(self) {
        let mut backoff = BACKOFF_MIN;
        loop {
            match self.session().await {
                Ok(()) => backoff = BACKOFF_MIN,
                Err(e) => {
                    tracing::warn!(consumer = %self.name, source = self.source.name(), error = %e, "event stream interrupted; resuming");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    /// One connection: from the durable cursor until the stream ends or fails.
    async fn session(&self) -> Result<(), String> {
        let source = self.source.name();
        let after = load_cursor(&self.pool, source)
            .await
            .map_err(|e| e.to_string())?;
        let mut stream = self
            .source
            .open(after, self.apply.event_types(), &self.name)
            .await
            .map_err(status_text)?;
        let mut position = after;
        let mut acked = after;
        let mut last_ack = Instant::now();
        let mut ended = false;
        while !ended {
            let Some(first) = stream.next().await else {
                break;
            };
            // What has already arrived joins the first delivery's transaction: a consumer
            // behind its source catches up with one commit per batch, not per event.
            let mut batch = vec![first.map_err(status_text)?];
            let mut broken = None;
            while batch.len() < MAX_BATCH && broken.is_none() && !ended {
                match ready_now(stream.next()) {
                    None => break,
                    Some(None) => ended = true,
                    Some(Some(Ok(delivery))) => batch.push(delivery),
                    Some(Some(Err(status))) => broken = Some(status_text(status)),
                }
            }
            position = position.max(self.deliver_batch(&batch).await?);
            if let Some(error) = broken {
                return Err(error);
            }
            if position > acked && last_ack.elapsed() >= ACK_EVERY {
                match self.source.ack(&self.name, position).await {
                    Ok(()) => acked = position,
                    Err(s) => {
                        tracing::warn!(consumer = %self.name, source, code = ?s.code(), "acknowledging events failed")
                    }
                }
                last_ack = Instant::now();
            }
        }
        if position > acked {
            let _ = self.source.ack(&self.name, position).await;
        }
        Ok(())
    }

    /// Applies a batch in as few transactions as [`Self::apply_batch`] takes; when one of
    /// its events fails, what is left goes one delivery at a time (parking poison,
    /// retrying with backoff what failed transiently). Returns the cursor after the batch.
    async fn deliver_batch(&self, batch: &[S::Delivery]) -> Result<Cursor, String> {
        let mut position = Cursor::START;
        let mut rest = batch;
        while !rest.is_empty() {
            match self.apply_batch(rest).await {
                Ok((cursor, taken)) => {
                    position = position.max(cursor);
                    rest = &rest[taken..];
                }
                Err(e) => {
                    tracing::debug!(consumer = %self.name, events = rest.len(), error = %e, "a batch did not apply; applying its events one by one");
                    break;
                }
            }
        }
        for delivery in rest {
            position = position.max(self.deliver_one(delivery).await?);
        }
        Ok(position)
    }

    /// One delivery in its own transaction: a checkpoint moves the cursor, an event is
    /// applied (see [`Self::deliver`]).
    async fn deliver_one(&self, delivery: &S::Delivery) -> Result<Cursor, String> {
        match delivery_cursor(delivery)? {
            (cursor, true) => {
                save_checkpoint(&self.pool, self.source.name(), cursor)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(cursor)
            }
            (_, false) => self.deliver(delivery).await,
        }
    }

    /// The head of a batch in one transaction, until the batch ends or the transaction
    /// has run for [`BATCH_TIME`]: duplicates skipped, checkpoints passed, the events
    /// given to [`Apply::apply_all`] in chunks of up to [`CHUNK`]. Returns the cursor
    /// after it and how many deliveries it took. There is no savepoint per event: any
    /// failure rolls the whole transaction back (`Err`, nothing written), and the caller
    /// goes on one delivery at a time, which parks a poison event.
    async fn apply_batch(&self, batch: &[S::Delivery]) -> Result<(Cursor, usize), String> {
        let started = Instant::now();
        let source = self.source.name();
        let fail = |e: sqlx::Error| e.to_string();
        let mut tx = self.pool.begin().await.map_err(fail)?;
        let start = lock_cursor(&mut tx, source).await.map_err(fail)?;
        let mut at = start;
        let mut taken = 0;
        while taken < batch.len() && (taken == 0 || started.elapsed() < BATCH_TIME) {
            let mut events = Vec::with_capacity(CHUNK);
            for delivery in &batch[taken..] {
                if events.len() == CHUNK {
                    break;
                }
                taken += 1;
                let (cursor, checkpoint) = delivery_cursor(delivery)?;
                if cursor <= at {
                    continue;
                }
                at = cursor;
                if checkpoint {
                    continue;
                }
                if !delivery.has_event() {
                    return Err("an event came without its payload".into());
                }
                events.push(delivery);
            }
            if !events.is_empty() {
                self.apply
                    .apply_all(&mut tx, &events)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        if at > start {
            save_cursor(&mut tx, source, at).await.map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        Ok((at, taken))
    }

    fn warn_parked(&self, delivery: &S::Delivery) {
        let envelope = delivery.envelope().cloned().unwrap_or_default();
        tracing::warn!(consumer = %self.name, event_id = %envelope.event_id, event_type = %envelope.event_type, "event parked");
    }

    /// Applies one event, retrying transient failures a few times before parking it.
    async fn deliver(&self, delivery: &S::Delivery) -> Result<Cursor, String> {
        let envelope = delivery
            .envelope()
            .ok_or("the source sent an event without an envelope")?;
        let cursor = Cursor::parse(&envelope.cursor, "cursor")
            .map_err(|_| "the source sent a malformed cursor".to_owned())?;
        let mut backoff = BACKOFF_MIN;
        let mut attempt = 1;
        loop {
            match self.apply_once(delivery, cursor, attempt).await {
                Ok(outcome) => {
                    if let Outcome::Parked = outcome {
                        self.warn_parked(delivery);
                    }
                    return Ok(cursor);
                }
                Err(e) => {
                    tracing::warn!(consumer = %self.name, event_id = %envelope.event_id, attempt, error = %e, "applying an event failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    attempt += 1;
                }
            }
        }
    }

    /// One attempt: `Err` is transient (nothing written); parking counts as done.
    async fn apply_once(
        &self,
        delivery: &S::Delivery,
        cursor: Cursor,
        attempt: u32,
    ) -> Result<Outcome, String> {
        let source = self.source.name();
        let fail = |e: sqlx::Error| e.to_string();
        let mut tx = self.pool.begin().await.map_err(fail)?;
        // The cursor row, locked: replicas of this service apply one event at a time.
        if lock_cursor(&mut tx, source).await.map_err(fail)? >= cursor {
            return Ok(Outcome::Duplicate);
        }
        let mut attempt_tx = sqlx::Connection::begin(&mut *tx).await.map_err(fail)?;
        let result = apply_delivery(&self.apply, &mut attempt_tx, delivery).await;
        let outcome = match result {
            Ok(()) => {
                attempt_tx.commit().await.map_err(fail)?;
                Outcome::Applied
            }
            Err(ApplyError::Transient(e)) if attempt < MAX_TRANSIENT_ATTEMPTS => return Err(e),
            Err(error) => {
                attempt_tx.rollback().await.map_err(fail)?;
                park(&mut tx, source, delivery, cursor, &error.to_string())
                    .await
                    .map_err(fail)?;
                Outcome::Parked
            }
        };
        save_cursor(&mut tx, source, cursor).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(outcome)
    }
}

/// Most deliveries taken from the stream at once: enough to catch up fast.
const MAX_BATCH: usize = 100;
/// Most events given to one [`Apply::apply_all`] call.
const CHUNK: usize = 16;
/// How long one transaction of a batch goes on taking chunks of events. Short: besides the cursor
/// row and the rows its events touch, a writing transaction holds back every stream of
/// the database (streams read only below the oldest running transaction).
const BATCH_TIME: Duration = Duration::from_millis(20);

fn status_text(status: tonic::Status) -> String {
    format!("{}: {}", status.code(), status.message())
}

/// Applies an event that came with its payload; one without (its publisher could not
/// decode what it stored) is poison.
async fn apply_delivery<A: Apply>(
    apply: &A,
    conn: &mut PgConnection,
    delivery: &A::Delivery,
) -> Result<(), ApplyError> {
    if !delivery.has_event() {
        return Err(ApplyError::Poison(
            "the publisher could not decode this event's payload".into(),
        ));
    }
    apply.apply(conn, delivery).await
}

/// The delivery's cursor, and whether it is a checkpoint (no event, only a position).
fn delivery_cursor<D: Delivery>(delivery: &D) -> Result<(Cursor, bool), String> {
    if !delivery.checkpoint_cursor().is_empty() {
        let cursor = Cursor::parse(delivery.checkpoint_cursor(), "checkpoint_cursor")
            .map_err(|_| "the source sent a malformed checkpoint".to_owned())?;
        return Ok((cursor, true));
    }
    let envelope = delivery
        .envelope()
        .ok_or("the source sent an event without an envelope")?;
    let cursor = Cursor::parse(&envelope.cursor, "cursor")
        .map_err(|_| "the source sent a malformed cursor".to_owned())?;
    Ok((cursor, false))
}

/// The future's output if it is ready without waiting (it is polled once).
fn ready_now<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

/// The cursor of `source`, its row created at the start when there is none (so that
/// [`lock_cursor`] always finds one).
async fn load_cursor(pool: &PgPool, source: &str) -> Result<Cursor, sqlx::Error> {
    sqlx::query(
        "INSERT INTO event_cursor (source, tx_id, position, updated_at) \
         VALUES ($1, '0'::xid8, 0, now()) ON CONFLICT (source) DO NOTHING",
    )
    .bind(source)
    .execute(pool)
    .await?;
    let row = sqlx::query("SELECT tx_id::text, position FROM event_cursor WHERE source = $1")
        .bind(source)
        .fetch_one(pool)
        .await?;
    Cursor::from_row(row.try_get(0)?, row.try_get(1)?)
}

/// Locks the cursor row (made by [`load_cursor`]): replicas of a service apply one
/// batch at a time.
async fn lock_cursor(conn: &mut PgConnection, source: &str) -> Result<Cursor, sqlx::Error> {
    let row =
        sqlx::query("SELECT tx_id::text, position FROM event_cursor WHERE source = $1 FOR UPDATE")
            .bind(source)
            .fetch_one(&mut *conn)
            .await?;
    Cursor::from_row(row.try_get(0)?, row.try_get(1)?)
}

async fn save_cursor(conn: &mut PgConnection, source: &str, at: Cursor) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE event_cursor SET tx_id = $2::text::xid8, position = $3, updated_at = now() \
         WHERE source = $1",
    )
    .bind(source)
    .bind(at.tx_text())
    .bind(at.position())
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves the cursor to a checkpoint unless it is already past it.
async fn save_checkpoint(pool: &PgPool, source: &str, at: Cursor) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    if lock_cursor(&mut tx, source).await? < at {
        save_cursor(&mut tx, source, at).await?;
    }
    tx.commit().await
}

async fn park<D: Delivery>(
    conn: &mut PgConnection,
    source: &str,
    delivery: &D,
    cursor: Cursor,
    error: &str,
) -> Result<(), sqlx::Error> {
    let envelope = delivery.envelope().cloned().unwrap_or_default();
    let event_id = Uuid::parse_str(&envelope.event_id)
        .map_err(|e| sqlx::Error::Protocol(format!("event id: {e}")))?;
    sqlx::query(
        "INSERT INTO parked_event (source, event_id, tx_id, position, event_type, aggregate_id, \
         delivery, error, attempts, parked_at, last_attempt_at) \
         VALUES ($1, $2, $3::text::xid8, $4, $5, $6, $7, $8, 1, now(), now()) \
         ON CONFLICT (source, event_id) DO UPDATE SET error = EXCLUDED.error, \
         attempts = parked_event.attempts + 1, last_attempt_at = now()",
    )
    .bind(source)
    .bind(event_id)
    .bind(cursor.tx_text())
    .bind(cursor.position())
    .bind(&envelope.event_type)
    .bind(&envelope.aggregate_id)
    .bind(delivery.encode_to_vec())
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

fn timestamp(t: chrono::DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// Every service's StreamEventsResponse carries the envelope as field 1: enough to list
/// parked events of any source without knowing its payload type.
#[derive(Clone, PartialEq, prost::Message)]
struct EnvelopeOnly {
    #[prost(message, optional, tag = "1")]
    envelope: Option<dealernet_proto::types::v1::EventEnvelope>,
}

fn parked_from_row(
    row: &sqlx::postgres::PgRow,
) -> Result<dealernet_proto::types::v1::ParkedEvent, sqlx::Error> {
    let bytes: Vec<u8> = row.try_get("delivery")?;
    let delivery = EnvelopeOnly::decode(bytes.as_slice())
        .map_err(|e| sqlx::Error::Decode(format!("parked delivery: {e}").into()))?;
    Ok(dealernet_proto::types::v1::ParkedEvent {
        source: row.try_get("source")?,
        envelope: delivery.envelope,
        error: row.try_get("error")?,
        attempts: row.try_get("attempts")?,
        park_time: Some(timestamp(row.try_get("parked_at")?)),
        last_attempt_time: Some(timestamp(row.try_get("last_attempt_at")?)),
    })
}

const PARKED_COLUMNS: &str = "source, delivery, error, attempts, parked_at, last_attempt_at";

/// The parked events of `source` (of every source when empty), oldest first.
pub async fn list_parked(
    pool: &PgPool,
    source: &str,
    limit: usize,
) -> Result<Vec<dealernet_proto::types::v1::ParkedEvent>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {PARKED_COLUMNS} FROM parked_event WHERE ($1 = '' OR source = $1) \
         ORDER BY parked_at, event_id LIMIT $2"
    ))
    .bind(source)
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    rows.iter().map(parked_from_row).collect()
}

/// The outcome of [`retry_parked`].
#[derive(Debug)]
pub enum ParkedRetry {
    /// No such parked event.
    NotFound,
    /// Applied and removed.
    Applied,
    /// Failed again: still parked, with the new error.
    StillParked(Box<dealernet_proto::types::v1::ParkedEvent>),
}

/// Applies a parked event again; removes it when it applies.
pub async fn retry_parked<A: Apply>(
    pool: &PgPool,
    apply: &A,
    source: &str,
    event_id: Uuid,
) -> Result<ParkedRetry, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some(row) = sqlx::query(&format!(
        "SELECT {PARKED_COLUMNS} FROM parked_event WHERE source = $1 AND event_id = $2 FOR UPDATE"
    ))
    .bind(source)
    .bind(event_id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(ParkedRetry::NotFound);
    };
    let bytes: Vec<u8> = row.try_get("delivery")?;
    let delivery = A::Delivery::decode(bytes.as_slice())
        .map_err(|e| sqlx::Error::Decode(format!("parked delivery: {e}").into()))?;
    let mut attempt = sqlx::Connection::begin(&mut *tx).await?;
    match apply_delivery(apply, &mut attempt, &delivery).await {
        Ok(()) => {
            attempt.commit().await?;
            sqlx::query("DELETE FROM parked_event WHERE source = $1 AND event_id = $2")
                .bind(source)
                .bind(event_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(ParkedRetry::Applied)
        }
        Err(error) => {
            attempt.rollback().await?;
            let row = sqlx::query(&format!(
                "UPDATE parked_event SET error = $3, attempts = attempts + 1, \
                 last_attempt_at = now() WHERE source = $1 AND event_id = $2 \
                 RETURNING {PARKED_COLUMNS}"
            ))
            .bind(source)
            .bind(event_id)
            .bind(error.to_string())
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(ParkedRetry::StillParked(Box::new(parked_from_row(&row)?)))
        }
    }
}
