//! Loads N due callbacks into the call center's queue (`callcenter` schema) with COPY:
//! every one PENDING and due now or earlier, for bench customers, with the default policy
//! and the earlier attempts some of them had (see `dealernet_bench::callcenter`).
//!
//! The calling calendar is the service's own (`Policy::calling_calendar` over the
//! hotline's holidays as stored), so due times fall in calling hours as ScheduleCallback
//! and RecordCallAttempt would have put them.

use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use dealernet_bench::callcenter::{
    ATTEMPT_COLUMNS, CALLBACK_COLUMNS, Callbacks, DueCallback, default_calling_calendar,
};
use dealernet_callcenter::{MIGRATOR, SCHEMA, domain::callback::Purpose, store};
use dealernet_kit::db;
use sqlx::{Connection, PgConnection};

#[derive(Debug, Parser)]
#[command(about = "Load due benchmark callbacks into the callcenter schema")]
struct Args {
    /// PostgreSQL URL of the database the server uses.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// How many callbacks.
    #[arg(long, default_value_t = 100_000)]
    callbacks: u64,
    /// The callbacks' customers are bench customers 1..=N (load them with `datagen`).
    #[arg(long, default_value_t = 1_000_000)]
    customers: u64,
    /// Empty the callback and call_attempt tables first instead of refusing to load into
    /// a non-empty queue.
    #[arg(long)]
    truncate: bool,
    /// Callbacks per COPY batch (one transaction each).
    #[arg(long, default_value_t = 50_000)]
    batch: u64,
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
    if args.callbacks == 0 || args.customers == 0 {
        bail!("--callbacks and --customers must be at least 1");
    }
    db::migrate(&args.database_url, SCHEMA, &MIGRATOR)
        .await
        .context("migrating")?;
    let mut conn = PgConnection::connect_with(&db::connect_options(&args.database_url, SCHEMA)?)
        .await
        .context("connecting")?;
    let (non_empty,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM callback) OR EXISTS (SELECT 1 FROM call_attempt)",
    )
    .fetch_one(&mut conn)
    .await?;
    if non_empty {
        if !args.truncate {
            bail!("the callback queue is not empty: pass --truncate to replace its contents");
        }
        sqlx::query("TRUNCATE callback, call_attempt")
            .execute(&mut conn)
            .await?;
        eprintln!("callcenter_datagen: truncated callback and call_attempt");
    }

    let holidays = store::desk::holidays(&mut conn).await?;
    let calendar = default_calling_calendar(&holidays);
    let now = dealernet_kit::clock::Clock::System.now();
    let started = Instant::now();
    let (mut loaded, mut attempts, mut requests) = (0u64, 0u64, 0u64);
    let (mut oldest, mut newest) = (now, chrono::DateTime::<chrono::Utc>::MIN_UTC);
    let step = args.batch.max(1);
    let mut from = 1;
    while from <= args.callbacks {
        let to = (from + step).min(args.callbacks + 1);
        let mut batch = Callbacks::default();
        for n in from..to {
            let c = DueCallback::new(n, args.customers, now, &calendar).with_context(|| {
                format!("callback {n}: the calling calendar has no window in the last days")
            })?;
            requests += u64::from(c.purpose == Purpose::CustomerRequest);
            (oldest, newest) = (oldest.min(c.due_at), newest.max(c.due_at));
            batch.push(&c);
        }
        let mut txn = conn.begin().await?;
        copy(&mut txn, CALLBACK_COLUMNS, batch.callbacks.as_bytes()).await?;
        if !batch.attempts.is_empty() {
            copy(&mut txn, ATTEMPT_COLUMNS, batch.attempts.as_bytes()).await?;
        }
        txn.commit().await?;
        loaded += batch.callbacks.rows();
        attempts += batch.attempts.rows();
        eprintln!(
            "callcenter_datagen: {loaded}/{} callbacks ({:.0}/s)",
            args.callbacks,
            loaded as f64 / started.elapsed().as_secs_f64()
        );
        from = to;
    }
    let copied = started.elapsed().as_secs_f64();
    // VACUUM sets the visibility map too, so the queue starts as in a settled database.
    sqlx::query("VACUUM (ANALYZE) callback, call_attempt")
        .execute(&mut conn)
        .await?;
    // What a claim sees: every loaded callback must be due and claimable.
    let (due,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM callback WHERE status IN ('PENDING', 'CLAIMED') AND due_at <= now()",
    )
    .fetch_one(&mut conn)
    .await?;
    if due != loaded as i64 {
        bail!("{due} of {loaded} loaded callbacks are due: the load is inconsistent");
    }
    eprintln!(
        "callcenter_datagen: loaded {loaded} due callbacks ({requests} CUSTOMER_REQUEST, {} \
         CASE_FOLLOW_UP; {attempts} earlier attempts) in {copied:.1} s, due from {oldest} to \
         {newest}; analyzed",
        loaded - requests
    );
    Ok(())
}
