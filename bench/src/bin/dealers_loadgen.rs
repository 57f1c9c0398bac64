//! gRPC load generator for DealerService: LocateOutlets and CreateLead, closed loop (N
//! workers back to back) or open loop at a fixed rate, with latency percentiles from an
//! hdrhistogram and a count of every gRPC status code.
//!
//! Origins and customer locations are sampled exactly as `bench/sql/locate.sql` and
//! `bench/sql/create_lead.sql` sample them for pgbench: one of [`CITIES`] uniformly, then
//! uniformly within ±0.15° of its centre. Open loop follows wrk2: latency runs from each
//! request's intended send time, so a stalled server cannot hide as lower offered load.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use dealernet_dealers::demo::Rng;
use dealernet_proto::dealers::v1::{
    self as pb, dealer_service_client::DealerServiceClient, locate_outlets_request::Origin,
};
use hdrhistogram::Histogram;
use tonic::{Code, Request, metadata::MetadataValue, transport::Channel};

/// The big cities requests come from (centres as in the demo city table); the pgbench
/// scripts carry the same list.
const CITIES: [(f64, f64); 12] = [
    (39.9042, 116.4074), // 北京
    (31.2304, 121.4737), // 上海
    (23.1291, 113.2644), // 广州
    (22.5431, 114.0579), // 深圳
    (30.5728, 104.0668), // 成都
    (30.2741, 120.1551), // 杭州
    (29.5630, 106.5516), // 重庆
    (32.0603, 118.7969), // 南京
    (31.2990, 120.5853), // 苏州
    (30.5928, 114.3055), // 武汉
    (39.3434, 117.3616), // 天津
    (34.3416, 108.9398), // 西安
];
/// Half-width of the sampling square around a city centre, in millionths of a degree
/// (the pgbench scripts draw the same integers).
const JITTER_MICRODEG: u64 = 150_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// LocateOutlets: 10 nearest SALES outlets within 25 km (one query, as locate.sql).
    Locate,
    /// LocateOutlets with the default reach (300 km): the radius grows until 10 are found.
    LocateWide,
    /// CreateLead of a buy lead at a location (routed to an outlet), with a request id.
    CreateLead,
    /// RankOutletScorecards (HQ's token) of the last 30 days, the first 50, the five
    /// metrics in turn; `empty` counts rankings with no outlet.
    Rank,
}

#[derive(Debug, Parser)]
#[command(about = "Load generator for dealernet DealerService")]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// Bearer token (CreateLead needs the hotline's, HQ's or a system's).
    #[arg(long, env = "DEALERNET_TOKEN")]
    token: String,
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Separate HTTP/2 connections; workers are spread over them round-robin.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Requests in flight at once (one worker each).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Measured seconds (after the warm-up).
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Seconds of load before measuring starts.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Fixed total request rate (open loop); without it each worker sends back to back.
    #[arg(long)]
    rate: Option<f64>,
}

/// What one worker measured.
struct Tally {
    /// From intended send time (open loop) or actual send time (closed loop).
    latency: Histogram<u64>,
    codes: BTreeMap<String, u64>,
    /// Locate answers with no outlet (must stay 0: every origin is in a big city).
    empty: u64,
    /// Open loop: measured slots not sent by the end because the worker fell behind.
    unsent: u64,
}

impl Tally {
    fn new() -> anyhow::Result<Tally> {
        Ok(Tally {
            // Microseconds up to 60 s at 3 significant digits.
            latency: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            codes: BTreeMap::new(),
            empty: 0,
            unsent: 0,
        })
    }

    fn merge(&mut self, other: &Tally) -> anyhow::Result<()> {
        self.latency.add(&other.latency)?;
        for (code, n) in &other.codes {
            *self.codes.entry(code.clone()).or_default() += n;
        }
        self.empty += other.empty;
        self.unsent += other.unsent;
        Ok(())
    }
}

#[derive(Clone)]
struct Plan {
    scenario: Scenario,
    auth: MetadataValue<tonic::metadata::Ascii>,
    begin: Instant,
    measure_from: Instant,
    end: Instant,
    rate: Option<f64>,
    workers: usize,
    run_id: String,
}

