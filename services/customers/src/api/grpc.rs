//! The `CustomerService` trait: every method authenticates the caller (the interceptor's
//! `Principal`), reads its declared purpose and request id, and runs its handler.

use dealernet_kit::{auth::Principal, error::FieldViolations, server::RequestId};
use dealernet_proto::customers::v1::{self as pb, customer_service_server::CustomerService};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::{Error, Service, audit::Reader, domain::visibility::sees_everything};

/// The metadata key in which callers declare why they read personal data.
pub const PURPOSE_HEADER: &str = "x-purpose";
const MAX_PURPOSE: usize = 200;

/// Who calls, why, and under which request id.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The declared purpose (`x-purpose` metadata); empty when none was given.
    pub purpose: String,
    pub request_id: String,
}

impl Caller {
    /// The verified caller of `request`, with its purpose checked for shape.
    pub fn of<T>(request: &Request<T>) -> Result<Caller, Status> {
        let principal = Principal::of(request)?.clone();
        let purpose = match request.metadata().get(PURPOSE_HEADER) {
            None => String::new(),
            Some(value) => {
                let ok = value.to_str().ok().map(str::trim).filter(|p| {
                    !p.is_empty()
                        && p.len() <= MAX_PURPOSE
                        && p.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
                });
                match ok {
                    Some(p) => p.to_owned(),
                    None => {
                        return Err(Error::InvalidArgument(FieldViolations::one(
                            PURPOSE_HEADER,
                            format!("must be 1 to {MAX_PURPOSE} printable ASCII characters"),
                        ))
                        .into());
                    }
                }
            }
        };
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        Ok(Caller {
            principal,
            purpose,
            request_id,
        })
    }

    /// HQ and hotline principals read any customer, so they must say why.
    pub fn require_purpose_for_reads(&self) -> Result<(), Error> {
        if self.purpose.is_empty() && sees_everything(&self.principal) {
            return Err(Error::InvalidArgument(FieldViolations::one(
                PURPOSE_HEADER,
                "HQ and hotline reads must declare their purpose in the x-purpose metadata",
            )));
        }
        Ok(())
    }

    /// The reader as the access log records it.
    pub fn reader(&self, method: &'static str) -> Reader {
        Reader {
            subject: self.principal.subject().to_owned(),
            organization: self.principal.organization().to_owned(),
            roles: self
                .principal
                .roles()
                .iter()
                .map(|r| r.name().to_owned())
                .collect(),
            purpose: self.purpose.clone(),
            request_id: self.request_id.clone(),
            method: method.into(),
        }
    }
}

/// Implements each unary RPC as: caller → handler → response, errors through
/// `From<Error>`; streaming RPCs follow the unary ones, written out.
macro_rules! rpcs {
    (unary { $($method:ident($request:ty) -> $response:ty => $handler:ident;)* } streaming { $($streaming:tt)* }) => {
        #[tonic::async_trait]
        impl CustomerService for Service {
            $(
                async fn $method(&self, request: Request<$request>) -> Result<Response<$response>, Status> {
                    let caller = Caller::of(&request)?;
                    Ok(Response::new(self.$handler(&caller, request.into_inner()).await?))
                }
            )*
            $($streaming)*
        }
    };
}

rpcs! {
    unary {
    create_customer(pb::CreateCustomerRequest) -> pb::CreateCustomerResponse => create;
    get_customer(pb::GetCustomerRequest) -> pb::GetCustomerResponse => get;
    update_customer(pb::UpdateCustomerRequest) -> pb::UpdateCustomerResponse => update;
    list_customers(pb::ListCustomersRequest) -> pb::ListCustomersResponse => list;
    resolve_customer(pb::ResolveCustomerRequest) -> pb::ResolveCustomerResponse => resolve;
    find_duplicates(pb::FindDuplicatesRequest) -> pb::FindDuplicatesResponse => find_duplicates;
    merge_customers(pb::MergeCustomersRequest) -> pb::MergeCustomersResponse => merge;
    unmerge_customer(pb::UnmergeCustomerRequest) -> pb::UnmergeCustomerResponse => unmerge;
    erase_customer(pb::EraseCustomerRequest) -> pb::EraseCustomerResponse => erase;
    create_relationship(pb::CreateRelationshipRequest) -> pb::CreateRelationshipResponse => create_relationship;
    list_relationships(pb::ListRelationshipsRequest) -> pb::ListRelationshipsResponse => list_relationships;
    delete_relationship(pb::DeleteRelationshipRequest) -> pb::DeleteRelationshipResponse => delete_relationship;
    link_customer(pb::LinkCustomerRequest) -> pb::LinkCustomerResponse => link_customer;
    list_access_log(pb::ListAccessLogRequest) -> pb::ListAccessLogResponse => list_access_log;
    set_consent(pb::SetConsentRequest) -> pb::SetConsentResponse => set_consent;
    list_consents(pb::ListConsentsRequest) -> pb::ListConsentsResponse => list_consents;
    check_contact_permission(pb::CheckContactPermissionRequest) -> pb::CheckContactPermissionResponse => check_contact_permission;
    ack_events(pb::AckEventsRequest) -> pb::AckEventsResponse => ack_events;
    list_parked_events(pb::ListParkedEventsRequest) -> pb::ListParkedEventsResponse => list_parked_events;
    retry_parked_event(pb::RetryParkedEventRequest) -> pb::RetryParkedEventResponse => retry_parked_event;
    record_access(pb::RecordAccessRequest) -> pb::RecordAccessResponse => record_access;
    get_customer_value(pb::GetCustomerValueRequest) -> pb::GetCustomerValueResponse => get_customer_value;
    list_segment_members(pb::ListSegmentMembersRequest) -> pb::ListSegmentMembersResponse => list_segment_members;
    get_segment_summary(pb::GetSegmentSummaryRequest) -> pb::GetSegmentSummaryResponse => get_segment_summary;
    }
    streaming {
        type ScanDuplicatesStream = ReceiverStream<Result<pb::ScanDuplicatesResponse, Status>>;

        async fn scan_duplicates(
            &self,
            request: Request<pb::ScanDuplicatesRequest>,
        ) -> Result<Response<Self::ScanDuplicatesStream>, Status> {
            let caller = Caller::of(&request)?;
            Ok(Response::new(self.scan_duplicates(&caller, request.into_inner())?))
        }

        type StreamEventsStream = ReceiverStream<Result<pb::StreamEventsResponse, Status>>;

        async fn stream_events(
            &self,
            request: Request<pb::StreamEventsRequest>,
        ) -> Result<Response<Self::StreamEventsStream>, Status> {
            let caller = Caller::of(&request)?;
            Ok(Response::new(self.stream_events(&caller, request.into_inner()).await?))
        }
    }
}
