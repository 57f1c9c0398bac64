//! The outbox stream against a real PostgreSQL: many writers whose transactions commit in
//! another order than they took their positions, and readers that must see every
//! committed event, none rolled back, in one increasing order, live and on resume.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use dealernet_kit::{
    auth::{Principal, Role},
    events::{self, Cursor, NewEvent, Outbox, StreamItem, StreamRequest},
    local_pg::{self, LocalPostgres},
};
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio_stream::StreamExt;
use uuid::Uuid;

const WRITERS: usize = 16;
const PER_WRITER: usize = 40;

fn start_postgres(test: &str) -> LocalPostgres {
    let dir = std::env::temp_dir().join(format!(
        "dealernet-kit-outbox-{}-{test}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    // PostgreSQL may run as another user (when tests run as root): let it in.
    let _ = std::process::Command::new("chmod")
        .arg("0755")
        .arg(&dir)
        .status();
    LocalPostgres::start(&local_pg::Options {
        data_dir: dir.join("pg"),
        ephemeral: true,
        settings: vec![("max_connections".into(), "100".into())],
    })
    .unwrap_or_else(|e| panic!("this test needs PostgreSQL: {e}"))
}

async fn schema(url: &str) -> PgPool {
    let admin = PgPool::connect(url).await.expect("connect");
    sqlx::raw_sql("CREATE SCHEMA events_test")
        .execute(&admin)
        .await
        .expect("schema");
    let options = dealernet_kit::db::connect_options(url, "events_test").expect("options");
    let pool = PgPoolOptions::new()
        .max_connections(40)
        .connect_with(options)
        .await
        .expect("pool");
    sqlx::raw_sql(include_str!("../../../migrations/vehicles/0009_events.sql"))
        .execute(&pool)
        .await
        .expect("outbox tables");
    pool
}

fn event(kind: &'static str, writer: usize, i: usize) -> NewEvent {
    NewEvent {
        aggregate_type: "test",
        aggregate_id: format!("writers/{writer}/{i}"),
        event_type: kind,
        payload: vec![writer as u8, i as u8],
        outlets: vec![format!("O{}", writer % 4)],
        actor: "TEST/writer".into(),
        occurred_at: Utc::now(),
    }
}

/// A pseudo-random delay from the writer and step, so runs differ in order but need no
/// random-number crate.
fn jitter(writer: usize, i: usize) -> Duration {
    let h = (writer as u64 * 2_654_435_761 + i as u64 * 40_503) % 17;
    Duration::from_millis(h)
}

/// Runs the writers; returns the ids of the events that committed.
async fn write_concurrently(pool: &PgPool) -> BTreeSet<Uuid> {
    let committed = Arc::new(Mutex::new(BTreeSet::new()));
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let pool = pool.clone();
        let committed = committed.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_WRITER {
                let mut tx = pool.begin().await.expect("begin");
                let kind = if i % 3 == 0 { "Rare" } else { "Common" };
                let id = events::append(&mut tx, &event(kind, writer, i))
                    .await
                    .expect("append");
                // Hold the position a while: later transactions commit first.
                tokio::time::sleep(jitter(writer, i)).await;
                if (writer + i) % 10 == 0 {
                    tx.rollback().await.expect("rollback");
                } else {
                    tx.commit().await.expect("commit");
                    events::published();
                    committed.lock().expect("lock").insert(id);
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    Arc::try_unwrap(committed)
        .expect("test step")
        .into_inner()
        .expect("test step")
}

fn hq() -> Principal {
    Principal::new("reader", "HQ", &[Role::Hq]).expect("test step")
}

/// Reads `request` until `expected` events arrived (or the time is up): the ids in
/// order, and the cursor of the last one.
async fn read(
    outbox: &Outbox,
    request: StreamRequest,
    expected: usize,
) -> (Vec<(Cursor, Uuid, String)>, Vec<Cursor>) {
    let stream = outbox
        .stream(request, |item| {
            Ok(match item {
                StreamItem::Event(e) => (Some((e.cursor, e.event_id, e.event_type)), e.cursor),
                StreamItem::Checkpoint(c) => (None, c),
            })
        })
        .await
        .expect("stream");
    tokio::pin!(stream);
    let mut events = Vec::new();
    let mut positions = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while events.len() < expected {
        let next = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {expected} events arrived", events.len()))
            .expect("stream ended")
            .expect("stream failed");
        if let Some(e) = next.0 {
            events.push(e);
        }
        positions.push(next.1);
    }
    (events, positions)
}

/// Appends every event id a stream delivers to `into`, for as long as it runs.
async fn tail(outbox: &Outbox, request: StreamRequest, into: &Mutex<Vec<Uuid>>) {
    let stream = outbox
        .stream(request, |item| {
            Ok(match item {
                StreamItem::Event(e) => Some(e.event_id),
                StreamItem::Checkpoint(_) => None,
            })
        })
        .await
        .expect("stream");
    tokio::pin!(stream);
    while let Some(item) = stream.next().await {
        if let Some(id) = item.expect("stream failed") {
            into.lock().expect("lock").push(id);
        }
    }
}

fn request(after: Cursor, types: &[&str]) -> StreamRequest {
    let types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
    let known = ["Common", "Rare", "Slow"];
    StreamRequest::new(&hq(), &after.encode(), &types, "", &known, true).expect("request")
}

#[test]
fn no_event_is_skipped_when_transactions_commit_out_of_order() {
    let _server = start_postgres("order");
    let url = _server.url("postgres");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("test step")
        .block_on(async move {
            let pool = schema(&url).await;
            let outbox = Outbox::new(pool.clone(), Duration::from_millis(50));

            // A live reader from the start, tailing while the writers run.
            let live = Arc::new(Mutex::new(Vec::new()));
            let tail = {
                let (o, live) = (outbox.clone(), live.clone());
                tokio::spawn(async move { tail(&o, request(Cursor::START, &[]), &live).await })
            };
            // Writers, and in the middle of them a transaction that takes its position
            // early and commits after all of them.
            let writers = {
                let pool = pool.clone();
                tokio::spawn(async move { write_concurrently(&pool).await })
            };
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut slow = pool.begin().await.expect("test step");
            let slow_id = events::append(&mut slow, &event("Slow", 99, 0))
                .await
                .expect("test step");
            let committed = writers.await.expect("test step");
            tokio::time::sleep(Duration::from_millis(200)).await;
            slow.commit().await.expect("test step");
            events::published();
            let mut expected: BTreeSet<Uuid> = committed.clone();
            expected.insert(slow_id);
            assert!(
                expected.len() < WRITERS * PER_WRITER + 1,
                "some transactions rolled back"
            );

            let (events, positions) =
                read(&outbox, request(Cursor::START, &[]), expected.len()).await;
            let got: Vec<Uuid> = events.iter().map(|e| e.1).collect();
            assert!(
                got.iter().copied().collect::<BTreeSet<_>>() == expected,
                "every committed event, no rolled-back one"
            );
            assert_eq!(got.len(), expected.len(), "each once in one stream");
            assert!(
                events.windows(2).all(|w| w[0].0 < w[1].0),
                "cursors increase"
            );
            assert!(
                positions.windows(2).all(|w| w[0] <= w[1]),
                "checkpoints never go back"
            );

            // The live reader saw the same events in the same order.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while live.lock().expect("lock").len() < got.len()
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tail.abort();
            let seen = live.lock().expect("lock").clone();
            let missed = got.iter().filter(|id| !seen.contains(id)).count();
            assert!(
                seen == got,
                "the live reader saw {} events for {} committed: {missed} missed, or out of order",
                seen.len(),
                got.len()
            );

            // Resuming after any delivered cursor gives exactly the rest.
            let middle = events.len() / 2;
            let (rest, _) = read(
                &outbox,
                request(events[middle].0, &[]),
                events.len() - middle - 1,
            )
            .await;
            assert_eq!(
                rest.iter().map(|e| e.1).collect::<Vec<_>>(),
                got[middle + 1..].to_vec()
            );

            // A filtered stream skips the others but none of its own, across checkpoints.
            let rare: Vec<Uuid> = events
                .iter()
                .filter(|e| e.2 == "Rare")
                .map(|e| e.1)
                .collect();
            let (only_rare, _) = read(&outbox, request(Cursor::START, &["Rare"]), rare.len()).await;
            assert_eq!(only_rare.iter().map(|e| e.1).collect::<Vec<_>>(), rare);
        });
}

#[test]
fn a_live_reader_waits_behind_an_open_transaction_and_then_gets_it() {
    let _server = start_postgres("live");
    let url = _server.url("postgres");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("test step")
        .block_on(async move {
            let pool = schema(&url).await;
            let outbox = Outbox::new(pool.clone(), Duration::from_millis(20));
            let mut early = pool.begin().await.expect("test step");
            let early_id = events::append(&mut early, &event("Common", 1, 1))
                .await
                .expect("test step");
            let mut late = pool.begin().await.expect("test step");
            let late_id = events::append(&mut late, &event("Common", 2, 2))
                .await
                .expect("test step");
            late.commit().await.expect("test step");
            events::published();

            let reader = {
                let o = outbox.clone();
                tokio::spawn(async move { read(&o, request(Cursor::START, &[]), 2).await })
            };
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(
                !reader.is_finished(),
                "the later commit is held back while the earlier transaction is open"
            );
            early.commit().await.expect("test step");
            events::published();
            let (events, _) = tokio::time::timeout(Duration::from_secs(5), reader)
                .await
                .expect("delivered after the commit")
                .expect("test step");
            assert_eq!(
                events.iter().map(|e| e.1).collect::<Vec<_>>(),
                vec![early_id, late_id]
            );
        });
}

#[test]
fn pruning_keeps_what_a_registered_consumer_has_not_passed() {
    let _server = start_postgres("prune");
    let url = _server.url("postgres");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("test step")
        .block_on(async move {
            let pool = schema(&url).await;
            let outbox = Outbox::new(pool.clone(), Duration::from_millis(20));
            let mut ids = Vec::new();
            for i in 0..6 {
                let mut tx = pool.begin().await.expect("test step");
                ids.push(
                    events::append(&mut tx, &event("Common", 0, i))
                        .await
                        .expect("test step"),
                );
                tx.commit().await.expect("test step");
            }
            let (delivered, _) = read(&outbox, request(Cursor::START, &[]), 6).await;
            // One consumer has applied the first two; another has registered at the start.
            events::ack(&pool, "first", delivered[1].0)
                .await
                .expect("test step");
            assert_eq!(
                events::ack(&pool, "first", delivered[0].0)
                    .await
                    .expect("test step"),
                delivered[1].0,
                "never moves back"
            );
            let count = || async {
                sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox_event")
                    .fetch_one(&pool)
                    .await
                    .expect("test step")
            };
            // Nothing is old enough yet.
            assert_eq!(
                outbox
                    .prune_once(Duration::from_secs(3600))
                    .await
                    .expect("test step"),
                0
            );
            assert_eq!(
                outbox.prune_once(Duration::ZERO).await.expect("test step"),
                2,
                "only what the consumer passed"
            );
            assert_eq!(count().await, 4);
            events::ack(&pool, "second", Cursor::START)
                .await
                .expect("test step");
            events::ack(&pool, "first", delivered[5].0)
                .await
                .expect("test step");
            assert_eq!(
                outbox.prune_once(Duration::ZERO).await.expect("test step"),
                0,
                "the second consumer has passed nothing"
            );
            events::ack(&pool, "second", delivered[3].0)
                .await
                .expect("test step");
            assert_eq!(
                outbox.prune_once(Duration::ZERO).await.expect("test step"),
                2
            );
            assert_eq!(count().await, 2);
        });
}
