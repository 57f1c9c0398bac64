//! gRPC load generator for CustomerService and VehicleService: closed loop (N workers back
//! to back) or open loop at a fixed rate, with latency percentiles and a count of every
//! response by gRPC status code (`measure`); StreamProduction pushes a number of new
//! vehicles instead (`stream`).
//!
//! It exits with status 1 when any response was not OK (or any streamed item was not
//! applied), after printing its results.

mod customers;
mod measure;
mod stream;
mod vehicles;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use dealernet_customers::demo::Rng;
use dealernet_kit::auth::{Principal, Role, TokenKeys};
use dealernet_proto::{
    customers::v1::customer_service_client::CustomerServiceClient,
    vehicles::v1::vehicle_service_client::VehicleServiceClient,
};
use secrecy::SecretString;
use tonic::{
    Request,
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};

use measure::{Clock, Outcome, Tally};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// GetCustomer of a random existing customer.
    Get,
    /// ResolveCustomer of an existing customer by its phone (must match, not create).
    Resolve,
    /// ListCustomers filtered by a random existing customer's phone.
    ListByPhone,
    /// FindDuplicates of a random existing customer.
    FindDuplicates,
    /// GetVehicle of a random loaded vehicle.
    GetVehicle,
    /// GetVehicleTimeline (first page, default size) of a random loaded vehicle.
    VehicleTimeline,
    /// StreamProduction of --items new vehicles from --new-from on, one stream per
    /// --concurrency.
    StreamProduction,
    /// A station's repair order on a random delivered vehicle: open, three lines,
    /// IN_PROGRESS, COMPLETED, CLOSED. One unit is the whole cycle.
    RepairCycle,
}

impl Scenario {
    fn is_vehicles(self) -> bool {
        matches!(
            self,
            Scenario::GetVehicle
                | Scenario::VehicleTimeline
                | Scenario::StreamProduction
                | Scenario::RepairCycle
        )
    }

    /// Who a minted token speaks for (--jwt-secret without --token).
    fn principal(self, station: &str) -> anyhow::Result<Principal> {
        let p = match self {
            Scenario::StreamProduction => {
                Principal::new("mes.line-feed", "PLANT-SH", &[Role::System])
            }
            Scenario::RepairCycle => Principal::new("station.advisor", station, &[Role::Station]),
            _ => Principal::new("bench.loadgen", "D1001", &[Role::Dealer]),
        };
        p.map_err(anyhow::Error::msg)
    }
}

#[derive(Debug, Parser)]
#[command(about = "Load generator for dealernet CustomerService and VehicleService")]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// Bearer token; without it one is minted from --jwt-secret (D1001 dealer; PLANT-SH
    /// system for stream-production; --station station for repair-cycle).
    #[arg(long, env = "DEALERNET_TOKEN")]
    token: Option<String>,
    #[arg(long, env = "DEALERNET_JWT_SECRET")]
    jwt_secret: Option<String>,
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Separate HTTP/2 connections; workers are spread over them round-robin.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Units in flight at once (one worker each); streams for stream-production.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Measured seconds (after the warm-up).
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Seconds of load before measuring starts.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Fixed total rate in units/s (open loop); without it each worker sends back to back.
    #[arg(long)]
    rate: Option<f64>,
    /// Declared purpose sent as `x-purpose` (required for HQ and hotline tokens).
    #[arg(long, default_value = "benchmark")]
    purpose: String,
    /// Customer key space: customers 1..=N exist (as loaded by datagen).
    #[arg(long, default_value_t = 1_000_000)]
    customers: u64,
    /// Vehicle key space: vehicles 1..=N exist (as loaded by vehicle_datagen).
    #[arg(long, default_value_t = 2_000_000)]
    vehicles: u64,
    /// stream-production: how many new vehicles to push.
    #[arg(long, default_value_t = 20_000)]
    items: u64,
    /// stream-production: number of the first new vehicle (not yet registered; at least
    /// 5000001, see bench/src/vehicles).
    #[arg(long)]
    new_from: Option<u64>,
    /// repair-cycle: the station opening the orders (the token's organisation).
    #[arg(long, default_value = "S3001")]
    station: String,
}

/// What every request carries, per worker.
#[derive(Clone)]
pub struct Ctx {
    pub auth: MetadataValue<Ascii>,
    /// `x-purpose` metadata: HQ and hotline reads must declare one.
    pub purpose: MetadataValue<Ascii>,
    /// Makes request ids unique across runs.
    pub run_id: String,
    pub worker: usize,
}

impl Ctx {
    pub fn request<T>(&self, msg: T) -> Request<T> {
        let mut r = Request::new(msg);
        r.metadata_mut().insert("authorization", self.auth.clone());
        r.metadata_mut().insert("x-purpose", self.purpose.clone());
        r
    }
}

/// A worker's client and scenario.
pub enum Caller {
    Customers(customers::Caller),
    Vehicles(vehicles::Caller),
}

