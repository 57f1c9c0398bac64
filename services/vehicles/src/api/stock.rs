//! Stock movements: dispatch, transit, receipt, transfer, reservation.

use chrono::{DateTime, TimeDelta, Utc};
use dealernet_kit::{
    auth::{Principal, Role},
    error::FieldViolations,
    idempotency::IdempotencyKey,
};
use dealernet_proto::vehicles::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    Result, commit, replay, required_time,
    vehicle::{short_text, timestamp, vehicle_name, vehicle_to_proto},
};
use crate::{
    Error, Service,
    domain::{
        lifecycle::{Action, State, transition},
        vehicle::{Event, Vehicle},
        vin::Vin,
    },
    outlets::Action as OutletAction,
    store::{self, vehicle::ShipmentRow},
};

const MAX_SHIPMENT: usize = 100;
const MAX_RESERVATION_DAYS: i64 = 90;

pub(super) fn central(principal: &Principal) -> bool {
    principal.has_role(Role::System) || principal.is_head_office()
}

/// Only central callers may act for any outlet; an outlet's own staff act for it alone.
pub(super) fn authorize_outlet(principal: &Principal, outlet: &str) -> Result<()> {
    if central(principal) || principal.organization() == outlet {
        return Ok(());
    }
    Err(Error::PermissionDenied {
        reason: "NOT_YOUR_OUTLET",
        message: format!(
            "{} cannot act for outlet {outlet}",
            principal.organization()
        ),
    })
}

fn require_central(principal: &Principal, what: &str) -> Result<()> {
    if central(principal) {
        return Ok(());
    }
    Err(Error::PermissionDenied {
        reason: "LOGISTICS_ROLE_REQUIRED",
        message: format!("{what} is for factory and carrier systems (role system) or HQ"),
    })
}

pub(super) fn outlet_code(v: &mut FieldViolations, field: &str, code: &str) -> String {
    let ok = (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        v.add(
            field,
            "must be an outlet code: 1 to 32 characters of A-Z, 0-9, '-' or '_'",
        );
    }
    code.to_owned()
}

pub(super) fn customer_id(v: &mut FieldViolations, field: &str, name: &str) -> Option<Uuid> {
    let id = name
        .strip_prefix("customers/")
        .and_then(|id| Uuid::parse_str(id).ok());
    if id.is_none() {
        v.add(
            field,
            format!("'{name}' is not a customer name (customers/{{uuid}})"),
        );
    }
    id
}

fn shipment_to_proto(s: &ShipmentRow, vins: &[Vin]) -> pb::Shipment {
    pb::Shipment {
        name: format!("shipments/{}", s.id),
        carrier: s.carrier.clone(),
        origin: s.origin.clone(),
        destination_outlet: s.destination_outlet.clone(),
        eta: Some(timestamp(s.eta)),
        vehicles: vins.iter().map(|v| format!("vehicles/{v}")).collect(),
    }
}

/// Who acts, for the timeline.
pub(super) struct Actor<'a>(pub(super) &'a Principal);

impl Service {
    /// Runs one guarded action on a locked vehicle: lapses an expired reservation, checks
    /// the transition, lets `change` check and apply the action's own effects, then writes
    /// the vehicle and its timeline entry. Refusals leave nothing written (the caller's
    /// transaction rolls back).
    pub(super) async fn act(
        &self,
        tx: &mut PgConnection,
        vin: &Vin,
        action: Action,
        actor: &Actor<'_>,
        details: Vec<(String, String)>,
        change: impl FnOnce(&mut Vehicle) -> Result<()>,
    ) -> Result<Vehicle> {
        let now = crate::now();
        let mut v = store::vehicle::load(tx, vin, true)
            .await?
            .ok_or_else(|| Error::VehicleNotFound(format!("vehicles/{vin}")))?;
        if v.state == State::Reserved && v.reserved_until.is_some_and(|until| until <= now) {
            v.state = State::InStock;
            (v.reserved_for, v.reserved_until) = (None, None);
            self.record(tx, &mut v, "RESERVATION_LAPSED", actor, vec![], now)
                .await?;
        }
        let next = transition(Some(v.state), action).map_err(|reason| Error::Precondition {
            reason,
            message: format!(
                "{} is not allowed: vehicles/{vin} is {}",
                action.as_str(),
                v.state.as_str()
            ),
        })?;
        change(&mut v)?;
        v.state = next;
        self.record(tx, &mut v, action.as_str(), actor, details, now)
            .await?;
        Ok(v)
    }

