//! The end-to-end test harness: one private PostgreSQL per test run, a fresh database per
//! test, and the real platform served on a real socket, reached through generated clients.
//!
//! When PostgreSQL's server binaries are missing the harness panics saying what to
//! install: no test is ever skipped.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
    },
};

use dealernet_kit::{
    auth::{Principal, Role, TokenKeys},
    clock::{Clock, ManualClock},
    config::{Config, Layer, ServiceKind},
    local_pg::{self, LocalPostgres},
    telemetry::{LogFormat, TelemetryGuard, TelemetrySettings},
};
use dealernet_proto::{
    callcenter::v1::call_center_service_client::CallCenterServiceClient,
    customers::v1::customer_service_client::CustomerServiceClient,
    dealers::v1::dealer_service_client::DealerServiceClient,
    gateway::v1::gateway_service_client::GatewayServiceClient,
    vehicles::v1::vehicle_service_client::VehicleServiceClient,
};
use secrecy::SecretString;
use sqlx::{Connection, PgConnection};
use tokio::sync::oneshot;
use tonic::{
    Request, Status,
    metadata::MetadataValue,
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};

/// The signing key the test platform trusts.
pub const TEST_JWT_SECRET: &str = "test-jwt-secret-test-jwt-secret-0123456789";
const TEST_ID_HASH_KEY: &str = "test-id-hash-key-test-id-hash-key-01234567";
const TEST_PAGE_TOKEN_KEY: &str = "test-page-token-key-test-page-token-key-0123";
const TEMPLATE_DB: &str = "dealernet_template";

struct Cluster {
    port: u16,
}

/// Starts the run's cluster once, on a thread that lives as long as the test process: the
/// server gets SIGINT when the thread that spawned it exits (see `local_pg`).
fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("test-postgres".into())
            .spawn(move || {
                let data_dir = run_dir().join("pg");
                let started = LocalPostgres::start(&local_pg::Options {
                    data_dir,
                    ephemeral: true,
                    settings: vec![("max_connections".into(), "400".into())],
                });
                match started {
                    Ok(server) => {
                        // Not inside any test's runtime here, so blocking is allowed.
                        tokio_block_on(make_template(server.port()));
                        let _ = tx.send(Ok(server.port()));
                        // Park forever: the server must outlive every test of the run.
                        let _keep = server;
                        loop {
                            std::thread::park();
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            })
            .expect("spawn test-postgres thread");
        let port = rx
            .recv()
            .expect("test-postgres thread ended")
            .unwrap_or_else(|e| panic!("the tests need PostgreSQL: {e}"));
        Cluster { port }
    })
}

