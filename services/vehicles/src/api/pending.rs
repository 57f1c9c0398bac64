//! Placeholder bodies for RPCs under construction: they answer UNIMPLEMENTED.

use dealernet_kit::auth::Principal;
use dealernet_proto::vehicles::v1 as pb;

use super::Result;
use crate::{Error, Service};

impl Service {
    pub(super) async fn list_vehicles(
        &self,
        _: &Principal,
        _: pb::ListVehiclesRequest,
    ) -> Result<pb::ListVehiclesResponse> {
        Err(Error::Unimplemented("ListVehicles"))
    }
    pub(super) async fn count_vehicles(
        &self,
        _: &Principal,
        _: pb::CountVehiclesRequest,
    ) -> Result<pb::CountVehiclesResponse> {
        Err(Error::Unimplemented("CountVehicles"))
    }
    pub(super) async fn open_repair_order(
        &self,
        _: &Principal,
        _: pb::OpenRepairOrderRequest,
    ) -> Result<pb::OpenRepairOrderResponse> {
        Err(Error::Unimplemented("OpenRepairOrder"))
    }
    pub(super) async fn add_repair_order_line(
        &self,
        _: &Principal,
        _: pb::AddRepairOrderLineRequest,
    ) -> Result<pb::AddRepairOrderLineResponse> {
        Err(Error::Unimplemented("AddRepairOrderLine"))
    }
    pub(super) async fn remove_repair_order_line(
        &self,
        _: &Principal,
        _: pb::RemoveRepairOrderLineRequest,
    ) -> Result<pb::RemoveRepairOrderLineResponse> {
        Err(Error::Unimplemented("RemoveRepairOrderLine"))
    }
    pub(super) async fn set_repair_order_status(
        &self,
        _: &Principal,
        _: pb::SetRepairOrderStatusRequest,
    ) -> Result<pb::SetRepairOrderStatusResponse> {
        Err(Error::Unimplemented("SetRepairOrderStatus"))
    }
    pub(super) async fn get_repair_order(
        &self,
        _: &Principal,
        _: pb::GetRepairOrderRequest,
    ) -> Result<pb::GetRepairOrderResponse> {
        Err(Error::Unimplemented("GetRepairOrder"))
    }
    pub(super) async fn list_repair_orders(
        &self,
        _: &Principal,
        _: pb::ListRepairOrdersRequest,
    ) -> Result<pb::ListRepairOrdersResponse> {
        Err(Error::Unimplemented("ListRepairOrders"))
    }
    pub(super) async fn create_recall_campaign(
        &self,
        _: &Principal,
        _: pb::CreateRecallCampaignRequest,
    ) -> Result<pb::CreateRecallCampaignResponse> {
        Err(Error::Unimplemented("CreateRecallCampaign"))
    }
    pub(super) async fn get_recall_campaign(
        &self,
        _: &Principal,
        _: pb::GetRecallCampaignRequest,
    ) -> Result<pb::GetRecallCampaignResponse> {
        Err(Error::Unimplemented("GetRecallCampaign"))
    }
    pub(super) async fn list_recall_campaigns(
        &self,
        _: &Principal,
        _: pb::ListRecallCampaignsRequest,
    ) -> Result<pb::ListRecallCampaignsResponse> {
        Err(Error::Unimplemented("ListRecallCampaigns"))
    }
    pub(super) async fn close_recall_campaign(
        &self,
        _: &Principal,
        _: pb::CloseRecallCampaignRequest,
    ) -> Result<pb::CloseRecallCampaignResponse> {
        Err(Error::Unimplemented("CloseRecallCampaign"))
    }
    pub(super) async fn list_affected_vehicles(
        &self,
        _: &Principal,
        _: pb::ListAffectedVehiclesRequest,
    ) -> Result<pb::ListAffectedVehiclesResponse> {
        Err(Error::Unimplemented("ListAffectedVehicles"))
    }
    pub(super) async fn list_open_recalls(
        &self,
        _: &Principal,
        _: pb::ListOpenRecallsRequest,
    ) -> Result<pb::ListOpenRecallsResponse> {
        Err(Error::Unimplemented("ListOpenRecalls"))
    }
    pub(super) async fn get_recall_progress(
        &self,
        _: &Principal,
        _: pb::GetRecallProgressRequest,
    ) -> Result<pb::GetRecallProgressResponse> {
        Err(Error::Unimplemented("GetRecallProgress"))
    }
}