/// A point in one of the big cities, drawn as the pgbench scripts draw it.
fn origin(rng: &mut Rng) -> pb::GeoPoint {
    let (lat, lng) = *rng.pick(&CITIES);
    let mut jitter = || {
        let micro = rng.below(2 * JITTER_MICRODEG as usize + 1) as f64 - JITTER_MICRODEG as f64;
        micro / 1_000_000.0
    };
    pb::GeoPoint {
        latitude: lat + jitter(),
        longitude: lng + jitter(),
    }
}

/// One call; returns the status code name and whether a locate answer was empty.
async fn call(
    client: &mut DealerServiceClient<Channel>,
    plan: &Plan,
    rng: &mut Rng,
    worker: usize,
    seq: u64,
) -> (String, bool) {
    fn req<T>(msg: T, plan: &Plan) -> Request<T> {
        let mut r = Request::new(msg);
        r.metadata_mut().insert("authorization", plan.auth.clone());
        r
    }
    let locate = |max_distance_km: f64, point: pb::GeoPoint| pb::LocateOutletsRequest {
        origin: Some(Origin::Point(point)),
        capability: pb::Capability::Sales as i32,
        max_results: 10,
        max_distance_km,
    };
    let result = match plan.scenario {
        Scenario::Locate | Scenario::LocateWide => {
            let reach = if plan.scenario == Scenario::Locate {
                25.0
            } else {
                0.0
            };
            client
                .locate_outlets(req(locate(reach, origin(rng)), plan))
                .await
                .map(|r| r.into_inner().outlets.is_empty())
        }
        Scenario::CreateLead => {
            let lead = pb::Lead {
                customer: format!(
                    "customers/00000000-0000-7000-8000-{:012}",
                    1 + rng.below(1_000_000_000)
                ),
                interest: pb::LeadInterest::Buy as i32,
                model: "models/DA7-2026".into(),
                source: pb::LeadSource::Hotline as i32,
                location: Some(origin(rng)),
                ..Default::default()
            };
            let request_id = format!("bench-{}-{worker}-{seq}", plan.run_id);
            client
                .create_lead(req(
                    pb::CreateLeadRequest {
                        lead: Some(lead),
                        request_id,
                    },
                    plan,
                ))
                .await
                .map(|_| false)
        }
        Scenario::Rank => {
            let metrics = [
                pb::ScorecardMetric::Sales,
                pb::ScorecardMetric::Conversion,
                pb::ScorecardMetric::Satisfaction,
                pb::ScorecardMetric::RepairTurnaround,
                pb::ScorecardMetric::RecallCompletion,
            ];
            let today = chrono::Utc::now().date_naive();
            let date = |d: chrono::NaiveDate| {
                use chrono::Datelike;
                dealernet_proto::types::v1::Date {
                    year: d.year(),
                    month: d.month() as i32,
                    day: d.day() as i32,
                }
            };
            client
                .rank_outlet_scorecards(req(
                    pb::RankOutletScorecardsRequest {
                        start_date: Some(date(today - chrono::TimeDelta::days(29))),
                        end_date: Some(date(today)),
                        metric: metrics[(seq % 5) as usize] as i32,
                        page_size: 50,
                        ..Default::default()
                    },
                    plan,
                ))
                .await
                .map(|r| r.into_inner().ranked.is_empty())
        }
    };
    match result {
        Ok(empty) => (format!("{:?}", Code::Ok), empty),
        Err(status) => (format!("{:?}", status.code()), false),
    }
}

