//! The one `dealernet` binary: `dev`, `serve`, `gateway`, `migrate`, `segments`, `token`
//! and `apikey`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use dealernet_kit::{
    auth::{Principal, Role, TokenKeys},
    config::{Config, Layer, ServiceKind},
};
use secrecy::SecretString;

// glibc's allocator showed as 9% of a GetCustomer's server CPU (malloc, free and
// consolidation under two worker threads); mimalloc's thread-local heaps cost less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// dealernet: one customer registry and one record per VIN behind one gateway.
#[derive(Debug, Parser)]
#[command(name = "dealernet", version)]
struct Cli {
    /// Settings file (default: ./dealernet.toml when present).
    #[arg(long, global = true, env = "DEALERNET_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every service on a private PostgreSQL (started from the installed binaries,
    /// data under .dealernet/) with demo data.
    Dev {
        #[command(flatten)]
        common: CommonFlags,
        /// Where dev mode keeps its PostgreSQL data and dev keys.
        #[arg(long, default_value = ".dealernet")]
        state_dir: PathBuf,
    },
    /// Run the given services against an existing PostgreSQL (the Kubernetes shape).
    Serve {
        #[command(flatten)]
        common: CommonFlags,
    },
    /// Run the gateway alone (`serve --services gateway`): the public endpoint in front of
    /// the services at the configured *_url addresses.
    Gateway {
        #[command(flatten)]
        common: CommonFlags,
    },
    /// Issue, list and revoke API keys of machine clients (HQ's tool; works on the
    /// gateway's schema in the configured database).
    Apikey {
        #[command(flatten)]
        common: CommonFlags,
        #[command(subcommand)]
        action: ApikeyCommand,
    },
    /// Apply the migrations of the given services and exit.
    Migrate {
        #[command(flatten)]
        common: CommonFlags,
    },
    /// Customer value segments in the registry's schema.
    Segments {
        #[command(flatten)]
        common: CommonFlags,
        #[command(subcommand)]
        action: SegmentsCommand,
    },
    /// Mint a bearer token with the configured key.
    Token {
        /// Role(s): hq, steward, agent, dealer, station, system.
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<String>,
        /// Organisation: a dealer or station code, HQ or CALLCENTER.
        #[arg(long)]
        org: String,
        /// Subject (user or client id).
        #[arg(long, default_value = "cli")]
        subject: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
        /// Where `dealernet dev` keeps its keys (used when no jwt_secret is configured).
        #[arg(long, default_value = ".dealernet")]
        state_dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ApikeyCommand {
    /// Issue a key; it is printed on stdout this once and never shown again.
    Create {
        /// What the key is for, e.g. "D1001 POS terminal 3".
        #[arg(long)]
        name: String,
        /// Organisation the key acts for (dealer or station code, HQ, CALLCENTER, …).
        #[arg(long)]
        org: String,
        /// Role(s): hq, steward, agent, dealer, station, system, factory, carrier.
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<String>,
        /// Days until the key stops working by itself (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// Who issues it, recorded with the key.
        #[arg(long, default_value = "cli@HQ")]
        issuer: String,
    },
    /// List the active keys (with --all, revoked and expired ones too).
    List {
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Revoke a key by name (apiKeys/<prefix>).
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
enum SegmentsCommand {
    /// Recompute every customer's value and tier from its facts (after changing a value
    /// threshold, or to check the incremental path); safe while the registry serves.
    Rebuild {
        /// Customer ids per batch (one transaction each).
        #[arg(long, default_value_t = dealernet_customers::segments::DEFAULT_BATCH)]
        batch: usize,
    },
}

#[derive(Debug, Args)]
struct CommonFlags {
    /// Address to listen on (default 127.0.0.1:50051).
    #[arg(long)]
    listen: Option<String>,
    /// PostgreSQL URL (also DATABASE_URL or DEALERNET_DATABASE_URL).
    #[arg(long)]
    database_url: Option<String>,
    /// Comma-separated services to run (default: customers, vehicles, callcenter and
    /// dealers; dev mode: all five, with the gateway).
    #[arg(long, value_delimiter = ',')]
    services: Option<Vec<String>>,
}

impl CommonFlags {
    fn layer(&self) -> Layer {
        Layer {
            listen_addr: self.listen.clone(),
            database_url: self.database_url.clone().map(SecretString::from),
            services: self.services.clone(),
            ..Layer::default()
        }
    }
}

/// defaults → [dev keys] → file → environment → flags.
fn load_config(cli_config: &Option<PathBuf>, base: Layer, flags: Layer) -> anyhow::Result<Config> {
    let file = match cli_config {
        Some(path) => Layer::from_file(path, true)?,
        None => Layer::from_file(std::path::Path::new("dealernet.toml"), false)?,
    };
    Ok(Config::from_layer(
        base.merge(file).merge(Layer::from_env()?).merge(flags),
    )?)
}

/// The keys `dealernet dev` made in this directory, if it ran here (so that the command
/// line tools work next to a dev platform without further settings).
fn dev_keys_if_present() -> anyhow::Result<Layer> {
    let state_dir = std::path::Path::new(".dealernet");
    if state_dir.join("dev-secrets.toml").is_file() {
        dealernet::dev::secrets_layer(state_dir)
    } else {
        Ok(Layer::default())
    }
}

/// Logs and traces for a process running `config.services`; its OpenTelemetry service
/// name says which (`dealernet-customers`, `dealernet-gateway`, or `dealernet` for all).
fn telemetry(config: &Config) -> dealernet_kit::telemetry::TelemetryGuard {
    let name = if config.services.len() == ServiceKind::ALL.len() {
        "dealernet".to_owned()
    } else {
        let names: Vec<_> = config.services.iter().map(|s| s.name()).collect();
        format!("dealernet-{}", names.join("-"))
    };
    dealernet_kit::telemetry::init(&dealernet_kit::telemetry::TelemetrySettings::from_env(
        &config.log,
        config.log_format,
        &name,
    ))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Dev { common, state_dir } => {
            // Dev runs everything, the gateway in front, unless told otherwise.
            let base = Layer {
                services: Some(
                    ServiceKind::ALL
                        .iter()
                        .map(|s| s.name().to_owned())
                        .collect(),
                ),
                // Human-readable lines in a terminal; production writes JSON.
                log_format: Some("text".into()),
                ..Layer::default()
            }
            .merge(dealernet::dev::secrets_layer(&state_dir)?);
            let config = load_config(&cli.config, base, common.layer())?;
            let _telemetry = telemetry(&config);
            dealernet::dev::run(config, state_dir).await
        }
        Command::Serve { common } => {
            let config = load_config(&cli.config, Layer::default(), common.layer())?;
            let _telemetry = telemetry(&config);
            let platform = dealernet::Platform::build(&config).await?;
            tracing::info!(addr = %platform.addr(), "serving");
            platform
                .run_until_stopped(dealernet::shutdown_signal())
                .await
        }
        Command::Gateway { common } => {
            let flags = Layer {
                services: Some(vec!["gateway".into()]),
                ..common.layer()
            };
            let config = load_config(&cli.config, Layer::default(), flags)?;
            let _telemetry = telemetry(&config);
            let platform = dealernet::Platform::build(&config).await?;
            tracing::info!(addr = %platform.addr(), "gateway serving");
            platform
                .run_until_stopped(dealernet::shutdown_signal())
                .await
        }
        Command::Apikey { common, action } => {
            let config = load_config(&cli.config, dev_keys_if_present()?, common.layer())?;
            let (creator, action) = match action {
                ApikeyCommand::Create {
                    name,
                    org,
                    roles,
                    expires_in_days,
                    issuer,
                } => (
                    issuer,
                    dealernet::apikey::Action::Create(dealernet::apikey::NewKey {
                        display_name: name,
                        organization: org,
                        roles,
                        expire_time: expires_in_days
                            .map(|d| chrono::Utc::now() + chrono::Duration::days(i64::from(d))),
                    }),
                ),
                ApikeyCommand::List { org, all } => (
                    String::new(),
                    dealernet::apikey::Action::List {
                        organization: org,
                        all,
                    },
                ),
                ApikeyCommand::Revoke { name } => {
                    (String::new(), dealernet::apikey::Action::Revoke { name })
                }
            };
            dealernet::apikey::run(&config, &creator, action).await
        }
        Command::Migrate { common } => {
            let config = load_config(&cli.config, Layer::default(), common.layer())?;
            dealernet::migrate(config.require_database_url()?, &config.services).await?;
            eprintln!(
                "migrated: {}",
                config
                    .services
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(())
        }
        Command::Segments {
            common,
            action: SegmentsCommand::Rebuild { batch },
        } => {
            let config = load_config(&cli.config, Layer::default(), common.layer())?;
            let pool = dealernet_kit::db::pool(
                config.require_database_url()?,
                dealernet_customers::SCHEMA,
                2,
            )
            .await
            .context("connecting to the registry's schema")?;
            let rules = dealernet_customers::value_rules(&config.value);
            let done = dealernet_customers::segments::rebuild(&pool, &rules, batch, |p| {
                eprintln!(
                    "batch {}: {} customers, {} with a value, {:.1}s",
                    p.batches,
                    p.customers,
                    p.valued,
                    p.elapsed.as_secs_f64()
                )
            })
            .await
            .context("rebuilding customer value")?;
            println!(
                "rebuilt: {} customers in {} batches, {} with a value, {:.1}s",
                done.customers,
                done.batches,
                done.valued,
                done.elapsed.as_secs_f64()
            );
            Ok(())
        }
        Command::Token {
            roles,
            org,
            subject,
            ttl,
            state_dir,
        } => {
            let mut base = Layer::default();
            if state_dir.join("dev-secrets.toml").is_file() {
                base = dealernet::dev::secrets_layer(&state_dir)?;
            }
            let layer = base
                .merge(match &cli.config {
                    Some(path) => Layer::from_file(path, true)?,
                    None => Layer::from_file(std::path::Path::new("dealernet.toml"), false)?,
                })
                .merge(Layer::from_env()?);
            let secret = layer.jwt_secret.context(
                "no jwt_secret: set DEALERNET_JWT_SECRET, put it in dealernet.toml, or run `dealernet dev` here first",
            )?;
            let roles = roles
                .iter()
                .map(|r| r.parse::<Role>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(anyhow::Error::msg)?;
            let principal = Principal::new(&subject, &org, &roles).map_err(anyhow::Error::msg)?;
            if ttl <= 0 {
                anyhow::bail!("--ttl must be positive");
            }
            println!("{}", TokenKeys::new(secret).mint(&principal, ttl));
            Ok(())
        }
    }
}
