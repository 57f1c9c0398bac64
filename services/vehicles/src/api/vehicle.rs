//! RegisterProduction, GetVehicle, GetVehicleTimeline.

use chrono::Utc;
use dealernet_kit::{
    auth::{Principal, Role},
    error::FieldViolations,
    idempotency::IdempotencyKey,
    paging::PageSize,
};
use dealernet_proto::vehicles::v1 as pb;
use prost_types::Timestamp;

use super::{
    Result, catalogue::model_code, commit, correction::cover_response, replay, required_time,
};
use crate::{
    Error, Service,
    domain::{
        lifecycle::{Action, State, transition},
        vehicle::{Event, Vehicle},
        vin::Vin,
    },
    store,
};

pub(super) fn timestamp(t: chrono::DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub(crate) fn state_to_proto(s: State) -> pb::VehicleState {
    match s {
        State::Produced => pb::VehicleState::Produced,
        State::InTransit => pb::VehicleState::InTransit,
        State::InStock => pb::VehicleState::InStock,
        State::Reserved => pb::VehicleState::Reserved,
        State::Sold => pb::VehicleState::Sold,
        State::Delivered => pb::VehicleState::Delivered,
        State::Scrapped => pb::VehicleState::Scrapped,
    }
}

pub(super) fn vehicle_to_proto(v: &Vehicle) -> pb::Vehicle {
    pb::Vehicle {
        name: format!("vehicles/{}", v.vin),
        vin: v.vin.to_string(),
        model: format!("models/{}", v.model_code),
        state: state_to_proto(v.state) as i32,
        plant: v.plant.clone(),
        line: v.line.clone(),
        built_at: Some(timestamp(v.built_at)),
        engine_number: v.engine_number.clone(),
        colour: v.colour.clone(),
        holder_outlet: v.holder_outlet.clone(),
        owner: v
            .owner
            .map(|id| format!("customers/{id}"))
            .unwrap_or_default(),
        odometer_km: v.odometer_km,
        create_time: Some(timestamp(v.create_time)),
        update_time: Some(timestamp(v.update_time)),
        etag: format!("\"{}\"", v.version),
        reserved_for: v
            .reserved_for
            .map(|id| format!("customers/{id}"))
            .unwrap_or_default(),
        reserved_until: v.reserved_until.map(timestamp),
        odometer_rollback_suspected: v.odometer_rollback_suspected,
    }
}

fn event_to_proto(e: &Event) -> pb::VehicleEvent {
    pb::VehicleEvent {
        sequence: e.sequence,
        time: Some(timestamp(e.at)),
        action: e.action.clone(),
        state_after: state_to_proto(e.state_after) as i32,
        actor_organization: e.actor_org.clone(),
        actor_subject: e.actor_subject.clone(),
        details: e.details.iter().cloned().collect(),
    }
}

/// Timeline details that are one outlet's business (what it charged, who sold): shown to
/// the outlet holding or having sold the car, the hotline and the platform's central
/// principals; left out for other outlets, which still see every entry.
const COMMERCIAL_DETAILS: &[&str] = &["price", "sales_person", "total_minor"];

fn sees_commercial_details(p: &Principal) -> bool {
    p.has_role(Role::System) || p.is_head_office() || p.has_role(Role::Agent)
}

/// `vehicles/{vin}` with a valid VIN.
pub(super) fn vehicle_name(name: &str, field: &str) -> std::result::Result<Vin, FieldViolations> {
    let vin = name.strip_prefix("vehicles/").ok_or_else(|| {
        FieldViolations::one(
            field,
            format!("'{name}' is not a vehicle name (vehicles/{{vin}})"),
        )
    })?;
    Vin::parse(vin).map_err(|e| FieldViolations::one(field, format!("VIN {e}")))
}

/// A required free-text field of at most 40 printable characters.
pub(super) fn short_text(v: &mut FieldViolations, field: &str, value: &str) -> String {
    let t = value.trim();
    if t.is_empty() || t.chars().count() > 40 || t.chars().any(char::is_control) {
        v.add(field, "required, at most 40 printable characters");
    }
    t.to_owned()
}

/// The vehicle a production report describes, checked for shape (not yet against the
/// catalogue or existing VINs).
pub(super) fn produced_vehicle(
    req: &pb::RegisterProductionRequest,
    now: chrono::DateTime<Utc>,
) -> std::result::Result<Vehicle, FieldViolations> {
    let mut v = FieldViolations::new();
    let vin = Vin::parse(&req.vin)
        .map_err(|e| v.add("vin", e.to_string()))
        .ok();
    let code = model_code(&req.model, "model")
        .map_err(|e| v.append(e))
        .ok();
    let plant = short_text(&mut v, "plant", &req.plant);
    let line = short_text(&mut v, "line", &req.line);
    let engine_number = short_text(&mut v, "engine_number", &req.engine_number);
    let colour = short_text(&mut v, "colour", &req.colour);
    let built_at = required_time(&mut v, "built_at", req.built_at.as_ref(), true);
    let (Some(vin), Some(model_code), Some(built_at)) = (vin, code, built_at) else {
        return Err(v);
    };
    v.into_result()?;
    Ok(Vehicle {
        vin,
        model_code,
        state: State::Produced,
        plant,
        line,
        built_at,
        engine_number,
        colour,
        holder_outlet: String::new(),
        owner: None,
        reserved_for: None,
        reserved_until: None,
        odometer_km: 0,
        odometer_rollback_suspected: false,
        version: 1,
        create_time: now,
        update_time: now,
    })
}

impl Service {
    pub(super) async fn register_production(
        &self,
        principal: &Principal,
        req: pb::RegisterProductionRequest,
    ) -> Result<pb::RegisterProductionResponse> {
        if !(principal.has_role(Role::System) || principal.is_head_office()) {
            return Err(Error::PermissionDenied {
                reason: "PRODUCTION_NOT_ALLOWED",
                message: "production is registered by factory systems (role system) or HQ".into(),
            });
        }
        let key = IdempotencyKey::new(principal, "RegisterProduction", &req.request_id, &req)?;
        let now = crate::now();
        let mut vehicle = produced_vehicle(&req, now)?;
        let vin = vehicle.vin.clone();
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        store::load_model(&mut tx, &vehicle.model_code, false)
            .await?
            .ok_or_else(|| Error::ModelNotFound(req.model.clone()))?;
        let existing = store::vehicle::load(&mut tx, &vin, true).await?;
        vehicle.state = transition(
            existing.as_ref().map(|e| e.state),
            Action::RegisterProduction,
        )
        .map_err(|reason| Error::Precondition {
            reason,
            message: format!("{vin} is already registered"),
        })?;
        let state = vehicle.state;
        store::vehicle::insert(&mut tx, &vehicle)
            .await
            .map_err(|e| match Error::from(e) {
                // A concurrent registration of the same VIN won the insert.
                Error::VinExists => Error::Precondition {
                    reason: "VEHICLE_ALREADY_REGISTERED",
                    message: format!("{vin} is already registered"),
                },
                other => other,
            })?;
        let event = Event {
            sequence: 1,
            at: now,
            action: Action::RegisterProduction.as_str().to_owned(),
            state_after: state,
            actor_org: principal.organization().to_owned(),
            actor_subject: principal.subject().to_owned(),
            details: vec![
                ("plant".into(), vehicle.plant.clone()),
                ("line".into(), vehicle.line.clone()),
                ("model".into(), vehicle.model_code.clone()),
            ],
        };
        store::vehicle::append_event(&mut tx, &vin, &event).await?;
        crate::events::vehicle_changed(
            &mut tx,
            principal,
            &vehicle,
            &event.action,
            &event.details,
            now,
        )
        .await?;
        store::recall::add_built(&mut tx, &vin, &vehicle.model_code, vehicle.built_at).await?;
        let response = pb::RegisterProductionResponse {
            vehicle: Some(vehicle_to_proto(&vehicle)),
        };
        commit(tx, key.as_ref(), response, &format!("vehicles/{vin}")).await
    }

    pub(super) async fn get_vehicle(
        &self,
        caller: &tonic::metadata::MetadataMap,
        req: pb::GetVehicleRequest,
    ) -> Result<pb::GetVehicleResponse> {
        let vin = vehicle_name(&req.name, "name")?;
        let mut warm = self.reads.acquire().await?;
        let found = store::vehicle::load_with_context(warm.conn(), &vin).await?;
        // Released before the registry is asked: no connection waits on it.
        warm.release();
        let (vehicle, context) = found.ok_or_else(|| Error::VehicleNotFound(req.name.clone()))?;
        let owner_record = match (req.include_owner, vehicle.owner) {
            (true, Some(owner)) => self.customers.read_as_caller(caller, owner).await?,
            _ => None,
        };
        let warranty = cover_response(
            context.sale.as_ref().map(|(_, at)| at.date_naive()),
            vehicle.state == State::Scrapped,
            context.warranty,
            crate::now().date_naive(),
            vehicle.odometer_km,
        );
        Ok(pb::GetVehicleResponse {
            vehicle: Some(vehicle_to_proto(&vehicle)),
            open_recalls: context
                .open_recalls
                .iter()
                .map(|c| format!("recallCampaigns/{c}"))
                .collect(),
            warranty: Some(warranty),
            selling_outlet: context.sale.map(|(outlet, _)| outlet).unwrap_or_default(),
            owner_record,
        })
    }

    pub(super) async fn get_vehicle_timeline(
        &self,
        principal: &Principal,
        req: pb::GetVehicleTimelineRequest,
    ) -> Result<pb::GetVehicleTimelineResponse> {
        let mut v = FieldViolations::new();
        let vin = vehicle_name(&req.vehicle, "vehicle")
            .map_err(|e| v.append(e))
            .ok();
        let size = PageSize::STANDARD
            .resolve(req.page_size)
            .map_err(|e| v.append(e))
            .unwrap_or(0);
        let after = self
            .page_tokens
            .open::<i64>(&req.page_token, req.vehicle.as_bytes())
            .map_err(|e| v.append(e.violation()))
            .unwrap_or(None);
        let Some(vin) = vin else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut warm = self.reads.acquire().await?;
        let conn = warm.conn();
        // Every vehicle has its production entry, so an empty first read is rare enough to
        // pay for the existence check only then.
        let mut events = store::vehicle::events(conn, &vin, after.unwrap_or(0), size + 1).await?;
        if events.is_empty() && store::vehicle::load(conn, &vin, false).await?.is_none() {
            return Err(Error::VehicleNotFound(req.vehicle.clone()));
        }
        if !sees_commercial_details(principal)
            && !store::vehicle::is_holder_or_seller(conn, &vin, principal.organization()).await?
        {
            for e in &mut events {
                e.details
                    .retain(|(k, _)| !COMMERCIAL_DETAILS.contains(&k.as_str()));
            }
        }
        warm.release();
        let next_page_token =
            self.page_tokens
                .next_page(&mut events, size, req.vehicle.as_bytes(), |e| e.sequence);
        Ok(pb::GetVehicleTimelineResponse {
            events: events.iter().map(event_to_proto).collect(),
            next_page_token,
        })
    }
}
