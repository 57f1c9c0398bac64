//! gRPC load generator for CustomerService, VehicleService, CallCenterService and the
//! gateway's GetCustomer360: closed
//! loop (N workers back to back) or open loop at a fixed rate, with latency percentiles and
//! a count of every response by gRPC status code (`measure`); StreamProduction pushes a
//! number of new vehicles instead (`stream`); claim-callbacks drains the callback queue
//! with one agent per worker and checks that no callback was claimed twice.
//!
//! It exits with status 1 when any response was not OK (or any streamed item was not
//! applied, or any callback was claimed twice), after printing its results.

// The same allocator as the server: the load generator shares the two CPUs with it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod callcenter;
mod customers;
mod gateway;
mod measure;
mod sale;
mod stream;
mod vehicles;

use std::{
    collections::HashMap,
    path::PathBuf,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use dealernet_customers::demo::Rng;
use dealernet_kit::auth::{Principal, Role, TokenKeys};
use dealernet_proto::{
    callcenter::v1::call_center_service_client::CallCenterServiceClient,
    customers::v1::customer_service_client::CustomerServiceClient,
    gateway::v1::gateway_service_client::GatewayServiceClient,
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
    /// A new car from production to its buyer, as HQ: RegisterProduction, DispatchShipment
    /// to D1001, ReceiveAtDealer, SellVehicle to a random customer, DeliverVehicle; cars
    /// from --new-from on. One unit is the whole cycle.
    SaleCycle,
    /// ClaimNextCallback, one agent per worker, until the queue is empty or the run ends;
    /// fails on any callback claimed twice.
    ClaimCallbacks,
    /// OpenCase of a NORMAL INQUIRY for a random registry customer, as an agent.
    OpenCase,
    /// GetCustomer360 by a random existing customer's phone, as an agent (through the
    /// gateway); an answer with any section not OK counts as an error.
    Customer360,
}

impl Scenario {
    fn is_vehicles(self) -> bool {
        matches!(
            self,
            Scenario::GetVehicle
                | Scenario::VehicleTimeline
                | Scenario::StreamProduction
                | Scenario::RepairCycle
                | Scenario::SaleCycle
        )
    }

    fn is_callcenter(self) -> bool {
        matches!(self, Scenario::ClaimCallbacks | Scenario::OpenCase)
    }

    /// Who a minted token of `worker` speaks for (--jwt-secret without --token): one
    /// agent per worker for the call center (`agent.1`…).
    fn principal(self, station: &str, worker: usize) -> anyhow::Result<Principal> {
        let p = match self {
            Scenario::StreamProduction => {
                Principal::new("mes.line-feed", "PLANT-SH", &[Role::System])
            }
            Scenario::RepairCycle => Principal::new("station.advisor", station, &[Role::Station]),
            Scenario::SaleCycle => Principal::new("bench.hq", "HQ", &[Role::Hq]),
            Scenario::ClaimCallbacks | Scenario::OpenCase | Scenario::Customer360 => {
                Principal::new(
                    &format!("agent.{}", worker + 1),
                    "CALLCENTER",
                    &[Role::Agent],
                )
            }
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
    /// system for stream-production; --station station for repair-cycle; CALLCENTER
    /// agents `agent.1`… for the call center, one per worker).
    #[arg(long, env = "DEALERNET_TOKEN")]
    token: Option<String>,
    /// Bearer tokens, one per line: worker i uses line i (claim-callbacks needs one per
    /// worker, each for a different agent).
    #[arg(long, conflicts_with = "token")]
    tokens_file: Option<PathBuf>,
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
    /// stream-production and sale-cycle: number of the first new vehicle (not yet registered; at least
    /// 5000001, see bench/src/vehicles).
    #[arg(long)]
    new_from: Option<u64>,
    /// repair-cycle: the station opening the orders (the token's organisation).
    #[arg(long, default_value = "S3001")]
    station: String,
    /// claim-callbacks: the lease asked for, seconds (the run must end before the first
    /// lease lapses, or a lapsed callback could rightly be claimed again).
    #[arg(long, default_value_t = 300)]
    lease: i32,
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
    Callcenter(callcenter::Caller),
    Gateway(gateway::Caller),
}

impl Caller {
    pub async fn unit(&mut self, rng: &mut Rng, seq: u64) -> Outcome {
        match self {
            Caller::Customers(c) => c.unit(rng, seq).await,
            Caller::Vehicles(v) => v.unit(rng, seq).await,
            Caller::Callcenter(c) => c.unit(rng, seq).await,
            Caller::Gateway(g) => g.unit(rng).await,
        }
    }
}

/// The workers' tokens: from --tokens-file (worker i uses line i), --token (all of them),
/// or minted from --jwt-secret (per worker for the call center).
fn tokens(args: &Args) -> anyhow::Result<Vec<String>> {
    if let Some(path) = &args.tokens_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let tokens: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        anyhow::ensure!(!tokens.is_empty(), "{} holds no token", path.display());
        return Ok(tokens);
    }
    if let Some(t) = &args.token {
        return Ok(vec![t.clone()]);
    }
    let keys = TokenKeys::new(SecretString::from(
        args.jwt_secret
            .clone()
            .context("give --token, --tokens-file or --jwt-secret")?,
    ));
    let minted = if args.scenario.is_callcenter() {
        args.concurrency
    } else {
        1
    };
    (0..minted)
        .map(|worker| {
            let principal = args.scenario.principal(&args.station, worker)?;
            Ok(keys.mint(&principal, 24 * 3600))
        })
        .collect()
}

/// claim-callbacks: the names claimed more than once, with their counts.
fn double_claims(claimed: &[String]) -> Vec<(&str, usize)> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(claimed.len());
    for name in claimed {
        *seen.entry(name.as_str()).or_default() += 1;
    }
    let mut doubles: Vec<(&str, usize)> = seen.into_iter().filter(|(_, n)| *n > 1).collect();
    doubles.sort_unstable();
    doubles
}

/// claim-callbacks: what the queue run found beyond the measured units.
struct QueueRun<'a> {
    doubles: Vec<(&'a str, usize)>,
}

fn print(args: &Args, total: &Tally, seconds: f64, queue: Option<&QueueRun>) {
    let count = total.units();
    let rps = if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    };
    let mode = match args.rate {
        Some(r) => format!("open loop at {r} units/s"),
        None => "closed loop".to_owned(),
    };
    let unit = match args.scenario {
        Scenario::RepairCycle | Scenario::SaleCycle => "cycles",
        Scenario::ClaimCallbacks => "claims",
        _ => "requests",
    };
    println!(
        "scenario {:?}: {} connections, {} in flight, {mode}, {seconds:.1} s measured after {} s \
         warm-up",
        args.scenario, args.connections, args.concurrency, args.warmup
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
    let mut extra = String::new();
    if let Some(q) = queue {
        let drain = if total.drained == args.concurrency as u64 {
            "the queue was drained: every worker ended on an empty answer"
        } else {
            "the run ended before the queue was empty"
        };
        println!(
            "queue    {} claims in all (warm-up included) by {} agents; {drain}",
            total.claimed.len(),
            total.holders.len()
        );
        if q.doubles.is_empty() {
            println!("double   0 callbacks claimed twice");
        } else {
            println!(
                "DOUBLE CLAIMS: {} callbacks claimed more than once, e.g. {}",
                q.doubles.len(),
                q.doubles
                    .iter()
                    .take(10)
                    .map(|(name, n)| format!("{name} ×{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !total.shared_holders.is_empty() {
            println!(
                "SHARED AGENTS: {:?} claimed for more than one worker (tokens not distinct)",
                total.shared_holders
            );
        }
        extra = format!(
            " claimed_total={} double_claims={} shared_agents={} drained={} seconds={seconds:.2}",
            total.claimed.len(),
            q.doubles.len(),
            total.shared_holders.len(),
            total.drained
        );
    }
    // One machine-readable line for the bench/run*.sh scripts.
    println!(
        "RESULT scenario={:?} conc={} rps={rps:.0} {} ok={} errors={} created={} unsent={}{extra}",
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
    if args.scenario == Scenario::ClaimCallbacks {
        anyhow::ensure!(
            args.rate.is_none(),
            "claim-callbacks runs closed loop only (--rate)"
        );
        anyhow::ensure!(
            (10..=3_600).contains(&args.lease),
            "--lease must be 10 to 3600 seconds"
        );
        // Leases taken at the start must still hold at the end, so that a callback seen
        // twice can only be a double claim.
        anyhow::ensure!(
            args.warmup + args.duration + 30 <= args.lease as u64,
            "--warmup + --duration must end at least 30 s before the --lease lapses"
        );
    }
    let tokens = tokens(&args)?;
    if args.scenario == Scenario::ClaimCallbacks {
        anyhow::ensure!(
            tokens.len() >= args.concurrency,
            "claim-callbacks needs one agent token per worker: {} token(s) for {} workers",
            tokens.len(),
            args.concurrency
        );
    }
    let auth = tokens
        .iter()
        .map(|t| format!("Bearer {t}").parse())
        .collect::<Result<Vec<MetadataValue<Ascii>>, _>>()?;
    let ctx = Ctx {
        auth: auth[0].clone(),
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
        let sale_from = match args.scenario {
            Scenario::SaleCycle => args
                .new_from
                .context("sale-cycle needs --new-from (the first unregistered number)")?,
            _ => 0,
        };
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
                    auth: auth[i % auth.len()].clone(),
                    ..ctx.clone()
                };
                let caller = if args.scenario == Scenario::Customer360 {
                    Caller::Gateway(gateway::Caller {
                        client: GatewayServiceClient::new(channel),
                        ctx,
                        customers: args.customers,
                    })
                } else if args.scenario.is_callcenter() {
                    Caller::Callcenter(callcenter::Caller {
                        client: CallCenterServiceClient::new(channel),
                        ctx,
                        scenario: args.scenario,
                        customers: args.customers,
                        lease_seconds: args.lease,
                        agent: None,
                    })
                } else if args.scenario.is_vehicles() {
                    Caller::Vehicles(vehicles::Caller {
                        client: VehicleServiceClient::new(channel),
                        ctx,
                        scenario: args.scenario,
                        vehicles: args.vehicles,
                        station: args.station.clone(),
                        customers: args.customers,
                        new_from: sale_from,
                        workers: args.concurrency as u64,
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
        if args.scenario == Scenario::ClaimCallbacks {
            // Measured until the last worker found the queue empty, or the end of the run.
            let until = total.finished.map_or(clock.end, |f| {
                if total.drained == args.concurrency as u64 {
                    f.min(clock.end)
                } else {
                    clock.end
                }
            });
            let seconds = until
                .saturating_duration_since(clock.measure_from)
                .as_secs_f64();
            let queue = QueueRun {
                doubles: double_claims(&total.claimed),
            };
            print(&args, &total, seconds, Some(&queue));
            if !queue.doubles.is_empty() || !total.shared_holders.is_empty() {
                eprintln!(
                    "loadgen: DOUBLE CLAIMS {} / SHARED AGENTS {}: the queue handed a callback to \
                     two agents, or agents were not distinct",
                    queue.doubles.len(),
                    total.shared_holders.len()
                );
                std::process::exit(1);
            }
            total.errors()
        } else {
            print(&args, &total, args.duration as f64, None);
            total.errors()
        }
    };
    if errors > 0 {
        eprintln!("loadgen: {errors} unit(s) failed: see the status line");
        std::process::exit(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_claimed_twice_is_a_double_claim() {
        let names: Vec<String> = ["callbacks/a", "callbacks/b", "callbacks/a", "callbacks/c"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(double_claims(&names), vec![("callbacks/a", 2)]);
        assert!(double_claims(&names[1..]).is_empty());
    }

    #[test]
    fn workers_claiming_as_one_agent_are_caught_when_merged() -> anyhow::Result<()> {
        let worker = |holder: &str, name: &str| -> anyhow::Result<Tally> {
            let mut t = Tally::new()?;
            t.claimed.push(name.to_owned());
            t.holders.insert(holder.to_owned());
            Ok(t)
        };
        let mut total = Tally::new()?;
        total.merge(&worker("agent.1", "callbacks/a")?)?;
        total.merge(&worker("agent.2", "callbacks/b")?)?;
        assert!(total.shared_holders.is_empty());
        total.merge(&worker("agent.1", "callbacks/c")?)?;
        assert_eq!(total.shared_holders.iter().collect::<Vec<_>>(), ["agent.1"]);
        assert_eq!(total.claimed.len(), 3);
        Ok(())
    }
}
