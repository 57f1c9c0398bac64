//! Loads N realistic customers into the `customers` schema with COPY, using the bench key
//! space (`dealernet_bench::customer_id` / `mobile_e164`) so that load runs hit existing rows.
//!
//! Every row goes through the API's own parser (`profile_from_proto`), so display names,
//! name keys, normalised e-mails and national-ID hashes are exactly what the service would
//! have stored for the same input.

use std::{fmt::Write as _, path::PathBuf, sync::mpsc, time::Instant};

use anyhow::{Context, bail};
use clap::Parser;
use dealernet_customers::{
    MIGRATOR, SCHEMA, api::convert::profile_from_proto, demo::DEMO_ORGS, domain::IdHasher,
};
use dealernet_kit::{config::Layer, db};
use secrecy::SecretString;
use sqlx::{Connection, PgConnection};

#[derive(Debug, Parser)]
#[command(about = "Bulk-load benchmark customers into the customers schema")]
struct Args {
    /// PostgreSQL URL of the database the server uses.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// How many customers (ids 1..=N).
    #[arg(long, default_value_t = 1_000_000)]
    customers: u64,
    /// The server's national-ID hash key (must match, or national-ID matching breaks).
    #[arg(long, env = "DEALERNET_ID_HASH_KEY")]
    id_hash_key: Option<String>,
    /// A `dealernet dev --state-dir`: its dev-secrets.toml supplies the id hash key.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Empty the registry first instead of refusing to load into a non-empty one.
    #[arg(long)]
    truncate: bool,
    /// Customers per COPY batch (one transaction each).
    #[arg(long, default_value_t = 50_000)]
    batch: u64,
}

/// One batch of COPY text, one buffer per table.
#[derive(Default)]
struct Batch {
    customers: String,
    phones: String,
    emails: String,
    links: String,
    rows: u64,
}

fn hash_key(args: &Args) -> anyhow::Result<SecretString> {
    if let Some(key) = &args.id_hash_key {
        return Ok(SecretString::from(key.clone()));
    }
    let dir = args
        .state_dir
        .as_ref()
        .context("give --id-hash-key (or DEALERNET_ID_HASH_KEY) or --state-dir")?;
    Layer::from_file(&dir.join("dev-secrets.toml"), true)?
        .id_hash_key
        .context("dev-secrets.toml has no id_hash_key")
}

/// COPY text format: backslash, tab and line breaks must be escaped inside a field.
fn field(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
}

/// One COPY text row; `None` is SQL NULL (`\N`, which must not be escaped).
fn row(out: &mut String, fields: &[Option<&str>]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match f {
            Some(value) => field(out, value),
            None => out.push_str("\\N"),
        }
    }
    out.push('\n');
}

/// Builds the COPY text of customers `from..to` (exclusive).
fn generate(hasher: &IdHasher, from: u64, to: u64) -> anyhow::Result<Batch> {
    let mut b = Batch::default();
    for n in from..to {
        let org = DEMO_ORGS[(n % DEMO_ORGS.len() as u64) as usize];
        let candidate = dealernet_bench::person(n).to_customer(org.channel);
        let p = profile_from_proto(&candidate, hasher)
            .map_err(|v| anyhow::anyhow!("generated customer {n} is invalid: {v}"))?;
        let id = dealernet_bench::customer_id(n).to_string();
        let birthday = p.birthday.map(|d| d.to_string());
        // bytea input in hex form; `field` escapes the leading backslash for COPY.
        let hash = p.national_id.as_ref().map(|nid| {
            let mut hex = String::from("\\x");
            for byte in &nid.hash {
                let _ = write!(hex, "{byte:02x}");
            }
            hex
        });
        let last4 = p.national_id.as_ref().map_or("", |nid| nid.last4.as_str());
        let a = &p.address;
        let (display_name, name_key) = (p.display_name(), p.name_key());
        let name_phonetic = dealernet_customers::domain::matching::phonetic_key(&p);
        row(
            &mut b.customers,
            &[
                Some(&id),
                Some(p.kind.as_str()),
                Some(&p.family_name),
                Some(&p.given_name),
                Some(&p.organization_name),
                Some(&display_name),
                Some(&name_key),
                Some(&a.province),
                Some(&a.city),
                Some(&a.district),
                Some(&a.street),
                Some(&a.postal_code),
                Some(&a.region_code),
                birthday.as_deref(),
                Some(&p.preferred_language),
                Some(p.source_channel.as_str()),
                Some(org.code),
                hash.as_deref(),
                Some(last4),
                Some(&name_phonetic),
            ],
        );
        for (pos, ph) in p.phones.iter().enumerate() {
            let pos = pos.to_string();
            row(
                &mut b.phones,
                &[
                    Some(&id),
                    Some(&pos),
                    Some(&ph.e164),
                    Some(ph.kind.as_str()),
                ],
            );
        }
        for (pos, e) in p.emails.iter().enumerate() {
            let pos = pos.to_string();
            row(&mut b.emails, &[Some(&id), Some(&pos), Some(e)]);
        }
        row(&mut b.links, &[Some(&id), Some(org.code), Some("CREATED")]);
        b.rows += 1;
    }
    Ok(b)
}

