//! `dealernet segments rebuild`: every customer's value recomputed from its facts, in
//! batches of customer ids, by the same recomputation the event consumers run (so a
//! rebuild and the incremental path cannot disagree), then the segment counts set afresh
//! from the value rows.

use std::time::{Duration, Instant};

use dealernet_kit::db::{DbFailure, classify};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{domain::value::Rules, store::value as store};

/// Customer ids per batch (one transaction, one statement per step).
pub const DEFAULT_BATCH: usize = 10_000;

/// Attempts of one batch that lost a deadlock (an unmerge locks its survivor before the
/// duplicates, not in id order) or another retryable race.
const ATTEMPTS: u32 = 5;

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    /// Customers looked at (every state).
    pub customers: u64,
    /// Of those, the ones with a value row now (active, with facts).
    pub valued: u64,
    pub batches: u64,
    pub elapsed: Duration,
}

/// Recomputes every customer's value in batches of `batch` ids. Each batch locks its
/// customers (as a consumer locks the one it updates), so it can run while the service
/// serves: a batch waits for, or holds off for a moment, concurrent changes of its
/// customers. `progress` is told after each batch.
pub async fn rebuild(
    pool: &PgPool,
    rules: &Rules,
    batch: usize,
    mut progress: impl FnMut(&Rebuilt),
) -> Result<Rebuilt, sqlx::Error> {
    let started = Instant::now();
    let mut done = Rebuilt {
        customers: 0,
        valued: 0,
        batches: 0,
        elapsed: Duration::ZERO,
    };
    let mut after: Option<Uuid> = None;
    loop {
        let (last, valued, seen) = batch_with_retries(pool, after, batch.max(1), rules).await?;
        if seen == 0 {
            break;
        }
        done.customers += seen as u64;
        done.valued += valued as u64;
        done.batches += 1;
        done.elapsed = started.elapsed();
        progress(&done);
        after = last;
    }
    let mut tx = pool.begin().await?;
    store::recount(&mut tx).await?;
    tx.commit().await?;
    done.elapsed = started.elapsed();
    Ok(done)
}

async fn batch_with_retries(
    pool: &PgPool,
    after: Option<Uuid>,
    batch: usize,
    rules: &Rules,
) -> Result<(Option<Uuid>, usize, usize), sqlx::Error> {
    let mut attempt = 1;
    loop {
        let result = async {
            let mut tx = pool.begin().await?;
            let done = store::rebuild_batch(&mut tx, after, batch, rules).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(done)
        }
        .await;
        match result {
            Err(e) if attempt < ATTEMPTS && matches!(classify(&e), DbFailure::Retryable) => {
                tracing::warn!(attempt, error = %e, "a rebuild batch lost a race; retrying");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}