/// This run's scratch directory; directories left by earlier runs that died are removed.
fn run_dir() -> PathBuf {
    let base = std::env::temp_dir().join("dealernet-tests");
    if let Ok(entries) = std::fs::read_dir(&base) {
        for entry in entries.flatten() {
            let pid_alive = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|pid| PathBuf::from(format!("/proc/{pid}")).exists());
            if !pid_alive {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = base.join(std::process::id().to_string());
    std::fs::create_dir_all(&dir).expect("create test run directory");
    // PostgreSQL may run as another user (when tests run as root): let it in.
    let _ = std::process::Command::new("chmod")
        .args(["0755"])
        .arg(&base)
        .arg(&dir)
        .status();
    dir
}

fn tokio_block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn url(port: u16, db: &str) -> String {
    format!("postgres://{}@127.0.0.1:{port}/{db}", local_pg::SUPERUSER)
}

async fn make_template(port: u16) {
    let mut admin = PgConnection::connect(&url(port, "postgres"))
        .await
        .expect("connect to test cluster");
    sqlx::query(&format!("CREATE DATABASE {TEMPLATE_DB}"))
        .execute(&mut admin)
        .await
        .expect("create template");
    dealernet::migrate(
        &url(port, TEMPLATE_DB),
        dealernet_kit::config::ServiceKind::ALL,
    )
    .await
    .expect("migrate template");
}

/// A fresh database cloned from the migrated template.
pub async fn fresh_database() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let cluster = cluster();
    let name = format!("test_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let mut admin = PgConnection::connect(&url(cluster.port, "postgres"))
        .await
        .expect("connect to test cluster");
    sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    url(cluster.port, &name)
}

/// Settings for a test platform on `database_url`, listening on a free port.
/// Quiet logs (warnings only) on stderr, for the tests of this process, unless a test
/// installed its own telemetry first.
fn init_telemetry() {
    static TELEMETRY: OnceLock<TelemetryGuard> = OnceLock::new();
    TELEMETRY.get_or_init(|| {
        dealernet_kit::telemetry::init(&TelemetrySettings {
            filter: "warn".into(),
            format: LogFormat::Text,
            service_name: "dealernet-tests".into(),
            otlp_endpoint: None,
        })
    });
}

pub fn test_config(database_url: &str, tweak: impl FnOnce(Layer) -> Layer) -> Config {
    let layer = Layer {
        listen_addr: Some("127.0.0.1:0".into()),
        database_url: Some(SecretString::from(database_url.to_owned())),
        database_max_connections: Some(20),
        jwt_secret: Some(SecretString::from(TEST_JWT_SECRET)),
        id_hash_key: Some(SecretString::from(TEST_ID_HASH_KEY)),
        page_token_key: Some(SecretString::from(TEST_PAGE_TOKEN_KEY)),
        log: Some("warn".into()),
        ..Layer::default()
    };
    Config::from_layer(tweak(layer)).expect("valid test config")
}

/// The platform serving one test, with its own database. Stops when dropped.
pub struct TestPlatform {
    /// The public address: the gateway's when the platform runs it.
    pub addr: SocketAddr,
    pub database_url: String,
    /// Where `GET /metrics` answers, when the settings gave `metrics_addr`.
    pub metrics_addr: Option<SocketAddr>,
    backends: Vec<(ServiceKind, SocketAddr)>,
    channel: Channel,
    _stop: oneshot::Sender<()>,
}

/// A gateway client that sends a bearer token with every call.
pub type GatewayClient = GatewayServiceClient<InterceptedService<Channel, Bearer>>;
/// A vehicles client that sends a bearer token with every call.
pub type VehiclesClient = VehicleServiceClient<InterceptedService<Channel, Bearer>>;
/// A call-center client that sends a bearer token with every call.
pub type CallCenterClient = CallCenterServiceClient<InterceptedService<Channel, Bearer>>;
/// A customers client that sends a bearer token with every call.
pub type CustomersClient = CustomerServiceClient<InterceptedService<Channel, Bearer>>;
/// A dealers client that sends a bearer token with every call.
pub type DealersClient = DealerServiceClient<InterceptedService<Channel, Bearer>>;

impl TestPlatform {
    /// Spawns every service on a fresh database.
    pub async fn spawn() -> TestPlatform {
        Self::spawn_with(|l| l).await
    }

    /// Spawns every service with the gateway in front, as `dealernet dev` runs them:
    /// [`TestPlatform::addr`] and every client of this value go through the gateway.
    pub async fn spawn_gateway() -> TestPlatform {
        Self::spawn_gateway_with(|l| l).await
    }

    /// As [`TestPlatform::spawn_gateway`], with the services telling time by `clock` and
    /// no background lead sweeper (see [`TestPlatform::spawn_at`]).
    pub async fn spawn_gateway_at(clock: &ManualClock) -> TestPlatform {
        let database_url = fresh_database().await;
        Self::spawn_on(
            database_url,
            |l| Layer {
                services: Some(ServiceKind::ALL.iter().map(|s| s.name().into()).collect()),
                lead_sweep_interval_secs: Some(0),
                ..l
            },
            Clock::from(clock.clone()),
        )
        .await
    }

    /// As [`TestPlatform::spawn_gateway`], with adjusted settings.
    pub async fn spawn_gateway_with(tweak: impl FnOnce(Layer) -> Layer) -> TestPlatform {
        Self::spawn_with(|l| {
            tweak(Layer {
                services: Some(ServiceKind::ALL.iter().map(|s| s.name().into()).collect()),
                ..l
            })
        })
        .await
    }

    /// Spawns with adjusted settings.
    pub async fn spawn_with(tweak: impl FnOnce(Layer) -> Layer) -> TestPlatform {
        Self::spawn_with_clock(tweak, Clock::System).await
    }

    /// Spawns with services that keep deadlines reading `clock`, and without the
    /// background lead sweeper: the test moves the clock and sweeps with
    /// [`TestPlatform::sweep_leads`] when it wants, so nothing waits on wall-clock time.
    pub async fn spawn_at(clock: &ManualClock) -> TestPlatform {
        Self::spawn_with_clock(
            |l| Layer {
                lead_sweep_interval_secs: Some(0),
                ..l
            },
            Clock::from(clock.clone()),
        )
        .await
    }

    /// Spawns with adjusted settings and the given clock.
    pub async fn spawn_with_clock(
        tweak: impl FnOnce(Layer) -> Layer,
        clock: Clock,
    ) -> TestPlatform {
        let database_url = fresh_database().await;
        Self::spawn_on(database_url, tweak, clock).await
    }

    /// As [`TestPlatform::spawn_gateway_with`], on a database the test already made (for
    /// tests that run some services in another process).
    pub async fn spawn_gateway_on(
        database_url: &str,
        tweak: impl FnOnce(Layer) -> Layer,
    ) -> TestPlatform {
        Self::spawn_on(
            database_url.to_owned(),
            |l| {
                tweak(Layer {
                    services: Some(ServiceKind::ALL.iter().map(|s| s.name().into()).collect()),
                    ..l
                })
            },
            Clock::System,
        )
        .await
    }

    async fn spawn_on(
        database_url: String,
        tweak: impl FnOnce(Layer) -> Layer,
        clock: Clock,
    ) -> TestPlatform {
        init_telemetry();
        let config = test_config(&database_url, tweak);
        let platform = dealernet::Platform::build_with_clock(&config, clock)
            .await
            .expect("platform builds");
        let addr = platform.addr();
        let metrics_addr = platform.metrics_addr();
        let backends = ServiceKind::BACKENDS
            .iter()
            .filter_map(|s| platform.backend_addr(*s).map(|a| (*s, a)))
            .collect();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(platform.run_until_stopped(async {
            let _ = stopped.await;
        }));
        // Lazily: the listener is bound already, and a TLS gateway needs its own client.
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect_lazy();
        TestPlatform {
            addr,
            database_url,
            metrics_addr,
            backends,
            channel,
            _stop: stop,
        }
    }

    /// A new connection to the platform (for tests that need several).
    pub async fn connect(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .connect()
            .await
            .expect("connect")
    }

    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// Where a backend service listens (behind the gateway, when it runs).
    pub fn backend_addr(&self, service: ServiceKind) -> SocketAddr {
        self.backends
            .iter()
            .find(|(k, _)| *k == service)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("{} does not run here", service.name()))
    }

    /// A gateway client (API keys) acting as `role` of organisation `org`.
    pub fn gateway(&self, org: &str, role: Role) -> GatewayClient {
        GatewayServiceClient::with_interceptor(self.channel(), Bearer::valid(org, role))
    }

    /// A customers client acting as `role` of organisation `org`.
    pub fn customers(&self, org: &str, role: Role) -> CustomersClient {
        CustomerServiceClient::with_interceptor(self.channel(), Bearer::valid(org, role))
    }

    /// A vehicles client acting for `org` with `role`.
    pub fn vehicles(&self, org: &str, role: Role) -> VehiclesClient {
        VehicleServiceClient::with_interceptor(self.channel(), Bearer::valid(org, role))
    }

    /// A call-center client acting as `role` of organisation `org`.
    pub fn callcenter(&self, org: &str, role: Role) -> CallCenterClient {
        CallCenterServiceClient::with_interceptor(self.channel(), Bearer::valid(org, role))
    }

    /// A call-center client acting as the person `subject` of `org` with `role`.
    pub fn callcenter_as(&self, subject: &str, org: &str, role: Role) -> CallCenterClient {
        CallCenterServiceClient::with_interceptor(
            self.channel(),
            Bearer::person(subject, org, role),
        )
    }

    /// A dealers client acting for `org` with `role`.
    pub fn dealers(&self, org: &str, role: Role) -> DealersClient {
        DealerServiceClient::with_interceptor(self.channel(), Bearer::valid(org, role))
    }

    /// A lead sweeper over this platform's database, as the background task runs it.
    pub async fn sweeper(&self) -> dealernet_dealers::sweeper::Sweeper {
        let pool = dealernet_kit::db::pool(&self.database_url, dealernet_dealers::SCHEMA, 4)
            .await
            .expect("connect the dealers pool");
        dealernet_dealers::sweeper::Sweeper::new(pool)
    }

    /// One sweep of overdue leads as of `now`.
    pub async fn sweep_leads(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> dealernet_dealers::sweeper::SweepReport {
        self.sweeper()
            .await
            .sweep_once(now)
            .await
            .expect("sweep succeeds")
    }

    /// A customers client sending whatever `authorization` value is given (or none).
    pub fn customers_with(&self, bearer: Bearer) -> CustomersClient {
        CustomerServiceClient::with_interceptor(self.channel(), bearer)
    }

    /// A direct connection to the test's database, for checking what was (not) written.
    pub async fn db(&self) -> PgConnection {
        PgConnection::connect(&self.database_url)
            .await
            .expect("connect to test database")
    }

    /// Counts rows of a `customers` schema table.
    pub async fn count(&self, table: &str) -> i64 {
        self.count_in("customers", table).await
    }

    /// Counts rows of a table of `schema`.
    pub async fn count_in(&self, schema: &str, table: &str) -> i64 {
        let mut db = self.db().await;
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT count(*) FROM {schema}.{table}"))
            .fetch_one(&mut db)
            .await
            .expect("count");
        n
    }
}

/// Adds `authorization` (and a declared `x-purpose`) metadata to every call.
#[derive(Debug, Clone)]
pub struct Bearer(Option<String>, Option<String>);

/// The purpose test clients declare unless told otherwise.
pub const TEST_PURPOSE: &str = "e2e test";

impl Bearer {
    /// A valid token for `org` and `role`, signed with the platform's key.
    pub fn valid(org: &str, role: Role) -> Bearer {
        Bearer::signed(TEST_JWT_SECRET, org, role, 3600)
    }

    /// A token signed with `secret`, valid for `ttl` seconds (negative: already expired).
    pub fn signed(secret: &str, org: &str, role: Role, ttl: i64) -> Bearer {
        let principal =
            Principal::new(&format!("{}.user", role.name()), org, &[role]).expect("principal");
        let token = TokenKeys::new(SecretString::from(secret.to_owned())).mint(&principal, ttl);
        Bearer(Some(format!("Bearer {token}")), Some(TEST_PURPOSE.into()))
    }

    /// A valid token for the person `subject` of `org` with `role`.
    pub fn person(subject: &str, org: &str, role: Role) -> Bearer {
        let principal = Principal::new(subject, org, &[role]).expect("principal");
        let keys = TokenKeys::new(SecretString::from(TEST_JWT_SECRET.to_owned()));
        Bearer(
            Some(format!("Bearer {}", keys.mint(&principal, 3600))),
            Some(TEST_PURPOSE.into()),
        )
    }

    /// An API key sent the common way, as a bearer token (with a declared purpose).
    pub fn api_key(key: &str) -> Bearer {
        Bearer(Some(format!("Bearer {key}")), Some(TEST_PURPOSE.into()))
    }

    /// The same token without a declared purpose.
    pub fn without_purpose(self) -> Bearer {
        Bearer(self.0, None)
    }

    /// Exactly this header value.
    pub fn raw(value: &str) -> Bearer {
        Bearer(Some(value.to_owned()), None)
    }

    /// No header at all.
    pub fn none() -> Bearer {
        Bearer(None, None)
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            let value: MetadataValue<_> = value
                .parse()
                .map_err(|_| Status::internal("bad test header"))?;
            request.metadata_mut().insert("authorization", value);
        }
        if let Some(purpose) = &self.1 {
            let value: MetadataValue<_> = purpose
                .parse()
                .map_err(|_| Status::internal("bad test purpose"))?;
            request.metadata_mut().insert("x-purpose", value);
        }
        Ok(request)
    }
}
