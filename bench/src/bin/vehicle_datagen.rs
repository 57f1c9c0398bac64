//! Loads N benchmark vehicles with their whole history into the `vehicles` schema with
//! COPY, using the bench key space (`dealernet_bench::vehicles`) so that load runs and
//! pgbench hit existing VINs.
//!
//! The catalogue goes in through the service's own store functions; every vehicle gets the
//! rows the service's actions would have written (see `vehicles::rows`). Repair orders are
//! spread over delivered vehicles by years of use so that the total number of lines comes
//! close to `--repair-lines`.

use std::{sync::mpsc, time::Instant};

use anyhow::{Context, bail};
use clap::Parser;
use dealernet_bench::vehicles::{
    self, CATALOGUE, FIRST_NEW, life::Life, repairs, rows, rows::Batch, rows::Shape,
};
use dealernet_kit::db;
use dealernet_vehicles::{
    MIGRATOR, SCHEMA,
    domain::catalogue::{Model, Price},
    store,
};
use sqlx::{Connection, PgConnection};

#[derive(Debug, Parser)]
#[command(about = "Bulk-load benchmark vehicles into the vehicles schema")]
struct Args {
    /// PostgreSQL URL of the database the server uses.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// How many vehicles (numbers 1..=N).
    #[arg(long, default_value_t = 2_000_000)]
    vehicles: u64,
    /// About how many repair-order lines in all (≈ 3.3 per closed repair order).
    #[arg(long, default_value_t = 10_000_000)]
    repair_lines: u64,
    /// Owners are bench customers 1..=N (load them with `datagen --customers N`).
    #[arg(long, default_value_t = 1_000_000)]
    customers: u64,
    /// Empty the vehicle schema first instead of refusing to load into a non-empty one.
    #[arg(long)]
    truncate: bool,
    /// Vehicles per COPY batch (one transaction each).
    #[arg(long, default_value_t = 10_000)]
    batch: u64,
    /// Print the catalogue's model codes as a text[] literal (index order) and exit.
    #[arg(long)]
    print_models: bool,
}

/// Every table of the schema, for --truncate.
const ALL_TABLES: &str = "repair_order_line, recall_vehicle, repair_order, recall_campaign, \
    odometer_reading, ownership, sale, shipment_vehicle, shipment, vehicle_event, vehicle, \
    model_price, model, idempotency, pipeline_count, part_failure_month";

