//! ListParkedEvents and RetryParkedEvent over the events of the vehicle service, the call
//! center and the registry that the consumers could not apply. The service publishes no
//! events of its own.

use dealernet_kit::{auth::Principal, events::rpc};
use dealernet_proto::dealers::v1 as pb;
use tonic::Status;

use crate::{
    Service,
    consumers::{
        SOURCES, customers::CustomerChanges, surveys::SurveyFacts, vehicles::VehicleFacts,
    },
};

impl Service {
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
        let (pool, source) = (&self.pool, req.source.as_str());
        let (applied, parked_event) = match source {
            "vehicles" => rpc::retry_parked_event(pool, &VehicleFacts, source, id).await?,
            "callcenter" => rpc::retry_parked_event(pool, &SurveyFacts, source, id).await?,
            _ => rpc::retry_parked_event(pool, &CustomerChanges, source, id).await?,
        };
        Ok(pb::RetryParkedEventResponse {
            applied,
            parked_event,
        })
    }
}
