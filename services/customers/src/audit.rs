//! The access log: every answer carrying a customer's unmasked personal data is recorded
//! durably *before* the answer is sent.
//!
//! Group commit: handlers hand their records to one writer task and wait for its
//! acknowledgement. While one batch is being written, new records queue up and go into
//! the next batch, so under load many reads share one INSERT and one WAL flush instead of
//! each paying for its own. If the write fails, every waiting read fails (UNAVAILABLE):
//! no unaudited answer ever leaves.

use std::borrow::Cow;
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use chrono::{DateTime, Utc};
use dealernet_kit::metrics::AccessLogStats;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Records per INSERT at most; bounds statement size under a burst.
const MAX_BATCH: usize = 1024;
/// Reads waiting for the writer at most; beyond it reads wait for queue space.
const QUEUE: usize = 8192;

/// Who read, why, in which call.
#[derive(Debug, Clone)]
pub struct Reader {
    pub subject: String,
    pub organization: String,
    pub roles: Vec<String>,
    pub purpose: String,
    pub request_id: String,
    /// The registry's own method, or `Service.Method` of another service's read
    /// (RecordAccess).
    pub method: Cow<'static, str>,
}

/// One customer's personal data in one answer.
#[derive(Debug, Clone)]
pub struct Access {
    pub customer_id: Uuid,
    pub fields: Vec<&'static str>,
}

struct Pending {
    reader: Reader,
    accesses: Vec<Access>,
    at: DateTime<Utc>,
    done: oneshot::Sender<Result<(), String>>,
}

/// Handle to the access-log writer.
#[derive(Debug, Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<Pending>,
    counts: Arc<Counts>,
}

/// Records the writer handled, for the metrics endpoint.
#[derive(Debug, Default)]
struct Counts {
    written: AtomicU64,
    failed: AtomicU64,
}

/// Why a read could not be audited; the read must then fail.
#[derive(Debug, thiserror::Error)]
#[error("access log unavailable: {0}")]
pub struct AuditFailed(pub String);

impl AuditLog {
    /// Starts the writer on `pool`; it stops when every handle is dropped.
    pub fn start(pool: PgPool) -> AuditLog {
        let (queue, rx) = mpsc::channel(QUEUE);
        let counts = Arc::new(Counts::default());
        tokio::spawn(write_batches(pool, rx, counts.clone()));
        AuditLog { queue, counts }
    }

    /// Reads the writer's figures at each call (for the metrics endpoint). Holds only a
    /// weak handle, so the writer still stops when every `AuditLog` is dropped.
    pub fn stats_source(&self) -> impl Fn() -> AccessLogStats + Send + Sync + 'static {
        let queue = self.queue.downgrade();
        let counts = self.counts.clone();
        move || AccessLogStats {
            queue_depth: queue
                .upgrade()
                .map_or(0, |q| (q.max_capacity() - q.capacity()) as u64),
            written: counts.written.load(Ordering::Relaxed),
            failed: counts.failed.load(Ordering::Relaxed),
        }
    }

    /// Records `accesses` and returns once they are committed.
    pub async fn record(&self, reader: Reader, accesses: Vec<Access>) -> Result<(), AuditFailed> {
        if accesses.is_empty() {
            return Ok(());
        }
        let (done, acked) = oneshot::channel();
        let pending = Pending {
            reader,
            accesses,
            at: crate::store::now(),
            done,
        };
        self.queue
            .send(pending)
            .await
            .map_err(|_| AuditFailed("writer stopped".into()))?;
        acked
            .await
            .map_err(|_| AuditFailed("writer stopped".into()))?
            .map_err(AuditFailed)
    }
}

async fn write_batches(pool: PgPool, mut rx: mpsc::Receiver<Pending>, counts: Arc<Counts>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let mut rows = batch[0].accesses.len();
        while rows < MAX_BATCH {
            match rx.try_recv() {
                Ok(more) => {
                    rows += more.accesses.len();
                    batch.push(more);
                }
                Err(_) => break,
            }
        }
        let result = insert(&pool, &batch).await.map_err(|e| {
            tracing::error!(error = %e, records = rows, "access log write failed");
            e.to_string()
        });
        let outcome = if result.is_ok() {
            &counts.written
        } else {
            &counts.failed
        };
        outcome.fetch_add(rows as u64, Ordering::Relaxed);
        for pending in batch {
            let _ = pending.done.send(result.clone());
        }
    }
}

/// One INSERT for the whole batch; autocommit, so it is durable when it returns.
async fn insert(pool: &PgPool, batch: &[Pending]) -> Result<(), sqlx::Error> {
    let mut at = Vec::new();
    let mut subject = Vec::new();
    let mut organization = Vec::new();
    let mut roles = Vec::new();
    let mut customer = Vec::new();
    let mut fields = Vec::new();
    let mut purpose = Vec::new();
    let mut request_id = Vec::new();
    let mut method = Vec::new();
    for p in batch {
        for a in &p.accesses {
            at.push(p.at);
            subject.push(p.reader.subject.as_str());
            organization.push(p.reader.organization.as_str());
            // Arrays of arrays cannot be unnested row by row, so lists travel joined.
            roles.push(p.reader.roles.join(","));
            customer.push(a.customer_id);
            fields.push(a.fields.join(","));
            purpose.push(p.reader.purpose.as_str());
            request_id.push(p.reader.request_id.as_str());
            method.push(p.reader.method.as_ref());
        }
    }
    sqlx::query(
        "INSERT INTO access_log (at, subject, organization, roles, customer_id, fields, purpose, request_id, method) \
         SELECT t.at, t.subject, t.organization, string_to_array(t.roles, ','), t.customer_id, \
                string_to_array(t.fields, ','), t.purpose, t.request_id, t.method \
         FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::text[], \
                     $7::text[], $8::text[], $9::text[]) \
              AS t(at, subject, organization, roles, customer_id, fields, purpose, request_id, method)",
    )
    .bind(at)
    .bind(subject)
    .bind(organization)
    .bind(roles)
    .bind(customer)
    .bind(fields)
    .bind(purpose)
    .bind(request_id)
    .bind(method)
    .execute(pool)
    .await?;
    Ok(())
}
