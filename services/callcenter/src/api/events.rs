//! StreamEvents and AckEvents over the call center's outbox; ListParkedEvents and
//! RetryParkedEvent over the vehicle service's and the registry's events it could not apply.

use dealernet_kit::{auth::Principal, events::rpc};
use dealernet_proto::callcenter::v1 as pb;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::Outreach;
use crate::{Service, customer_events::CustomerEvents, events::EVENT_TYPES};

/// The streams the service consumes.
const SOURCES: &[&str] = &["vehicles", "customers"];

impl Service {
    pub(super) async fn stream_events(
        &self,
        principal: &Principal,
        req: pb::StreamEventsRequest,
    ) -> Result<ReceiverStream<Result<pb::StreamEventsResponse, Status>>, Status> {
        rpc::stream_events(
            &self.outbox,
            principal,
            &req.after_cursor,
            &req.event_types,
            &req.consumer,
            EVENT_TYPES,
            true,
        )
        .await
    }

    pub(super) async fn ack_events(
        &self,
        principal: &Principal,
        req: pb::AckEventsRequest,
    ) -> Result<pb::AckEventsResponse, Status> {
        let cursor = rpc::ack_events(&self.pool, principal, &req.consumer, &req.cursor).await?;
        Ok(pb::AckEventsResponse { cursor })
    }

    pub(super) async fn list_parked_events(
        &self,
        principal: &Principal,
        req: pb::ListParkedEventsRequest,
    ) -> Result<pb::ListParkedEventsResponse, Status> {
        let parked_events =
            rpc::list_parked_events(&self.pool, principal, &req.source, req.page_size, SOURCES)
                .await?;
        Ok(pb::ListParkedEventsResponse { parked_events })
    }

    pub(super) async fn retry_parked_event(
        &self,
        principal: &Principal,
        req: pb::RetryParkedEventRequest,
    ) -> Result<pb::RetryParkedEventResponse, Status> {
        let id = rpc::retry_request(principal, &req.source, &req.event_id, SOURCES)?;
        let (applied, parked_event) = match req.source.as_str() {
            "vehicles" => {
                let outreach = Outreach::new(self.clone());
                rpc::retry_parked_event(&self.pool, &outreach, &req.source, id).await?
            }
            _ => {
                let events = CustomerEvents::new(self.clone());
                rpc::retry_parked_event(&self.pool, &events, &req.source, id).await?
            }
        };
        Ok(pb::RetryParkedEventResponse {
            applied,
            parked_event,
        })
    }
}