async fn copy(conn: &mut PgConnection, table_and_columns: &str, data: &str) -> anyhow::Result<()> {
    let mut copy = conn
        .copy_in_raw(&format!("COPY {table_and_columns} FROM STDIN"))
        .await?;
    copy.send(data.as_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let hasher = IdHasher::new(hash_key(&args)?);
    db::migrate(&args.database_url, SCHEMA, &MIGRATOR)
        .await
        .context("migrating")?;
    let mut conn = PgConnection::connect_with(&db::connect_options(&args.database_url, SCHEMA)?)
        .await
        .context("connecting")?;
    let (non_empty,): (bool,) = sqlx::query_as("SELECT EXISTS (SELECT 1 FROM customer)")
        .fetch_one(&mut conn)
        .await?;
    if non_empty {
        if !args.truncate {
            bail!("the customer table is not empty: pass --truncate to replace its contents");
        }
        // CASCADE: consent, relationships, erasure and merge records reference customers too.
        sqlx::query(
            "TRUNCATE customer, customer_phone, customer_email, external_id, customer_link, \
             resolve_claim, idempotency CASCADE",
        )
        .execute(&mut conn)
        .await?;
        eprintln!("datagen: truncated the registry");
    }

    // Generation (CPU: phone parsing, HMAC) runs on its own thread while PostgreSQL ingests
    // the previous batch; the channel holds one batch so memory stays bounded.
    let (tx, rx) = mpsc::sync_channel::<anyhow::Result<Batch>>(1);
    let (total, step) = (args.customers, args.batch.max(1));
    let producer = std::thread::spawn(move || {
        let mut from = 1;
        while from <= total {
            let to = (from + step).min(total + 1);
            if tx.send(generate(&hasher, from, to)).is_err() {
                return;
            }
            from = to;
        }
    });
    let started = Instant::now();
    let mut loaded = 0;
    for batch in rx {
        let b = batch?;
        let mut txn = conn.begin().await?;
        copy(
            &mut txn,
            "customer (id, kind, family_name, given_name, organization_name, display_name, \
             name_key, province, city, district, street, postal_code, region_code, birthday, \
             preferred_language, source_channel, created_by_org, national_id_hash, \
             national_id_last4, name_phonetic)",
            &b.customers,
        )
        .await?;
        copy(
            &mut txn,
            "customer_phone (customer_id, position, e164, kind)",
            &b.phones,
        )
        .await?;
        copy(
            &mut txn,
            "customer_email (customer_id, position, address)",
            &b.emails,
        )
        .await?;
        copy(
            &mut txn,
            "customer_link (customer_id, organization, reason)",
            &b.links,
        )
        .await?;
        txn.commit().await?;
        loaded += b.rows;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "datagen: {loaded}/{total} customers ({:.0}/s)",
            loaded as f64 / secs
        );
    }
    producer
        .join()
        .map_err(|_| anyhow::anyhow!("generator thread panicked"))?;
    // VACUUM sets the visibility map too, so index-only scans work as in a settled database.
    sqlx::query("VACUUM (ANALYZE) customer, customer_phone, customer_email, customer_link")
        .execute(&mut conn)
        .await?;
    eprintln!(
        "datagen: loaded {loaded} customers in {:.1} s and analyzed",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
