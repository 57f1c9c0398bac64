//! The gRPC face of the vehicle service: the `VehicleService` trait, and what every
//! handler shares (idempotency, the head-office check).

mod catalogue;
mod correction;
mod events;
mod feed;
mod insights;
mod listing;
mod production_feed;
mod recall;
mod repair;
mod repair_input;
mod repair_view;
mod sale;
mod stock;
mod vehicle;

pub(crate) use vehicle::state_to_proto;

use dealernet_kit::{
    auth::Principal,
    idempotency::{self, IdempotencyKey},
};
use dealernet_proto::vehicles::v1::{self as pb, vehicle_service_server::VehicleService};
use prost::Message;
use sqlx::PgConnection;
use tonic::{Request, Response, Status};

use crate::{Error, Service};

type Result<T> = std::result::Result<T, Error>;

pub(super) async fn replay<R: Message + Default>(
    tx: &mut PgConnection,
    key: Option<&IdempotencyKey>,
) -> Result<Option<R>> {
    Ok(idempotency::replay(tx, key).await?)
}

/// Saves the response with its idempotency key, commits the change, answers.
pub(super) async fn commit<R: Message>(
    tx: sqlx::Transaction<'_, sqlx::Postgres>,
    key: Option<&IdempotencyKey>,
    response: R,
    resource: &str,
) -> Result<R> {
    Ok(idempotency::commit(tx, key, response, resource).await?)
}

/// Reads a required client timestamp; `not_future` refuses one more than five minutes
/// ahead of the server's clock.
pub(super) fn required_time(
    v: &mut dealernet_kit::error::FieldViolations,
    field: &str,
    t: Option<&prost_types::Timestamp>,
    not_future: bool,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let Some(t) = t else {
        v.add(field, "required");
        return None;
    };
    match u32::try_from(t.nanos)
        .ok()
        .and_then(|n| chrono::DateTime::from_timestamp(t.seconds, n))
    {
        Some(at) if not_future && at > crate::now() + chrono::TimeDelta::minutes(5) => {
            v.add(field, "must not be in the future");
            None
        }
        Some(at) => Some(at),
        None => {
            v.add(field, "is not a valid timestamp");
            None
        }
    }
}

pub(super) fn require_head_office(principal: &Principal, action: &str) -> Result<()> {
    if principal.is_head_office() {
        return Ok(());
    }
    Err(Error::PermissionDenied {
        reason: "HQ_ROLE_REQUIRED",
        message: format!("{action} needs an HQ principal with role hq or steward"),
    })
}