impl Caller {
    pub async fn unit(&mut self, rng: &mut Rng, seq: u64) -> Outcome {
        match self {
            Caller::Customers(c) => c.unit(rng, seq).await,
            Caller::Vehicles(v) => v.unit(rng, seq).await,
        }
    }
}

fn token(args: &Args) -> anyhow::Result<String> {
    if let Some(t) = &args.token {
        return Ok(t.clone());
    }
    let secret = args
        .jwt_secret
        .clone()
        .context("give --token or --jwt-secret")?;
    let principal = args.scenario.principal(&args.station)?;
    Ok(TokenKeys::new(SecretString::from(secret)).mint(&principal, 24 * 3600))
}

fn print(args: &Args, total: &Tally) {
    let count = total.units();
    let rps = count as f64 / args.duration as f64;
    let mode = match args.rate {
        Some(r) => format!("open loop at {r} units/s"),
        None => "closed loop".to_owned(),
    };
    let unit = if args.scenario == Scenario::RepairCycle {
        "cycles"
    } else {
        "requests"
    };
    println!(
        "scenario {:?}: {} connections, {} in flight, {mode}, {} s measured after {} s warm-up",
        args.scenario, args.connections, args.concurrency, args.duration, args.warmup
    );
    println!("{unit} {count}  throughput {rps:.0} {unit}/s");
    for (label, h) in [("latency", &total.latency), ("service", &total.service)] {
        println!("{label:8} ms  {}", measure::percentiles(h));
    }
    if args.rate.is_some() {
        println!(
            "unsent   {} measured slots not sent: worker behind schedule",
            total.unsent
        );
    }
    println!("status   {}", measure::status_line(&total.codes));
    if args.scenario == Scenario::Resolve {
        println!(
            "resolve  created={} (must be 0: every candidate exists)",
            total.created
        );
    }
    // One machine-readable line for bench/run.sh and bench/run_vehicles.sh.
    println!(
        "RESULT scenario={:?} conc={} rps={rps:.0} {} ok={} errors={} created={} unsent={}",
        args.scenario,
        args.concurrency,
        measure::result_fields(&total.latency),
        total.ok,
        total.errors(),
        total.created,
        total.unsent
    );
}

async fn connect(args: &Args) -> anyhow::Result<Vec<Channel>> {
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
    Ok(channels)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.connections >= 1 && args.concurrency >= 1 && args.customers >= 1);
    anyhow::ensure!(args.rate.is_none_or(|r| r > 0.0), "--rate must be positive");
    if args.scenario.is_vehicles() {
        anyhow::ensure!(
            (20..dealernet_bench::vehicles::FIRST_NEW).contains(&args.vehicles),
            "--vehicles must be 20 to {}",
            dealernet_bench::vehicles::FIRST_NEW - 1
        );
    }
    let ctx = Ctx {
        auth: format!("Bearer {}", token(&args)?).parse()?,
        purpose: args.purpose.parse()?,
        run_id: format!(
            "{:x}",
            SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos()
        ),
        worker: 0,
    };
    let channels = connect(&args).await?;
    let errors = if args.scenario == Scenario::StreamProduction {
        let first = args
            .new_from
            .context("stream-production needs --new-from (the first unregistered number)")?;
        anyhow::ensure!(args.items >= 1, "--items must be at least 1");
        let tally = stream::run(&channels, &ctx, args.concurrency, first, args.items).await?;
        stream::print(&tally, args.concurrency, args.items, first)
    } else {
        let now = Instant::now();
        let measure_from = now + Duration::from_secs(args.warmup);
        let clock = Clock {
            begin: now,
            measure_from,
            end: measure_from + Duration::from_secs(args.duration),
            rate: args.rate,
            workers: args.concurrency,
        };
        let tasks: Vec<_> = (0..args.concurrency)
            .map(|i| {
                let channel = channels[i % channels.len()].clone();
                let ctx = Ctx {
                    worker: i,
                    ..ctx.clone()
                };
                let caller = if args.scenario.is_vehicles() {
                    Caller::Vehicles(vehicles::Caller {
                        client: VehicleServiceClient::new(channel),
                        ctx,
                        scenario: args.scenario,
                        vehicles: args.vehicles,
                        station: args.station.clone(),
                    })
                } else {
                    Caller::Customers(customers::Caller {
                        client: CustomerServiceClient::new(channel),
                        ctx,
                        scenario: args.scenario,
                        customers: args.customers,
                    })
                };
                tokio::spawn(measure::worker(clock, i, caller))
            })
            .collect();
        let mut total = Tally::new()?;
        for task in tasks {
            total.merge(&task.await??)?;
        }
        print(&args, &total);
        total.errors()
    };
    if errors > 0 {
        eprintln!("loadgen: {errors} unit(s) failed: see the status line");
        std::process::exit(1);
    }
    Ok(())
}
