//! StreamEvents and AckEvents over the registry's outbox; ListParkedEvents and
//! RetryParkedEvent over the other services' events it could not apply.

use dealernet_kit::events::rpc;
use dealernet_proto::customers::v1 as pb;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::grpc::Caller;
use crate::{Service, events::EVENT_TYPES};

/// The streams the registry consumes.
const SOURCES: &[&str] = &[];

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
        rpc::retry_request(&caller.principal, &req.source, &req.event_id, SOURCES)?;
        Err(Status::internal("no consumer of this source"))
    }
}
