//! gRPC load generator for CustomerService: closed loop (N workers back to back) or open
//! loop at a fixed rate, with latency percentiles and a count per gRPC status code.
//!
//! Open loop follows wrk2: worker `w` of `C` owns the send slots `w, w+C, w+2C, …` of a
//! schedule at `--rate` requests/s, and latency is measured from a request's *intended*
//! send time, so a stalled server shows up as latency instead of silently lowering the
//! offered load (coordinated omission).

use std::{
    collections::BTreeMap,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use dealernet_customers::demo::Rng;
use dealernet_kit::auth::{Principal, Role, TokenKeys};
use dealernet_proto::customers::v1::{self as pb, customer_service_client::CustomerServiceClient};
use hdrhistogram::Histogram;
use secrecy::SecretString;
use tonic::{Code, Request, metadata::MetadataValue, transport::Channel};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// GetCustomer of a random existing customer.
    Get,
    /// ResolveCustomer of an existing customer by its phone (must match, not create).
    Resolve,
    /// ListCustomers filtered by a random existing customer's phone.
    ListByPhone,
    /// FindDuplicates of a random existing customer.
    FindDuplicates,
}

#[derive(Debug, Parser)]
#[command(about = "Load generator for dealernet CustomerService")]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// Bearer token; without it one is minted from --jwt-secret (D1001, role dealer).
    #[arg(long, env = "DEALERNET_TOKEN")]
    token: Option<String>,
    #[arg(long, env = "DEALERNET_JWT_SECRET")]
    jwt_secret: Option<String>,
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
    /// Declared purpose sent as `x-purpose` (required for HQ and hotline tokens).
    #[arg(long, default_value = "benchmark")]
    purpose: String,
    /// Key-space size: customers 1..=N exist (as loaded by datagen).
    #[arg(long, default_value_t = 1_000_000)]
    customers: u64,
}

/// What one worker measured.
struct Tally {
    /// From intended send time (open loop) or actual send time (closed loop).
    latency: Histogram<u64>,
    /// From actual send time: the server's share without client-side scheduling delay.
    service: Histogram<u64>,
    codes: BTreeMap<String, u64>,
    /// Resolve calls that created a customer instead of matching one (must stay 0).
    created: u64,
    /// Open loop: measured slots not sent by the end because the worker fell behind.
    unsent: u64,
}

impl Tally {
    fn new() -> anyhow::Result<Tally> {
        // Microseconds up to 60 s at 3 significant digits.
        let h = || Histogram::new_with_bounds(1, 60_000_000, 3);
        Ok(Tally {
            latency: h()?,
            service: h()?,
            codes: BTreeMap::new(),
            created: 0,
            unsent: 0,
        })
    }

    fn merge(&mut self, other: &Tally) -> anyhow::Result<()> {
        self.latency.add(&other.latency)?;
        self.service.add(&other.service)?;
        for (code, n) in &other.codes {
            *self.codes.entry(code.clone()).or_default() += n;
        }
        self.created += other.created;
        self.unsent += other.unsent;
        Ok(())
    }
}

/// Everything a worker needs; cloned per worker.
#[derive(Clone)]
struct Plan {
    scenario: Scenario,
    auth: MetadataValue<tonic::metadata::Ascii>,
    /// `x-purpose` metadata: HQ and hotline reads must declare one.
    purpose: MetadataValue<tonic::metadata::Ascii>,
    customers: u64,
    /// Load runs over [begin, end); only [measure_from, end) is recorded.
    begin: Instant,
    measure_from: Instant,
    end: Instant,
    /// Open loop: total requests per second over all workers.
    rate: Option<f64>,
    workers: usize,
    run_id: String,
}

fn token(args: &Args) -> anyhow::Result<String> {
    if let Some(t) = &args.token {
        return Ok(t.clone());
    }
    let secret = args
        .jwt_secret
        .clone()
        .context("give --token or --jwt-secret")?;
    let principal =
        Principal::new("bench.loadgen", "D1001", &[Role::Dealer]).map_err(anyhow::Error::msg)?;
    Ok(TokenKeys::new(SecretString::from(secret)).mint(&principal, 24 * 3600))
}

/// One call of the scenario; returns the status code name and whether a customer was created.
async fn call(
    client: &mut CustomerServiceClient<Channel>,
    plan: &Plan,
    n: u64,
    seq: u64,
    worker: usize,
) -> (String, bool) {
    fn req<T>(msg: T, plan: &Plan) -> Request<T> {
        let mut r = Request::new(msg);
        r.metadata_mut().insert("authorization", plan.auth.clone());
        r.metadata_mut().insert("x-purpose", plan.purpose.clone());
        r
    }
    let result = match plan.scenario {
        Scenario::Get => {
            let name = format!("customers/{}", dealernet_bench::customer_id(n));
            client
                .get_customer(req(pb::GetCustomerRequest { name }, plan))
                .await
                .map(|_| false)
        }
        Scenario::Resolve => {
            // The candidate as a dealer's POS would send it: name + mobile, nothing else.
            let p = dealernet_bench::person(n);
            let customer = pb::Customer {
                kind: pb::CustomerKind::Person as i32,
                person_name: Some(pb::PersonName {
                    family_name: p.family.0.to_owned(),
                    given_name: p.given.0.to_owned(),
                }),
                phones: vec![pb::Phone {
                    number: p.mobile,
                    kind: pb::PhoneKind::Mobile as i32,
                }],
                source_channel: pb::SourceChannel::DealerPos as i32,
                ..Default::default()
            };
            let request_id = format!("bench-{}-{worker}-{seq}", plan.run_id);
            client
                .resolve_customer(req(
                    pb::ResolveCustomerRequest {
                        customer: Some(customer),
                        request_id,
                    },
                    plan,
                ))
                .await
                .map(|r| r.into_inner().created)
        }
        Scenario::ListByPhone => {
            let phone = dealernet_bench::mobile_e164(n);
            let list = pb::ListCustomersRequest {
                phone,
                page_size: 10,
                ..Default::default()
            };
            client.list_customers(req(list, plan)).await.map(|_| false)
        }
        Scenario::FindDuplicates => {
            let name = format!("customers/{}", dealernet_bench::customer_id(n));
            let find = pb::FindDuplicatesRequest {
                target: Some(pb::find_duplicates_request::Target::Name(name)),
                max_results: 10,
                min_score: 0.0,
            };
            client.find_duplicates(req(find, plan)).await.map(|_| false)
        }
    };
    match result {
        Ok(created) => (format!("{:?}", Code::Ok), created),
        Err(status) => (format!("{:?}", status.code()), false),
    }
}

