//! Writing events in the caller's transaction, reading them back in stream order, the
//! consumers' registered positions and retention.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Row};
use tokio::sync::Notify;
use uuid::Uuid;

use super::Cursor;

/// An event to publish, written by [`append`] in the transaction of its change.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The kind of object, e.g. "vehicle".
    pub aggregate_type: &'static str,
    /// Its resource name, e.g. "vehicles/LSV…".
    pub aggregate_id: String,
    /// The payload's type, e.g. "VehicleSold".
    pub event_type: &'static str,
    /// The service's event message, encoded.
    pub payload: Vec<u8>,
    /// The outlets the event is about (their streams carry it).
    pub outlets: Vec<String>,
    /// "<organisation>/<subject>" of the principal that made the change.
    pub actor: String,
    pub occurred_at: DateTime<Utc>,
}

impl NewEvent {
    /// An event with its payload encoded from `message`.
    pub fn new(
        aggregate_type: &'static str,
        aggregate_id: String,
        event_type: &'static str,
        message: &impl prost::Message,
        actor: String,
        occurred_at: DateTime<Utc>,
    ) -> NewEvent {
        NewEvent {
            aggregate_type,
            aggregate_id,
            event_type,
            payload: message.encode_to_vec(),
            outlets: Vec::new(),
            actor,
            occurred_at,
        }
    }

    /// The same event, about these outlets too (empty codes are ignored).
    pub fn about_outlets<'a>(mut self, outlets: impl IntoIterator<Item = &'a str>) -> NewEvent {
        for outlet in outlets {
            if !outlet.is_empty() && !self.outlets.iter().any(|o| o == outlet) {
                self.outlets.push(outlet.to_owned());
            }
        }
        self
    }
}

/// Writes `event` on `conn`, which must be the transaction making the change it
/// describes. The call's request id and trace context go with it.
pub async fn append(conn: &mut PgConnection, event: &NewEvent) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    let call = crate::server::CallContext::current();
    let traceparent = crate::telemetry::propagation::current_traceparent()
        .or_else(|| call.as_ref().and_then(|c| c.traceparent.clone()))
        .unwrap_or_default();
    sqlx::query(
        "INSERT INTO outbox_event (event_id, aggregate_type, aggregate_id, event_type, payload, \
         outlets, occurred_at, actor, request_id, traceparent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(event.aggregate_type)
    .bind(&event.aggregate_id)
    .bind(event.event_type)
    .bind(&event.payload)
    .bind(&event.outlets)
    .bind(event.occurred_at)
    .bind(&event.actor)
    .bind(call.map(|c| c.request_id).unwrap_or_default())
    .bind(traceparent)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Writes `events` in one statement (a batch feed's), on the transaction of their change.
pub async fn append_many(conn: &mut PgConnection, events: &[NewEvent]) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let call = crate::server::CallContext::current();
    let traceparent = crate::telemetry::propagation::current_traceparent()
        .or_else(|| call.as_ref().and_then(|c| c.traceparent.clone()))
        .unwrap_or_default();
    let col = |f: fn(&NewEvent) -> String| events.iter().map(f).collect::<Vec<String>>();
    let ids: Vec<Uuid> = events.iter().map(|_| Uuid::now_v7()).collect();
    let payloads: Vec<&[u8]> = events.iter().map(|e| e.payload.as_slice()).collect();
    let times: Vec<DateTime<Utc>> = events.iter().map(|e| e.occurred_at).collect();
    // One outlet per event at most here (arrays of arrays must be rectangular).
    let outlets = col(|e| e.outlets.first().cloned().unwrap_or_default());
    sqlx::query(
        "INSERT INTO outbox_event (event_id, aggregate_type, aggregate_id, event_type, payload, \
         outlets, occurred_at, actor, request_id, traceparent) \
         SELECT id, atype, aid, etype, payload, \
                CASE WHEN outlet = '' THEN '{}'::text[] ELSE ARRAY[outlet] END, at, actor, $9, $10 \
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[], \
                     $7::timestamptz[], $8::text[]) \
              AS u(id, atype, aid, etype, payload, outlet, at, actor) \
         ORDER BY id",
    )
    .bind(&ids)
    .bind(col(|e| e.aggregate_type.to_owned()))
    .bind(col(|e| e.aggregate_id.clone()))
    .bind(col(|e| e.event_type.to_owned()))
    .bind(&payloads)
    .bind(&outlets)
    .bind(&times)
    .bind(col(|e| e.actor.clone()))
    .bind(call.map(|c| c.request_id).unwrap_or_default())
    .bind(traceparent)
    .execute(conn)
    .await?;
    Ok(())
}

/// An event as read back from the outbox.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub cursor: Cursor,
    pub event_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub event_type: String,
    pub payload: Vec<u8>,
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    pub request_id: String,
    pub traceparent: String,
}

