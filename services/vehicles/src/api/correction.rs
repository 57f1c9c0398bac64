//! OverrideState and odometer readings.

use dealernet_kit::{auth::Principal, error::FieldViolations, idempotency::IdempotencyKey};
use dealernet_proto::vehicles::v1 as pb;

use super::{
    Result, commit, replay, require_head_office, required_time,
    stock::{Actor, central},
    vehicle::{vehicle_name, vehicle_to_proto},
};
use crate::{Error, Service, domain::lifecycle::State, store};

const MAX_KM: i64 = 5_000_000;

pub(super) fn state_from_proto(v: i32) -> Option<State> {
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
        commit(tx, key.as_ref(), response, &req.vehicle).await
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
        let at = required_time(&mut v, "read_time", req.read_time.as_ref(), true);
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
        let rollback = take_reading(
            &mut tx,
            principal,
            &mut vehicle,
            at,
            req.km,
            source,
            principal.organization(),
        )
        .await?;
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
        commit(tx, key.as_ref(), response, &req.vehicle).await
    }
}

impl Service {
    pub(super) async fn check_warranty(
        &self,
        req: pb::CheckWarrantyRequest,
    ) -> Result<pb::CheckWarrantyResponse> {
        use chrono::NaiveDate;
        let mut v = FieldViolations::new();
        let vin = vehicle_name(&req.vehicle, "vehicle")
            .map_err(|e| v.append(e))
            .ok();
        let day = match &req.date {
            None => Some(crate::now().date_naive()),
            Some(d) => NaiveDate::from_ymd_opt(
                d.year,
                u32::try_from(d.month).unwrap_or(0),
                u32::try_from(d.day).unwrap_or(0),
            )
            .or_else(|| {
                v.add("date", "must be a calendar date");
                None
            }),
        };
        if req.odometer_km < 0 {
            v.add("odometer_km", "must not be negative");
        }
        let (Some(vin), Some(day)) = (vin, day) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        let vehicle = store::vehicle::load(&mut conn, &vin, false)
            .await?
            .ok_or_else(|| Error::VehicleNotFound(req.vehicle.clone()))?;
        let km = if req.odometer_km > 0 {
            req.odometer_km
        } else {
            vehicle.odometer_km
        };
        warranty_cover(&mut conn, &vehicle, day, km).await
    }
}

/// Stores an odometer reading and brings the vehicle's latest reading and rollback flag
/// up to date (the caller holds the vehicle's lock); true when it reveals a rollback.
/// Records a reading by `principal`'s organisation (`recorded_by`, when it reports for
/// another, like a station on its repair order); a suspected rollback is published.
pub(super) async fn take_reading(
    tx: &mut sqlx::PgConnection,
    principal: &Principal,
    vehicle: &mut crate::domain::vehicle::Vehicle,
    at: chrono::DateTime<chrono::Utc>,
    km: i64,
    source: &str,
    recorded_by: &str,
) -> Result<bool> {
    let previous_km = vehicle.odometer_km;
    let rollback =
        store::vehicle::add_odometer_reading(&mut *tx, &vehicle.vin, at, km, source, recorded_by)
            .await?;
    vehicle.odometer_km = store::vehicle::latest_odometer(&mut *tx, &vehicle.vin)
        .await?
        .unwrap_or(km);
    vehicle.odometer_rollback_suspected |= rollback;
    if rollback {
        crate::events::odometer_rollback_suspected(tx, principal, vehicle, km, previous_km, at)
            .await?;
    }
    Ok(rollback)
}

/// The vehicle's warranty cover on `day` at `km`.
pub(super) async fn warranty_cover(
    conn: &mut sqlx::PgConnection,
    vehicle: &crate::domain::vehicle::Vehicle,
    day: chrono::NaiveDate,
    km: i64,
) -> Result<pb::CheckWarrantyResponse> {
    let model = store::load_model(&mut *conn, &vehicle.model_code, false)
        .await?
        .ok_or_else(|| Error::ModelNotFound(format!("models/{}", vehicle.model_code)))?;
    let sold_on = store::vehicle::sale_of(&mut *conn, &vehicle.vin)
        .await?
        .map(|(_, at)| at.date_naive());
    Ok(cover_response(
        sold_on,
        vehicle.state == State::Scrapped,
        (model.warranty_months, model.warranty_km),
        day,
        km,
    ))
}

/// The warranty answer for a car sold on `sold_on` with the model's (months, km) limits.
pub(super) fn cover_response(
    sold_on: Option<chrono::NaiveDate>,
    scrapped: bool,
    (months, limit_km): (i32, i32),
    day: chrono::NaiveDate,
    km: i64,
) -> pb::CheckWarrantyResponse {
    use crate::domain::warranty::{self, Cover};
    let months = u32::try_from(months).unwrap_or(0);
    let cover = warranty::check(sold_on, scrapped, months, i64::from(limit_km), day, km);
    pb::CheckWarrantyResponse {
        covered: cover == Cover::Covered,
        reason: cover.reason().to_owned(),
        start_date: sold_on.map(super::catalogue::date),
        end_date: sold_on.map(|s| super::catalogue::date(warranty::end_date(s, months))),
        limit_km: i64::from(limit_km),
    }
}
