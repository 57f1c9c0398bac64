//! The `DealerService` trait: every call takes the verified principal from the request's
//! extensions (put there by the auth interceptor) and hands it to its handler, whose
//! errors become statuses through the one `From<Error> for Status`.

use dealernet_kit::auth::Principal;
use dealernet_proto::dealers::v1::{self as pb, dealer_service_server::DealerService};
use tonic::{Request, Response, Status};

use crate::Service;

/// Implements the trait: each RPC calls the handler of the same name on `Service`.
macro_rules! dealer_service {
    ($($method:ident($request:ident) -> $response:ident;)+) => {
        #[tonic::async_trait]
        impl DealerService for Service {
            $(
                async fn $method(
                    &self,
                    request: Request<pb::$request>,
                ) -> Result<Response<pb::$response>, Status> {
                    let principal = Principal::of(&request)?.clone();
                    Ok(Response::new(
                        Service::$method(self, &principal, request.into_inner()).await?,
                    ))
                }
            )+
        }
    };
}

dealer_service! {
    create_dealer_group(CreateDealerGroupRequest) -> CreateDealerGroupResponse;
    get_dealer_group(GetDealerGroupRequest) -> GetDealerGroupResponse;
    list_dealer_groups(ListDealerGroupsRequest) -> ListDealerGroupsResponse;
    create_outlet(CreateOutletRequest) -> CreateOutletResponse;
    get_outlet(GetOutletRequest) -> GetOutletResponse;
    update_outlet(UpdateOutletRequest) -> UpdateOutletResponse;
    list_outlets(ListOutletsRequest) -> ListOutletsResponse;
    suspend_outlet(SuspendOutletRequest) -> SuspendOutletResponse;
    reactivate_outlet(ReactivateOutletRequest) -> ReactivateOutletResponse;
    close_outlet(CloseOutletRequest) -> CloseOutletResponse;
    check_outlet_permission(CheckOutletPermissionRequest) -> CheckOutletPermissionResponse;
    locate_outlets(LocateOutletsRequest) -> LocateOutletsResponse;
    create_staff_member(CreateStaffMemberRequest) -> CreateStaffMemberResponse;
    get_staff_member(GetStaffMemberRequest) -> GetStaffMemberResponse;
    update_staff_member(UpdateStaffMemberRequest) -> UpdateStaffMemberResponse;
    list_staff_members(ListStaffMembersRequest) -> ListStaffMembersResponse;
    create_lead(CreateLeadRequest) -> CreateLeadResponse;
    get_lead(GetLeadRequest) -> GetLeadResponse;
    list_leads(ListLeadsRequest) -> ListLeadsResponse;
    advance_lead(AdvanceLeadRequest) -> AdvanceLeadResponse;
    reassign_lead(ReassignLeadRequest) -> ReassignLeadResponse;
    get_outlet_scorecard(GetOutletScorecardRequest) -> GetOutletScorecardResponse;
    list_outlet_scorecards(ListOutletScorecardsRequest) -> ListOutletScorecardsResponse;
    rank_outlet_scorecards(RankOutletScorecardsRequest) -> RankOutletScorecardsResponse;
    list_parked_events(ListParkedEventsRequest) -> ListParkedEventsResponse;
    retry_parked_event(RetryParkedEventRequest) -> RetryParkedEventResponse;
}
