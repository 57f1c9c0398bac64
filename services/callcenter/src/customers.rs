//! The customer registry as the hotline sees it: who has a number (read with the agent's
//! own credentials, so the registry audits the agent), and — with the call center's own
//! `system` token — whether a customer exists, their mobile number, and whether they
//! agreed to be called for a purpose.

use dealernet_kit::auth::{Principal, Role, TokenKeys};
use dealernet_kit::telemetry::{TracedChannel, traced};
use dealernet_proto::customers::v1::{self as pb, customer_service_client::CustomerServiceClient};
use secrecy::SecretString;
use tonic::{Code, Request, metadata::MetadataMap, transport::Channel};
use uuid::Uuid;

use crate::{Error, domain::callback::ConsentNeeded};

/// A read of customers' personal data kept by the call center, for the registry's access
/// log: the accessor as this service verified it, and what they read.
#[derive(Debug)]
pub struct AccessRead<'a> {
    pub accessor: &'a Principal,
    /// The accessor's declared purpose (`x-purpose`).
    pub purpose: &'a str,
    /// The accessor's call's request id.
    pub request_id: &'a str,
    /// The call center's method answered, e.g. `GetCallback`.
    pub method: &'static str,
    pub customers: Vec<Uuid>,
    pub fields: &'a [&'a str],
}

/// The organisation code the call center acts under.
const SELF_ORG: &str = "CALLCENTER";

/// The registry client.
#[derive(Debug, Clone)]
pub struct Registry {
    client: CustomerServiceClient<TracedChannel>,
    keys: TokenKeys,
}

/// What the hotline needs of one customer.
#[derive(Debug, Clone)]
pub struct Contact {
    pub id: Uuid,
    /// The first mobile number (E.164), else the first number.
    pub phone: Option<String>,
    pub preferred_dealer: String,
    pub preferred_station: String,
    pub city: String,
}

fn unavailable(status: &tonic::Status) -> Error {
    tracing::warn!(status = %status.message(), code = ?status.code(), "customer registry call failed");
    Error::Unavailable("the customer registry cannot be reached; retry later".into())
}

impl Registry {
    pub fn new(url: &str, jwt_secret: SecretString) -> Result<Registry, String> {
        let channel = Channel::from_shared(url.to_owned())
            .map_err(|e| format!("customers_url '{url}': {e}"))?
            .connect_lazy();
        Ok(Registry {
            client: CustomerServiceClient::new(traced(channel)),
            keys: TokenKeys::new(jwt_secret),
        })
    }

    fn as_self<T>(&self, message: T, purpose: &str) -> Result<Request<T>, Error> {
        let principal = Principal::new("callcenter-service", SELF_ORG, &[Role::System])
            .map_err(|e| Error::Unavailable(format!("cannot act as the call center: {e}")))?;
        let mut request = self.keys.request(&principal, message);
        request.metadata_mut().insert(
            "x-purpose",
            purpose
                .parse()
                .map_err(|_| Error::Unavailable("purpose is not ASCII".into()))?,
        );
        Ok(request)
    }

    /// Customers with the number, as the calling agent may see them.
    pub async fn by_phone_as_caller(
        &self,
        caller: &MetadataMap,
        phone: &str,
    ) -> Result<Vec<pb::Customer>, Error> {
        let mut request = Request::new(pb::ListCustomersRequest {
            phone: phone.to_owned(),
            page_size: 20,
            ..Default::default()
        });
        for header in ["authorization", "x-purpose", "x-request-id", "traceparent"] {
            if let Some(value) = caller.get(header) {
                request.metadata_mut().insert(header, value.clone());
            }
        }
        match self.client.clone().list_customers(request).await {
            Ok(r) => Ok(r.into_inner().customers),
            Err(s)
                if matches!(
                    s.code(),
                    Code::InvalidArgument | Code::PermissionDenied | Code::Unauthenticated
                ) =>
            {
                Err(Error::Upstream(s))
            }
            Err(s) => Err(unavailable(&s)),
        }
    }