async fn worker(channel: Channel, plan: Plan, index: usize) -> anyhow::Result<Tally> {
    let mut client = DealerServiceClient::new(channel);
    let mut tally = Tally::new()?;
    let seed = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64;
    let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    // Open loop: this worker's slots are spaced workers/rate apart, offset by index/rate.
    let schedule = plan.rate.map(|rate| {
        (
            Duration::from_secs_f64(plan.workers as f64 / rate),
            plan.begin + Duration::from_secs_f64(index as f64 / rate),
        )
    });
    let mut seq: u64 = 0;
    loop {
        let intended = match schedule {
            Some((interval, first)) => first + interval.mul_f64(seq as f64),
            None => Instant::now(),
        };
        if intended >= plan.end || Instant::now() >= plan.end {
            if let Some((interval, first)) = schedule {
                // Slots never sent still count, at their lower-bound latency.
                let mut k = seq;
                while first + interval.mul_f64(k as f64) < plan.end {
                    let slot = first + interval.mul_f64(k as f64);
                    if slot >= plan.measure_from {
                        tally.latency.saturating_record(
                            plan.end.duration_since(slot).as_micros().max(1) as u64,
                        );
                        tally.unsent += 1;
                    }
                    k += 1;
                }
            }
            break;
        }
        if intended > Instant::now() {
            tokio::time::sleep_until(intended.into()).await;
        }
        let (code, empty) = call(&mut client, &plan, &mut rng, index, seq).await;
        let done = Instant::now();
        seq += 1;
        if intended < plan.measure_from {
            continue;
        }
        tally
            .latency
            .saturating_record(done.duration_since(intended).as_micros().max(1) as u64);
        *tally.codes.entry(code).or_default() += 1;
        tally.empty += u64::from(empty);
    }
    Ok(tally)
}

fn print(args: &Args, total: &Tally) {
    let ok = total.codes.get("Ok").copied().unwrap_or(0);
    let sent: u64 = total.codes.values().sum();
    let rps = sent as f64 / args.duration as f64;
    let h = &total.latency;
    let q = |p: f64| h.value_at_quantile(p) as f64 / 1000.0;
    let mode = match args.rate {
        Some(r) => format!("open loop at {r} req/s"),
        None => "closed loop".to_owned(),
    };
    println!(
        "scenario {:?}: {} connections, {} in flight, {mode}, {} s measured after {} s warm-up",
        args.scenario, args.connections, args.concurrency, args.duration, args.warmup
    );
    println!("requests {sent}  throughput {rps:.0} req/s");
    println!(
        "latency ms  p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        q(0.5),
        q(0.9),
        q(0.99),
        q(0.999),
        h.max() as f64 / 1000.0
    );
    let codes: Vec<String> = total
        .codes
        .iter()
        .map(|(c, n)| format!("{c}={n}"))
        .collect();
    println!("status   {}", codes.join(" "));
    println!(
        "RESULT scenario={:?} conc={} rps={rps:.0} p50={:.2} p90={:.2} p99={:.2} p999={:.2} max={:.2} ok={ok} errors={} empty={} unsent={}",
        args.scenario,
        args.concurrency,
        q(0.5),
        q(0.9),
        q(0.99),
        q(0.999),
        h.max() as f64 / 1000.0,
        sent - ok,
        total.empty,
        total.unsent
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.connections >= 1 && args.concurrency >= 1);
    anyhow::ensure!(args.rate.is_none_or(|r| r > 0.0), "--rate must be positive");
    let mut channels = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        channels.push(
            Channel::from_shared(args.addr.clone())?
                .tcp_nodelay(true)
                .connect()
                .await
                .with_context(|| format!("connecting to {}", args.addr))?,
        );
    }
    let now = Instant::now();
    let measure_from = now + Duration::from_secs(args.warmup);
    let plan = Plan {
        scenario: args.scenario,
        auth: format!("Bearer {}", args.token).parse()?,
        begin: now,
        measure_from,
        end: measure_from + Duration::from_secs(args.duration),
        rate: args.rate,
        workers: args.concurrency,
        run_id: format!(
            "{:x}",
            SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos()
        ),
    };
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|i| {
            tokio::spawn(worker(
                channels[i % channels.len()].clone(),
                plan.clone(),
                i,
            ))
        })
        .collect();
    let mut total = Tally::new()?;
    for task in tasks {
        total.merge(&task.await??)?;
    }
    print(&args, &total);
    Ok(())
}
