//! StreamEvents and AckEvents over the registry's outbox; ListParkedEvents and
//! RetryParkedEvent over the vehicle service's and the call center's events it could not
//! apply (customer value's facts).

use dealernet_kit::events::rpc;
use dealernet_proto::customers::v1 as pb;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::grpc::Caller;
use crate::{
    Service,
    events::EVENT_TYPES,
    value_feed::{CallCenterFacts, VehicleFacts},
};

/// The streams the registry consumes.
const SOURCES: &[&str] = &["vehicles", "callcenter"];

impl Service {
    pub(super) async fn stream_events(
        &self,
        caller: &Caller,
        req: pb::StreamEventsRequest,
    ) -> Result<ReceiverStream<Result<pb::StreamEventsResponse, Status>>, Status> {
        // Merges, erasures and birthdays concern the whole registry: no outlet reads this
        // stream.
        rpc::stream_events(
            &self.outbox,
            &caller.principal,
            &req.after_cursor,
            &req.event_types,
            &req.consumer,
            EVENT_TYPES,
            false,
        )
        .await
    }

    pub(super) async fn ack_events(
        &self,
        caller: &Caller,
        req: pb::AckEventsRequest,
    ) -> Result<pb::AckEventsResponse, Status> {
        let cursor =
            rpc::ack_events(&self.pool, &caller.principal, &req.consumer, &req.cursor).await?;
        Ok(pb::AckEventsResponse { cursor })
    }

    pub(super) async fn list_parked_events(
        &self,
        caller: &Caller,
        req: pb::ListParkedEventsRequest,
    ) -> Result<pb::ListParkedEventsResponse, Status> {
        let parked_events = rpc::list_parked_events(
            &self.pool,
            &caller.principal,
            &req.source,
            req.page_size,
            SOURCES,
        )
        .await?;
        Ok(pb::ListParkedEventsResponse { parked_events })
    }

    pub(super) async fn retry_parked_event(
        &self,
        caller: &Caller,
        req: pb::RetryParkedEventRequest,
    ) -> Result<pb::RetryParkedEventResponse, Status> {
        let id = rpc::retry_request(&caller.principal, &req.source, &req.event_id, SOURCES)?;
        let rules = self.value_rules;
        let (applied, parked_event) = match req.source.as_str() {
            "vehicles" => {
                rpc::retry_parked_event(&self.pool, &VehicleFacts { rules }, &req.source, id)
                    .await?
            }
            _ => {
                rpc::retry_parked_event(&self.pool, &CallCenterFacts { rules }, &req.source, id)
                    .await?
            }
        };
        Ok(pb::RetryParkedEventResponse {
            applied,
            parked_event,
        })
    }
}
