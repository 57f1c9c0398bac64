//! The `dealernet` platform: every service of the project assembled into one process.
//!
//! [`Platform::build`] migrates and wires the configured services (and the gateway, when
//! configured) onto their listeners; tests build it on port 0 and talk to
//! [`Platform::addr`]; `dealernet serve`, `dealernet gateway` and `dealernet dev` run it
//! until a signal arrives.

pub mod apikey;
mod demo;
pub mod dev;
mod wiring;

use std::{future::Future, net::SocketAddr};

use anyhow::Context;
use dealernet_gateway::{BackendUrls, Gateway};
use dealernet_kit::{
    clock::Clock,
    config::{Config, ServiceKind},
    db,
    metrics::{self, Metrics},
    server::GrpcServer,
};
use tokio::{net::TcpListener, task::JoinHandle};

/// Applies the migrations of `services`, each in its own schema.
pub async fn migrate(database_url: &str, services: &[ServiceKind]) -> anyhow::Result<()> {
    for service in services {
        let (schema, migrator) = match service {
            ServiceKind::Customers => (dealernet_customers::SCHEMA, &dealernet_customers::MIGRATOR),
            ServiceKind::Vehicles => (dealernet_vehicles::SCHEMA, &dealernet_vehicles::MIGRATOR),
            ServiceKind::Callcenter => (
                dealernet_callcenter::SCHEMA,
                &dealernet_callcenter::MIGRATOR,
            ),
            ServiceKind::Dealers => (dealernet_dealers::SCHEMA, &dealernet_dealers::MIGRATOR),
            ServiceKind::Gateway => (dealernet_gateway::SCHEMA, &dealernet_gateway::MIGRATOR),
        };
        db::migrate(database_url, schema, migrator)
            .await
            .with_context(|| format!("migrating schema {}", service.name()))?;
    }
    Ok(())
}

/// A built platform: listeners bound, services wired, not yet serving.
///
/// Without the gateway, every configured service shares one listener on `listen_addr`.
/// With it, the gateway takes `listen_addr` and each backend service of this process
/// listens on a loopback port of its own, reachable only through the gateway (or by
/// the services of this machine).
pub struct Platform {
    addr: SocketAddr,
    servers: Vec<(TcpListener, GrpcServer)>,
    gateway: Option<Gateway>,
    backend_addrs: Vec<(ServiceKind, SocketAddr)>,
    background: Vec<JoinHandle<()>>,
    metrics: Metrics,
    /// The Prometheus endpoint's listener and address, when `metrics_addr` is set.
    metrics_listener: Option<(TcpListener, SocketAddr)>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("addr", &self.addr)
            .field("backends", &self.backend_addrs)
            .field("metrics", &self.metrics_addr())
            .finish()
    }
}

async fn bind(addr: SocketAddr) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

fn http(addr: SocketAddr) -> String {
    format!("http://{}", SocketAddr::from(([127, 0, 0, 1], addr.port())))
}

impl Platform {
    /// Migrates the configured services, connects their pools and binds the listeners.
    pub async fn build(config: &Config) -> anyhow::Result<Platform> {
        Self::build_with_clock(config, Clock::System).await
    }

