//! One backend service built from the settings: its pool, its background work and its
//! gRPC service added to a server.

use std::time::Duration;

use anyhow::Context;
use dealernet_kit::{
    auth::Authenticate,
    clock::Clock,
    config::Config,
    config::ServiceKind,
    db,
    events::{Consumer, PruneSettings, Source},
    metrics::Metrics,
    server::GrpcServer,
};
use tokio::task::JoinHandle;

/// Time between pruning rounds of each outbox.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Where the services this one calls answer.
#[derive(Debug, Clone)]
pub struct Peers {
    pub customers: String,
    pub dealers: String,
    /// `None`: the vehicle service's events are not consumed here (no URL configured and
    /// not in this process).
    pub vehicles: Option<String>,
    /// `None`: the call center's events are not consumed here (no URL configured and not
    /// in this process).
    pub callcenter: Option<String>,
}

/// Adds `service` to `server`, pushing its background tasks onto `background`; its pool
/// (and the registry's access log) are reported in `metrics`.
pub async fn add(
    server: GrpcServer,
    service: ServiceKind,
    config: &Config,
    peers: &Peers,
    clock: &Clock,
    metrics: &Metrics,
    background: &mut Vec<JoinHandle<()>>,
) -> anyhow::Result<GrpcServer> {
    let url = config.require_database_url()?;
    let auth = Authenticate::new(dealernet_kit::auth::TokenKeys::new(
        config.secrets.jwt_secret.clone(),
    ));
    let pool = |schema: &'static str| async move {
        let pool = db::pool(url, schema, config.database_max_connections)
            .await
            .with_context(|| format!("connecting the {schema} pool"))?;
        metrics.watch_pool(schema, pool.clone());
        anyhow::Ok(pool)
    };
    let events_poll = Duration::from_millis(config.events_poll_interval_ms);
    let pruning = PruneSettings {
        retention: Duration::from_secs(config.events_retention_hours * 3600),
        every: PRUNE_EVERY,
    };
    Ok(match service {
        ServiceKind::Customers => {
            let rules = dealernet_customers::value_rules(&config.value);
            let registry = dealernet_customers::Service::new(
                pool(dealernet_customers::SCHEMA).await?,
                &config.secrets,
                events_poll,
            )
            .with_value_rules(rules);
            // Customer value's facts: one consumer per source (one cursor row each).
            let secret = || config.secrets.jwt_secret.clone();
            if let Some(vehicles) = &peers.vehicles {
                let source = Source::vehicles(vehicles, secret(), "CUSTOMERS")
                    .map_err(anyhow::Error::msg)?;
                background.push(tokio::spawn(
                    Consumer::new(
                        dealernet_customers::value_feed::CONSUMER,
                        source,
                        dealernet_customers::value_feed::VehicleFacts { rules },
                        registry.pool(),
                    )
                    .run(),
                ));
            }
            if let Some(callcenter) = &peers.callcenter {
                let source = Source::callcenter(callcenter, secret(), "CUSTOMERS")
                    .map_err(anyhow::Error::msg)?;
                background.push(tokio::spawn(
                    Consumer::new(
                        dealernet_customers::value_feed::CONSUMER,
                        source,
                        dealernet_customers::value_feed::CallCenterFacts { rules },
                        registry.pool(),
                    )
                    .run(),
                ));
            }
            background.push(tokio::spawn(registry.outbox().run_pruning(pruning)));
            background.push(tokio::spawn(registry.birthdays().run(clock.clone())));
            metrics.watch_access_log(registry.access_log_stats());
            background.push(tokio::spawn(
                registry
                    .clone()
                    .run_maintenance(config.idempotency_retention_hours),
            ));
            server.add_service(registry.into_server(auth))
        }
        ServiceKind::Callcenter => {
            let hotline = dealernet_callcenter::Service::new(
                pool(dealernet_callcenter::SCHEMA).await?,
                &config.secrets,
                (&peers.customers, &peers.dealers, peers.vehicles.as_deref()),
                clock.clone(),
                events_poll,
            )
            .map_err(anyhow::Error::msg)?;
            background.push(tokio::spawn(hotline.clone().run_sla_sweeper()));
            background.push(tokio::spawn(hotline.outbox().run_pruning(pruning)));
            let secret = || config.secrets.jwt_secret.clone();
            let registry_events = Source::customers(&peers.customers, secret(), "CALLCENTER")
                .map_err(anyhow::Error::msg)?;
            background.push(tokio::spawn(
                Consumer::new(
                    dealernet_callcenter::customer_events::CONSUMER,
                    registry_events,
                    dealernet_callcenter::customer_events::CustomerEvents::new(hotline.clone()),
                    hotline.pool(),
                )
                .run(),
            ));
            if let Some(vehicles) = &peers.vehicles {
                let source = Source::vehicles(vehicles, secret(), "CALLCENTER")
                    .map_err(anyhow::Error::msg)?;
                let outreach = dealernet_callcenter::api::Outreach::new(hotline.clone());
                background.push(tokio::spawn(
                    Consumer::new(
                        dealernet_callcenter::api::OUTREACH_CONSUMER,
                        source,
                        outreach,
                        hotline.pool(),
                    )
                    .run(),
                ));
            }
            server.add_service(hotline.into_server(auth))
        }
        ServiceKind::Vehicles => {
            let vehicles = dealernet_vehicles::Service::new(
                pool(dealernet_vehicles::SCHEMA).await?,
                &config.secrets,
                &peers.customers,
                &peers.dealers,
                events_poll,
            )
            .map_err(anyhow::Error::msg)?;
            background.push(tokio::spawn(vehicles.outbox().run_pruning(pruning)));
            let merges = Source::customers(
                &peers.customers,
                config.secrets.jwt_secret.clone(),
                "VEHICLES",
            )
            .map_err(anyhow::Error::msg)?;
            background.push(tokio::spawn(
                Consumer::new(
                    dealernet_vehicles::merges::CONSUMER,
                    merges,
                    dealernet_vehicles::merges::CustomerMerges,
                    vehicles.pool(),
                )
                .run(),
            ));
            server.add_service(vehicles.into_server(auth))
        }
        ServiceKind::Dealers => {
            let pool = pool(dealernet_dealers::SCHEMA).await?;
            let sweep_every = (config.lead_sweep_interval_secs > 0)
                .then(|| Duration::from_secs(config.lead_sweep_interval_secs));
            background.push(tokio::spawn(
                dealernet_dealers::sweeper::Sweeper::new(pool.clone()).run(
                    clock.clone(),
                    sweep_every,
                    config.idempotency_retention_hours,
                ),
            ));
            spawn_dealers_consumers(config, peers, &pool, background)?;
            server.add_service(
                dealernet_dealers::Service::new(pool, &config.secrets, clock.clone())
                    .into_server(auth),
            )
        }
        ServiceKind::Gateway => {
            anyhow::bail!("the gateway is not a backend service")
        }
    })
}