    /// Asks the dealer network whether the outlet acting on a car may `action` now: the
    /// caller's own outlet, or for central callers the outlet holding the car (read
    /// without a lock; the action re-checks the holder under its lock).
    pub(super) async fn check_acting_outlet(
        &self,
        principal: &Principal,
        vin: &Vin,
        action: OutletAction,
    ) -> Result<()> {
        let outlet = if central(principal) {
            let mut conn = self.pool.acquire().await?;
            match store::vehicle::load(&mut conn, vin, false).await? {
                Some(v) if !v.holder_outlet.is_empty() => v.holder_outlet,
                // Nothing holds it: the action itself refuses.
                _ => return Ok(()),
            }
        } else {
            principal.organization().to_owned()
        };
        self.outlets.check(&outlet, action).await
    }

    pub(super) async fn record(
        &self,
        tx: &mut PgConnection,
        v: &mut Vehicle,
        action: &str,
        actor: &Actor<'_>,
        details: Vec<(String, String)>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        v.version += 1;
        v.update_time = now;
        store::vehicle::update(tx, v).await?;
        let event = Event {
            sequence: store::vehicle::next_sequence(tx, &v.vin).await?,
            at: now,
            action: action.to_owned(),
            state_after: v.state,
            actor_org: actor.0.organization().to_owned(),
            actor_subject: actor.0.subject().to_owned(),
            details,
        };
        store::vehicle::append_event(tx, &v.vin, &event).await?;
        crate::events::vehicle_changed(tx, actor.0, v, action, &event.details, now).await?;
        Ok(())
    }