async fn worker(channel: Channel, plan: Plan, index: usize) -> anyhow::Result<Tally> {
    let mut client = CustomerServiceClient::new(channel);
    let mut tally = Tally::new()?;
    let seed = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64;
    let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    // Open loop: this worker's slots are spaced workers/rate apart, offset by index/rate,
    // from the beginning of the warm-up.
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
        // Wall clock bounds the run too: a worker behind schedule stops at the end and
        // reports the slots it never sent instead of running on past the duration.
        if intended >= plan.end || Instant::now() >= plan.end {
            if let Some((interval, first)) = schedule {
                let mut k = seq;
                while first + interval.mul_f64(k as f64) < plan.end {
                    let slot = first + interval.mul_f64(k as f64);
                    if slot >= plan.measure_from {
                        // Its latency is at least end - intended: record that lower bound
                        // so dropping late slots cannot flatter the percentiles.
                        let waited = plan.end.duration_since(slot).as_micros().max(1) as u64;
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
        let n = 1 + rng.below(plan.customers as usize) as u64;
        let sent = Instant::now();
        let (code, created) = call(&mut client, &plan, n, seq, index).await;
        let done = Instant::now();
        seq += 1;
        if intended < plan.measure_from {
            continue;
        }
        let micros = |from: Instant| done.duration_since(from).as_micros().max(1) as u64;
        tally.latency.saturating_record(micros(intended));
        tally.service.saturating_record(micros(sent));
        *tally.codes.entry(code).or_default() += 1;
        tally.created += u64::from(created);
    }
    Ok(tally)
}

fn print(args: &Args, total: &Tally) {
    let count = total.service.len();
    let rps = count as f64 / args.duration as f64;
    let q = |h: &Histogram<u64>, p: f64| h.value_at_quantile(p) as f64 / 1000.0;
    let mode = match args.rate {
        Some(r) => format!("open loop at {r} req/s"),
        None => "closed loop".to_owned(),
    };
    println!(
        "scenario {:?}: {} connections, {} in flight, {mode}, {} s measured after {} s warm-up",
        args.scenario, args.connections, args.concurrency, args.duration, args.warmup
    );
    println!("requests {count}  throughput {rps:.0} req/s");
    for (label, h) in [("latency", &total.latency), ("service", &total.service)] {
        println!(
            "{label:8} ms  p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
            q(h, 0.5),
            q(h, 0.9),
            q(h, 0.99),
            q(h, 0.999),
            h.max() as f64 / 1000.0
        );
    }
    if args.rate.is_some() {
        println!(
            "unsent   {} measured slots not sent: worker behind schedule",
            total.unsent
        );
    }
    let codes: Vec<String> = total
        .codes
        .iter()
        .map(|(c, n)| format!("{c}={n}"))
        .collect();
    println!("status   {}", codes.join(" "));
    if args.scenario == Scenario::Resolve {
        println!(
            "resolve  created={} (must be 0: every candidate exists)",
            total.created
        );
    }
    // One machine-readable line for bench/run.sh.
    let ok = total.codes.get("Ok").copied().unwrap_or(0);
    let h = &total.latency;
    println!(
        "RESULT scenario={:?} conc={} rps={rps:.0} p50={:.2} p90={:.2} p99={:.2} p999={:.2} max={:.2} ok={ok} errors={} created={} unsent={}",
        args.scenario,
        args.concurrency,
        q(h, 0.5),
        q(h, 0.9),
        q(h, 0.99),
        q(h, 0.999),
        h.max() as f64 / 1000.0,
        count - ok,
        total.created,
        total.unsent
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.connections >= 1 && args.concurrency >= 1 && args.customers >= 1);
    anyhow::ensure!(args.rate.is_none_or(|r| r > 0.0), "--rate must be positive");
    let bearer = format!("Bearer {}", token(&args)?);
    let mut channels = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        // Each `connect` opens its own HTTP/2 connection.
        let channel = Channel::from_shared(args.addr.clone())?
            .tcp_nodelay(true)
            .connect()
            .await
            .with_context(|| format!("connecting to {}", args.addr))?;
        channels.push(channel);
    }
    let now = Instant::now();
    let measure_from = now + Duration::from_secs(args.warmup);
    let plan = Plan {
        scenario: args.scenario,
        auth: bearer.parse()?,
        purpose: args.purpose.parse()?,
        customers: args.customers,
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
