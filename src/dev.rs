//! `dealernet dev`: the whole platform on a private PostgreSQL with demo data.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use anyhow::Context;
use dealernet_kit::{
    auth::{Principal, Role, TokenKeys},
    clock::Clock,
    config::{Config, Layer, ServiceKind},
    local_pg::{self, LocalPostgres},
};
use secrecy::SecretString;

use crate::Platform;

/// Demo customers loaded into an empty registry.
pub const DEMO_CUSTOMERS: usize = 300;
/// How long the printed dev tokens stay valid.
const DEV_TOKEN_TTL_SECS: i64 = 7 * 24 * 3600;
/// Where dev mode serves metrics unless told otherwise: the port Prometheus exporters
/// conventionally take (or the next free one, when another dev run has it).
const DEV_METRICS_PORT: u16 = 9464;

/// 127.0.0.1 and the first free port from [`DEV_METRICS_PORT`] on (port 0 when ten are
/// taken). The probe is released before the platform binds it: a race only dev can lose.
fn dev_metrics_addr() -> std::net::SocketAddr {
    (DEV_METRICS_PORT..DEV_METRICS_PORT + 10)
        .map(|port| std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .find(|addr| std::net::TcpListener::bind(addr).is_ok())
        .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// The dev-only secrets file: random keys made on the first run and reused afterwards, so
/// tokens printed by one run keep working in the next.
pub fn secrets_layer(state_dir: &Path) -> anyhow::Result<Layer> {
    let path = state_dir.join("dev-secrets.toml");
    if !path.is_file() {
        std::fs::create_dir_all(state_dir)
            .with_context(|| format!("creating {}", state_dir.display()))?;
        let text = format!(
            "# dev-only keys made by `dealernet dev`; never use them in production\n\
             jwt_secret = \"{}\"\nid_hash_key = \"{}\"\npage_token_key = \"{}\"\n",
            random_hex()?,
            random_hex()?,
            random_hex()?
        );
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(Layer::from_file(&path, true)?)
}

fn random_hex() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Runs the platform in dev mode until Ctrl-C.
pub async fn run(mut config: Config, state_dir: PathBuf) -> anyhow::Result<()> {
    // Keep the server alive for the whole run; dropping it stops PostgreSQL cleanly.
    let mut postgres = None;
    if config.database_url.is_none() {
        let data_dir = state_dir.join("pg");
        let server = tokio::task::spawn_blocking(move || {
            LocalPostgres::start(&local_pg::Options {
                data_dir,
                ephemeral: false,
                settings: vec![],
            })
        })
        .await??;
        config.database_url = Some(SecretString::from(server.url("postgres")));
        eprintln!(
            "dealernet dev: PostgreSQL running from {} on 127.0.0.1:{}",
            server.data_dir().display(),
            server.port()
        );
        postgres = Some(server);
    }
    if config.metrics_addr.is_none() {
        config.metrics_addr = Some(dev_metrics_addr());
    }
    let platform = Platform::build(&config).await?;
    let metrics_addr = platform.metrics_addr();
    let url = config.require_database_url()?;
    let pool = dealernet_kit::db::pool(url, dealernet_customers::SCHEMA, 2).await?;
    let hasher = dealernet_customers::domain::IdHasher::new(config.secrets.id_hash_key.clone());
    let loaded = dealernet_customers::demo::load(&pool, &hasher, DEMO_CUSTOMERS)
        .await
        .map_err(|e| anyhow::anyhow!("loading demo data: {e}"))?;
    pool.close().await;
    let outlets = if config.services.contains(&ServiceKind::Dealers) {
        let pool = dealernet_kit::db::pool(url, dealernet_dealers::SCHEMA, 2).await?;
        let outlets = dealernet_dealers::demo::load(&pool, Clock::System.now())
            .await
            .context("loading the demo dealer network")?;
        pool.close().await;
        outlets
    } else {
        0
    };
    let addr = platform.addr();
    let backends: Vec<(ServiceKind, std::net::SocketAddr)> = ServiceKind::BACKENDS
        .iter()
        .filter_map(|s| platform.backend_addr(*s).map(|a| (*s, a)))
        .collect();
    let server = tokio::spawn(platform.run_until_stopped(crate::shutdown_signal()));
    let tls_cert = config.gateway.tls.as_ref().map(|(cert, _)| cert.as_path());
    // Demo vehicles and cases go through the public API, so every service must be here.
    let demo = if ServiceKind::BACKENDS
        .iter()
        .all(|s| config.services.contains(s))
    {
        let keys = TokenKeys::new(config.secrets.jwt_secret.clone());
        crate::demo::load(addr, keys, true, tls_cert)
            .await
            .context("loading demo data through the API")?
    } else {
        crate::demo::Loaded::default()
    };
    print_ready(
        &config,
        addr,
        &backends,
        metrics_addr,
        loaded,
        outlets,
        demo,
    )?;
    let result = server.await.context("the platform task")?;
    if let Some(mut server) = postgres {
        tokio::task::spawn_blocking(move || server.stop()).await?;
        eprintln!("dealernet dev: PostgreSQL stopped");
    }
    result
}

fn print_ready(
    config: &Config,
    addr: std::net::SocketAddr,
    backends: &[(ServiceKind, std::net::SocketAddr)],
    metrics_addr: Option<std::net::SocketAddr>,
    loaded: usize,
    outlets: usize,
    demo: crate::demo::Loaded,
) -> anyhow::Result<()> {
    let keys = TokenKeys::new(config.secrets.jwt_secret.clone());
    let token = |subject: &str, org: &str, role: Role| -> anyhow::Result<String> {
        let principal = Principal::new(subject, org, &[role]).map_err(anyhow::Error::msg)?;
        Ok(keys.mint(&principal, DEV_TOKEN_TTL_SECS))
    };
    let hq = token("hq.admin", "HQ", Role::Hq)?;
    let dealer = token("dealer.sales", "D1001", Role::Dealer)?;
    let station = token("station.advisor", "S3001", Role::Station)?;
    let agent = token("hotline.agent", "CALLCENTER", Role::Agent)?;
    let mut loaded_now = Vec::new();
    if loaded > 0 {
        loaded_now.push(format!("{loaded} demo customers"));
    }
    if outlets > 0 {
        loaded_now.push(format!("{outlets} demo outlets"));
    }
    if demo.vehicles > 0 {
        loaded_now.push(format!("{} demo vehicles", demo.vehicles));
    }
    if demo.cases > 0 {
        loaded_now.push(format!("{} demo hotline cases", demo.cases));
    }
    let data = if loaded_now.is_empty() {
        "existing data reused".to_owned()
    } else {
        format!("{} loaded", loaded_now.join(", "))
    };
    println!(
        "dealernet dev ready on {addr} ({data}; services: {})",
        config
            .services
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(",")
    );
    if config.services.contains(&ServiceKind::Gateway) {
        let behind: Vec<String> = backends
            .iter()
            .map(|(s, a)| format!("{} {a}", s.name()))
            .collect();
        println!(
            "the gateway answers on {addr}; behind it, on loopback only: {}",
            behind.join(", ")
        );
    }
    if let Some(metrics) = metrics_addr {
        println!("metrics (Prometheus): http://{metrics}/metrics");
    }
    println!("dev tokens (valid 7 days; send as 'authorization: Bearer <token>'):");
    println!("  HQ_TOKEN={hq}        # hq.admin @ HQ, role hq");
    println!("  DEALER_TOKEN={dealer}    # dealer.sales @ D1001, role dealer");
    println!("  STATION_TOKEN={station}   # station.advisor @ S3001, role station");
    println!("  AGENT_TOKEN={agent}     # hotline.agent @ CALLCENTER, role agent");
    // With TLS on (a dev certificate for localhost), grpcurl is told not to check it.
    let transport = if config.gateway.tls.is_some() {
        "-insecure"
    } else {
        "-plaintext"
    };
    println!("example calls:");
    println!(
        "  grpcurl {transport} -H 'authorization: Bearer {hq}' -H 'x-purpose: demo' -d '{{\"page_size\": 3, \"province\": \"广东省\"}}' {addr} dealernet.customers.v1.CustomerService/ListCustomers"
    );
    if config.services.contains(&ServiceKind::Vehicles) {
        println!(
            "  grpcurl {transport} -H 'authorization: Bearer {dealer}' -d '{{\"states\": [\"VEHICLE_STATE_IN_STOCK\"], \"page_size\": 3}}' {addr} dealernet.vehicles.v1.VehicleService/ListVehicles"
        );
    }
    Ok(())
}
