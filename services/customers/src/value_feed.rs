//! The facts customer value is computed from, as other services' events report them:
//! sales and closed repair orders (vehicles), survey answers and complaints (call center).
//! Each fact is stored under its object's key (ON CONFLICT DO NOTHING, so an event applied
//! again changes nothing) and the customer's value is recomputed in the same transaction
//! (once per batch of sales and repairs, for each customer they changed).
//!
//! An event naming a customer the registry does not know is parked (Poison): customer
//! ids are the registry's own, so such an event means lost or foreign data that an
//! operator should look at; once the customer exists, RetryParkedEvent applies it.

use chrono::{DateTime, Utc};
use dealernet_kit::events::{Apply, ApplyError};
use dealernet_proto::{
    callcenter::v1::{self as cc, call_center_service_event::Kind as CallKind},
    types::v1::Money,
    vehicles::v1::{self as vp, vehicle_service_event::Kind as VehicleKind},
};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::value::{CURRENCY, Rules},
    store::value::{self as store, Repair, Sale},
};

/// The consumer's name at the vehicle service and at the call center.
pub const CONSUMER: &str = "customers-value";

fn poison(message: String) -> ApplyError {
    ApplyError::Poison(message)
}

fn customer_id(name: &str, field: &str) -> Result<Uuid, ApplyError> {
    name.strip_prefix("customers/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| poison(format!("{field}: '{name}' is not a customer name")))
}

fn object_id<'a>(name: &'a str, prefix: &str, field: &str) -> Result<&'a str, ApplyError> {
    name.strip_prefix(prefix)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| poison(format!("{field}: '{name}' is not a {prefix}{{id}} name")))
}

fn time(t: Option<&prost_types::Timestamp>, field: &str) -> Result<DateTime<Utc>, ApplyError> {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .ok_or_else(|| poison(format!("{field}: missing or out of range")))
}

/// Minor units in CNY; an empty amount is zero.
fn cny(money: Option<&Money>, field: &str) -> Result<i64, ApplyError> {
    match money {
        None => Ok(0),
        Some(m) if m.minor_units == 0 && m.currency_code.is_empty() => Ok(0),
        Some(m) if m.currency_code == CURRENCY => Ok(m.minor_units),
        Some(m) => Err(poison(format!(
            "{field}: values are kept in {CURRENCY}, not '{}'",
            m.currency_code
        ))),
    }
}

/// Locks the customer the fact counts for and records the fact with `record`; the customer
/// whose value it changes (the merge chain's owner) when the fact is new.
async fn record(
    conn: &mut PgConnection,
    customer: Uuid,
    recorded: impl AsyncFnOnce(&mut PgConnection) -> Result<bool, sqlx::Error>,
) -> Result<Option<Uuid>, ApplyError> {
    let owner = store::lock_owner(conn, customer)
        .await?
        .ok_or_else(|| poison(format!("customers/{customer} is not in the registry")))?;
    Ok(recorded(conn).await?.then_some(owner))
}

/// Recomputes the value of `owners` (when there are any) once.
async fn recompute(
    conn: &mut PgConnection,
    rules: &Rules,
    owners: &[Uuid],
) -> Result<(), ApplyError> {
    if !owners.is_empty() {
        store::recompute(conn, owners, rules).await?;
    }
    Ok(())
}

/// VehicleSold and RepairOrderClosed.
#[derive(Debug, Clone, Copy)]
pub struct VehicleFacts {
    pub rules: Rules,
}

