//! Repair orders: a station opens one for any vehicle, adds labour and parts with who
//! pays (warranty and recall lines are checked), and moves it to closed.

use dealernet_kit::{
    auth::{Principal, Role},
    error::FieldViolations,
    idempotency::IdempotencyKey,
};
use dealernet_proto::vehicles::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    Result, commit,
    correction::{take_reading, warranty_cover},
    repair_input::{MAX_KM, MAX_TEXT, currency, long_text, parse_line},
    repair_view::{may_read, order_id, order_to_proto, status_from_proto},
    replay,
    stock::{Actor, authorize_outlet, customer_id, outlet_code},
    vehicle::{short_text, vehicle_name},
};
use crate::{
    Error, Service,
    domain::{
        lifecycle::State,
        repair::{Item, Line, PayType, RepairOrder, Status, Totals},
        vin::Vin,
    },
    store,
};

/// Who may open and work orders: the station's own staff (workshop or dealer roles), and
/// the platform's central principals for any station.
fn authorize_station(principal: &Principal, station: &str) -> Result<()> {
    if !(super::stock::central(principal)
        || principal.has_role(Role::Station)
        || principal.has_role(Role::Dealer))
    {
        return Err(Error::PermissionDenied {
            reason: "WORKSHOP_ROLE_REQUIRED",
            message: "repair orders are kept by service stations (role station or dealer) or HQ"
                .into(),
        });
    }
    authorize_outlet(principal, station)
}

fn refused(reason: &'static str, message: String) -> Error {
    Error::Precondition { reason, message }
}

