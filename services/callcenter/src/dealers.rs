//! The dealer network as the hotline sees it: sales leads and service requests become
//! leads there (the dealers service routes them to an outlet with a deadline), and an
//! outlet's business hours can run a case's SLA clock. Calls carry the call center's own
//! `system` token and are made before any transaction.

use chrono::NaiveDate;
use dealernet_kit::telemetry::{TracedChannel, traced};
use dealernet_kit::{
    auth::{Principal, Role, TokenKeys},
    calendar::Calendar,
};
use dealernet_proto::dealers::v1::{self as pb, dealer_service_client::DealerServiceClient};
use secrecy::SecretString;
use tonic::{Code, Request, transport::Channel};
use uuid::Uuid;

use crate::Error;

const SELF_ORG: &str = "CALLCENTER";

pub use pb::LeadInterest as Interest;

/// The dealers service client.
#[derive(Debug, Clone)]
pub struct Network {
    client: DealerServiceClient<TracedChannel>,
    keys: TokenKeys,
}

/// A lead the network made and where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedLead {
    /// `leads/{uuid}`.
    pub name: String,
    /// The outlet it was routed to.
    pub outlet: String,
}

/// What the hotline asks the network to route.
#[derive(Debug, Clone)]
pub struct LeadAsk<'a> {
    /// Makes a retry return the same lead.
    pub request_id: String,
    pub customer: Uuid,
    pub interest: Interest,
    /// `models/{code}` or empty.
    pub model: &'a str,
    pub preferred_outlet: &'a str,
    pub city: &'a str,
    pub notes: &'a str,
}

fn unavailable(s: &tonic::Status) -> Error {
    tracing::warn!(status = %s.message(), code = ?s.code(), "dealers service call failed");
    Error::Unavailable("the dealers service cannot be reached; retry later".into())
}

impl Network {
    pub fn new(url: &str, jwt_secret: SecretString) -> Result<Network, String> {
        let channel = Channel::from_shared(url.to_owned())
            .map_err(|e| format!("dealers_url '{url}': {e}"))?
            .connect_lazy();
        Ok(Network {
            client: DealerServiceClient::new(traced(channel)),
            keys: TokenKeys::new(jwt_secret),
        })
    }

    fn as_self<T>(&self, message: T) -> Result<Request<T>, Error> {
        let principal = Principal::new("callcenter-service", SELF_ORG, &[Role::System])
            .map_err(|e| Error::Unavailable(format!("cannot act as the call center: {e}")))?;
        Ok(self.keys.request(&principal, message))
    }

    /// Hands a lead to the network, which routes it; refused with LEAD_NOT_ROUTED and
    /// the network's reason when it cannot.
    pub async fn create_lead(&self, ask: LeadAsk<'_>) -> Result<RoutedLead, Error> {
        let request = self.as_self(pb::CreateLeadRequest {
            lead: Some(pb::Lead {
                customer: format!("customers/{}", ask.customer),
                interest: ask.interest as i32,
                model: ask.model.to_owned(),
                source: pb::LeadSource::Hotline as i32,
                preferred_outlet: ask.preferred_outlet.to_owned(),
                city: ask.city.to_owned(),
                notes: ask.notes.chars().take(1_000).collect(),
                ..Default::default()
            }),
            request_id: ask.request_id,
        })?;
        match self.client.clone().create_lead(request).await {
            Ok(r) => {
                let lead = r.into_inner().lead.unwrap_or_default();
                Ok(RoutedLead {
                    name: lead.name,
                    outlet: lead.assigned_outlet,
                })
            }
            Err(s)
                if matches!(
                    s.code(),
                    Code::InvalidArgument | Code::FailedPrecondition | Code::NotFound
                ) =>
            {
                Err(Error::refused(
                    "LEAD_NOT_ROUTED",
                    format!("the dealer network cannot take the lead: {}", s.message()),
                ))
            }
            Err(s) => Err(unavailable(&s)),
        }
    }

    /// The outlet's business hours and closed dates as a calendar.
    pub async fn calendar(&self, outlet: &str) -> Result<Calendar, Error> {
        let request = self.as_self(pb::GetOutletRequest {
            name: format!("outlets/{outlet}"),
        })?;
        let o = match self.client.clone().get_outlet(request).await {
            Ok(r) => r.into_inner().outlet.unwrap_or_default(),
            Err(s) if s.code() == Code::NotFound => {
                return Err(Error::refused(
                    "OUTLET_NOT_FOUND",
                    format!("outlet {outlet} is not in the dealer network"),
                ));
            }
            Err(s) => return Err(unavailable(&s)),
        };
        let clock = |t: &str| -> Option<u16> {
            let (h, m) = t.split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
        };
        let periods: Vec<(u32, u16, u16)> = o
            .opening_hours
            .iter()
            .filter_map(|p| {
                let day = u32::try_from(p.weekday).ok()?.checked_sub(1)?;
                Some((day, clock(&p.open_time)?, clock(&p.close_time)?))
            })
            .collect();
        let closed = o.closed_dates.iter().filter_map(|d| {
            NaiveDate::from_ymd_opt(
                d.year,
                u32::try_from(d.month).ok()?,
                u32::try_from(d.day).ok()?,
            )
        });
        let offset = chrono::FixedOffset::east_opt(o.utc_offset_minutes.unwrap_or(480) * 60)
            .unwrap_or_else(Calendar::china_offset);
        Calendar::from_periods(offset, &periods, closed).map_err(|e| {
            Error::Unavailable(format!("outlet {outlet} has malformed business hours: {e}"))
        })
    }
}
