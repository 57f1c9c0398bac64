//! Latency of the HQ insights over gRPC: calls each insight RPC `--calls` times, one at a
//! time (an HQ dashboard's request, not a load), after `--warmup` unmeasured calls, and
//! prints one `RESULT` line per call with p50, p90, p99 and max in milliseconds. Every
//! answer must be OK; the first answer's size is printed beside it, so an empty result
//! (nothing loaded) is seen.

use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{Datelike, Months, Utc};
use clap::Parser;
use dealernet_proto::{
    callcenter::v1::{self as cpb, call_center_service_client::CallCenterServiceClient},
    types::v1 as types,
    vehicles::v1::{self as pb, vehicle_service_client::VehicleServiceClient},
};
use hdrhistogram::Histogram;
use tonic::{Request, transport::Channel};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(about = "Measures the latency of the HQ insight RPCs")]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// An HQ bearer token.
    #[arg(long, env = "DEALERNET_TOKEN")]
    token: String,
    /// Measured calls per RPC.
    #[arg(long, default_value_t = 200)]
    calls: u32,
    /// Unmeasured calls per RPC first.
    #[arg(long, default_value_t = 10)]
    warmup: u32,
    /// A model code for the filtered calls.
    #[arg(long, default_value = "DA7-2026")]
    model: String,
    /// A sales region for the filtered calls.
    #[arg(long, default_value = "EAST")]
    region: String,
    /// Months back from the current one that the month ranges cover.
    #[arg(long, default_value_t = 36)]
    months: u32,
}

fn authorized<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let bearer = format!("Bearer {token}");
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().expect("ASCII token"));
    request
}

fn month(d: chrono::NaiveDate) -> Option<types::Date> {
    Some(types::Date {
        year: d.year(),
        month: d.month() as i32,
        day: 1,
    })
}

/// Runs `call` warm-up + measured times; prints its RESULT line.
async fn measure<F, Fut>(args: &Args, label: &str, mut call: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<usize, tonic::Status>>,
{
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).context("histogram")?;
    let mut size = 0;
    for i in 0..args.warmup + args.calls {
        let started = Instant::now();
        let n = call()
            .await
            .with_context(|| format!("{label}: call {i} failed"))?;
        if i >= args.warmup {
            latency.record(started.elapsed().as_micros() as u64)?;
        } else {
            size = n;
        }
    }
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "RESULT scenario={label} calls={} p50={:.2} p90={:.2} p99={:.2} max={:.2} rows={size}",
        args.calls,
        ms(0.5),
        ms(0.9),
        ms(0.99),
        latency.max() as f64 / 1000.0
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.calls == 0 {
        bail!("--calls must be at least 1");
    }
    let channel = Channel::from_shared(args.addr.clone())?.connect().await?;
    let vehicles = VehicleServiceClient::new(channel.clone());
    let callcenter = CallCenterServiceClient::new(channel);
    let today = (Utc::now() + chrono::Duration::hours(8)).date_naive();
    let end = today.with_day(1).context("first of month")?;
    let start = end
        .checked_sub_months(Months::new(args.months.saturating_sub(1)))
        .context("start month")?;
    let token = args.token.as_str();
    let model = format!("models/{}", args.model);

    measure(&args, "GetVehiclePipeline", || {
        let mut c = vehicles.clone();
        async move {
            let r = c
                .get_vehicle_pipeline(authorized(token, pb::GetVehiclePipelineRequest::default()))
                .await?;
            Ok(r.into_inner().counts.len())
        }
    })
    .await?;
    measure(&args, "GetVehiclePipeline(region,model)", || {
        let mut c = vehicles.clone();
        let req = pb::GetVehiclePipelineRequest {
            model: model.clone(),
            region: args.region.clone(),
            states: vec![],
        };
        async move {
            let r = c.get_vehicle_pipeline(authorized(token, req)).await?;
            Ok(r.into_inner().counts.len())
        }
    })
    .await?;
    measure(
        &args,
        "ListOverdueTransits(first page of 50, with total)",
        || {
            let mut c = vehicles.clone();
            async move {
                let r = c
                    .list_overdue_transits(authorized(
                        token,
                        pb::ListOverdueTransitsRequest {
                            page_size: 50,
                            ..Default::default()
                        },
                    ))
                    .await?
                    .into_inner();
                Ok(r.total_size as usize)
            }
        },
    )
    .await?;
    measure(&args, "RankFailingParts(all models, top 10)", || {
        let mut c = vehicles.clone();
        let req = pb::RankFailingPartsRequest {
            start_month: month(start),
            end_month: month(end),
            model: String::new(),
            top: 10,
        };
        async move {
            let r = c.rank_failing_parts(authorized(token, req)).await?;
            Ok(r.into_inner().parts.len())
        }
    })
    .await?;
    measure(&args, "RankFailingParts(one model, top 10)", || {
        let mut c = vehicles.clone();
        let req = pb::RankFailingPartsRequest {
            start_month: month(start),
            end_month: month(end),
            model: model.clone(),
            top: 10,
        };
        async move {
            let r = c.rank_failing_parts(authorized(token, req)).await?;
            Ok(r.into_inner().parts.len())
        }
    })
    .await?;
    measure(&args, "GetComplaintTrends", || {
        let mut c = callcenter.clone();
        let req = cpb::GetComplaintTrendsRequest {
            start_month: month(start),
            end_month: month(end),
            ..Default::default()
        };
        async move {
            let r = c.get_complaint_trends(authorized(token, req)).await?;
            Ok(r.into_inner().trends.len())
        }
    })
    .await?;
    Ok(())
}
