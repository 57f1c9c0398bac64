//! `dealernet segments rebuild`: every customer's value recomputed from its facts, in
//! batches of customer ids, by the same recomputation the event consumers run (so a
//! rebuild and the incremental path cannot disagree), then the segment counts set afresh
//! from the value rows.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use uuid::Uuid;

use crate::{domain::value::Rules, store::value as store};

/// Customer ids per batch (one transaction, one statement per step).
pub const DEFAULT_BATCH: usize = 10_000;

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
        let mut tx = pool.begin().await?;
        let (last, valued, seen) =
            store::rebuild_batch(&mut tx, after, batch.max(1), rules).await?;
        tx.commit().await?;
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
