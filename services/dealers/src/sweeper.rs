//! The deadline sweeper: moves uncontacted leads on when their deadline passes or their
//! outlet may no longer receive them, up to [`MAX_ASSIGNMENTS`] outlets, then escalates.
//!
//! Safe with any number of sweepers at once (replicas, or a test beside the background
//! task): each lead is handled in its own transaction that first locks it with
//! `FOR UPDATE SKIP LOCKED` and re-checks that it is still NEW and being routed, so a
//! lead is re-routed exactly once per missed deadline, and an outlet contacting the lead
//! at the same moment either wins the lock (the sweeper skips it) or finds it gone.

use std::time::Duration;

use chrono::{DateTime, Utc};
use dealernet_kit::clock::Clock;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    Error,
    domain::{
        lead::{Assignment, MAX_ASSIGNMENTS, RoutingReason},
        outlet::permits,
    },
    router,
    store::{self, Lock},
};

/// Leads of each kind taken per work-list read.
const BATCH: usize = 100;
/// How often expired idempotency keys are purged.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Leads moved to another outlet.
    pub rerouted: usize,
    /// Leads no further outlet could take: left where they are, flagged for HQ.
    pub escalated: usize,
    /// Leads another sweeper or a handler held, or that changed meanwhile.
    pub skipped: usize,
    /// Leads whose transaction failed (logged; retried by the next sweep).
    pub failed: usize,
}

enum Outcome {
    Rerouted,
    Escalated,
    Skipped,
}

/// Re-routes overdue leads of the `dealers` schema behind `pool`.
#[derive(Debug, Clone)]
pub struct Sweeper {
    pool: PgPool,
}

impl Sweeper {
    pub fn new(pool: PgPool) -> Sweeper {
        Sweeper { pool }
    }

    /// One sweep as of `now`: every lead due at `now` (up to a batch of each kind) is
    /// re-routed, escalated or skipped. Deterministic for a given `now` and database.
    pub async fn sweep_once(&self, now: DateTime<Utc>) -> Result<SweepReport, Error> {
        let due = {
            let mut conn = self.pool.acquire().await?;
            store::lead::due(&mut conn, now, BATCH).await?
        };
        let mut report = SweepReport::default();
        for id in due {
            match self.move_on(id, now).await {
                Ok(Outcome::Rerouted) => report.rerouted += 1,
                Ok(Outcome::Escalated) => report.escalated += 1,
                Ok(Outcome::Skipped) => report.skipped += 1,
                Err(e) => {
                    tracing::warn!(lead = %id, error = %e, "lead sweep failed");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// Moves one lead on, in its own transaction.
    async fn move_on(&self, id: Uuid, now: DateTime<Utc>) -> Result<Outcome, Error> {
        let mut tx = self.pool.begin().await?;
        let Some(mut lead) = store::lead::lock_if_routable(&mut tx, id).await? else {
            return Ok(Outcome::Skipped);
        };
        let outlet_may_keep_it =
            match store::outlet::load_outlet(&mut tx, &lead.outlet, Lock::None).await? {
                Some(o) => permits(o.status, &o.capabilities, lead.interest.action()).is_ok(),
                None => false,
            };
        let cause = if !outlet_may_keep_it {
            RoutingReason::OutletUnavailable
        } else if lead.respond_before <= now {
            RoutingReason::DeadlineMissed
        } else {
            // Listed, then the outlet was reactivated: nothing to do.
            return Ok(Outcome::Skipped);
        };
        let history = store::lead::assignments(&mut tx, &[id])
            .await?
            .remove(&id)
            .unwrap_or_default();
        let excluded: Vec<String> = history.iter().map(|a| a.outlet.clone()).collect();
        let placement = if history.len() >= MAX_ASSIGNMENTS {
            None
        } else {
            router::place(
                &mut tx,
                &router::Request {
                    preferred: lead.preferred_outlet.as_deref(),
                    origin: lead.location,
                    interest: lead.interest,
                    response_window: lead.response_window,
                    excluded: &excluded,
                    now,
                },
            )
            .await?
        };
        lead.version += 1;
        lead.update_time = now;
        let outcome = match placement {
            Some(p) => {
                store::lead::end_assignment(&mut tx, id, now, cause).await?;
                let seq = history.last().map_or(1, |a| a.seq + 1);
                let assignment = Assignment {
                    seq,
                    outlet: p.outlet.clone(),
                    reason: cause,
                    assign_time: now,
                    respond_before: p.respond_before,
                    distance_km: p.distance_km,
                    end_time: None,
                };
                store::lead::insert_assignment(&mut tx, id, &assignment).await?;
                tracing::info!(lead = %id, from = %lead.outlet, to = %p.outlet, cause = cause.as_str(), "lead re-routed");
                lead.outlet = p.outlet;
                lead.respond_before = p.respond_before;
                Outcome::Rerouted
            }
            None => {
                tracing::warn!(lead = %id, outlet = %lead.outlet, cause = cause.as_str(), "lead escalated: no further outlet");
                lead.escalate_time = Some(now);
                Outcome::Escalated
            }
        };
        store::lead::update(&mut tx, &lead).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Background work until the task is aborted (at shutdown): a sweep every
    /// `sweep_every` (none when `None`: another process sweeps) and the purge of
    /// idempotency keys older than `retention_hours`. An aborted sweep's open transaction
    /// rolls back, so shutdown never leaves a half-moved lead.
    pub async fn run(self, clock: Clock, sweep_every: Option<Duration>, retention_hours: u64) {
        let mut tick = tokio::time::interval(sweep_every.unwrap_or(PURGE_EVERY));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_purge: Option<tokio::time::Instant> = None;
        loop {
            tick.tick().await;
            if sweep_every.is_some() {
                loop {
                    match self.sweep_once(clock.now()).await {
                        Ok(r) if r.rerouted + r.escalated > 0 => {
                            tracing::debug!(
                                rerouted = r.rerouted,
                                escalated = r.escalated,
                                "lead sweep"
                            );
                            // A full batch may have left more behind: sweep again now.
                            if r.rerouted + r.escalated + r.skipped + r.failed < BATCH {
                                break;
                            }
                        }
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "lead sweep failed");
                            break;
                        }
                    }
                }
            }
            if last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
                last_purge = Some(tokio::time::Instant::now());
                match dealernet_kit::idempotency::purge(&self.pool, retention_hours).await {
                    Ok(n) if n > 0 => {
                        tracing::info!(deleted = n, "dealers idempotency keys purged")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "dealers idempotency purge failed"),
                }
            }
        }
    }
}