    /// The active customer behind `id` (the survivor of a merge); refused when unknown or
    /// erased.
    pub async fn contact(&self, id: Uuid, purpose: &str) -> Result<Contact, Error> {
        let request = self.as_self(
            pb::GetCustomerRequest {
                name: format!("customers/{id}"),
            },
            purpose,
        )?;
        let customer = match self.client.clone().get_customer(request).await {
            Ok(r) => r.into_inner().customer.unwrap_or_default(),
            Err(s) if s.code() == Code::NotFound => {
                return Err(Error::refused(
                    "CUSTOMER_NOT_FOUND",
                    format!("customers/{id} is not in the registry"),
                ));
            }
            Err(s) => return Err(unavailable(&s)),
        };
        if customer.state == pb::CustomerState::Erased as i32 {
            return Err(Error::refused(
                "CUSTOMER_ERASED",
                format!("customers/{id} was erased"),
            ));
        }
        let survivor = customer
            .name
            .strip_prefix("customers/")
            .and_then(|s| Uuid::parse_str(s).ok())
            .unwrap_or(id);
        let phone = customer
            .phones
            .iter()
            .find(|p| p.kind == pb::PhoneKind::Mobile as i32)
            .or(customer.phones.first())
            .map(|p| p.number.clone());
        Ok(Contact {
            id: survivor,
            phone,
            preferred_dealer: customer.preferred_dealer,
            preferred_station: customer.preferred_service_station,
            city: customer.address.map(|a| a.city).unwrap_or_default(),
        })
    }

    /// Writes `read` to the registry's access log (RecordAccess, as the call center's
    /// system principal); any failure means the answer must be withheld.
    pub async fn record_access(&self, read: AccessRead<'_>) -> Result<(), Error> {
        let request = self.as_self(
            pb::RecordAccessRequest {
                subject: read.accessor.subject().to_owned(),
                organization: read.accessor.organization().to_owned(),
                roles: read
                    .accessor
                    .roles()
                    .iter()
                    .map(|r| r.name().to_owned())
                    .collect(),
                customers: read
                    .customers
                    .iter()
                    .map(|id| format!("customers/{id}"))
                    .collect(),
                fields: read.fields.iter().map(|f| (*f).to_owned()).collect(),
                purpose: read.purpose.to_owned(),
                method: format!("CallCenterService.{}", read.method),
                request_id: read.request_id.to_owned(),
            },
            "access log",
        )?;
        match self.client.clone().record_access(request).await {
            Ok(_) => Ok(()),
            Err(s) => {
                tracing::warn!(status = %s.message(), code = ?s.code(), method = read.method, "recording a read in the access log failed");
                Err(Error::AuditUnavailable(s.message().to_owned()))
            }
        }
    }

    /// Whether the customer agreed to phone calls for `purpose`: the registry's reason
    /// when not.
    pub async fn may_call(
        &self,
        id: Uuid,
        purpose: ConsentNeeded,
    ) -> Result<Result<(), String>, Error> {
        let purpose = match purpose {
            ConsentNeeded::Surveys => pb::ConsentPurpose::Surveys,
            ConsentNeeded::ServiceReminders => pb::ConsentPurpose::ServiceReminders,
            ConsentNeeded::Marketing => pb::ConsentPurpose::Marketing,
        };
        let request = self.as_self(
            pb::CheckContactPermissionRequest {
                name: format!("customers/{id}"),
                channel: pb::ContactChannel::Phone as i32,
                purpose: purpose as i32,
                at: None,
            },
            "callback consent check",
        )?;
        match self.client.clone().check_contact_permission(request).await {
            Ok(r) => {
                let r = r.into_inner();
                Ok(if r.allowed { Ok(()) } else { Err(r.reason) })
            }
            Err(s) if s.code() == Code::NotFound => Ok(Err("CUSTOMER_NOT_FOUND".into())),
            Err(s) => Err(unavailable(&s)),
        }
    }
}