impl VehicleFacts {
    /// Records the event's fact; the customer whose value it changes, if any.
    async fn record_fact(
        &self,
        conn: &mut PgConnection,
        delivery: &vp::StreamEventsResponse,
    ) -> Result<Option<Uuid>, ApplyError> {
        match delivery.event.as_ref().and_then(|e| e.kind.as_ref()) {
            Some(VehicleKind::VehicleSold(s)) => {
                let customer = customer_id(&s.customer, "customer")?;
                let sale = Sale {
                    vin: object_id(&s.vehicle, "vehicles/", "vehicle")?,
                    sold_at: time(s.sell_time.as_ref(), "sell_time")?,
                    customer,
                    outlet: &s.outlet,
                    amount_minor: cny(s.price.as_ref(), "price")?,
                };
                record(conn, customer, async |c| store::insert_sale(c, &sale).await).await
            }
            Some(VehicleKind::RepairOrderClosed(r)) => {
                // An order on a car without an owner is nobody's visit.
                if r.customer.is_empty() {
                    return Ok(None);
                }
                let customer = customer_id(&r.customer, "customer")?;
                let repair = Repair {
                    repair_order: object_id(&r.repair_order, "repairOrders/", "repair_order")?,
                    vin: object_id(&r.vehicle, "vehicles/", "vehicle")?,
                    customer,
                    station: &r.station,
                    amount_minor: cny(r.customer_total.as_ref(), "customer_total")?,
                    closed_at: time(r.close_time.as_ref(), "close_time")?,
                };
                record(conn, customer, async |c| {
                    store::insert_repair(c, &repair).await
                })
                .await
            }
            // Other types are not asked for.
            Some(_) | None => Ok(None),
        }
    }
}

impl Apply for VehicleFacts {
    type Delivery = vp::StreamEventsResponse;

    fn event_types(&self) -> &'static [&'static str] {
        &["VehicleSold", "RepairOrderClosed"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        delivery: &vp::StreamEventsResponse,
    ) -> Result<(), ApplyError> {
        self.apply_all(conn, &[delivery]).await
    }

    /// Records every fact of the batch, then recomputes each customer they changed once.
    async fn apply_all(
        &self,
        conn: &mut PgConnection,
        deliveries: &[&vp::StreamEventsResponse],
    ) -> Result<(), ApplyError> {
        let mut owners = Vec::new();
        for delivery in deliveries {
            if let Some(owner) = self.record_fact(conn, delivery).await?
                && !owners.contains(&owner)
            {
                owners.push(owner);
            }
        }
        recompute(conn, &self.rules, &owners).await
    }
}

/// SurveyCompleted and complaints among CaseOpened.
#[derive(Debug, Clone, Copy)]
pub struct CallCenterFacts {
    pub rules: Rules,
}

impl Apply for CallCenterFacts {
    type Delivery = cc::StreamEventsResponse;

    fn event_types(&self) -> &'static [&'static str] {
        &["SurveyCompleted", "CaseOpened"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        delivery: &cc::StreamEventsResponse,
    ) -> Result<(), ApplyError> {
        match delivery.event.as_ref().and_then(|e| e.kind.as_ref()) {
            Some(CallKind::SurveyCompleted(s)) => {
                let customer = customer_id(&s.customer, "customer")?;
                let response =
                    object_id(&s.survey_response, "surveyResponses/", "survey_response")?;
                if !(1..=5).contains(&s.satisfaction) || !(0..=10).contains(&s.nps) {
                    return Err(poison(format!(
                        "satisfaction {} (1..5) or nps {} (0..10) out of range",
                        s.satisfaction, s.nps
                    )));
                }
                let answered_at = time(s.answer_time.as_ref(), "answer_time")?;
                let (satisfaction, nps) = (s.satisfaction as i16, s.nps as i16);
                let owner = record(conn, customer, async |c| {
                    store::insert_survey(c, response, customer, satisfaction, nps, answered_at)
                        .await
                })
                .await?;
                recompute(conn, &self.rules, owner.as_slice()).await
            }
            Some(CallKind::CaseOpened(o)) if o.r#type == cc::CaseType::Complaint as i32 => {
                let customer = customer_id(&o.customer, "customer")?;
                let case = object_id(&o.case, "cases/", "case")?;
                let opened_at = time(o.open_time.as_ref(), "open_time")?;
                let owner = record(conn, customer, async |c| {
                    store::insert_complaint(c, case, customer, opened_at).await
                })
                .await?;
                recompute(conn, &self.rules, owner.as_slice()).await
            }
            // Inquiries, leads, service requests: not a complaint, nothing to count.
            Some(CallKind::CaseOpened(_)) | None => Ok(()),
        }
    }
}
