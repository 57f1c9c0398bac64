//! Repair orders as the API shows them, and their reading RPCs.

use chrono::{DateTime, Utc};
use dealernet_kit::{
    auth::{Principal, Role},
    error::FieldViolations,
    paging::{TimeIdCursor, time_id, time_id_cursor},
};
use dealernet_proto::{types::v1 as types, vehicles::v1 as pb};
use prost::Message;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    Result,
    stock::{central, customer_id},
    vehicle::{timestamp, vehicle_name},
};
use crate::{
    Error, Service,
    domain::repair::{Item, Line, PayType, RepairOrder, Status},
    store::{self, repair::Filter},
};

pub(super) fn money(currency: &str, minor: i64) -> types::Money {
    types::Money {
        currency_code: currency.to_owned(),
        minor_units: minor,
    }
}

pub(super) fn status_to_proto(s: Status) -> pb::RepairOrderStatus {
    match s {
        Status::Open => pb::RepairOrderStatus::Open,
        Status::InProgress => pb::RepairOrderStatus::InProgress,
        Status::WaitingParts => pb::RepairOrderStatus::WaitingParts,
        Status::Completed => pb::RepairOrderStatus::Completed,
        Status::Closed => pb::RepairOrderStatus::Closed,
    }
}

pub(super) fn status_from_proto(v: i32) -> Option<Status> {
    match pb::RepairOrderStatus::try_from(v).ok()? {
        pb::RepairOrderStatus::Unspecified => None,
        pb::RepairOrderStatus::Open => Some(Status::Open),
        pb::RepairOrderStatus::InProgress => Some(Status::InProgress),
        pb::RepairOrderStatus::WaitingParts => Some(Status::WaitingParts),
        pb::RepairOrderStatus::Completed => Some(Status::Completed),
        pb::RepairOrderStatus::Closed => Some(Status::Closed),
    }
}

fn pay_type_to_proto(p: PayType) -> pb::PayType {
    match p {
        PayType::Customer => pb::PayType::Customer,
        PayType::Warranty => pb::PayType::Warranty,
        PayType::Goodwill => pb::PayType::Goodwill,
        PayType::Recall => pb::PayType::Recall,
    }
}

fn line_to_proto(currency: &str, l: &Line) -> pb::RepairOrderLine {
    let item = match &l.item {
        Item::Labour {
            operation_code,
            hundredths,
            technician,
            rate_minor,
        } => pb::repair_order_line::Item::Labour(pb::LabourLine {
            operation_code: operation_code.clone(),
            hours: f64::from(*hundredths) / 100.0,
            technician: technician.clone(),
            hourly_rate: Some(money(currency, *rate_minor)),
        }),
        Item::Part {
            part_number,
            batch,
            serial,
            quantity,
            unit_minor,
        } => pb::repair_order_line::Item::Part(pb::PartLine {
            part_number: part_number.clone(),
            batch: batch.clone(),
            serial: serial.clone(),
            quantity: *quantity,
            unit_price: Some(money(currency, *unit_minor)),
        }),
    };
    pb::RepairOrderLine {
        line_number: l.number,
        item: Some(item),
        pay_type: pay_type_to_proto(l.pay_type) as i32,
        fault_code: l.fault_code.clone(),
        description: l.description.clone(),
        recall_campaign: l
            .recall_campaign
            .as_ref()
            .map(|c| format!("recallCampaigns/{c}"))
            .unwrap_or_default(),
        amount: Some(money(currency, l.amount_minor)),
    }
}

pub(super) fn order_to_proto(o: &RepairOrder, lines: &[Line]) -> pb::RepairOrder {
    let c = o.currency_code.as_str();
    pb::RepairOrder {
        name: format!("repairOrders/{}", o.id),
        vehicle: format!("vehicles/{}", o.vin),
        station: o.station.clone(),
        customer: o
            .customer
            .map(|id| format!("customers/{id}"))
            .unwrap_or_default(),
        service_advisor: o.service_advisor.clone(),
        complaint: o.complaint.clone(),
        diagnosis: o.diagnosis.clone(),
        odometer_km: o.odometer_km,
        status: status_to_proto(o.status) as i32,
        lines: lines.iter().map(|l| line_to_proto(c, l)).collect(),
        open_time: Some(timestamp(o.opened_at)),
        complete_time: o.completed_at.map(timestamp),
        close_time: o.closed_at.map(timestamp),
        totals: o.totals.map(|t| pb::RepairOrderTotals {
            labour_hours: t.labour_hundredths as f64 / 100.0,
            labour: Some(money(c, t.labour_minor)),
            parts: Some(money(c, t.parts_minor)),
            customer: Some(money(c, t.customer_minor)),
            warranty: Some(money(c, t.warranty_minor)),
            goodwill: Some(money(c, t.goodwill_minor)),
            recall: Some(money(c, t.recall_minor)),
            total: Some(money(c, t.total_minor())),
        }),
        etag: format!("\"{}\"", o.version),
        currency_code: o.currency_code.clone(),
    }
}

/// `repairOrders/{uuid}`.
pub(super) fn order_id(name: &str, field: &str) -> std::result::Result<Uuid, FieldViolations> {
    name.strip_prefix("repairOrders/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| {
            FieldViolations::one(
                field,
                format!("'{name}' is not a repair order name (repairOrders/{{uuid}})"),
            )
        })
}

