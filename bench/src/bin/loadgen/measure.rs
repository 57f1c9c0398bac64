//! The measuring loop shared by every request/response scenario: closed loop (workers back
//! to back) or open loop at a fixed rate, latencies in hdrhistograms, and a count of every
//! response by RPC and gRPC status code.
//!
//! Open loop follows wrk2: worker `w` of `C` owns the send slots `w, w+C, w+2C, …` of a
//! schedule at `--rate` units/s, and latency is measured from a unit's *intended* send
//! time, so a stalled server shows up as latency instead of silently lowering the offered
//! load (coordinated omission). A unit is one request, or one whole cycle of requests
//! (repair-cycle).
//!
//! Queue scenarios (claim-callbacks) consume what they measure: a unit may report a claim
//! (its name is kept, warm-up included, so that the run can look for double claims) or
//! that the queue is empty, which ends that worker. The empty answer is counted apart
//! (`drained`), not as a unit, and the run's measured time ends with the last worker.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use dealernet_customers::demo::Rng;
use hdrhistogram::Histogram;
use tonic::{Code, Status};

use super::Caller;

/// What one unit (request or cycle) came to.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every response, as a status name; for multi-call units `Method:Code`.
    pub responses: Vec<String>,
    /// Every response was OK and as expected.
    pub ok: bool,
    /// Resolve calls that created a customer instead of matching one.
    pub created: bool,
    /// Queue scenarios: what the call claimed, if anything (even when not as expected).
    pub claim: Option<Claim>,
    /// Queue scenarios: the queue was empty; the worker stops.
    pub drained: bool,
}

/// One claimed queue entry.
#[derive(Debug, Clone)]
pub struct Claim {
    /// Its resource name.
    pub name: String,
    /// Who the server says holds it.
    pub holder: String,
}

impl Outcome {
    /// A single-call outcome.
    pub fn single<T>(result: Result<T, Status>, check: impl FnOnce(&T) -> bool) -> Outcome {
        match result {
            Ok(r) if check(&r) => Outcome {
                responses: vec![format!("{:?}", Code::Ok)],
                ok: true,
                ..Outcome::default()
            },
            Ok(_) => Outcome {
                responses: vec!["OkUnexpectedContent".to_owned()],
                ..Outcome::default()
            },
            Err(status) => Outcome {
                responses: vec![format!("{:?}", status.code())],
                ..Outcome::default()
            },
        }
    }
}

/// What one worker measured.
pub struct Tally {
    /// From intended send time (open loop) or actual send time (closed loop).
    pub latency: Histogram<u64>,
    /// From actual send time: the server's share without client-side scheduling delay.
    pub service: Histogram<u64>,
    pub codes: BTreeMap<String, u64>,
    /// Units whose every response was OK.
    pub ok: u64,
    /// Resolve calls that created a customer instead of matching one (must stay 0).
    pub created: u64,
    /// Open loop: measured slots not sent by the end because the worker fell behind.
    pub unsent: u64,
    /// Queue scenarios: every name claimed, warm-up included, in claim order per worker.
    pub claimed: Vec<String>,
    /// Queue scenarios: the holders the server named on this tally's claims.
    pub holders: BTreeSet<String>,
    /// Queue scenarios: holders that appeared in more than one worker's claims (each
    /// worker must claim as its own agent).
    pub shared_holders: BTreeSet<String>,
    /// Queue scenarios: workers that stopped on an empty queue.
    pub drained: u64,
    /// Queue scenarios: when the last worker that stopped on an empty queue did.
    pub finished: Option<Instant>,
}

impl Tally {
    pub fn new() -> anyhow::Result<Tally> {
        // Microseconds up to 60 s at 3 significant digits.
        let h = || Histogram::new_with_bounds(1, 60_000_000, 3);
        Ok(Tally {
            latency: h()?,
            service: h()?,
            codes: BTreeMap::new(),
            ok: 0,
            created: 0,
            unsent: 0,
            claimed: Vec::new(),
            holders: BTreeSet::new(),
            shared_holders: BTreeSet::new(),
            drained: 0,
            finished: None,
        })
    }

    pub fn merge(&mut self, other: &Tally) -> anyhow::Result<()> {
        self.latency.add(&other.latency)?;
        self.service.add(&other.service)?;
        for (code, n) in &other.codes {
            *self.codes.entry(code.clone()).or_default() += n;
        }
        self.ok += other.ok;
        self.created += other.created;
        self.unsent += other.unsent;
        self.claimed.extend(other.claimed.iter().cloned());
        for holder in &other.holders {
            if !self.holders.insert(holder.clone()) {
                self.shared_holders.insert(holder.clone());
            }
        }
        self.shared_holders
            .extend(other.shared_holders.iter().cloned());
        self.drained += other.drained;
        self.finished = self.finished.max(other.finished);
        Ok(())
    }

