//! `GetCustomer360`: the hotline agent's screen, gathered from the services.
//!
//! The call arrives through the edge like any other, so its metadata already carries the
//! caller's internal token, purpose, request id and trace context; every backend call
//! made here passes them on, so each service applies its own object-level rules (masking,
//! the registry's access log, an outlet seeing only its own answers) to the caller, not
//! to the gateway. First the customer is found (by id, phone or VIN) — without them there
//! is no answer — then the sections are fetched in parallel, each with its own deadline,
//! and a section whose service fails or is late is marked instead of failing the answer.

mod sections;

use std::time::Duration;

use dealernet_kit::error::{self, FieldViolations};
use dealernet_kit::telemetry::{TracedChannel, traced};
use dealernet_proto::{
    customers::v1::{self as customers, customer_service_client::CustomerServiceClient},
    gateway::v1::{self as pb, get_customer360_request::Key},
    vehicles::v1::{self as vehicles, vehicle_service_client::VehicleServiceClient},
};
use tonic::{Code, Request, Status, metadata::MetadataMap};

use crate::{catalogue::Backend, deadline, proxy::Proxy};

/// The longest a section may take; a shorter client deadline shortens it (see
/// [`section_deadline`]).
const SECTION_DEADLINE: Duration = Duration::from_millis(2_000);
/// Share of the client's remaining deadline the sections may use, so that the answer
/// with its unavailable sections still reaches the client in time.
const SECTION_SHARE: f64 = 0.8;
/// Default and largest number of recent items per section.
const DEFAULT_RECENT: i32 = 5;
const MAX_RECENT: i32 = 50;
/// Vehicles shown at most (each costs one GetVehicle for its recalls and warranty).
const MAX_VEHICLES: i32 = 20;

/// Metadata passed on from the caller's call to every backend call.
const FORWARDED: &[&str] = &["authorization", "x-purpose", "x-request-id", "traceparent"];

/// Gathers Customer360 answers over the gateway's backend connections.
#[derive(Debug, Clone)]
pub struct Customer360 {
    proxy: Proxy,
}

/// What every backend call of one GetCustomer360 shares.
#[derive(Debug, Clone)]
struct Ctx {
    metadata: MetadataMap,
    deadline: Duration,
    recent: i32,
}

impl Ctx {
    /// `message` as a backend request with the caller's metadata and the section deadline.
    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        for key in FORWARDED {
            if let Some(value) = self.metadata.get(*key) {
                request.metadata_mut().insert(*key, value.clone());
            }
        }
        request.set_timeout(self.deadline);
        request
    }
}

/// The sections' deadline: [`SECTION_DEADLINE`], or less when the client's own deadline
/// (`grpc-timeout`, already capped by the edge) leaves less.
fn section_deadline(metadata: &MetadataMap) -> Duration {
    metadata
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(deadline::parse)
        .map(|client| client.mul_f64(SECTION_SHARE).min(SECTION_DEADLINE))
        .unwrap_or(SECTION_DEADLINE)
}

impl Customer360 {
    pub fn new(proxy: Proxy) -> Customer360 {
        Customer360 { proxy }
    }

    /// A connection to `backend` whose calls carry this call's trace context.
    fn channel(&self, backend: Backend) -> Result<TracedChannel, Status> {
        self.proxy.channel(backend).map(traced).ok_or_else(|| {
            error::refusal(
                Code::Unavailable,
                "BACKEND_UNKNOWN",
                format!("no connection to the {} service", backend.name()),
                [],
            )
        })
    }

    /// Answers one GetCustomer360 call whose metadata is `metadata`.
    pub async fn get(
        &self,
        metadata: MetadataMap,
        req: pb::GetCustomer360Request,
    ) -> Result<pb::GetCustomer360Response, Status> {
        let recent = match req.recent {
            0 => DEFAULT_RECENT,
            n if (1..=MAX_RECENT).contains(&n) => n,
            _ => {
                return Err(error::invalid_argument(
                    "INVALID_ARGUMENT",
                    &FieldViolations::one("recent", format!("must be 0 (default) to {MAX_RECENT}")),
                ));
            }
        };
        let ctx = Ctx {
            deadline: section_deadline(&metadata),
            metadata,
            recent,
        };
        let (customer, merged_from) = self.find(&ctx, req.key).await?;
        let id = customer.name.clone();
        let channels = sections::Channels {
            vehicles: self.channel(Backend::Vehicles)?,
            callcenter: self.channel(Backend::Callcenter)?,
        };
        let s = sections::fetch(&ctx, &channels, &id).await;
        Ok(pb::GetCustomer360Response {
            customer: Some(customer),
            merged_from,
            vehicles: Some(s.vehicles),
            repair_orders: Some(s.repair_orders),
            open_cases: Some(s.open_cases),
            pending_callbacks: Some(s.pending_callbacks),
            surveys: Some(s.surveys),
        })
    }

    /// The customer as the registry shows them to the caller, and the id they were asked
    /// by if it was merged away. Errors of the registry reach the caller as they are.
    async fn find(
        &self,
        ctx: &Ctx,
        key: Option<Key>,
    ) -> Result<(customers::Customer, String), Status> {
        let mut registry = CustomerServiceClient::new(self.channel(Backend::Customers)?);
        match key {
            None => Err(error::invalid_argument(
                "INVALID_ARGUMENT",
                &FieldViolations::one("key", "give one of customer, phone or vehicle"),
            )),
            Some(Key::Customer(name)) => {
                let found = registry
                    .get_customer(ctx.request(customers::GetCustomerRequest { name }))
                    .await?
                    .into_inner();
                let customer = found
                    .customer
                    .ok_or_else(|| Status::internal("the registry answered without a customer"))?;
                Ok((customer, found.merged_from))
            }
            Some(Key::Phone(phone)) => {
                if phone.trim().is_empty() {
                    return Err(error::invalid_argument(
                        "INVALID_ARGUMENT",
                        &FieldViolations::one("phone", "required"),
                    ));
                }
                // Two are enough to know the number is ambiguous.
                let list = registry
                    .list_customers(ctx.request(customers::ListCustomersRequest {
                        phone: phone.clone(),
                        page_size: 2,
                        ..Default::default()
                    }))
                    .await?
                    .into_inner();
                let mut found = list.customers.into_iter();
                match (found.next(), found.next()) {
                    (Some(one), None) => Ok((one, String::new())),
                    (None, _) => Err(error::refusal(
                        Code::NotFound,
                        "CUSTOMER_NOT_FOUND",
                        "no customer has this phone number",
                        [],
                    )),
                    (Some(_), Some(_)) => Err(error::refusal(
                        Code::FailedPrecondition,
                        "PHONE_MATCHES_SEVERAL_CUSTOMERS",
                        "several customers have this phone number: ask by customer id or VIN",
                        [],
                    )),
                }
            }
            Some(Key::Vehicle(name)) => {
                let mut registry_of_cars =
                    VehicleServiceClient::new(self.channel(Backend::Vehicles)?);
                let car = registry_of_cars
                    .get_vehicle(ctx.request(vehicles::GetVehicleRequest {
                        name: name.clone(),
                        include_owner: true,
                    }))
                    .await?
                    .into_inner();
                let owner = car.owner_record.ok_or_else(|| {
                    error::refusal(
                        Code::FailedPrecondition,
                        "VEHICLE_HAS_NO_OWNER",
                        format!("{name} has no owner (not sold, or scrapped)"),
                        [("vehicle", name.clone())],
                    )
                })?;
                Ok((owner, String::new()))
            }
        }
    }
}
