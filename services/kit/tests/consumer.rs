//! Consumers against a real PostgreSQL: every event applied exactly once across
//! redeliveries and a SIGKILL of the consuming process, poison events parked while the
//! stream goes on, and parked events retried.
//!
//! The apply step here is deliberately not idempotent by itself (it inserts a row per
//! delivery), so any event applied twice shows up as a second row.

use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use chrono::Utc;
use dealernet_kit::{
    auth::{Principal, Role},
    events::{
        self, Apply, ApplyError, Consumer, Cursor, Deliveries, EventSource, NewEvent, Outbox,
        ParkedRetry, StreamRequest,
    },
    local_pg::{self, LocalPostgres},
};
use dealernet_proto::vehicles::v1 as pb;
use pb::vehicle_service_event::Kind;
use prost::Message;
use sqlx::{PgConnection, PgPool, postgres::PgPoolOptions};
use tonic::Status;

const EVENTS: usize = 60;
/// Set in the child process: the producer's and consumer's database URL.
const CHILD_URL: &str = "DEALERNET_TEST_CONSUMER_URL";

fn start_postgres(test: &str) -> LocalPostgres {
    let dir = std::env::temp_dir().join(format!(
        "dealernet-kit-consumer-{}-{test}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    // PostgreSQL may run as another user (when tests run as root): let it in.
    let _ = Command::new("chmod").arg("0755").arg(&dir).status();
    LocalPostgres::start(&local_pg::Options {
        data_dir: dir.join("pg"),
        ephemeral: true,
        settings: vec![],
    })
    .unwrap_or_else(|e| panic!("this test needs PostgreSQL: {e}"))
}

async fn pool(url: &str, schema: &str) -> PgPool {
    let options = dealernet_kit::db::connect_options(url, schema).expect("options");
    PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .expect("pool")
}

fn vehicle(i: usize) -> String {
    format!("vehicles/TEST{i:013}")
}

/// A producer schema with `EVENTS` events ("POISON" ones at 10 and 30), and a consumer
/// schema with the counting table.
async fn setup(url: &str) -> (PgPool, PgPool) {
    let admin = PgPool::connect(url).await.expect("connect");
    let ddl = include_str!("../../../migrations/vehicles/0009_events.sql");
    for schema in ["producer", "consumer"] {
        sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await
            .expect("schema");
    }
    let producer = pool(url, "producer").await;
    let consumer = pool(url, "consumer").await;
    sqlx::raw_sql(ddl)
        .execute(&producer)
        .await
        .expect("producer tables");
    sqlx::raw_sql(ddl)
        .execute(&consumer)
        .await
        .expect("consumer tables");
    sqlx::raw_sql("CREATE TABLE applied (event_id text NOT NULL, action text NOT NULL)")
        .execute(&consumer)
        .await
        .expect("applied table");
    for i in 0..EVENTS {
        let action = if i == 10 || i == 30 { "POISON" } else { "OK" };
        let message = pb::VehicleServiceEvent {
            kind: Some(Kind::VehicleChanged(pb::VehicleChanged {
                vehicle: vehicle(i),
                action: action.to_owned(),
                ..Default::default()
            })),
        };
        let event = NewEvent::new(
            "vehicle",
            vehicle(i),
            "VehicleChanged",
            &message,
            "TEST/producer".into(),
            Utc::now(),
        );
        let mut tx = producer.begin().await.expect("begin");
        events::append(&mut tx, &event).await.expect("append");
        tx.commit().await.expect("commit");
    }
    (producer, consumer)
}

/// The producer's outbox read in-process, as the gRPC source would read it.
struct LocalSource {
    outbox: Outbox,
    producer: PgPool,
    /// Ignore the consumer's cursor and start from the beginning: every event again.
    replay_all: bool,
}

impl EventSource for LocalSource {
    type Delivery = pb::StreamEventsResponse;

    fn name(&self) -> &'static str {
        "producer"
    }

    async fn open(
        &self,
        after: Cursor,
        types: &[&'static str],
        consumer: &str,
    ) -> Result<Deliveries<Self::Delivery>, Status> {
        let principal = Principal::new("consumer", "TEST", &[Role::System]).expect("principal");
        let after = if self.replay_all {
            Cursor::START
        } else {
            after
        };
        let types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
        let request = StreamRequest::new(
            &principal,
            &after.encode(),
            &types,
            consumer,
            &["VehicleChanged"],
            false,
        )?;
        let stream = self
            .outbox
            .stream(request, events::rpc::respond::<pb::StreamEventsResponse>)
            .await?;
        Ok(Box::pin(stream))
    }

    async fn ack(&self, consumer: &str, cursor: Cursor) -> Result<(), Status> {
        events::ack(&self.producer, consumer, cursor)
            .await
            .map(|_| ())
            .map_err(|e| Status::unavailable(e.to_string()))
    }
}

/// Counts each delivery; refuses "POISON" ones unless `accept_poison`; slow when asked,
/// so that a kill lands mid-stream; fails the event at index `FLAKY_AT` transiently while
/// `flaky` counts down.
#[derive(Default)]
struct Counting {
    accept_poison: bool,
    delay: Duration,
    flaky: Arc<AtomicUsize>,
}

const FLAKY_AT: usize = 20;

impl Apply for Counting {
    type Delivery = pb::StreamEventsResponse;

    fn event_types(&self) -> &'static [&'static str] {
        &["VehicleChanged"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        delivery: &pb::StreamEventsResponse,
    ) -> Result<(), ApplyError> {
        let Some(Kind::VehicleChanged(changed)) =
            delivery.event.as_ref().and_then(|e| e.kind.as_ref())
        else {
            return Err(ApplyError::Poison("not a VehicleChanged".into()));
        };
        if changed.action == "POISON" && !self.accept_poison {
            return Err(ApplyError::Poison("this consumer refuses poison".into()));
        }
        if changed.vehicle == vehicle(FLAKY_AT)
            && self
                .flaky
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return Err(ApplyError::Transient("a lost race".into()));
        }
        let id = delivery
            .envelope
            .as_ref()
            .map(|e| e.event_id.clone())
            .unwrap_or_default();
        sqlx::query("INSERT INTO applied (event_id, action) VALUES ($1, $2)")
            .bind(id)
            .bind(&changed.action)
            .execute(&mut *conn)
            .await?;
        tokio::time::sleep(self.delay).await;
        Ok(())
    }
}

fn consumer(
    producer: &PgPool,
    consumer: &PgPool,
    replay_all: bool,
    delay: Duration,
) -> Consumer<LocalSource, Counting> {
    let apply = Counting {
        delay,
        ..Counting::default()
    };
    counting_consumer(producer, consumer, replay_all, apply)
}

fn counting_consumer(
    producer: &PgPool,
    consumer: &PgPool,
    replay_all: bool,
    apply: Counting,
) -> Consumer<LocalSource, Counting> {
    let source = LocalSource {
        outbox: Outbox::new(producer.clone(), Duration::from_millis(20)),
        producer: producer.clone(),
        replay_all,
    };
    Consumer::new("counting", source, apply, consumer.clone())
}

async fn counts(consumer: &PgPool) -> (i64, i64, i64) {
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM applied")
        .fetch_one(consumer)
        .await
        .expect("count");
    let distinct: i64 = sqlx::query_scalar("SELECT count(DISTINCT event_id) FROM applied")
        .fetch_one(consumer)
        .await
        .expect("count");
    let parked: i64 = sqlx::query_scalar("SELECT count(*) FROM parked_event")
        .fetch_one(consumer)
        .await
        .expect("count");
    (rows, distinct, parked)
}

/// Waits until every event is applied or parked.
async fn until_done(consumer: &PgPool) -> (i64, i64, i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let c = counts(consumer).await;
        if c.0 + c.2 >= EVENTS as i64 {
            // A little longer: anything applied twice would show now.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return counts(consumer).await;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "consumer stalled at {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn poison_is_parked_redeliveries_change_nothing_and_retry_applies() {
    let server = start_postgres("poison");
    let url = server.url("postgres");
    runtime().block_on(async move {
        let (producer, consumed) = setup(&url).await;
        let task = tokio::spawn(consumer(&producer, &consumed, false, Duration::ZERO).run());
        let (rows, distinct, parked) = until_done(&consumed).await;
        assert_eq!(
            (rows, distinct, parked),
            (EVENTS as i64 - 2, EVENTS as i64 - 2, 2),
            "two parked, the rest applied once"
        );
        task.abort();

        // A source that sends everything again: all are duplicates now.
        let again = tokio::spawn(consumer(&producer, &consumed, true, Duration::ZERO).run());
        tokio::time::sleep(Duration::from_secs(1)).await;
        again.abort();
        assert_eq!(
            counts(&consumed).await,
            (EVENTS as i64 - 2, EVENTS as i64 - 2, 2),
            "a redelivered event changes nothing"
        );

        // The parked events are listed, and applied by a retry once the cause is fixed.
        let parked = events::list_parked(&consumed, "producer", 10)
            .await
            .expect("list");
        assert_eq!(parked.len(), 2);
        assert!(
            parked
                .iter()
                .all(|p| p.error.contains("refuses poison") && p.attempts == 1)
        );
        let id = parked[0]
            .envelope
            .as_ref()
            .expect("envelope")
            .event_id
            .parse()
            .expect("uuid");
        let still = events::retry_parked(&consumed, &Counting::default(), "producer", id)
            .await
            .expect("retry");
        match still {
            ParkedRetry::StillParked(p) => assert_eq!(p.attempts, 2),
            other => panic!("expected it still parked, got {other:?}"),
        }
        let fixed = events::retry_parked(
            &consumed,
            &Counting {
                accept_poison: true,
                ..Counting::default()
            },
            "producer",
            id,
        )
        .await
        .expect("retry");
        assert!(matches!(fixed, ParkedRetry::Applied));
        assert_eq!(
            counts(&consumed).await,
            (EVENTS as i64 - 1, EVENTS as i64 - 1, 1)
        );
        let gone = events::retry_parked(
            &consumed,
            &Counting {
                accept_poison: true,
                ..Counting::default()
            },
            "producer",
            id,
        )
        .await
        .expect("retry");
        assert!(
            matches!(gone, ParkedRetry::NotFound),
            "a retried event is not applied twice"
        );

        // The consumer registered itself at the producer for retention.
        let registered: i64 =
            sqlx::query_scalar("SELECT count(*) FROM outbox_consumer WHERE name = 'counting'")
                .fetch_one(&producer)
                .await
                .expect("count");
        assert_eq!(registered, 1);
    });
}

#[test]
fn a_transient_failure_inside_a_batch_applies_every_event_once() {
    let server = start_postgres("transient");
    let url = server.url("postgres");
    runtime().block_on(async move {
        let (producer, consumed) = setup(&url).await;
        // The whole backlog is there at once, so the consumer takes it in batches; the
        // event at FLAKY_AT fails twice, rolling back the events before it in its batch.
        let apply = Counting {
            flaky: Arc::new(AtomicUsize::new(2)),
            ..Counting::default()
        };
        let flaky = apply.flaky.clone();
        let task = tokio::spawn(counting_consumer(&producer, &consumed, false, apply).run());
        let done = until_done(&consumed).await;
        task.abort();
        assert_eq!(flaky.load(Ordering::SeqCst), 0, "both failures happened");
        assert_eq!(
            done,
            (EVENTS as i64 - 2, EVENTS as i64 - 2, 2),
            "every event applied once or parked, none twice"
        );
    });
}

#[test]
fn an_event_whose_payload_does_not_decode_is_parked_and_the_stream_goes_on() {
    let server = start_postgres("undecodable");
    let url = server.url("postgres");
    runtime().block_on(async move {
        let (producer, consumed) = setup(&url).await;
        // Bytes that are no VehicleServiceEvent, between the events and one more after.
        let mut broken = NewEvent::new(
            "vehicle",
            vehicle(EVENTS),
            "VehicleChanged",
            &pb::VehicleServiceEvent::default(),
            "TEST/producer".into(),
            Utc::now(),
        );
        broken.payload = vec![0xff; 7];
        let mut last = broken.clone();
        last.aggregate_id = vehicle(EVENTS + 1);
        last.payload = pb::VehicleServiceEvent {
            kind: Some(Kind::VehicleChanged(pb::VehicleChanged {
                vehicle: vehicle(EVENTS + 1),
                action: "OK".into(),
                ..Default::default()
            })),
        }
        .encode_to_vec();
        for event in [&broken, &last] {
            let mut tx = producer.begin().await.expect("begin");
            events::append(&mut tx, event).await.expect("append");
            tx.commit().await.expect("commit");
        }
        let task = tokio::spawn(consumer(&producer, &consumed, false, Duration::ZERO).run());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        // Everything applied or parked: the two poison events and the unreadable one.
        while counts(&consumed).await != (EVENTS as i64 - 1, EVENTS as i64 - 1, 3) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "stalled at {:?}",
                counts(&consumed).await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        task.abort();
        let parked = events::list_parked(&consumed, "producer", 10)
            .await
            .expect("list");
        assert!(
            parked
                .iter()
                .any(|p| p.error.contains("could not decode this event's payload")),
            "{parked:?}"
        );
    });
}

/// Run by the next test in a child process, which it kills with SIGKILL.
#[test]
#[ignore = "the child half of a_consumer_killed_mid_stream_resumes_exactly; run by it"]
fn consumer_child_process() {
    let url =
        std::env::var(CHILD_URL).expect("run by a_consumer_killed_mid_stream_resumes_exactly");
    runtime().block_on(async move {
        let producer = pool(&url, "producer").await;
        let consumed = pool(&url, "consumer").await;
        consumer(&producer, &consumed, false, Duration::from_millis(40))
            .run()
            .await;
    });
}

#[test]
fn a_consumer_killed_mid_stream_resumes_exactly() {
    let server = start_postgres("kill");
    let url = server.url("postgres");
    let rt = runtime();
    let (_producer, consumed) = rt.block_on(setup(&url));
    let child = || {
        Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--ignored",
                "--exact",
                "consumer_child_process",
                "--nocapture",
            ])
            .env(CHILD_URL, &url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the consumer process")
    };
    for round in 0..3 {
        let mut process = child();
        // Let it apply some events, then kill it without warning.
        let before = rt.block_on(counts(&consumed));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while rt.block_on(counts(&consumed)).0 < before.0 + 8 {
            assert!(
                std::time::Instant::now() < deadline,
                "round {round}: the consumer made no progress"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = process.id().to_string();
        let killed = Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .expect("kill");
        assert!(killed.success());
        let _ = process.wait();
    }
    let mut last = child();
    let done = rt.block_on(until_done(&consumed));
    let _ = Command::new("kill")
        .args(["-KILL", &last.id().to_string()])
        .status();
    let _ = last.wait();
    assert_eq!(
        done,
        (EVENTS as i64 - 2, EVENTS as i64 - 2, 2),
        "nothing lost, nothing applied twice"
    );
}
