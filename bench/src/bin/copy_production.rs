//! The bulk-load counterpart of StreamProduction: COPYs N new vehicles with their
//! REGISTER_PRODUCTION timeline entry — the rows RegisterProduction writes, built the same
//! way loadgen builds its stream items — and reports rows per second.
//!
//! Rows are generated first; the timer covers BEGIN, the two COPYs and COMMIT of every
//! batch (one batch by default: a single durable commit for all of them), with the
//! pipeline count of the new vehicles that StreamProduction keeps in its transactions.
//!
//! `--print-next-free` prints the first vehicle number not yet used by any run (stream,
//! pgbench or this tool): vehicles made during runs are built after the loaded history
//! ends, and their number is VIN positions 11–17.

use std::time::Instant;

use anyhow::{Context, ensure};
use clap::Parser;
use dealernet_bench::{
    copy_text::CopyText,
    vehicles::{FIRST_NEW, MAX_VEHICLE, data_end, model_of, rows},
};
use dealernet_kit::db;
use dealernet_vehicles::SCHEMA;
use sqlx::{Connection, PgConnection};

#[derive(Debug, Parser)]
#[command(about = "COPY new vehicles as RegisterProduction would store them, timed")]
struct Args {
    /// PostgreSQL URL of the database the server uses.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// How many new vehicles.
    #[arg(long, default_value_t = 20_000)]
    count: u64,
    /// Number of the first new vehicle (default: the next free one).
    #[arg(long)]
    new_from: Option<u64>,
    /// Vehicles per transaction (default: all in one).
    #[arg(long)]
    batch: Option<u64>,
    /// Print the next free vehicle number and exit.
    #[arg(long)]
    print_next_free: bool,
}

async fn next_free(conn: &mut PgConnection) -> anyhow::Result<u64> {
    let max: Option<i64> = sqlx::query_scalar(
        "SELECT max(substr(vin, 11, 7)::bigint) FROM vehicle WHERE built_at >= $1",
    )
    .bind(data_end())
    .fetch_one(&mut *conn)
    .await?;
    let max = max.map_or(0, |m| u64::try_from(m).unwrap_or(0));
    Ok(max.max(FIRST_NEW - 1) + 1)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut conn = PgConnection::connect_with(&db::connect_options(&args.database_url, SCHEMA)?)
        .await
        .context("connecting")?;
    let first = match args.new_from {
        Some(n) => n,
        None => next_free(&mut conn).await?,
    };
    if args.print_next_free {
        println!("{first}");
        return Ok(());
    }
    ensure!(args.count >= 1, "--count must be at least 1");
    ensure!(
        first >= FIRST_NEW && first + args.count - 1 <= MAX_VEHICLE,
        "new vehicles must be numbered {FIRST_NEW}..={MAX_VEHICLE}"
    );
    let step = args.batch.unwrap_or(args.count).max(1);
    let generating = Instant::now();
    let now = dealernet_vehicles::now();
    let mut batches = Vec::new();
    let mut from = first;
    while from < first + args.count {
        let to = (from + step).min(first + args.count);
        let (mut vehicles, mut events) = (CopyText::default(), CopyText::default());
        for n in from..to {
            rows::produced_now(
                &mut vehicles,
                &mut events,
                n,
                now,
                ("PLANT-SH", "mes.line-feed"),
            );
        }
        // The pipeline count the service shifts in the same transaction (the same work).
        let mut per_model: std::collections::BTreeMap<&str, i64> = Default::default();
        for n in from..to {
            *per_model.entry(model_of(n).code).or_default() += 1;
        }
        batches.push((vehicles, events, per_model));
        from = to;
    }
    let generated = generating.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut rows_copied = 0;
    for (vehicles, events, per_model) in &batches {
        let mut tx = conn.begin().await?;
        for (table, data) in [(rows::TABLES[0], vehicles), (rows::TABLES[1], events)] {
            let mut copy = tx.copy_in_raw(&format!("COPY {table} FROM STDIN")).await?;
            copy.send(data.as_bytes()).await?;
            copy.finish().await?;
            rows_copied += data.rows();
        }
        let (models, counts): (Vec<&str>, Vec<i64>) =
            per_model.iter().map(|(m, c)| (*m, *c)).unzip();
        sqlx::query(
            "INSERT INTO pipeline_count (state, model_code, outlet_code, vehicles) \
             SELECT 'PRODUCED', m, '', c FROM unnest($1::text[], $2::bigint[]) AS u(m, c) ORDER BY m \
             ON CONFLICT (state, model_code, outlet_code) \
             DO UPDATE SET vehicles = pipeline_count.vehicles + excluded.vehicles",
        )
        .bind(&models)
        .bind(&counts)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    let secs = started.elapsed().as_secs_f64();
    let vehicles_per_s = args.count as f64 / secs;
    println!(
        "copy_production: vehicles {first}..{} ({} rows in {} transaction(s)) in {secs:.3} s: \
         {vehicles_per_s:.0} vehicles/s, {:.0} rows/s (rows generated beforehand in {generated:.3} s)",
        first + args.count - 1,
        rows_copied,
        batches.len(),
        rows_copied as f64 / secs,
    );
    println!(
        "RESULT scenario=CopyProduction vehicles={} rows={rows_copied} seconds={secs:.3} vps={vehicles_per_s:.0} rowps={:.0}",
        args.count,
        rows_copied as f64 / secs
    );
    Ok(())
}