fn day(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// The catalogue and one open-ended list price per model, through the service's store.
async fn load_catalogue(conn: &mut PgConnection) -> anyhow::Result<()> {
    let mut tx = conn.begin().await?;
    for m in &CATALOGUE {
        let created = day(m.model_year - 1, 3, 1)
            .and_hms_opt(9, 0, 0)
            .expect("time")
            .and_utc();
        let model = Model {
            code: m.code.to_owned(),
            brand: m.brand.to_owned(),
            series: m.series.to_owned(),
            body: m.body,
            powertrain: m.powertrain,
            model_year: m.model_year,
            warranty_months: m.warranty_months,
            warranty_km: m.warranty_km,
            create_time: created,
        };
        store::insert_model(&mut tx, &model).await?;
        let price = Price {
            model_code: m.code.to_owned(),
            valid_from: day(m.model_year - 1, 6, 1),
            valid_to: None,
            currency_code: vehicles::CURRENCY.to_owned(),
            minor_units: m.list_minor,
        };
        store::insert_price(&mut tx, &price, created).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn copy(conn: &mut PgConnection, table_and_columns: &str, data: &[u8]) -> anyhow::Result<()> {
    let mut copy = conn
        .copy_in_raw(&format!("COPY {table_and_columns} FROM STDIN"))
        .await?;
    copy.send(data).await?;
    copy.finish().await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.print_models {
        let codes: Vec<&str> = CATALOGUE.iter().map(|m| m.code).collect();
        println!("{{{}}}", codes.join(","));
        return Ok(());
    }
    if !(CATALOGUE.len() as u64..FIRST_NEW).contains(&args.vehicles) || args.customers == 0 {
        bail!(
            "--vehicles must be {} to {} (higher numbers are for vehicles made during runs), \
             --customers at least 1",
            CATALOGUE.len(),
            FIRST_NEW - 1
        );
    }
    let url = args
        .database_url
        .as_deref()
        .context("give --database-url (or DATABASE_URL)")?;
    db::migrate(url, SCHEMA, &MIGRATOR)
        .await
        .context("migrating")?;
    let mut conn = PgConnection::connect_with(&db::connect_options(url, SCHEMA)?)
        .await
        .context("connecting")?;
    let (non_empty,): (bool,) =
        sqlx::query_as("SELECT EXISTS (SELECT 1 FROM vehicle) OR EXISTS (SELECT 1 FROM model)")
            .fetch_one(&mut conn)
            .await?;
    if non_empty {
        if !args.truncate {
            bail!("the vehicles schema is not empty: pass --truncate to replace its contents");
        }
        sqlx::query(&format!("TRUNCATE {ALL_TABLES}"))
            .execute(&mut conn)
            .await?;
        eprintln!("vehicle_datagen: truncated the vehicles schema");
    }
    load_catalogue(&mut conn).await?;

    // Repair orders per year of use, so that the expected number of lines is the target.
    let started = Instant::now();
    let years: f64 = (1..=args.vehicles)
        .map(|n| repairs::years_of_service(&Life::new(n)))
        .sum();
    let orders = args.repair_lines as f64 / repairs::MEAN_LINES;
    let shape = Shape {
        customers: args.customers,
        orders_per_year: if years > 0.0 { orders / years } else { 0.0 },
    };
    eprintln!(
        "vehicle_datagen: {:.0} years of use over {} vehicles → {:.3} repair orders per year ({:.1} s)",
        years,
        args.vehicles,
        shape.orders_per_year,
        started.elapsed().as_secs_f64()
    );

    // Generation runs on its own thread while PostgreSQL ingests the previous batch; the
    // channel holds one batch so memory stays bounded.
    let (tx, rx) = mpsc::sync_channel::<Batch>(1);
    let (total, step) = (args.vehicles, args.batch.max(1));
    let producer = std::thread::spawn(move || {
        let mut from = 1;
        while from <= total {
            let to = (from + step).min(total + 1);
            let mut batch = Batch::default();
            for n in from..to {
                rows::vehicle(&mut batch, n, &shape);
            }
            if tx.send(batch).is_err() {
                return;
            }
            from = to;
        }
    });
    let started = Instant::now();
    let (mut loaded, mut rows_loaded, mut orders_loaded, mut lines_loaded) = (0, 0, 0, 0);
    for batch in rx {
        let mut txn = conn.begin().await?;
        for (table, data) in rows::TABLES.iter().zip(&batch.tables) {
            if !data.is_empty() {
                copy(&mut txn, table, data.as_bytes()).await?;
            }
        }
        txn.commit().await?;
        loaded += batch.vehicles;
        rows_loaded += batch.rows();
        let (o, l) = batch.repair_rows();
        (orders_loaded, lines_loaded) = (orders_loaded + o, lines_loaded + l);
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "vehicle_datagen: {loaded}/{total} vehicles, {rows_loaded} rows ({:.0} rows/s)",
            rows_loaded as f64 / secs
        );
    }
    producer
        .join()
        .map_err(|_| anyhow::anyhow!("generator thread panicked"))?;
    let copied = started.elapsed().as_secs_f64();
    // The COPYs went past the statements that keep the insight aggregates: count them once.
    let refill = Instant::now();
    let mut tx = conn.begin().await?;
    sqlx::raw_sql(dealernet_vehicles::store::insights::REFILL)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    eprintln!(
        "vehicle_datagen: insight aggregates counted in {:.1} s",
        refill.elapsed().as_secs_f64()
    );
    // VACUUM sets the visibility map too, so index-only scans work as in a settled database.
    let vacuum = Instant::now();
    sqlx::query(&format!("VACUUM (ANALYZE) {ALL_TABLES}"))
        .execute(&mut conn)
        .await?;
    eprintln!(
        "vehicle_datagen: loaded {loaded} vehicles, {orders_loaded} repair orders, {lines_loaded} \
         repair-order lines, {rows_loaded} rows in all, in {copied:.1} s ({:.0} rows/s); \
         VACUUM (ANALYZE) {:.1} s",
        rows_loaded as f64 / copied,
        vacuum.elapsed().as_secs_f64()
    );
    Ok(())
}
