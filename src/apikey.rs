//! `dealernet apikey`: HQ's command line for API keys, working on the gateway's schema
//! directly (so the first key can be issued before any HQ client exists). Gateways see a
//! revocation made here within their `api_key_cache_ttl_secs`.

use anyhow::Context;
use chrono::{DateTime, Utc};
use dealernet_gateway::apikeys::{ApiKeyRow, ApiKeys, IssueRequest, ListFilter, is_active};
use dealernet_kit::{config::Config, config::ServiceKind, db};

/// A key to issue.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub display_name: String,
    pub organization: String,
    pub roles: Vec<String>,
    pub expire_time: Option<DateTime<Utc>>,
}

/// What to do with API keys.
#[derive(Debug)]
pub enum Action {
    /// Issue a key and print it (the only time it is shown).
    Create(NewKey),
    /// Print the keys (active only, unless `all`).
    List {
        organization: Option<String>,
        all: bool,
    },
    /// Revoke a key by name (`apiKeys/…`) or prefix.
    Revoke { name: String },
}

fn describe(row: &ApiKeyRow) -> String {
    let state = if row.revoke_time.is_some() {
        "revoked"
    } else if is_active(row, Utc::now()) {
        "active"
    } else {
        "expired"
    };
    let expires = row
        .expire_time
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| "never".into());
    format!(
        "apiKeys/{}\t{state}\t{}\t{}\texpires {expires}\t{}",
        row.prefix,
        row.organization,
        row.roles.join(","),
        row.display_name
    )
}

async fn store(config: &Config) -> anyhow::Result<ApiKeys> {
    let url = config.require_database_url()?;
    crate::migrate(url, &[ServiceKind::Gateway]).await?;
    let pool = db::pool(url, dealernet_gateway::SCHEMA, 2)
        .await
        .context("connecting to the gateway schema")?;
    // No cache: every command reads the store.
    Ok(ApiKeys::new(pool, std::time::Duration::ZERO))
}

/// Issues a key as `creator`: its description and the whole key (to be shown once).
pub async fn create(
    config: &Config,
    creator: &str,
    key: NewKey,
) -> anyhow::Result<(String, String)> {
    let issued = store(config)
        .await?
        .issue(
            creator,
            IssueRequest {
                display_name: key.display_name,
                organization: key.organization,
                roles: key.roles,
                expire_time: key.expire_time,
                request_id: uuid::Uuid::now_v7().to_string(),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((describe(&issued.row), issued.secret))
}

/// Runs `action` against the configured database as `creator`, printing on stdout.
pub async fn run(config: &Config, creator: &str, action: Action) -> anyhow::Result<()> {
    match action {
        Action::Create(key) => {
            let (description, secret) = create(config, creator, key).await?;
            eprintln!("{description}");
            eprintln!("the key is shown only now; send it as 'x-api-key: <key>':");
            println!("{secret}");
        }
        Action::List { organization, all } => {
            let keys = store(config).await?;
            let mut after = None;
            loop {
                let rows = keys
                    .list(&ListFilter {
                        organization: organization.clone(),
                        show_inactive: all,
                        after: after.clone(),
                        limit: 500,
                    })
                    .await?;
                for row in &rows {
                    println!("{}", describe(row));
                }
                match rows.last() {
                    Some(last) if rows.len() == 500 => {
                        after = Some((last.create_time, last.prefix.clone()));
                    }
                    _ => break,
                }
            }
        }
        Action::Revoke { name } => {
            let prefix = name.strip_prefix("apiKeys/").unwrap_or(&name);
            match store(config).await?.revoke(prefix).await? {
                Some(row) => println!("{}", describe(&row)),
                None => anyhow::bail!("no API key {name}"),
            }
        }
    }
    Ok(())
}
