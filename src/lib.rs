//! The `dealernet` platform: every service of the project assembled into one process.
//!
//! [`Platform::build`] migrates and wires the configured services onto one gRPC listener;
//! tests build it on port 0 and talk to [`Platform::addr`]; `dealernet serve` and
//! `dealernet dev` run it until a signal arrives.

mod demo;
pub mod dev;

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context;
use dealernet_kit::{
    auth::{Authenticate, TokenKeys},
    clock::Clock,
    config::{Config, ServiceKind},
    db,
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
        };
        db::migrate(database_url, schema, migrator)
            .await
            .with_context(|| format!("migrating schema {}", service.name()))?;
    }
    Ok(())
}

/// A built platform: listener bound, services wired, not yet serving.
pub struct Platform {
    listener: TcpListener,
    addr: SocketAddr,
    server: GrpcServer,
    background: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Platform {
    /// Migrates the configured services, connects their pools and binds the listener.
    pub async fn build(config: &Config) -> anyhow::Result<Platform> {
        Self::build_with_clock(config, Clock::System).await
    }

    /// As [`Platform::build`], with the services that keep deadlines (dealers) telling
    /// time by `clock`: tests move a manual clock instead of waiting.
    pub async fn build_with_clock(config: &Config, clock: Clock) -> anyhow::Result<Platform> {
        let url = config.require_database_url()?.to_owned();
        migrate(&url, &config.services).await?;
        let auth = Authenticate::new(TokenKeys::new(config.secrets.jwt_secret.clone()));
        let mut server = GrpcServer::new(config.concurrency_limit)
            .add_descriptors(dealernet_proto::FILE_DESCRIPTOR_SET);
        let mut background = Vec::new();
        // Bound first: services that call the registry in this same process need its address.
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .with_context(|| format!("binding {}", config.listen_addr))?;
        let addr = listener.local_addr()?;
        let customers_url = config.customers_url.clone().unwrap_or_else(|| {
            let local = SocketAddr::from(([127, 0, 0, 1], addr.port()));
            format!("http://{local}")
        });
        let dealers_url = config.dealers_url.clone().unwrap_or_else(|| {
            format!("http://{}", SocketAddr::from(([127, 0, 0, 1], addr.port())))
        });
        // Follow-up calls go to the configured call center, else to this process's own.
        let callcenter_url = config.callcenter_url.clone().or_else(|| {
            config
                .services
                .contains(&ServiceKind::Callcenter)
                .then(|| format!("http://{}", SocketAddr::from(([127, 0, 0, 1], addr.port()))))
        });
        for service in &config.services {
            match service {
                ServiceKind::Customers => {
                    let pool = db::pool(
                        &url,
                        dealernet_customers::SCHEMA,
                        config.database_max_connections,
                    )
                    .await
                    .context("connecting the customers pool")?;
                    let registry = dealernet_customers::Service::new(pool, &config.secrets);
                    background.push(tokio::spawn(
                        registry
                            .clone()
                            .run_maintenance(config.idempotency_retention_hours),
                    ));
                    server = server.add_service(registry.into_server(auth.clone()));
                }
                ServiceKind::Callcenter => {
                    let pool = db::pool(
                        &url,
                        dealernet_callcenter::SCHEMA,
                        config.database_max_connections,
                    )
                    .await
                    .context("connecting the callcenter pool")?;
                    let hotline = dealernet_callcenter::Service::new(
                        pool,
                        &config.secrets,
                        &customers_url,
                        &dealers_url,
                        clock.clone(),
                    )
                    .map_err(anyhow::Error::msg)?;
                    background.push(tokio::spawn(hotline.clone().run_sla_sweeper()));
                    server = server.add_service(hotline.into_server(auth.clone()));
                }
                ServiceKind::Vehicles => {
                    let pool = db::pool(
                        &url,
                        dealernet_vehicles::SCHEMA,
                        config.database_max_connections,
                    )
                    .await
                    .context("connecting the vehicles pool")?;
                    server = server.add_service(
                        dealernet_vehicles::Service::new(
                            pool,
                            &config.secrets,
                            &customers_url,
                            &dealers_url,
                            callcenter_url.as_deref(),
                        )
                        .map_err(anyhow::Error::msg)?
                        .into_server(auth.clone()),
                    );
                }
                ServiceKind::Dealers => {
                    let pool = db::pool(
                        &url,
                        dealernet_dealers::SCHEMA,
                        config.database_max_connections,
                    )
                    .await
                    .context("connecting the dealers pool")?;
                    let sweep_every = (config.lead_sweep_interval_secs > 0)
                        .then(|| Duration::from_secs(config.lead_sweep_interval_secs));
                    background.push(tokio::spawn(
                        dealernet_dealers::sweeper::Sweeper::new(pool.clone()).run(
                            clock.clone(),
                            sweep_every,
                            config.idempotency_retention_hours,
                        ),
                    ));
                    server = server.add_service(
                        dealernet_dealers::Service::new(pool, &config.secrets, clock.clone())
                            .into_server(auth.clone()),
                    );
                }
            }
        }
        Ok(Platform {
            listener,
            addr,
            server,
            background,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` resolves, then drains in-flight calls and stops background work.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let result = self.server.serve(self.listener, shutdown).await;
        for task in self.background {
            task.abort();
        }
        result.context("serving gRPC")
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