    pub(super) async fn dispatch_shipment(
        &self,
        principal: &Principal,
        req: pb::DispatchShipmentRequest,
    ) -> Result<pb::DispatchShipmentResponse> {
        require_central(principal, "dispatching from the plant")?;
        let key = IdempotencyKey::new(principal, "DispatchShipment", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        if req.vins.is_empty() || req.vins.len() > MAX_SHIPMENT {
            v.add("vins", format!("1 to {MAX_SHIPMENT} VINs"));
        }
        let mut vins: Vec<Vin> = Vec::new();
        for (i, raw) in req.vins.iter().enumerate() {
            match Vin::parse(raw) {
                Ok(vin) if vins.contains(&vin) => v.add(format!("vins[{i}]"), "is listed twice"),
                Ok(vin) => vins.push(vin),
                Err(e) => v.add(format!("vins[{i}]"), e.to_string()),
            }
        }
        let carrier = short_text(&mut v, "carrier", &req.carrier);
        let origin = short_text(&mut v, "origin", &req.origin);
        let destination = outlet_code(&mut v, "destination_outlet", &req.destination_outlet);
        let eta = required_time(&mut v, "eta", req.eta.as_ref(), false);
        v.into_result()?;
        self.outlets
            .check(&destination, OutletAction::ReceiveStock)
            .await?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let shipment = ShipmentRow {
            id: Uuid::now_v7(),
            carrier,
            origin,
            destination_outlet: destination,
            eta: eta.unwrap_or_default(),
        };
        store::vehicle::insert_shipment(&mut tx, &shipment, principal.organization(), crate::now())
            .await?;
        // Locked in VIN order so that overlapping dispatches cannot deadlock.
        let mut sorted = vins.clone();
        sorted.sort();
        let details = vec![
            ("shipment".to_owned(), format!("shipments/{}", shipment.id)),
            ("carrier".to_owned(), shipment.carrier.clone()),
            (
                "destination_outlet".to_owned(),
                shipment.destination_outlet.clone(),
            ),
        ];
        for vin in &sorted {
            self.act(
                &mut tx,
                vin,
                Action::DispatchShipment,
                &Actor(principal),
                details.clone(),
                |veh| {
                    veh.holder_outlet.clear();
                    Ok(())
                },
            )
            .await?;
            store::vehicle::add_to_shipment(&mut tx, shipment.id, vin).await?;
        }
        let response = pb::DispatchShipmentResponse {
            shipment: Some(shipment_to_proto(&shipment, &vins)),
        };
        commit(
            tx,
            key.as_ref(),
            response,
            &format!("shipments/{}", shipment.id),
        )
        .await
    }

    pub(super) async fn record_transit_event(
        &self,
        principal: &Principal,
        req: pb::RecordTransitEventRequest,
    ) -> Result<pb::RecordTransitEventResponse> {
        require_central(principal, "recording transit")?;
        let key = IdempotencyKey::new(principal, "RecordTransitEvent", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let vin = vehicle_name(&req.vehicle, "vehicle")
            .map_err(|e| v.append(e))
            .ok();
        let position = short_text(&mut v, "position", &req.position);
        let status = short_text(&mut v, "status", &req.status);
        let at = required_time(&mut v, "time", req.time.as_ref(), true);
        let (Some(vin), Some(at)) = (vin, at) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let details = vec![
            ("position".to_owned(), position),
            ("status".to_owned(), status),
            ("time".to_owned(), at.to_rfc3339()),
        ];
        // Content-idempotent: the same event again adds nothing, so feeds may resend.
        let current = store::vehicle::load(&mut tx, &vin, true)
            .await?
            .ok_or_else(|| Error::VehicleNotFound(req.vehicle.clone()))?;
        let duplicate =
            store::vehicle::has_event(&mut tx, &vin, Action::RecordTransitEvent.as_str(), &details)
                .await?;
        let vehicle = if duplicate {
            current
        } else {
            self.act(
                &mut tx,
                &vin,
                Action::RecordTransitEvent,
                &Actor(principal),
                details,
                |_| Ok(()),
            )
            .await?
        };
        let response = pb::RecordTransitEventResponse {
            vehicle: Some(vehicle_to_proto(&vehicle)),
            duplicate,
        };
        commit(tx, key.as_ref(), response, &req.vehicle).await
    }

    pub(super) async fn receive_at_dealer(
        &self,
        principal: &Principal,
        req: pb::ReceiveAtDealerRequest,
    ) -> Result<pb::ReceiveAtDealerResponse> {
        let key = IdempotencyKey::new(principal, "ReceiveAtDealer", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let vin = vehicle_name(&req.vehicle, "vehicle")
            .map_err(|e| v.append(e))
            .ok();
        let outlet = outlet_code(&mut v, "outlet", &req.outlet);
        let Some(vin) = vin else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        authorize_outlet(principal, &outlet)?;
        self.outlets
            .check(&outlet, OutletAction::ReceiveStock)
            .await?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let open = store::vehicle::open_shipment(&mut tx, &vin).await?;
        let details = vec![("outlet".to_owned(), outlet.clone())];
        let vehicle = self
            .act(
                &mut tx,
                &vin,
                Action::ReceiveAtDealer,
                &Actor(principal),
                details,
                |veh| match &open {
                    Some((_, destination)) if *destination == outlet => {
                        veh.holder_outlet = outlet.clone();
                        Ok(())
                    }
                    Some((_, destination)) => Err(Error::Precondition {
                        reason: "NOT_DESTINATION_OUTLET",
                        message: format!("the shipment goes to {destination}, not {outlet}"),
                    }),
                    None => Err(Error::Precondition {
                        reason: "NO_OPEN_SHIPMENT",
                        message: "the vehicle is on no open shipment".into(),
                    }),
                },
            )
            .await?;
        if let Some((shipment, _)) = open {
            store::vehicle::mark_received(&mut tx, shipment, &vin, crate::now()).await?;
        }
        let response = pb::ReceiveAtDealerResponse {
            vehicle: Some(vehicle_to_proto(&vehicle)),
        };
        commit(tx, key.as_ref(), response, &req.vehicle).await
    }

    pub(super) async fn transfer_stock(
        &self,
        principal: &Principal,
        req: pb::TransferStockRequest,
    ) -> Result<pb::TransferStockResponse> {
        let key = IdempotencyKey::new(principal, "TransferStock", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let vin = vehicle_name(&req.vehicle, "vehicle")
            .map_err(|e| v.append(e))
            .ok();
        let destination = outlet_code(&mut v, "destination_outlet", &req.destination_outlet);
        let carrier = short_text(&mut v, "carrier", &req.carrier);
        let eta = required_time(&mut v, "eta", req.eta.as_ref(), false);
        let (Some(vin), Some(eta)) = (vin, eta) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        self.outlets
            .check(&destination, OutletAction::ReceiveStock)
            .await?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let holder = store::vehicle::load(&mut tx, &vin, true)
            .await?
            .map(|veh| veh.holder_outlet)
            .unwrap_or_default();
        authorize_outlet(principal, &holder)?;
        if holder == destination {
            return Err(FieldViolations::one(
                "destination_outlet",
                "is the outlet holding the vehicle",
            )
            .into());
        }
        let shipment = ShipmentRow {
            id: Uuid::now_v7(),
            carrier,
            origin: holder.clone(),
            destination_outlet: destination,
            eta,
        };
        store::vehicle::insert_shipment(&mut tx, &shipment, principal.organization(), crate::now())
            .await?;
        let details = vec![
            ("shipment".to_owned(), format!("shipments/{}", shipment.id)),
            ("from_outlet".to_owned(), holder),
            (
                "destination_outlet".to_owned(),
                shipment.destination_outlet.clone(),
            ),
        ];
        self.act(
            &mut tx,
            &vin,
            Action::TransferStock,
            &Actor(principal),
            details,
            |veh| {
                veh.holder_outlet.clear();
                Ok(())
            },
        )
        .await?;
        store::vehicle::add_to_shipment(&mut tx, shipment.id, &vin).await?;
        let response = pb::TransferStockResponse {
            shipment: Some(shipment_to_proto(&shipment, std::slice::from_ref(&vin))),
        };
        commit(tx, key.as_ref(), response, &req.vehicle).await
    }

    pub(super) async fn reserve_vehicle(
        &self,
        principal: &Principal,
        req: pb::ReserveVehicleRequest,
    ) -> Result<pb::ReserveVehicleResponse> {
        let key = IdempotencyKey::new(principal, "ReserveVehicle", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let vin = vehicle_name(&req.vehicle, "vehicle")
            .map_err(|e| v.append(e))
            .ok();
        let customer = customer_id(&mut v, "customer", &req.customer);
        let until = required_time(&mut v, "expire_time", req.expire_time.as_ref(), false);
        let now = crate::now();
        if until.is_some_and(|u| u <= now || u > now + TimeDelta::days(MAX_RESERVATION_DAYS)) {
            v.add(
                "expire_time",
                format!("must be in the future, within {MAX_RESERVATION_DAYS} days"),
            );
        }
        let (Some(vin), Some(customer), Some(until)) = (vin, customer, until) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        self.check_acting_outlet(principal, &vin, OutletAction::Reserve)
            .await?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let details = vec![
            ("customer".to_owned(), req.customer.clone()),
            ("until".to_owned(), until.to_rfc3339()),
        ];
        let vehicle = self
            .act(
                &mut tx,
                &vin,
                Action::Reserve,
                &Actor(principal),
                details,
                |veh| {
                    authorize_outlet(principal, &veh.holder_outlet)?;
                    veh.reserved_for = Some(customer);
                    veh.reserved_until = Some(until);
                    Ok(())
                },
            )
            .await?;
        let response = pb::ReserveVehicleResponse {
            vehicle: Some(vehicle_to_proto(&vehicle)),
        };
        commit(tx, key.as_ref(), response, &req.vehicle).await
    }

    pub(super) async fn release_reservation(
        &self,
        principal: &Principal,
        req: pb::ReleaseReservationRequest,
    ) -> Result<pb::ReleaseReservationResponse> {
        let key = IdempotencyKey::new(principal, "ReleaseReservation", &req.request_id, &req)?;
        let vin = vehicle_name(&req.vehicle, "vehicle")?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let vehicle = self
            .act(
                &mut tx,
                &vin,
                Action::ReleaseReservation,
                &Actor(principal),
                vec![],
                |veh| {
                    authorize_outlet(principal, &veh.holder_outlet)?;
                    (veh.reserved_for, veh.reserved_until) = (None, None);
                    Ok(())
                },
            )
            .await?;
        let response = pb::ReleaseReservationResponse {
            vehicle: Some(vehicle_to_proto(&vehicle)),
        };
        commit(tx, key.as_ref(), response, &req.vehicle).await
    }
}