#[tonic::async_trait]
impl VehicleService for Service {
    async fn create_model(
        &self,
        request: Request<pb::CreateModelRequest>,
    ) -> std::result::Result<Response<pb::CreateModelResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.create_model(&principal, request.into_inner()).await?,
        ))
    }

    async fn get_model(
        &self,
        request: Request<pb::GetModelRequest>,
    ) -> std::result::Result<Response<pb::GetModelResponse>, Status> {
        Principal::of(&request)?;
        Ok(Response::new(self.get_model(request.into_inner()).await?))
    }

    async fn list_models(
        &self,
        request: Request<pb::ListModelsRequest>,
    ) -> std::result::Result<Response<pb::ListModelsResponse>, Status> {
        Principal::of(&request)?;
        Ok(Response::new(self.list_models(request.into_inner()).await?))
    }

    async fn create_model_price(
        &self,
        request: Request<pb::CreateModelPriceRequest>,
    ) -> std::result::Result<Response<pb::CreateModelPriceResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.create_model_price(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn list_model_prices(
        &self,
        request: Request<pb::ListModelPricesRequest>,
    ) -> std::result::Result<Response<pb::ListModelPricesResponse>, Status> {
        Principal::of(&request)?;
        Ok(Response::new(
            self.list_model_prices(request.into_inner()).await?,
        ))
    }

    async fn decode_vin(
        &self,
        request: Request<pb::DecodeVinRequest>,
    ) -> std::result::Result<Response<pb::DecodeVinResponse>, Status> {
        Principal::of(&request)?;
        Ok(Response::new(self.decode_vin(request.into_inner())?))
    }

    async fn register_production(
        &self,
        request: Request<pb::RegisterProductionRequest>,
    ) -> std::result::Result<Response<pb::RegisterProductionResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.register_production(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn get_vehicle(
        &self,
        request: Request<pb::GetVehicleRequest>,
    ) -> std::result::Result<Response<pb::GetVehicleResponse>, Status> {
        Principal::of(&request)?;
        let caller = request.metadata().clone();
        Ok(Response::new(
            self.get_vehicle(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_vehicle_timeline(
        &self,
        request: Request<pb::GetVehicleTimelineRequest>,
    ) -> std::result::Result<Response<pb::GetVehicleTimelineResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.get_vehicle_timeline(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn dispatch_shipment(
        &self,
        request: Request<pb::DispatchShipmentRequest>,
    ) -> std::result::Result<Response<pb::DispatchShipmentResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.dispatch_shipment(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn record_transit_event(
        &self,
        request: Request<pb::RecordTransitEventRequest>,
    ) -> std::result::Result<Response<pb::RecordTransitEventResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.record_transit_event(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn receive_at_dealer(
        &self,
        request: Request<pb::ReceiveAtDealerRequest>,
    ) -> std::result::Result<Response<pb::ReceiveAtDealerResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.receive_at_dealer(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn transfer_stock(
        &self,
        request: Request<pb::TransferStockRequest>,
    ) -> std::result::Result<Response<pb::TransferStockResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.transfer_stock(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn reserve_vehicle(
        &self,
        request: Request<pb::ReserveVehicleRequest>,
    ) -> std::result::Result<Response<pb::ReserveVehicleResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.reserve_vehicle(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn release_reservation(
        &self,
        request: Request<pb::ReleaseReservationRequest>,
    ) -> std::result::Result<Response<pb::ReleaseReservationResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.release_reservation(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn sell_vehicle(
        &self,
        request: Request<pb::SellVehicleRequest>,
    ) -> std::result::Result<Response<pb::SellVehicleResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.sell_vehicle(&principal, request.into_inner()).await?,
        ))
    }

    async fn deliver_vehicle(
        &self,
        request: Request<pb::DeliverVehicleRequest>,
    ) -> std::result::Result<Response<pb::DeliverVehicleResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.deliver_vehicle(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn transfer_ownership(
        &self,
        request: Request<pb::TransferOwnershipRequest>,
    ) -> std::result::Result<Response<pb::TransferOwnershipResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.transfer_ownership(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn scrap_vehicle(
        &self,
        request: Request<pb::ScrapVehicleRequest>,
    ) -> std::result::Result<Response<pb::ScrapVehicleResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.scrap_vehicle(&principal, request.into_inner()).await?,
        ))
    }

    async fn override_state(
        &self,
        request: Request<pb::OverrideStateRequest>,
    ) -> std::result::Result<Response<pb::OverrideStateResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.override_state(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn record_odometer_reading(
        &self,
        request: Request<pb::RecordOdometerReadingRequest>,
    ) -> std::result::Result<Response<pb::RecordOdometerReadingResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.record_odometer_reading(&principal, request.into_inner())
                .await?,
        ))
    }

    type StreamProductionStream = tokio_stream::wrappers::ReceiverStream<
        std::result::Result<pb::StreamProductionResponse, Status>,
    >;

    async fn stream_production(
        &self,
        request: Request<tonic::Streaming<pb::StreamProductionRequest>>,
    ) -> std::result::Result<Response<Self::StreamProductionStream>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.stream_production(principal, request.into_inner())?,
        ))
    }

    async fn check_warranty(
        &self,
        request: Request<pb::CheckWarrantyRequest>,
    ) -> std::result::Result<Response<pb::CheckWarrantyResponse>, Status> {
        Principal::of(&request)?;
        Ok(Response::new(
            self.check_warranty(request.into_inner()).await?,
        ))
    }

    type StreamTransitEventsStream = tokio_stream::wrappers::ReceiverStream<
        std::result::Result<pb::StreamTransitEventsResponse, Status>,
    >;

    async fn stream_transit_events(
        &self,
        request: Request<tonic::Streaming<pb::StreamTransitEventsRequest>>,
    ) -> std::result::Result<Response<Self::StreamTransitEventsStream>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.stream_transit_events(principal, request.into_inner())?,
        ))
    }

    async fn list_vehicles(
        &self,
        request: Request<pb::ListVehiclesRequest>,
    ) -> std::result::Result<Response<pb::ListVehiclesResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.list_vehicles(&principal, request.into_inner()).await?,
        ))
    }

    async fn count_vehicles(
        &self,
        request: Request<pb::CountVehiclesRequest>,
    ) -> std::result::Result<Response<pb::CountVehiclesResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.count_vehicles(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn open_repair_order(
        &self,
        request: Request<pb::OpenRepairOrderRequest>,
    ) -> std::result::Result<Response<pb::OpenRepairOrderResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.open_repair_order(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn add_repair_order_line(
        &self,
        request: Request<pb::AddRepairOrderLineRequest>,
    ) -> std::result::Result<Response<pb::AddRepairOrderLineResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.add_repair_order_line(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn remove_repair_order_line(
        &self,
        request: Request<pb::RemoveRepairOrderLineRequest>,
    ) -> std::result::Result<Response<pb::RemoveRepairOrderLineResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.remove_repair_order_line(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn set_repair_order_status(
        &self,
        request: Request<pb::SetRepairOrderStatusRequest>,
    ) -> std::result::Result<Response<pb::SetRepairOrderStatusResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.set_repair_order_status(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn get_repair_order(
        &self,
        request: Request<pb::GetRepairOrderRequest>,
    ) -> std::result::Result<Response<pb::GetRepairOrderResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.get_repair_order(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn list_repair_orders(
        &self,
        request: Request<pb::ListRepairOrdersRequest>,
    ) -> std::result::Result<Response<pb::ListRepairOrdersResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.list_repair_orders(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn create_recall_campaign(
        &self,
        request: Request<pb::CreateRecallCampaignRequest>,
    ) -> std::result::Result<Response<pb::CreateRecallCampaignResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.create_recall_campaign(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn get_recall_campaign(
        &self,
        request: Request<pb::GetRecallCampaignRequest>,
    ) -> std::result::Result<Response<pb::GetRecallCampaignResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.get_recall_campaign(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn list_recall_campaigns(
        &self,
        request: Request<pb::ListRecallCampaignsRequest>,
    ) -> std::result::Result<Response<pb::ListRecallCampaignsResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.list_recall_campaigns(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn close_recall_campaign(
        &self,
        request: Request<pb::CloseRecallCampaignRequest>,
    ) -> std::result::Result<Response<pb::CloseRecallCampaignResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.close_recall_campaign(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn list_affected_vehicles(
        &self,
        request: Request<pb::ListAffectedVehiclesRequest>,
    ) -> std::result::Result<Response<pb::ListAffectedVehiclesResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.list_affected_vehicles(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn list_open_recalls(
        &self,
        request: Request<pb::ListOpenRecallsRequest>,
    ) -> std::result::Result<Response<pb::ListOpenRecallsResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.list_open_recalls(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn get_recall_progress(
        &self,
        request: Request<pb::GetRecallProgressRequest>,
    ) -> std::result::Result<Response<pb::GetRecallProgressResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.get_recall_progress(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn get_vehicle_pipeline(
        &self,
        request: Request<pb::GetVehiclePipelineRequest>,
    ) -> std::result::Result<Response<pb::GetVehiclePipelineResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.get_vehicle_pipeline(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn list_overdue_transits(
        &self,
        request: Request<pb::ListOverdueTransitsRequest>,
    ) -> std::result::Result<Response<pb::ListOverdueTransitsResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.list_overdue_transits(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn rank_failing_parts(
        &self,
        request: Request<pb::RankFailingPartsRequest>,
    ) -> std::result::Result<Response<pb::RankFailingPartsResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.rank_failing_parts(&principal, request.into_inner())
                .await?,
        ))
    }

    type StreamEventsStream = tokio_stream::wrappers::ReceiverStream<
        std::result::Result<pb::StreamEventsResponse, Status>,
    >;

    async fn stream_events(
        &self,
        request: Request<pb::StreamEventsRequest>,
    ) -> std::result::Result<Response<Self::StreamEventsStream>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.stream_events(&principal, request.into_inner()).await?,
        ))
    }

    async fn ack_events(
        &self,
        request: Request<pb::AckEventsRequest>,
    ) -> std::result::Result<Response<pb::AckEventsResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.ack_events(&principal, request.into_inner()).await?,
        ))
    }

    async fn list_parked_events(
        &self,
        request: Request<pb::ListParkedEventsRequest>,
    ) -> std::result::Result<Response<pb::ListParkedEventsResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.list_parked_events(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn retry_parked_event(
        &self,
        request: Request<pb::RetryParkedEventRequest>,
    ) -> std::result::Result<Response<pb::RetryParkedEventResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.retry_parked_event(&principal, request.into_inner())
                .await?,
        ))
    }
}
