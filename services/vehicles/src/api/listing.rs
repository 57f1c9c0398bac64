//! ListVehicles and CountVehicles: the stock and pipeline views.

use chrono::{DateTime, Utc};
use dealernet_kit::{
    auth::{Principal, Role},
    error::FieldViolations,
};
use dealernet_proto::vehicles::v1 as pb;
use prost::Message;

use super::{
    Result,
    catalogue::model_code,
    correction::state_from_proto,
    require_head_office,
    stock::{central, customer_id},
    vehicle::{state_to_proto, vehicle_to_proto},
};
use crate::{Service, domain::lifecycle::State, store, store::vehicle_list::Filter};

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

pub(super) fn states(v: &mut FieldViolations, field: &str, raw: &[i32]) -> Vec<State> {
    let mut out = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        match state_from_proto(*s) {
            Some(s) => out.push(s),
            None => v.add(format!("{field}[{i}]"), "not a vehicle state"),
        }
    }
    out
}

pub(super) fn model_filter(v: &mut FieldViolations, name: &str) -> Option<String> {
    (!name.is_empty())
        .then(|| model_code(name, "model").map_err(|e| v.append(e)).ok())
        .flatten()
}

impl Service {
    pub(super) async fn list_vehicles(
        &self,
        principal: &Principal,
        req: pb::ListVehiclesRequest,
    ) -> Result<pb::ListVehiclesResponse> {
        let mut v = FieldViolations::new();
        let filter = Filter {
            states: states(&mut v, "states", &req.states),
            holder_outlet: (!req.holder_outlet.is_empty()).then(|| req.holder_outlet.clone()),
            model_code: model_filter(&mut v, &req.model),
            owner: (!req.owner.is_empty())
                .then(|| customer_id(&mut v, "owner", &req.owner))
                .flatten(),
            built_after: optional_time(&mut v, "built_after", req.built_after.as_ref()),
            built_before: optional_time(&mut v, "built_before", req.built_before.as_ref()),
            // Dealers and stations see the cars they hold or sold.
            visible_to_outlet: (!(central(principal) || principal.has_role(Role::Agent)))
                .then(|| principal.organization().to_owned()),
        };
        let bound = pb::ListVehiclesRequest {
            page_size: 0,
            page_token: String::new(),
            ..req.clone()
        }
        .encode_to_vec();
        let (size, after) =
            self.page_tokens
                .page::<String>(&mut v, req.page_size, &req.page_token, &bound);
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        let mut vehicles =
            store::vehicle_list::list(&mut conn, &filter, after.as_deref().unwrap_or(""), size + 1)
                .await?;
        let next_page_token = self
            .page_tokens
            .next_page(&mut vehicles, size, &bound, |v| v.vin.to_string());
        Ok(pb::ListVehiclesResponse {
            vehicles: vehicles.iter().map(vehicle_to_proto).collect(),
            next_page_token,
        })
    }

    pub(super) async fn count_vehicles(
        &self,
        principal: &Principal,
        req: pb::CountVehiclesRequest,
    ) -> Result<pb::CountVehiclesResponse> {
        require_head_office(principal, "counting the pipeline")?;
        let mut v = FieldViolations::new();
        let filter = Filter {
            states: states(&mut v, "states", &req.states),
            holder_outlet: (!req.holder_outlet.is_empty()).then(|| req.holder_outlet.clone()),
            model_code: model_filter(&mut v, &req.model),
            ..Filter::default()
        };
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        let groups = store::vehicle_list::count(&mut conn, &filter).await?;
        Ok(pb::CountVehiclesResponse {
            total: groups.iter().map(|g| g.3).sum(),
            counts: groups
                .into_iter()
                .map(|(state, model, outlet, count)| pb::VehicleCount {
                    state: state_to_proto(state) as i32,
                    model: format!("models/{model}"),
                    holder_outlet: outlet,
                    count,
                })
                .collect(),
        })
    }
}