impl Service {
    pub(super) async fn open_repair_order(
        &self,
        principal: &Principal,
        req: pb::OpenRepairOrderRequest,
    ) -> Result<pb::OpenRepairOrderResponse> {
        let key = IdempotencyKey::new(principal, "OpenRepairOrder", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let vin = vehicle_name(&req.vehicle, "vehicle")
            .map_err(|e| v.append(e))
            .ok();
        let station = outlet_code(&mut v, "station", &req.station);
        let customer = if req.customer.is_empty() {
            None
        } else {
            customer_id(&mut v, "customer", &req.customer)
        };
        let service_advisor = short_text(&mut v, "service_advisor", &req.service_advisor);
        let complaint = long_text(&mut v, "complaint", &req.complaint, true, MAX_TEXT);
        if !(0..=MAX_KM).contains(&req.odometer_km) {
            v.add("odometer_km", format!("must be 0 to {MAX_KM}"));
        }
        let currency_code = currency(&mut v, "currency_code", &req.currency_code);
        let Some(vin) = vin else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        authorize_station(principal, &station)?;
        // Asked before the transaction: no row lock is held across a network call.
        self.outlets
            .check(&station, crate::outlets::Action::Repair)
            .await?;
        let customer = match customer {
            Some(id) => Some(self.customers.confirm(id, "repair order").await?),
            None => None,
        };
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let now = crate::now();
        let mut vehicle = store::vehicle::load(&mut tx, &vin, true)
            .await?
            .ok_or_else(|| Error::VehicleNotFound(req.vehicle.clone()))?;
        if vehicle.state == State::Scrapped {
            return Err(refused(
                "VEHICLE_SCRAPPED",
                format!("{} is scrapped", req.vehicle),
            ));
        }
        let order = RepairOrder {
            id: Uuid::now_v7(),
            vin: vin.clone(),
            station,
            customer: customer.or(vehicle.owner),
            service_advisor,
            complaint,
            diagnosis: String::new(),
            odometer_km: req.odometer_km,
            status: Status::Open,
            currency_code,
            opened_at: now,
            completed_at: None,
            closed_at: None,
            totals: None,
            version: 1,
            update_time: now,
        };
        store::repair::insert(&mut tx, &order).await?;
        let rollback = take_reading(
            &mut tx,
            principal,
            &mut vehicle,
            now,
            req.odometer_km,
            "REPAIR_ORDER",
            &order.station,
        )
        .await?;
        let details = vec![
            (
                "repair_order".to_owned(),
                format!("repairOrders/{}", order.id),
            ),
            ("station".to_owned(), order.station.clone()),
            ("odometer_km".to_owned(), req.odometer_km.to_string()),
        ];
        self.record(
            &mut tx,
            &mut vehicle,
            "REPAIR_ORDER_OPENED",
            &Actor(principal),
            details,
            now,
        )
        .await?;
        let name = format!("repairOrders/{}", order.id);
        let response = pb::OpenRepairOrderResponse {
            repair_order: Some(order_to_proto(&order, &[])),
            suspected_rollback: rollback,
        };
        commit(tx, key.as_ref(), response, &name).await
    }

    /// Loads and locks an order its caller may work on. One it may not even read
    /// (`may_read`) is NOT_FOUND, as on GetRepairOrder, so no RPC tells that it exists.
    async fn workable_order(
        &self,
        tx: &mut PgConnection,
        principal: &Principal,
        name: &str,
        id: Uuid,
    ) -> Result<RepairOrder> {
        let order = match store::repair::load(tx, id, true).await? {
            Some(order) if may_read(tx, principal, &order).await? => order,
            _ => return Err(Error::RepairOrderNotFound(name.to_owned())),
        };
        authorize_station(principal, &order.station)?;
        Ok(order)
    }

    pub(super) async fn add_repair_order_line(
        &self,
        principal: &Principal,
        req: pb::AddRepairOrderLineRequest,
    ) -> Result<pb::AddRepairOrderLineResponse> {
        let key = IdempotencyKey::new(principal, "AddRepairOrderLine", &req.request_id, &req)?;
        let id = order_id(&req.repair_order, "repair_order")?;
        let Some(requested) = req.line.as_ref() else {
            return Err(FieldViolations::one("line", "required").into());
        };
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let mut order = self
            .workable_order(&mut tx, principal, &req.repair_order, id)
            .await?;
        // Shape is checked against the order's currency, so only after loading it; a
        // refusal still writes nothing.
        let mut v = FieldViolations::new();
        let line = parse_line(&mut v, requested, &order.currency_code);
        v.into_result()?;
        let Some(mut line) = line else {
            return Err(FieldViolations::one("line", "is not valid").into());
        };
        if !order.status.lines_editable() {
            return Err(refused(
                "REPAIR_ORDER_NOT_EDITABLE",
                format!(
                    "{} is {}: its lines can no longer change",
                    req.repair_order,
                    order.status.as_str()
                ),
            ));
        }
        self.check_payer(&mut tx, &order, &line).await?;
        let now = crate::now();
        line.number = store::repair::add_line(&mut tx, id, &line, now).await?;
        if let Item::Part {
            part_number, batch, ..
        } = &line.item
            && !batch.is_empty()
        {
            store::recall::add_fitted(&mut tx, &order.vin, part_number, batch).await?;
        }
        order.version += 1;
        order.update_time = now;
        store::repair::update(&mut tx, &order).await?;
        let lines = store::repair::lines(&mut tx, id).await?;
        let response = pb::AddRepairOrderLineResponse {
            repair_order: Some(order_to_proto(&order, &lines)),
        };
        commit(tx, key.as_ref(), response, &req.repair_order).await
    }

    /// Warranty lines need cover on the order's day at its odometer; recall lines an open
    /// campaign the vehicle still needs.
    async fn check_payer(
        &self,
        tx: &mut PgConnection,
        order: &RepairOrder,
        line: &Line,
    ) -> Result<()> {
        match line.pay_type {
            PayType::Warranty => {
                let vehicle = store::vehicle::load(tx, &order.vin, false)
                    .await?
                    .ok_or_else(|| Error::VehicleNotFound(format!("vehicles/{}", order.vin)))?;
                let cover = warranty_cover(
                    tx,
                    &vehicle,
                    order.opened_at.date_naive(),
                    order.odometer_km,
                )
                .await?;
                if !cover.covered {
                    return Err(refused(
                        "NOT_UNDER_WARRANTY",
                        format!(
                            "vehicles/{} is not under warranty on the order's day at {} km: {}",
                            order.vin, order.odometer_km, cover.reason
                        ),
                    ));
                }
            }
            PayType::Recall => {
                let code = line.recall_campaign.as_deref().unwrap_or_default();
                let open = store::recall::open_codes(tx, &order.vin).await?;
                if !open.iter().any(|c| c == code) {
                    return Err(refused(
                        "RECALL_NOT_OPEN_FOR_VEHICLE",
                        format!(
                            "recallCampaigns/{code} is not an open recall for vehicles/{}",
                            order.vin
                        ),
                    ));
                }
            }
            PayType::Customer | PayType::Goodwill => {}
        }
        Ok(())
    }

    pub(super) async fn remove_repair_order_line(
        &self,
        principal: &Principal,
        req: pb::RemoveRepairOrderLineRequest,
    ) -> Result<pb::RemoveRepairOrderLineResponse> {
        let key = IdempotencyKey::new(principal, "RemoveRepairOrderLine", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let id = order_id(&req.repair_order, "repair_order")
            .map_err(|e| v.append(e))
            .ok();
        if req.line_number < 1 {
            v.add("line_number", "must be 1 or more");
        }
        let Some(id) = id else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let mut order = self
            .workable_order(&mut tx, principal, &req.repair_order, id)
            .await?;
        if !order.status.lines_editable() {
            return Err(refused(
                "REPAIR_ORDER_NOT_EDITABLE",
                format!(
                    "{} is {}: its lines can no longer change",
                    req.repair_order,
                    order.status.as_str()
                ),
            ));
        }
        if !store::repair::remove_line(&mut tx, id, req.line_number).await? {
            return Err(refused(
                "REPAIR_ORDER_LINE_NOT_FOUND",
                format!("{} has no line {}", req.repair_order, req.line_number),
            ));
        }
        order.version += 1;
        order.update_time = crate::now();
        store::repair::update(&mut tx, &order).await?;
        let lines = store::repair::lines(&mut tx, id).await?;
        let response = pb::RemoveRepairOrderLineResponse {
            repair_order: Some(order_to_proto(&order, &lines)),
        };
        commit(tx, key.as_ref(), response, &req.repair_order).await
    }

    pub(super) async fn set_repair_order_status(
        &self,
        principal: &Principal,
        req: pb::SetRepairOrderStatusRequest,
    ) -> Result<pb::SetRepairOrderStatusResponse> {
        let key = IdempotencyKey::new(principal, "SetRepairOrderStatus", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let id = order_id(&req.repair_order, "repair_order")
            .map_err(|e| v.append(e))
            .ok();
        let to = status_from_proto(req.status);
        if to.is_none() {
            v.add(
                "status",
                "required: one of the REPAIR_ORDER_STATUS_* values",
            );
        }
        let diagnosis = long_text(&mut v, "diagnosis", &req.diagnosis, false, MAX_TEXT);
        let (Some(id), Some(to)) = (id, to) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let mut order = self
            .workable_order(&mut tx, principal, &req.repair_order, id)
            .await?;
        if !req.etag.is_empty() && req.etag != format!("\"{}\"", order.version) {
            return Err(Error::EtagMismatch);
        }
        order.status.check_move(to).map_err(|reason| {
            refused(
                reason,
                format!(
                    "{} cannot go from {} to {}",
                    req.repair_order,
                    order.status.as_str(),
                    to.as_str()
                ),
            )
        })?;
        if !diagnosis.is_empty() {
            order.diagnosis = diagnosis;
        }
        let lines = store::repair::lines(&mut tx, id).await?;
        let now = crate::now();
        match to {
            Status::Completed => {
                if lines.is_empty() {
                    return Err(refused(
                        "REPAIR_ORDER_HAS_NO_LINES",
                        format!("{} has no lines to complete", req.repair_order),
                    ));
                }
                if order.diagnosis.is_empty() {
                    return Err(refused(
                        "DIAGNOSIS_REQUIRED",
                        format!("{} needs a diagnosis to be completed", req.repair_order),
                    ));
                }
                order.completed_at = Some(now);
                self.complete_work(&mut tx, principal, &order, &lines, now)
                    .await?;
            }
            Status::Closed => {
                let totals = Totals::of(&lines);
                order.closed_at = Some(now);
                order.totals = Some(totals);
                self.note_on_vehicle(
                    &mut tx,
                    principal,
                    &order.vin,
                    "REPAIR_ORDER_CLOSED",
                    vec![
                        ("repair_order".into(), format!("repairOrders/{}", order.id)),
                        ("station".into(), order.station.clone()),
                        ("total_minor".into(), totals.total_minor().to_string()),
                        ("currency_code".into(), order.currency_code.clone()),
                    ],
                    now,
                )
                .await?;
            }
            Status::Open | Status::InProgress | Status::WaitingParts => {}
        }
        order.status = to;
        order.version += 1;
        order.update_time = now;
        store::repair::update(&mut tx, &order).await?;
        if let (Status::Closed, Some(totals)) = (to, order.totals.as_ref()) {
            let model = store::vehicle::load(&mut tx, &order.vin, false)
                .await?
                .map(|v| v.model_code)
                .unwrap_or_default();
            crate::events::repair_order_closed(&mut tx, principal, &order, &model, &lines, totals)
                .await?;
            store::insights::count_part_failures(&mut tx, order.id, &model, now).await?;
        }
        let response = pb::SetRepairOrderStatusResponse {
            repair_order: Some(order_to_proto(&order, &lines)),
        };
        // The satisfaction survey follows from the RepairOrderClosed event (the call
        // center consumes it), so it is not lost when the call center is down.
        commit(tx, key.as_ref(), response, &req.repair_order).await
    }

    /// The work is done: the recalls its recall lines remedy are completed, and the
    /// vehicle's timeline says what was done.
    async fn complete_work(
        &self,
        tx: &mut PgConnection,
        principal: &Principal,
        order: &RepairOrder,
        lines: &[Line],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let mut details = vec![
            (
                "repair_order".to_owned(),
                format!("repairOrders/{}", order.id),
            ),
            ("station".to_owned(), order.station.clone()),
            ("diagnosis".to_owned(), order.diagnosis.clone()),
        ];
        let mut remedied: Vec<&str> = Vec::new();
        for line in lines {
            if let Some(code) = line.recall_campaign.as_deref()
                && !remedied.contains(&code)
                && store::recall::complete(tx, code, &order.vin, &order.station, order.id, now)
                    .await?
            {
                remedied.push(code);
            }
            let what = match &line.item {
                Item::Labour {
                    operation_code,
                    technician,
                    ..
                } => format!("labour {operation_code} by {technician}"),
                Item::Part {
                    part_number,
                    quantity,
                    ..
                } => format!("part {part_number} × {quantity}"),
            };
            details.push((format!("line_{}", line.number), what));
        }
        if !remedied.is_empty() {
            details.push(("recalls_remedied".to_owned(), remedied.join(",")));
        }
        self.note_on_vehicle(
            tx,
            principal,
            &order.vin,
            "REPAIR_ORDER_COMPLETED",
            details,
            now,
        )
        .await
    }

    /// Adds an entry to a vehicle's timeline without changing its state.
    async fn note_on_vehicle(
        &self,
        tx: &mut PgConnection,
        principal: &Principal,
        vin: &Vin,
        action: &str,
        details: Vec<(String, String)>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let mut vehicle = store::vehicle::load(tx, vin, true)
            .await?
            .ok_or_else(|| Error::VehicleNotFound(format!("vehicles/{vin}")))?;
        self.record(tx, &mut vehicle, action, &Actor(principal), details, now)
            .await
    }
}