/// The dealer network's consumers, one per source (each source has one cursor row), each
/// when its publisher's URL is known: the registry's merges and erasures, the vehicle
/// service's and the call center's events (scorecard figures).
fn spawn_dealers_consumers(
    config: &Config,
    peers: &Peers,
    pool: &sqlx::PgPool,
    background: &mut Vec<JoinHandle<()>>,
) -> anyhow::Result<()> {
    use dealernet_dealers::consumers::{
        CONSUMER, customers::CustomerChanges, surveys::SurveyFacts, vehicles::VehicleFacts,
    };
    let secret = || config.secrets.jwt_secret.clone();
    if !peers.customers.is_empty() {
        let source =
            Source::customers(&peers.customers, secret(), "DEALERS").map_err(anyhow::Error::msg)?;
        background.push(tokio::spawn(
            Consumer::new(CONSUMER, source, CustomerChanges, pool.clone()).run(),
        ));
    }
    if let Some(vehicles) = &peers.vehicles {
        let source = Source::vehicles(vehicles, secret(), "DEALERS").map_err(anyhow::Error::msg)?;
        background.push(tokio::spawn(
            Consumer::new(CONSUMER, source, VehicleFacts, pool.clone()).run(),
        ));
    }
    if let Some(callcenter) = &peers.callcenter {
        let source =
            Source::callcenter(callcenter, secret(), "DEALERS").map_err(anyhow::Error::msg)?;
        background.push(tokio::spawn(
            Consumer::new(CONSUMER, source, SurveyFacts, pool.clone()).run(),
        ));
    }
    Ok(())
}
