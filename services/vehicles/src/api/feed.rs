//! Bulk feeds from factory and carrier systems: a stream of items in, one result per item
//! out, in order. Each item is applied in its own transaction exactly as the unary action
//! would be, so a bad item is rejected alone and the stream goes on.

use dealernet_kit::auth::{Principal, Role};
use dealernet_proto::vehicles::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};
use tonic_types::StatusExt;

use super::Result;
use crate::{Error, Service, domain::vin::Vin, store};

/// Results waiting to be sent; the feed reads no further ahead than this.
const IN_FLIGHT: usize = 64;

impl Service {
    pub(super) fn stream_production(
        &self,
        principal: Principal,
        mut inbound: Streaming<pb::StreamProductionRequest>,
    ) -> Result<ReceiverStream<std::result::Result<pb::StreamProductionResponse, Status>>> {
        if !(principal.has_role(Role::System) || principal.is_head_office()) {
            return Err(Error::PermissionDenied {
                reason: "PRODUCTION_NOT_ALLOWED",
                message: "production is registered by factory systems (role system) or HQ".into(),
            });
        }
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let service = self.clone();
        tokio::spawn(async move {
            loop {
                let item = match inbound.message().await {
                    Ok(Some(item)) => item,
                    Ok(None) => break,
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        break;
                    }
                };
                let result = service.production_item(&principal, item).await;
                if tx.send(Ok(result)).await.is_err() {
                    break; // the client went away
                }
            }
        });
        Ok(ReceiverStream::new(rx))
    }

    async fn production_item(
        &self,
        principal: &Principal,
        item: pb::StreamProductionRequest,
    ) -> pb::StreamProductionResponse {
        let request = pb::RegisterProductionRequest {
            vin: item.vin.clone(),
            model: item.model.clone(),
            plant: item.plant.clone(),
            line: item.line.clone(),
            built_at: item.built_at,
            engine_number: item.engine_number.clone(),
            colour: item.colour.clone(),
            request_id: String::new(),
        };
        let outcome = match self.register_production(principal, request).await {
            Ok(_) => Ok(pb::ItemOutcome::Applied),
            Err(Error::Precondition {
                reason: "VEHICLE_ALREADY_REGISTERED",
                message,
            }) => match self.same_production(&item).await {
                Ok(true) => Ok(pb::ItemOutcome::Duplicate),
                Ok(false) => Err((
                    "VEHICLE_ALREADY_REGISTERED".to_owned(),
                    format!("{message} with other data"),
                )),
                Err(e) => Err(rejection(e)),
            },
            Err(e) => Err(rejection(e)),
        };
        let (outcome, reason, message) = match outcome {
            Ok(outcome) => (outcome, String::new(), String::new()),
            Err((reason, message)) => (pb::ItemOutcome::Rejected, reason, message),
        };
        pb::StreamProductionResponse {
            item_id: item.item_id,
            vin: item.vin,
            outcome: outcome as i32,
            reason,
            message,
        }
    }

    /// Whether the stored vehicle is exactly what the item says (a resend, not a clash).
    async fn same_production(&self, item: &pb::StreamProductionRequest) -> Result<bool> {
        let Ok(vin) = Vin::parse(&item.vin) else {
            return Ok(false);
        };
        let mut conn = self.pool.acquire().await?;
        let Some(stored) = store::vehicle::load(&mut conn, &vin, false).await? else {
            return Ok(false);
        };
        let built_at = item.built_at.as_ref().map(|t| (t.seconds, t.nanos / 1_000));
        Ok(format!("models/{}", stored.model_code) == item.model
            && stored.plant == item.plant.trim()
            && stored.line == item.line.trim()
            && stored.engine_number == item.engine_number.trim()
            && stored.colour == item.colour.trim()
            && built_at
                == Some((
                    stored.built_at.timestamp(),
                    (stored.built_at.timestamp_subsec_nanos() / 1_000) as i32,
                )))
    }
}

/// The stable reason and message of a refusal, as a unary call would have returned them.
fn rejection(error: Error) -> (String, String) {
    let status = Status::from(error);
    let reason = status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default();
    (reason, status.message().to_owned())
}

impl Service {
    pub(super) fn stream_transit_events(
        &self,
        principal: Principal,
        mut inbound: Streaming<pb::StreamTransitEventsRequest>,
    ) -> Result<ReceiverStream<std::result::Result<pb::StreamTransitEventsResponse, Status>>> {
        if !(principal.has_role(Role::System) || principal.is_head_office()) {
            return Err(Error::PermissionDenied {
                reason: "LOGISTICS_ROLE_REQUIRED",
                message: "recording transit is for factory and carrier systems (role system) or HQ"
                    .into(),
            });
        }
        let (tx, rx) = mpsc::channel(IN_FLIGHT);
        let service = self.clone();
        tokio::spawn(async move {
            loop {
                let item = match inbound.message().await {
                    Ok(Some(item)) => item,
                    Ok(None) => break,
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        break;
                    }
                };
                let request = pb::RecordTransitEventRequest {
                    vehicle: item.vehicle,
                    position: item.position,
                    time: item.time,
                    status: item.status,
                    request_id: String::new(),
                };
                let (outcome, reason, message) =
                    match service.record_transit_event(&principal, request).await {
                        Ok(r) if r.duplicate => {
                            (pb::ItemOutcome::Duplicate, String::new(), String::new())
                        }
                        Ok(_) => (pb::ItemOutcome::Applied, String::new(), String::new()),
                        Err(e) => {
                            let (reason, message) = rejection(e);
                            (pb::ItemOutcome::Rejected, reason, message)
                        }
                    };
                let result = pb::StreamTransitEventsResponse {
                    item_id: item.item_id,
                    outcome: outcome as i32,
                    reason,
                    message,
                };
                if tx.send(Ok(result)).await.is_err() {
                    break;
                }
            }
        });
        Ok(ReceiverStream::new(rx))
    }
}