impl StoredEvent {
    /// The envelope clients receive.
    pub fn envelope(&self) -> dealernet_proto::types::v1::EventEnvelope {
        dealernet_proto::types::v1::EventEnvelope {
            event_id: self.event_id.to_string(),
            cursor: self.cursor.encode(),
            aggregate_type: self.aggregate_type.clone(),
            aggregate_id: self.aggregate_id.clone(),
            event_type: self.event_type.clone(),
            occur_time: Some(prost_types::Timestamp {
                seconds: self.occurred_at.timestamp(),
                nanos: self.occurred_at.timestamp_subsec_nanos() as i32,
            }),
            actor: self.actor.clone(),
            request_id: self.request_id.clone(),
            traceparent: self.traceparent.clone(),
        }
    }
}

/// One read: the events after a cursor (at most `limit`) and the high-water mark.
pub(super) struct Batch {
    pub events: Vec<StoredEvent>,
    pub high_water: Option<Cursor>,
}

/// Reads the events after `after` that no running transaction can still precede.
pub(super) async fn read_after(
    pool: &PgPool,
    after: Cursor,
    types: &[String],
    outlet: Option<&str>,
    limit: usize,
) -> Result<Batch, sqlx::Error> {
    let rows = sqlx::query(include_str!("read_after.sql"))
        .bind(after.tx_text())
        .bind(after.position())
        .bind(types)
        .bind(outlet)
        .bind(limit as i64)
        .fetch_all(pool)
        .await?;
    let mut batch = Batch {
        events: Vec::with_capacity(rows.len()),
        high_water: None,
    };
    for row in rows {
        let cursor = Cursor::from_row(row.try_get("tx")?, row.try_get("position")?)?;
        let Some(event_id) = row.try_get::<Option<Uuid>, _>("event_id")? else {
            batch.high_water = Some(cursor);
            continue;
        };
        batch.events.push(StoredEvent {
            cursor,
            event_id,
            aggregate_type: row.try_get("aggregate_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            event_type: row.try_get("event_type")?,
            payload: row.try_get("payload")?,
            occurred_at: row.try_get("occurred_at")?,
            actor: row.try_get("actor")?,
            request_id: row.try_get("request_id")?,
            traceparent: row.try_get("traceparent")?,
        });
    }
    // UNION ALL promises no order; the stream's order is the cursor's.
    batch.events.sort_by_key(|e| e.cursor);
    Ok(batch)
}

/// Registers `consumer` at `at` unless it is registered already.
pub(super) async fn register(pool: &PgPool, consumer: &str, at: Cursor) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox_consumer (name, tx_id, position, acked_at) \
         VALUES ($1, $2::text::xid8, $3, now()) ON CONFLICT (name) DO NOTHING",
    )
    .bind(consumer)
    .bind(at.tx_text())
    .bind(at.position())
    .execute(pool)
    .await?;
    Ok(())
}

/// Moves `consumer`'s registered position to `cursor` (never back); the position after.
pub async fn ack(pool: &PgPool, consumer: &str, cursor: Cursor) -> Result<Cursor, sqlx::Error> {
    let row = sqlx::query(include_str!("ack.sql"))
        .bind(consumer)
        .bind(cursor.tx_text())
        .bind(cursor.position())
        .fetch_one(pool)
        .await?;
    Cursor::from_row(row.try_get(0)?, row.try_get(1)?)
}

/// How long published events are kept, and how often old ones are pruned.
#[derive(Debug, Clone, Copy)]
pub struct PruneSettings {
    /// Events older than this are pruned once every registered consumer has passed them.
    pub retention: Duration,
    /// Time between pruning rounds.
    pub every: Duration,
}

/// Deletes in batches of this many rows, so no statement holds many locks for long.
const PRUNE_BATCH: i64 = 5_000;

/// Wakes this process's live streams after a commit (see [`published`]).
pub(super) static WAKE: Notify = Notify::const_new();

/// Tells this process's live streams that a transaction may have committed events: they
/// look again at once instead of at their next poll. Cheap when nobody listens; called
/// after every idempotent mutation's commit, and by handlers that commit otherwise.
pub fn published() {
    WAKE.notify_waiters();
}

/// A service's outbox: where its StreamEvents calls read. Live streams wake on
/// [`published`] and look again every `poll` anyway, for other replicas' commits.
#[derive(Debug, Clone)]
pub struct Outbox {
    pub(super) pool: PgPool,
    pub(super) poll: Duration,
}

impl Outbox {
    /// The outbox in `pool`'s schema; live streams look for new events at least every
    /// `poll`.
    pub fn new(pool: PgPool, poll: Duration) -> Outbox {
        Outbox { pool, poll }
    }

    /// Prunes events older than the retention that every consumer has passed; the number
    /// deleted.
    pub async fn prune_once(&self, retention: Duration) -> Result<u64, sqlx::Error> {
        let before =
            Utc::now() - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        let mut total = 0;
        loop {
            let done = sqlx::query(include_str!("prune.sql"))
                .bind(before)
                .bind(PRUNE_BATCH)
                .execute(&self.pool)
                .await?
                .rows_affected();
            total += done;
            if done < PRUNE_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// Prunes every `settings.every`, for as long as the process runs.
    pub async fn run_pruning(self, settings: PruneSettings) {
        let mut tick = tokio::time::interval(settings.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.prune_once(settings.retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, "outbox events pruned"),
                Err(e) => tracing::warn!(error = %e, "pruning the outbox failed"),
            }
        }
    }
}
