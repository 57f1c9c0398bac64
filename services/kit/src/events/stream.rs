//! The StreamEvents loop: the backlog after a cursor, then live events as they commit.

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{Cursor, Outbox, StoredEvent, outbox};
use crate::auth::Principal;
use crate::error::FieldViolations;

/// Events read per statement.
const BATCH: usize = 500;
/// After a wake-up, how long a caught-up stream waits for more commits before reading:
/// under a steady write load, each stream reads at most about 1 / COALESCE times a second
/// (the wake-ups come from every commit in the process).
const COALESCE: std::time::Duration = std::time::Duration::from_millis(40);
/// The least time between two checkpoints of a live stream after the first: a checkpoint
/// costs its consumer a durable write, and under load the high-water mark moves with
/// every commit.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// Responses buffered per stream before the reader waits for the client.
const BUFFER: usize = 256;

/// What a caller asked for, checked.
#[derive(Debug, Clone)]
pub struct StreamRequest {
    pub after: Cursor,
    pub types: Vec<String>,
    /// `Some(code)`: only events about this outlet.
    pub outlet: Option<String>,
    pub consumer: Option<String>,
}

impl StreamRequest {
    /// Checks a StreamEvents request's fields against the event types the service
    /// publishes, and scopes it to the caller: HQ and system principals read everything,
    /// dealers and stations their own outlet's events, anyone else nothing.
    pub fn new(
        principal: &Principal,
        after_cursor: &str,
        event_types: &[String],
        consumer: &str,
        known_types: &[&str],
        outlets_allowed: bool,
    ) -> Result<StreamRequest, Status> {
        use crate::auth::Role;
        let central = principal.is_head_office() || principal.has_role(Role::System);
        let outlet = if central {
            None
        } else if outlets_allowed
            && (principal.has_role(Role::Dealer) || principal.has_role(Role::Station))
        {
            Some(principal.organization().to_owned())
        } else {
            return Err(crate::error::refusal(
                tonic::Code::PermissionDenied,
                "EVENTS_NOT_PERMITTED",
                "only head office, platform systems and outlets (their own events) read this stream",
                [],
            ));
        };
        let mut v = FieldViolations::new();
        let after = Cursor::parse(after_cursor, "after_cursor")
            .map_err(|e| v.append(e))
            .unwrap_or_default();
        for (i, t) in event_types.iter().enumerate() {
            if !known_types.contains(&t.as_str()) {
                v.add(
                    format!("event_types[{i}]"),
                    format!("unknown event type; known: {}", known_types.join(", ")),
                );
            }
        }
        if !consumer.is_empty() {
            if let Err(e) = super::consumer_name(consumer, "consumer") {
                v.append(e);
            }
            if outlet.is_some() {
                v.add(
                    "consumer",
                    "only head office and systems register consumers",
                );
            }
        }
        if !v.is_empty() {
            return Err(crate::error::invalid_argument("INVALID_ARGUMENT", &v));
        }
        Ok(StreamRequest {
            after,
            types: event_types.to_vec(),
            outlet,
            consumer: (!consumer.is_empty()).then(|| consumer.to_owned()),
        })
    }
}

/// One message of a stream.
#[derive(Debug)]
pub enum StreamItem {
    Event(StoredEvent),
    /// Caught up: nothing else that matches lies before this cursor.
    Checkpoint(Cursor),
}

impl Outbox {
    /// Serves `request`: each item goes through `respond` into the response stream. Ends
    /// when the client goes away, or with UNAVAILABLE when the database does.
    pub async fn stream<R, F>(
        &self,
        request: StreamRequest,
        respond: F,
    ) -> Result<ReceiverStream<Result<R, Status>>, Status>
    where
        R: Send + 'static,
        F: Fn(StreamItem) -> Result<R, Status> + Send + 'static,
    {
        if let Some(consumer) = &request.consumer {
            outbox::register(&self.pool, consumer, request.after)
                .await
                .map_err(|e| crate::db::status(&e))?;
        }
        let (sender, receiver) = mpsc::channel(BUFFER);
        let outbox = self.clone();
        let draining = crate::server::CallContext::current().and_then(|c| c.draining);
        let span = tracing::Span::current();
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                if let Err(status) = outbox.feed(request, &sender, respond, draining).await {
                    let _ = sender.send(Err(status)).await;
                }
            },
            span,
        ));
        Ok(ReceiverStream::new(receiver))
    }

    async fn feed<R, F>(
        &self,
        request: StreamRequest,
        sender: &mpsc::Sender<Result<R, Status>>,
        respond: F,
        mut draining: Option<tokio::sync::watch::Receiver<bool>>,
    ) -> Result<(), Status>
    where
        F: Fn(StreamItem) -> Result<R, Status>,
    {
        let mut cursor = request.after;
        let mut checkpointed = request.after;
        let mut caught_up = false;
        let mut last_checkpoint = tokio::time::Instant::now();
        loop {
            // Armed before reading, so a commit between the read and the wait still wakes.
            let woken = outbox::WAKE.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let batch = outbox::read_after(
                &self.pool,
                cursor,
                &request.types,
                request.outlet.as_deref(),
                BATCH,
            )
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "reading the outbox failed");
                crate::error::unavailable(
                    "EVENTS_UNAVAILABLE",
                    "the event stream broke off; resume from the last cursor",
                )
            })?;
            let full = batch.events.len() == BATCH;
            for event in batch.events {
                cursor = event.cursor;
                checkpointed = checkpointed.max(cursor);
                if sender
                    .send(respond(StreamItem::Event(event)))
                    .await
                    .is_err()
                {
                    return Ok(());
                }
            }
            if full {
                continue;
            }
            // Caught up. A checkpoint says so the first time, and afterwards when events
            // that did not match (or other outlets') moved the high-water mark. Reading
            // goes on from the high-water mark either way (nothing matching lies before
            // it); the client hears of it at most every CHECKPOINT_EVERY.
            let high_water = batch.high_water.unwrap_or(cursor).max(cursor);
            cursor = high_water;
            if !caught_up
                || (high_water > checkpointed && last_checkpoint.elapsed() >= CHECKPOINT_EVERY)
            {
                caught_up = true;
                checkpointed = high_water;
                last_checkpoint = tokio::time::Instant::now();
                if sender
                    .send(respond(StreamItem::Checkpoint(high_water)))
                    .await
                    .is_err()
                {
                    return Ok(());
                }
            }
            tokio::select! {
                () = &mut woken => {
                    // Many commits in a burst make one read, not one each.
                    tokio::time::sleep(COALESCE).await;
                }
                () = tokio::time::sleep(self.poll) => {}
                () = sender.closed() => return Ok(()),
                () = shut_down(&mut draining) => {
                    return Err(crate::error::unavailable(
                        "SERVER_SHUTTING_DOWN",
                        "the server is shutting down; resume from the last cursor",
                    ));
                }
            }
        }
    }
}

/// Resolves once the server drains; never without a server (tests that call the loop
/// directly).
async fn shut_down(draining: &mut Option<tokio::sync::watch::Receiver<bool>>) {
    match draining {
        Some(rx) => {
            if rx.wait_for(|d| *d).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}
