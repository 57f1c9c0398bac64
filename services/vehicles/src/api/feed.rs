//! The carriers' bulk transit feed: a stream of items in, one result per item out, in
//! order. Each item is applied in its own transaction exactly as the unary action would
//! be, so a bad item is rejected alone and the stream goes on. (The production feed is
//! batched: see `production_feed`.)

use dealernet_kit::auth::{Principal, Role};
use dealernet_proto::vehicles::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};
use tonic_types::StatusExt;

use super::Result;
use crate::{Error, Service};

/// Results waiting to be sent; the feed reads no further ahead than this.
const IN_FLIGHT: usize = 64;

/// The stable reason and message of a refusal, as a unary call would have returned them.
pub(super) fn rejection(error: Error) -> (String, String) {
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
