//! stream-production: StreamProduction calls that push new vehicles as fast as the server
//! takes them. Each stream sends its items lazily (HTTP/2 flow control paces the sender)
//! and reads the per-item results as they come; every item must come back APPLIED.
//!
//! Reported: items per second over the whole run (first send to last result), and the gap
//! between consecutive results of a stream, which at saturation is the server's time per
//! item. Per-item latency from send to result would only measure queueing in the flow
//! control window, so it is not reported.

use std::{collections::BTreeMap, time::Instant};

use chrono::{TimeDelta, Utc};
use dealernet_bench::vehicles::{self, life::Life};
use dealernet_proto::vehicles::v1::{self as pb, vehicle_service_client::VehicleServiceClient};
use hdrhistogram::Histogram;
use tonic::transport::Channel;

use super::{Ctx, measure};

/// What the streams measured.
pub struct StreamTally {
    pub gaps: Histogram<u64>,
    pub outcomes: BTreeMap<String, u64>,
    pub applied: u64,
    pub results: u64,
    pub seconds: f64,
}

/// The request for vehicle `n`, as a plant's MES would send it.
fn item(n: u64, built_at: chrono::DateTime<Utc>) -> pb::StreamProductionRequest {
    let life = Life::new(n);
    let (plant, _) = vehicles::life::PLANTS[life.plant];
    pb::StreamProductionRequest {
        item_id: n.to_string(),
        vin: vehicles::vin(n).to_string(),
        model: format!("models/{}", life.model.code),
        plant: plant.to_owned(),
        line: life.line,
        built_at: Some(prost_types::Timestamp {
            seconds: built_at.timestamp(),
            nanos: 0,
        }),
        engine_number: life.engine_number,
        colour: life.colour.to_owned(),
    }
}

async fn one_stream(
    channel: Channel,
    ctx: Ctx,
    numbers: std::ops::Range<u64>,
) -> anyhow::Result<(Histogram<u64>, BTreeMap<String, u64>, u64)> {
    let mut client = VehicleServiceClient::new(channel);
    let mut gaps = Histogram::new_with_bounds(1, 60_000_000, 3)?;
    let mut outcomes = BTreeMap::new();
    let expected = numbers.end - numbers.start;
    let built_at = Utc::now() - TimeDelta::minutes(30);
    let items = tokio_stream::iter(numbers.map(move |n| item(n, built_at)));
    let mut count = |key: String| *outcomes.entry(key).or_insert(0u64) += 1;
    let mut results = 0;
    match client.stream_production(ctx.request(items)).await {
        Err(status) => count(format!("stream:{:?}", status.code())),
        Ok(response) => {
            let mut inbound = response.into_inner();
            let mut last = Instant::now();
            loop {
                match inbound.message().await {
                    Ok(Some(r)) => {
                        let now = Instant::now();
                        if results > 0 {
                            gaps.saturating_record(
                                now.duration_since(last).as_micros().max(1) as u64
                            );
                        }
                        last = now;
                        results += 1;
                        let outcome = pb::ItemOutcome::try_from(r.outcome)
                            .map(|o| {
                                o.as_str_name()
                                    .trim_start_matches("ITEM_OUTCOME_")
                                    .to_owned()
                            })
                            .unwrap_or_else(|_| format!("outcome {}", r.outcome));
                        if r.reason.is_empty() {
                            count(outcome);
                        } else {
                            count(format!("{outcome}:{}", r.reason));
                        }
                    }
                    Ok(None) => {
                        count("stream:Ok".to_owned());
                        break;
                    }
                    Err(status) => {
                        count(format!("stream:{:?}", status.code()));
                        break;
                    }
                }
            }
        }
    }
    if results != expected {
        count(format!(
            "missing results:{}",
            expected - results.min(expected)
        ));
    }
    Ok((gaps, outcomes, results))
}

/// Runs `streams` StreamProduction calls over `channels`, together pushing vehicles
/// `first..first + items`.
pub async fn run(
    channels: &[Channel],
    ctx: &Ctx,
    streams: usize,
    first: u64,
    items: u64,
) -> anyhow::Result<StreamTally> {
    anyhow::ensure!(
        first >= vehicles::FIRST_NEW && first + items - 1 <= vehicles::MAX_VEHICLE,
        "new vehicles must be numbered {}..={}",
        vehicles::FIRST_NEW,
        vehicles::MAX_VEHICLE
    );
    let per = items.div_ceil(streams as u64);
    let started = Instant::now();
    let tasks: Vec<_> = (0..streams as u64)
        .map(|s| {
            let from = first + s * per;
            let to = (from + per).min(first + items);
            let mut ctx = ctx.clone();
            ctx.worker = s as usize;
            tokio::spawn(one_stream(
                channels[s as usize % channels.len()].clone(),
                ctx,
                from..to.max(from),
            ))
        })
        .collect();
    let mut tally = StreamTally {
        gaps: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        outcomes: BTreeMap::new(),
        applied: 0,
        results: 0,
        seconds: 0.0,
    };
    for task in tasks {
        let (gaps, outcomes, results) = task.await??;
        tally.gaps.add(&gaps)?;
        for (k, v) in outcomes {
            *tally.outcomes.entry(k).or_default() += v;
        }
        tally.results += results;
    }
    tally.seconds = started.elapsed().as_secs_f64();
    tally.applied = tally.outcomes.get("APPLIED").copied().unwrap_or(0);
    Ok(tally)
}

/// Prints the summary and the RESULT line; returns the number of items not applied.
pub fn print(tally: &StreamTally, streams: usize, items: u64, first: u64) -> u64 {
    let rate = tally.results as f64 / tally.seconds;
    println!(
        "scenario StreamProduction: {streams} stream(s), vehicles {first}..{} ({items} items)",
        first + items - 1
    );
    println!(
        "items    {}  in {:.2} s  throughput {rate:.0} items/s",
        tally.results, tally.seconds
    );
    println!("gap      ms  {}", measure::percentiles(&tally.gaps));
    println!("status   {}", measure::status_line(&tally.outcomes));
    let errors = items - tally.applied.min(items);
    println!(
        "RESULT scenario=StreamProduction conc={streams} rps={rate:.0} {} ok={} errors={errors} created=0 unsent=0",
        measure::result_fields(&tally.gaps),
        tally.applied
    );
    errors
}
