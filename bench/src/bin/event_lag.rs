//! Commit-to-consumer lag of a service's event stream: tails StreamEvents live (from the
//! current end) for a while and, for every event of the given types, takes the time from
//! its change (the envelope's `occur_time`, taken inside the writing transaction) to its
//! arrival here. Prints the rate and lag percentiles as a `RESULT` line.
//!
//! The clock is shared with the server (same machine), so no skew enters the figures.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use dealernet_proto::vehicles::v1::{self as pb, vehicle_service_client::VehicleServiceClient};
use hdrhistogram::Histogram;
use tonic::{Request, transport::Channel};

#[derive(Debug, Parser)]
#[command(about = "Measures the commit-to-consumer lag of the vehicle service's events")]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// An HQ or system bearer token.
    #[arg(long, env = "DEALERNET_TOKEN")]
    token: String,
    /// Event types to measure (comma-separated); empty: all.
    #[arg(long, default_value = "RepairOrderClosed")]
    types: String,
    /// Seconds before measuring starts (events are read but not counted).
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Measured seconds.
    #[arg(long, default_value_t = 30)]
    duration: u64,
}

fn micros_since(t: &prost_types::Timestamp) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let at = Duration::new(t.seconds.max(0) as u64, t.nanos.max(0) as u32);
    now.saturating_sub(at).as_micros() as u64
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let channel = Channel::from_shared(args.addr.clone())?.connect().await?;
    let mut client = VehicleServiceClient::new(channel);
    let open = |after: String| {
        let mut request = Request::new(pb::StreamEventsRequest {
            after_cursor: after,
            event_types: args
                .types
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            consumer: String::new(),
        });
        let bearer = format!("Bearer {}", args.token);
        request
            .metadata_mut()
            .insert("authorization", bearer.parse().expect("ASCII token"));
        request
    };
    // Skip the backlog: read up to the first checkpoint, then tail from there.
    let mut backlog = client
        .stream_events(open(String::new()))
        .await?
        .into_inner();
    let mut start = String::new();
    while let Some(m) = backlog.message().await? {
        if !m.checkpoint_cursor.is_empty() {
            start = m.checkpoint_cursor;
            break;
        }
        start = m.envelope.map(|e| e.cursor).unwrap_or(start);
    }
    drop(backlog);
    let mut stream = client.stream_events(open(start)).await?.into_inner();
    let mut lag = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).context("histogram")?;
    let began = Instant::now();
    let measure_from = began + Duration::from_secs(args.warmup);
    let end = measure_from + Duration::from_secs(args.duration);
    let mut events = 0u64;
    while let Ok(next) = tokio::time::timeout_at(end.into(), stream.message()).await {
        let Some(m) = next? else { break };
        let Some(at) = m.envelope.as_ref().and_then(|e| e.occur_time.as_ref()) else {
            continue;
        };
        if Instant::now() >= measure_from {
            lag.record(micros_since(at).max(1))?;
            events += 1;
        }
    }
    let ms = |q: f64| lag.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "RESULT events={events} eps={:.0} p50={:.2} p90={:.2} p99={:.2} p999={:.2} max={:.2}",
        events as f64 / args.duration as f64,
        ms(0.5),
        ms(0.9),
        ms(0.99),
        ms(0.999),
        lag.max() as f64 / 1000.0
    );
    Ok(())
}
