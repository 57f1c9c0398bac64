//! Loads the benchmark dealer network into the `dealers` schema: outlets `B00001…` across
//! mainland China (the demo generator's cities, weighted by car sales, scattered within
//! 25 km of each centre), in dealer groups, with opening hours, the Spring Festival
//! closure and a handful of staff each — through the service's own store functions, so
//! the rows are exactly what CreateOutlet would have written.

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
             outlet_hours, outlet, dealer_group, idempotency",
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
    // VACUUM sets the visibility map too, so index-only scans work as in a settled database.
    sqlx::query(
        "VACUUM (ANALYZE) dealer_group, outlet, outlet_hours, outlet_closure, staff_member",
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
