//! Another service's event stream, as a consumer reads it: a gRPC client presenting the
//! consuming service's own short-lived `system` token.

use std::{future::Future, pin::Pin};

use dealernet_proto::types::v1::EventEnvelope;
use secrecy::SecretString;
use tokio_stream::Stream;
use tonic::{Request, Status, transport::Channel};

use super::Cursor;
use crate::auth::{Principal, Role, TokenKeys};
use crate::telemetry::{TracedChannel, traced};

/// A message of some service's StreamEvents: an event (envelope and payload) or a
/// checkpoint.
pub trait Delivery: prost::Message + Default + Send + Sync + 'static {
    fn envelope(&self) -> Option<&EventEnvelope>;
    fn checkpoint_cursor(&self) -> &str;
    /// Whether the event came with its payload (see [`StreamResponse::unreadable`]).
    fn has_event(&self) -> bool;
}

/// A message of some service's StreamEvents, as the publisher builds it.
pub trait StreamResponse: Sized + Send + 'static {
    /// An event: its envelope and the payload as stored (the service's event message).
    fn event(envelope: EventEnvelope, payload: &[u8]) -> Result<Self, prost::DecodeError>;
    /// An event whose stored payload does not decode: the envelope alone, so that its
    /// consumers park it and go on rather than stop at it.
    fn unreadable(envelope: EventEnvelope) -> Self;
    fn checkpoint(cursor: String) -> Self;
}

/// An open stream of deliveries.
pub type Deliveries<D> = Pin<Box<dyn Stream<Item = Result<D, Status>> + Send>>;

/// Where a consumer reads a stream from.
pub trait EventSource: Send + Sync + 'static {
    type Delivery: Delivery;
    /// The publishing service's name, e.g. "vehicles".
    fn name(&self) -> &'static str;
    /// Opens the stream after `after`, registering `consumer` for retention.
    fn open(
        &self,
        after: Cursor,
        types: &[&'static str],
        consumer: &str,
    ) -> impl Future<Output = Result<Deliveries<Self::Delivery>, Status>> + Send;
    /// Tells the publisher `consumer` has applied everything up to `cursor`.
    fn ack(
        &self,
        consumer: &str,
        cursor: Cursor,
    ) -> impl Future<Output = Result<(), Status>> + Send;
}

/// A publishing service reached over gRPC; `C` is its generated client.
#[derive(Debug, Clone)]
pub struct Source<C> {
    client: C,
    keys: TokenKeys,
    principal: Principal,
}

impl<C> Source<C> {
    fn authorized<T>(&self, message: T) -> Request<T> {
        self.keys.request(&self.principal, message)
    }
}

fn channel(url: &str) -> Result<TracedChannel, String> {
    Ok(traced(
        Channel::from_shared(url.to_owned())
            .map_err(|e| format!("'{url}': {e}"))?
            .connect_lazy(),
    ))
}

fn service_principal(organization: &str) -> Result<Principal, String> {
    Principal::new(
        &format!("{}-service", organization.to_ascii_lowercase()),
        organization,
        &[Role::System],
    )
}

macro_rules! event_source {
    ($module:ident, $cmod:ident :: $client:ident, $event:ident, $name:literal) => {
        impl Delivery for dealernet_proto::$module::v1::StreamEventsResponse {
            fn envelope(&self) -> Option<&EventEnvelope> {
                self.envelope.as_ref()
            }
            fn checkpoint_cursor(&self) -> &str {
                &self.checkpoint_cursor
            }
            fn has_event(&self) -> bool {
                self.event.is_some()
            }
        }

        impl StreamResponse for dealernet_proto::$module::v1::StreamEventsResponse {
            fn event(envelope: EventEnvelope, payload: &[u8]) -> Result<Self, prost::DecodeError> {
                Ok(Self {
                    envelope: Some(envelope),
                    event: Some(<dealernet_proto::$module::v1::$event as prost::Message>::decode(payload)?),
                    checkpoint_cursor: String::new(),
                })
            }
            fn unreadable(envelope: EventEnvelope) -> Self {
                Self {
                    envelope: Some(envelope),
                    event: None,
                    checkpoint_cursor: String::new(),
                }
            }
            fn checkpoint(cursor: String) -> Self {
                Self {
                    envelope: None,
                    event: None,
                    checkpoint_cursor: cursor,
                }
            }
        }

        impl Source<dealernet_proto::$module::v1::$cmod::$client<TracedChannel>> {
            #[doc = concat!("The ", $name, " service's stream at `url`, read as `organization`'s system principal; connects on first use.")]
            pub fn $module(
                url: &str,
                jwt_secret: SecretString,
                organization: &str,
            ) -> Result<Self, String> {
                Ok(Source {
                    client: dealernet_proto::$module::v1::$cmod::$client::new(channel(url)?),
                    keys: TokenKeys::new(jwt_secret),
                    principal: service_principal(organization)?,
                })
            }
        }

        impl EventSource for Source<dealernet_proto::$module::v1::$cmod::$client<TracedChannel>> {
            type Delivery = dealernet_proto::$module::v1::StreamEventsResponse;

            fn name(&self) -> &'static str {
                $name
            }

            async fn open(
                &self,
                after: Cursor,
                types: &[&'static str],
                consumer: &str,
            ) -> Result<Deliveries<Self::Delivery>, Status> {
                let request = self.authorized(dealernet_proto::$module::v1::StreamEventsRequest {
                    after_cursor: after.encode(),
                    event_types: types.iter().map(|t| (*t).to_owned()).collect(),
                    consumer: consumer.to_owned(),
                });
                let stream = self.client.clone().stream_events(request).await?.into_inner();
                Ok(Box::pin(stream))
            }

            async fn ack(&self, consumer: &str, cursor: Cursor) -> Result<(), Status> {
                let request = self.authorized(dealernet_proto::$module::v1::AckEventsRequest {
                    consumer: consumer.to_owned(),
                    cursor: cursor.encode(),
                });
                self.client.clone().ack_events(request).await?;
                Ok(())
            }
        }
    };
}

event_source!(
    vehicles,
    vehicle_service_client::VehicleServiceClient,
    VehicleServiceEvent,
    "vehicles"
);
event_source!(
    customers,
    customer_service_client::CustomerServiceClient,
    CustomerServiceEvent,
    "customers"
);
event_source!(
    callcenter,
    call_center_service_client::CallCenterServiceClient,
    CallCenterServiceEvent,
    "callcenter"
);
