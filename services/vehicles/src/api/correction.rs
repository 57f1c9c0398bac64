//! OverrideState and odometer readings.

use chrono::{DateTime, TimeDelta};
use dealernet_kit::{auth::Principal, error::FieldViolations, idempotency::IdempotencyKey};
use dealernet_proto::vehicles::v1 as pb;

use super::{
    Result, remember, replay, require_head_office,
    stock::{Actor, central},
    vehicle::{vehicle_name, vehicle_to_proto},
};
use crate::{Error, Service, domain::lifecycle::State, store};

const MAX_KM: i64 = 5_000_000;

fn state_from_proto(v: i32) -> Option<State> {
    match pb::VehicleState::try_from(v).ok()? {
        pb::VehicleState::Unspecified => None,
        pb::VehicleState::Produced => Some(State::Produced),
        pb::VehicleState::InTransit => Some(State::InTransit),
        pb::VehicleState::InStock => Some(State::InStock),
        pb::VehicleState::Reserved => Some(State::Reserved),
        pb::VehicleState::Sold => Some(State::Sold),
        pb::VehicleState::Delivered => Some(State::Delivered),
        pb::VehicleState::Scrapped => Some(State::Scrapped),
    }
}

impl Service {
    pub(super) async fn override_state(
        &self,
        principal: &Principal,
        req: pb::OverrideStateRequest,
    ) -> Result<pb::OverrideStateResponse> {
        require_head_office(principal, "overriding a vehicle's state")?;
        let key = IdempotencyKey::new(principal, "OverrideState", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let vin = vehicle_name(&req.vehicle, "vehicle")
            .map_err(|e| v.append(e))
            .ok();
        let state = state_from_proto(req.state);
        if state.is_none() {
            v.add("state", "required: one of the VEHICLE_STATE_* values");
        }
        let reason = req.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 500 {
            v.add("reason", "required, at most 500 characters");
        }
        let (Some(vin), Some(state)) = (vin, state) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let mut vehicle = store::vehicle::load(&mut tx, &vin, true)
            .await?
            .ok_or_else(|| Error::VehicleNotFound(req.vehicle.clone()))?;
        let details = vec![
            ("from".to_owned(), vehicle.state.as_str().to_owned()),
            ("to".to_owned(), state.as_str().to_owned()),
            ("reason".to_owned(), reason),
        ];
        vehicle.state = state;
        if state != State::Reserved {
            (vehicle.reserved_for, vehicle.reserved_until) = (None, None);
        }
        self.record(
            &mut tx,
            &mut vehicle,
            "OVERRIDE_STATE",
            &Actor(principal),
            details,
            crate::now(),
        )
        .await?;
        let response = pb::OverrideStateResponse {
            vehicle: Some(vehicle_to_proto(&vehicle)),
        };
        remember(&mut tx, key.as_ref(), &response, &req.vehicle).await?;
        tx.commit().await?;
        Ok(response)
    }

    pub(super) async fn record_odometer_reading(
        &self,
        principal: &Principal,
        req: pb::RecordOdometerReadingRequest,
    ) -> Result<pb::RecordOdometerReadingResponse> {
        let key = IdempotencyKey::new(principal, "RecordOdometerReading", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let vin = vehicle_name(&req.vehicle, "vehicle")
            .map_err(|e| v.append(e))
            .ok();
        if !(0..=MAX_KM).contains(&req.km) {
            v.add("km", format!("must be 0 to {MAX_KM}"));
        }
        let source = match pb::OdometerSource::try_from(req.source) {
            Ok(pb::OdometerSource::Delivery) => "DELIVERY",
            Ok(pb::OdometerSource::RepairOrder) => "REPAIR_ORDER",
            Ok(pb::OdometerSource::Inspection) => "INSPECTION",
            Ok(pb::OdometerSource::Telematics) => "TELEMATICS",
            _ => {
                v.add("source", "required: one of the ODOMETER_SOURCE_* values");
                ""
            }
        };
        let now = crate::now();
        let at = match &req.read_time {
            None => {
                v.add("read_time", "required");
                None
            }
            Some(t) => match u32::try_from(t.nanos)
                .ok()
                .and_then(|n| DateTime::from_timestamp(t.seconds, n))
            {
                Some(at) if at <= now + TimeDelta::minutes(5) => Some(at),
                _ => {
                    v.add("read_time", "must be a valid time, not in the future");
                    None
                }
            },
        };
        let (Some(vin), Some(at)) = (vin, at) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let mut vehicle = store::vehicle::load(&mut tx, &vin, true)
            .await?
            .ok_or_else(|| Error::VehicleNotFound(req.vehicle.clone()))?;
        // Who may read a car's odometer: the platform's systems, HQ, the outlet holding it;
        // workshops report theirs through repair orders.
        if !(central(principal) || principal.organization() == vehicle.holder_outlet) {
            return Err(Error::PermissionDenied {
                reason: "NOT_YOUR_VEHICLE",
                message: format!(
                    "{} cannot record readings for {}",
                    principal.organization(),
                    req.vehicle
                ),
            });
        }
        let rollback = store::vehicle::add_odometer_reading(
            &mut tx,
            &vin,
            at,
            req.km,
            source,
            principal.organization(),
        )
        .await?;
        vehicle.odometer_km = store::vehicle::latest_odometer(&mut tx, &vin)
            .await?
            .unwrap_or(req.km);
        vehicle.odometer_rollback_suspected |= rollback;
        let details = vec![
            ("km".to_owned(), req.km.to_string()),
            ("source".to_owned(), source.to_owned()),
            ("suspected_rollback".to_owned(), rollback.to_string()),
        ];
        self.record(
            &mut tx,
            &mut vehicle,
            "ODOMETER_READING",
            &Actor(principal),
            details,
            now,
        )
        .await?;
        let response = pb::RecordOdometerReadingResponse {
            suspected_rollback: rollback,
            vehicle: Some(vehicle_to_proto(&vehicle)),
        };
        remember(&mut tx, key.as_ref(), &response, &req.vehicle).await?;
        tx.commit().await?;
        Ok(response)
    }
}