    /// As [`Platform::build`], with the services that keep deadlines (dealers) telling
    /// time by `clock`: tests move a manual clock instead of waiting.
    pub async fn build_with_clock(config: &Config, clock: Clock) -> anyhow::Result<Platform> {
        let url = config.require_database_url()?.to_owned();
        migrate(&url, &config.services).await?;
        let with_gateway = config.services.contains(&ServiceKind::Gateway);
        let backends: Vec<ServiceKind> = config
            .services
            .iter()
            .copied()
            .filter(|s| *s != ServiceKind::Gateway)
            .collect();
        // Bound first: services that call each other in this same process need addresses.
        let mut listeners = Vec::new();
        let mut backend_addrs = Vec::new();
        if with_gateway {
            for service in &backends {
                let (listener, addr) = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
                listeners.push((listener, vec![*service]));
                backend_addrs.push((*service, addr));
            }
        } else {
            let (listener, addr) = bind(config.listen_addr).await?;
            listeners.push((listener, backends.clone()));
            backend_addrs.extend(backends.iter().map(|s| (*s, addr)));
        }
        // A service's address: configured, else this process's own listener for it (the
        // shared one serves them all when there is no gateway).
        let local = |kind: ServiceKind| {
            backend_addrs
                .iter()
                .find(|(k, _)| *k == kind)
                .or_else(|| (!with_gateway).then(|| backend_addrs.first()).flatten())
                .map(|(_, addr)| http(*addr))
        };
        let url_of = |configured: &Option<String>, kind: ServiceKind| {
            configured.clone().or_else(|| local(kind))
        };
        let peers = wiring::Peers {
            customers: url_of(&config.customers_url, ServiceKind::Customers).unwrap_or_default(),
            dealers: url_of(&config.dealers_url, ServiceKind::Dealers).unwrap_or_default(),
            vehicles: url_of(&config.vehicles_url, ServiceKind::Vehicles),
            callcenter: url_of(&config.callcenter_url, ServiceKind::Callcenter),
        };
        // One registry for every server of the process; the endpoint is bound now, so
        // that a bad metrics_addr fails the start like a bad listen_addr does.
        let metrics = Metrics::new(&config.services);
        let metrics_listener = match config.metrics_addr {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        let mut background = Vec::new();
        let mut servers = Vec::new();
        for (listener, services) in listeners {
            let mut server = GrpcServer::new(config.concurrency_limit, metrics.clone())
                .add_descriptors(dealernet_proto::FILE_DESCRIPTOR_SET);
            for service in services {
                server = wiring::add(
                    server,
                    service,
                    config,
                    &peers,
                    &clock,
                    &metrics,
                    &mut background,
                )
                .await?;
            }
            servers.push((listener, server));
        }
        let gateway = if with_gateway {
            let required = |kind: ServiceKind, configured: &Option<String>| {
                url_of(configured, kind)
                    .with_context(|| format!("no address for the {} service", kind.name()))
            };
            let urls = BackendUrls {
                customers: required(ServiceKind::Customers, &config.customers_url)?,
                vehicles: required(ServiceKind::Vehicles, &config.vehicles_url)?,
                callcenter: required(ServiceKind::Callcenter, &config.callcenter_url)?,
                dealers: required(ServiceKind::Dealers, &config.dealers_url)?,
            };
            Some(Gateway::build(config, &urls, &metrics).await?)
        } else {
            None
        };
        let addr = match &gateway {
            Some(gateway) => gateway.addr(),
            None => backend_addrs
                .first()
                .map(|(_, a)| *a)
                .context("no service to run")?,
        };
        Ok(Platform {
            addr,
            servers,
            gateway,
            backend_addrs,
            background,
            metrics,
            metrics_listener,
        })
    }

    /// Where `GET /metrics` answers, when `metrics_addr` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().map(|(_, addr)| *addr)
    }

    /// The public address actually bound (useful with port 0): the gateway's when this
    /// process runs it, else the services'.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where a backend service of this process listens.
    pub fn backend_addr(&self, service: ServiceKind) -> Option<SocketAddr> {
        self.backend_addrs
            .iter()
            .find(|(k, _)| *k == service)
            .map(|(_, a)| *a)
    }

    /// Serves until `shutdown` resolves, then drains in-flight calls and stops background work.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(());
        let signal = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.changed().await;
            }
        };
        let mut tasks = tokio::task::JoinSet::new();
        for (listener, server) in self.servers {
            let signal = signal();
            tasks
                .spawn(async move { server.serve(listener, signal).await.context("serving gRPC") });
        }
        if let Some(gateway) = self.gateway {
            tasks.spawn(gateway.run_until_stopped(signal()));
        }
        if let Some((listener, _)) = self.metrics_listener {
            let signal = signal();
            tasks.spawn(async move {
                metrics::serve(listener, self.metrics, signal).await;
                Ok(())
            });
        }
        // A server that fails stops the others; otherwise all stop on the signal.
        let mut result = tokio::select! {
            () = shutdown => Ok(()),
            Some(done) = tasks.join_next() => done.context("a server task").and_then(|r| r),
        };
        let _ = stop.send(());
        // Background work first: its consumers hold event streams of these very servers,
        // which a graceful shutdown would otherwise wait for.
        for task in &self.background {
            task.abort();
        }
        while let Some(done) = tasks.join_next().await {
            if result.is_ok() {
                result = done.context("a server task").and_then(|r| r);
            }
        }
        result
    }
}

/// Resolves on Ctrl-C or SIGTERM (how Kubernetes asks a pod to stop).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