/// Whether the principal sees every repair order of the network: HQ, the hotline and
/// platform systems (the first clause of [`may_read`]).
fn sees_all(principal: &Principal) -> bool {
    central(principal) || principal.has_role(Role::Agent)
}

/// Who may read a repair order — its customer, complaint, diagnosis, lines, prices and
/// totals. The one rule for GetRepairOrder, for every order ListRepairOrders returns and
/// for the orders the workshop RPCs load:
///
/// - HQ (organisation HQ, role hq or steward), the hotline (role agent) and platform
///   systems (role system): every order, as they see every car, case and timeline detail
///   (Customer360 lists a customer's orders with the agent's own credentials).
/// - An outlet (role dealer or station; its organisation is its code): the orders its own
///   station opened, and every order of a car it holds (`holder_outlet`: stock at a
///   dealer) or sold (the selling outlet answers for the car once delivered; customers
///   are not principals). These are the outlets that see a car's commercial timeline
///   details and list it (`is_holder_or_seller`).
/// - Nobody else: another station or dealer gets REPAIR_ORDER_NOT_FOUND, exactly as for
///   an id that does not exist, so ids cannot be probed (as for hotline cases). It may
///   still read the car's timeline, which keeps the service history without prices.
pub(super) async fn may_read(
    conn: &mut PgConnection,
    principal: &Principal,
    order: &RepairOrder,
) -> Result<bool> {
    if sees_all(principal) || principal.organization() == order.station {
        return Ok(true);
    }
    Ok(store::vehicle::is_holder_or_seller(conn, &order.vin, principal.organization()).await?)
}

fn optional_time(
    v: &mut FieldViolations,
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> Option<DateTime<Utc>> {
    let t = t?;
    let at = u32::try_from(t.nanos)
        .ok()
        .and_then(|n| DateTime::from_timestamp(t.seconds, n));
    if at.is_none() {
        v.add(field, "is not a valid timestamp");
    }
    at
}

impl Service {
    /// An order with its lines, for a caller [`may_read`] it.
    pub(super) async fn get_repair_order(
        &self,
        principal: &Principal,
        req: pb::GetRepairOrderRequest,
    ) -> Result<pb::GetRepairOrderResponse> {
        let id = order_id(&req.name, "name")?;
        let mut conn = self.pool.acquire().await?;
        let order = match store::repair::load(&mut conn, id, false).await? {
            Some(order) if may_read(&mut conn, principal, &order).await? => order,
            _ => return Err(Error::RepairOrderNotFound(req.name.clone())),
        };
        let lines = store::repair::lines(&mut conn, id).await?;
        Ok(pb::GetRepairOrderResponse {
            repair_order: Some(order_to_proto(&order, &lines)),
        })
    }

    pub(super) async fn list_repair_orders(
        &self,
        principal: &Principal,
        req: pb::ListRepairOrdersRequest,
    ) -> Result<pb::ListRepairOrdersResponse> {
        let mut v = FieldViolations::new();
        let mut filter = Filter::default();
        if !req.vehicle.is_empty() {
            filter.vin = vehicle_name(&req.vehicle, "vehicle")
                .map_err(|e| v.append(e))
                .ok();
        }
        if !req.station.is_empty() {
            filter.station = Some(req.station.clone());
        }
        if !req.customer.is_empty() {
            filter.customer = customer_id(&mut v, "customer", &req.customer);
        }
        for (i, s) in req.statuses.iter().enumerate() {
            match status_from_proto(*s) {
                Some(s) => filter.statuses.push(s),
                None => v.add(format!("statuses[{i}]"), "not a repair order status"),
            }
        }
        filter.opened_after = optional_time(&mut v, "opened_after", req.opened_after.as_ref());
        filter.opened_before = optional_time(&mut v, "opened_before", req.opened_before.as_ref());
        let bound = pb::ListRepairOrdersRequest {
            page_size: 0,
            page_token: String::new(),
            ..req.clone()
        }
        .encode_to_vec();
        let (size, after) =
            self.page_tokens
                .page::<TimeIdCursor>(&mut v, req.page_size, &req.page_token, &bound);
        let after = after.and_then(time_id);
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        // Every order listed is one the caller may read (`may_read`): an outlet lists its
        // own station's orders, or every order of a car it names and holds or sold.
        let whole_history = sees_all(principal)
            || match &filter.vin {
                Some(vin) => {
                    store::vehicle::is_holder_or_seller(&mut conn, vin, principal.organization())
                        .await?
                }
                None => false,
            };
        if !whole_history {
            match &filter.station {
                Some(s) if s == principal.organization() => {}
                None => filter.station = Some(principal.organization().to_owned()),
                Some(s) => {
                    return Err(Error::PermissionDenied {
                        reason: "NOT_YOUR_OUTLET",
                        message: format!(
                            "{} cannot list the repair orders of {s}; name a vehicle it holds or sold to see its history",
                            principal.organization()
                        ),
                    });
                }
            }
        }
        let mut orders = store::repair::list(&mut conn, &filter, after, size + 1).await?;
        let next_page_token = self.page_tokens.next_page(&mut orders, size, &bound, |o| {
            time_id_cursor(o.opened_at, o.id)
        });
        Ok(pb::ListRepairOrdersResponse {
            repair_orders: orders.iter().map(|o| order_to_proto(o, &[])).collect(),
            next_page_token,
        })
    }
}
