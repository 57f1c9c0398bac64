//! Health for the whole platform: the gateway reports each service SERVING or
//! NOT_SERVING as the service itself last answered its health check, so a client or load
//! balancer asking the gateway learns what is behind it.

use std::{sync::Arc, time::Duration};

use tonic_health::{
    ServingStatus,
    pb::{HealthCheckRequest, health_check_response, health_client::HealthClient},
    server::HealthReporter,
};

use crate::{
    catalogue::{Backend, Catalogue},
    proxy::Proxy,
};

const EVERY: Duration = Duration::from_secs(5);
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Prober {
    reporter: HealthReporter,
    proxy: Proxy,
    catalogue: Arc<Catalogue>,
}

impl Prober {
    pub fn new(reporter: HealthReporter, proxy: Proxy, catalogue: Arc<Catalogue>) -> Prober {
        Prober {
            reporter,
            proxy,
            catalogue,
        }
    }

    /// Checks every service every few seconds, forever.
    pub async fn run(self) {
        self.reporter
            .set_service_status(
                "dealernet.gateway.v1.GatewayService",
                ServingStatus::Serving,
            )
            .await;
        let mut every = tokio::time::interval(EVERY);
        loop {
            every.tick().await;
            for (service, backend) in self.catalogue.service_backends() {
                if backend == Backend::Gateway {
                    continue;
                }
                let Some(channel) = self.proxy.channel(backend) else {
                    continue;
                };
                let mut client = HealthClient::new(channel);
                let check = client.check(HealthCheckRequest {
                    service: service.clone(),
                });
                let serving = matches!(
                    tokio::time::timeout(CHECK_TIMEOUT, check).await,
                    Ok(Ok(answer)) if answer.get_ref().status
                        == health_check_response::ServingStatus::Serving as i32
                );
                let status = if serving {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                };
                self.reporter.set_service_status(service, status).await;
            }
        }
    }
}
