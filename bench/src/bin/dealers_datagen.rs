//! Loads the benchmark dealer network into the `dealers` schema: outlets `B00001…` across
//! mainland China (the demo generator's cities, weighted by car sales, scattered within
//! 25 km of each centre), in dealer groups, with opening hours, the Spring Festival
//! closure and a handful of staff each — through the service's own store functions, so
//! the rows are exactly what CreateOutlet would have written. With `--history-days`, also
//! the scorecard figures the event consumers would have kept for that many days (see
//! `history`), for RankOutletScorecards.

use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use dealernet_dealers::{
    MIGRATOR, SCHEMA,
    demo::{self, Rng, cities::CITIES},
    store,
};
use dealernet_kit::{clock::Clock, db};
use sqlx::{Connection, PgConnection};

/// The seed of the benchmark network; dealers_loadgen needs nothing from it but the
/// outlet count, yet a fixed seed keeps runs comparable.
const SEED: u64 = 0x6465_616c_6572_7321;

#[derive(Debug, Parser)]
#[command(about = "Bulk-load a benchmark dealer network into the dealers schema")]
struct Args {
    /// PostgreSQL URL of the database the server uses.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// How many outlets.
    #[arg(long, default_value_t = 5000)]
    outlets: usize,
    /// Days of scorecard history (sales, surveys, repair orders, recall remedies) up to
    /// today; 0: none.
    #[arg(long, default_value_t = 0)]
    history_days: i32,
    /// Empty the dealers schema first instead of refusing to load into a non-empty one.
    #[arg(long)]
    truncate: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    db::migrate(&args.database_url, SCHEMA, &MIGRATOR)
        .await
        .context("migrating the dealers schema")?;
    let mut conn = PgConnection::connect_with(&db::connect_options(&args.database_url, SCHEMA)?)
        .await
        .context("connecting")?;
    let (existing,): (i64,) = sqlx::query_as("SELECT count(*) FROM outlet")
        .fetch_one(&mut conn)
        .await?;
    if existing > 0 {
        if !args.truncate {
            bail!("the outlet table is not empty: pass --truncate to replace its contents");
        }
        sqlx::query(
            "TRUNCATE lead_assignment, lead, staff_member, outlet_status_change, outlet_closure, \
             outlet_hours, outlet, dealer_group, idempotency, outlet_day_figures, sale_fact, \
             survey_fact, repair_fact, recall_remedy, recall_answerable",
        )
        .execute(&mut conn)
        .await?;
        eprintln!("dealers_datagen: truncated the dealers schema");
    }
    let now = Clock::System.now();
    let (groups, outlets) = demo::network(SEED, "B", args.outlets, CITIES, now);
    let mut rng = Rng::new(SEED);
    let mut staff = 0;
    let mut tx = conn.begin().await?;
    for g in &groups {
        store::outlet::insert_group(&mut tx, g).await?;
    }
    for o in &outlets {
        store::outlet::insert_outlet(&mut tx, o).await?;
        for s in demo::staff(&mut rng, o, now) {
            store::staff::insert(&mut tx, &s).await?;
            staff += 1;
        }
    }
    tx.commit().await?;
    if args.history_days > 0 {
        history(&mut conn, args.history_days).await?;
    }
    // VACUUM sets the visibility map too, so index-only scans work as in a settled database.
    sqlx::query(
        "VACUUM (ANALYZE) dealer_group, outlet, outlet_hours, outlet_closure, staff_member, \
         outlet_day_figures, repair_fact, recall_answerable",
    )
    .execute(&mut conn)
    .await?;
    let sales: usize = outlets
        .iter()
        .filter(|o| {
            o.capabilities
                .contains(&dealernet_dealers::domain::outlet::Capability::Sales)
        })
        .count();
    eprintln!(
        "dealers_datagen: {} outlets ({sales} with SALES) in {} groups, {staff} staff, in {:.1} s",
        outlets.len(),
        groups.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The aggregates the consumers keep, for `days` days up to today, drawn at random: per
/// outlet and day 0–3 sales (SALES outlets), 0–2 survey answers of 3–5, a recall remedy
/// one day in five; per SERVICE outlet and day six closed repair orders of 1–48 h; twenty
/// recall campaigns with 1–30 cars per outlet. The per-event fact rows that only guard
/// against redelivery are not written (the ranking never reads them).
async fn history(conn: &mut PgConnection, days: i32) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut tx = conn.begin().await?;
    let day_rows = sqlx::query(
        "INSERT INTO outlet_day_figures \
             (outlet_code, day, vehicles_sold, surveys, satisfaction_sum, recall_remedies) \
         SELECT code, day, \
                CASE WHEN 'SALES' = ANY (capabilities) THEN floor(random() * 4)::bigint ELSE 0 END, \
                surveys, surveys * (3 + floor(random() * 3)::bigint), (random() < 0.2)::int \
         FROM (SELECT o.code, o.capabilities, d::date AS day, floor(random() * 3)::bigint AS surveys \
               FROM outlet o \
               CROSS JOIN generate_series(current_date - $1, current_date, interval '1 day') d) x",
    )
    .bind(days)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let orders = sqlx::query(
        "INSERT INTO repair_fact (repair_order, station, day, turnaround_secs) \
         SELECT 'repairOrders/bench-' || o.code || '-' || d::date || '-' || i, o.code, d::date, \
                3600 + random() * 47 * 3600 \
         FROM outlet o \
         CROSS JOIN generate_series(current_date - $1, current_date, interval '1 day') d \
         CROSS JOIN generate_series(1, 6) i \
         WHERE 'SERVICE' = ANY (o.capabilities)",
    )
    .bind(days)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO recall_answerable (campaign_code, outlet_code, affected, day) \
         SELECT 'RC-BENCH-' || c, o.code, 1 + floor(random() * 30)::bigint, current_date - $1 \
         FROM outlet o CROSS JOIN generate_series(1, 20) c",
    )
    .bind(days)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    eprintln!(
        "dealers_datagen: {day_rows} outlet days, {orders} repair orders of history in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