    /// Units measured (sent, answered or failed).
    pub fn units(&self) -> u64 {
        self.service.len()
    }

    /// Measured units that were not entirely OK.
    pub fn errors(&self) -> u64 {
        self.units() - self.ok
    }
}

/// When load runs and how it is paced.
#[derive(Clone, Copy)]
pub struct Clock {
    /// Load runs over [begin, end); only [measure_from, end) is recorded.
    pub begin: Instant,
    pub measure_from: Instant,
    pub end: Instant,
    /// Open loop: total units per second over all workers.
    pub rate: Option<f64>,
    pub workers: usize,
}

/// One worker: runs units of its scenario until the end of the run and tallies them.
pub async fn worker(clock: Clock, index: usize, mut caller: Caller) -> anyhow::Result<Tally> {
    let mut tally = Tally::new()?;
    let seed = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64;
    let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    // Open loop: this worker's slots are spaced workers/rate apart, offset by index/rate,
    // from the beginning of the warm-up.
    let schedule = clock.rate.map(|rate| {
        (
            Duration::from_secs_f64(clock.workers as f64 / rate),
            clock.begin + Duration::from_secs_f64(index as f64 / rate),
        )
    });
    let mut seq: u64 = 0;
    loop {
        let intended = match schedule {
            Some((interval, first)) => first + interval.mul_f64(seq as f64),
            None => Instant::now(),
        };
        // Wall clock bounds the run too: a worker behind schedule stops at the end and
        // reports the slots it never sent instead of running on past the duration.
        if intended >= clock.end || Instant::now() >= clock.end {
            if let Some((interval, first)) = schedule {
                let mut k = seq;
                while first + interval.mul_f64(k as f64) < clock.end {
                    let slot = first + interval.mul_f64(k as f64);
                    if slot >= clock.measure_from {
                        // Its latency is at least end - intended: record that lower bound
                        // so dropping late slots cannot flatter the percentiles.
                        let waited = clock.end.duration_since(slot).as_micros().max(1) as u64;
                        tally.latency.saturating_record(waited);
                        tally.unsent += 1;
                    }
                    k += 1;
                }
            }
            break;
        }
        // Only sleep when ahead of schedule: tokio's timer has 1 ms granularity and would
        // otherwise add a tick to back-to-back (closed loop) calls.
        if intended > Instant::now() {
            tokio::time::sleep_until(intended.into()).await;
        }
        let sent = Instant::now();
        let outcome = caller.unit(&mut rng, seq).await;
        let done = Instant::now();
        seq += 1;
        if let Some(claim) = &outcome.claim {
            tally.claimed.push(claim.name.clone());
            tally.holders.insert(claim.holder.clone());
        }
        if outcome.drained {
            *tally.codes.entry("OkEmptyQueue".to_owned()).or_default() += 1;
            tally.drained += 1;
            tally.finished = Some(done);
            break;
        }
        if intended < clock.measure_from {
            continue;
        }
        let micros = |from: Instant| done.duration_since(from).as_micros().max(1) as u64;
        tally.latency.saturating_record(micros(intended));
        tally.service.saturating_record(micros(sent));
        for code in outcome.responses {
            *tally.codes.entry(code).or_default() += 1;
        }
        tally.ok += u64::from(outcome.ok);
        tally.created += u64::from(outcome.created);
    }
    Ok(tally)
}

/// Milliseconds at quantile `p`.
pub fn ms(h: &Histogram<u64>, p: f64) -> f64 {
    h.value_at_quantile(p) as f64 / 1000.0
}

/// `p50 … max` in milliseconds.
pub fn percentiles(h: &Histogram<u64>) -> String {
    format!(
        "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        ms(h, 0.5),
        ms(h, 0.9),
        ms(h, 0.99),
        ms(h, 0.999),
        h.max() as f64 / 1000.0
    )
}

/// The `p50=… max=…` fields of a RESULT line.
pub fn result_fields(h: &Histogram<u64>) -> String {
    format!(
        "p50={:.2} p90={:.2} p99={:.2} p999={:.2} max={:.2}",
        ms(h, 0.5),
        ms(h, 0.9),
        ms(h, 0.99),
        ms(h, 0.999),
        h.max() as f64 / 1000.0
    )
}

/// `Code=count …`, every response counted once.
pub fn status_line(codes: &BTreeMap<String, u64>) -> String {
    codes
        .iter()
        .map(|(c, n)| format!("{c}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}
