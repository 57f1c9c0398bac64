//! HQ insights: the pipeline by state × model × region, cars past their ETA, and the
//! parts failing most per 1,000 cars. Each reads a maintained aggregate or an index that
//! covers only cars in transit, so an answer costs the same at 2M cars as at 2,000;
//! regions come from the dealer network (`OutletDirectory::regions`, cached briefly).

use std::collections::BTreeMap;

use chrono::DateTime;
use dealernet_kit::{
    auth::Principal,
    error::FieldViolations,
    months::{month_range, month_to_proto},
};
use dealernet_proto::vehicles::v1 as pb;
use prost::Message;

use super::{
    Result,
    listing::{model_filter, states},
    stock::central,
    vehicle::{state_to_proto, timestamp},
};
use crate::{
    Error, Service,
    outlets::Regions,
    store::{self, insights::OverdueFilter},
};

const DEFAULT_TOP: usize = 10;
const MAX_TOP: usize = 100;

/// Insights are head office's (and its platform systems'): they span every outlet.
fn require_insight_reader(principal: &Principal, what: &str) -> Result<()> {
    if central(principal) {
        return Ok(());
    }
    Err(Error::PermissionDenied {
        reason: "HQ_ROLE_REQUIRED",
        message: format!("{what} needs an HQ principal (role hq or steward) or a platform system"),
    })
}

fn region_filter(v: &mut FieldViolations, region: &str) -> Option<String> {
    if region.is_empty() {
        return None;
    }
    let ok = region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        v.add(
            "region",
            "must be a region code: 1 to 32 characters of A-Z, 0-9, '-' or '_'",
        );
    }
    Some(region.to_owned())
}

/// The outlets of a region (to push the filter down to the query).
fn outlets_of(regions: &Regions, region: &str) -> Vec<String> {
    let mut outlets: Vec<String> = regions
        .iter()
        .filter(|(_, r)| r.as_str() == region)
        .map(|(o, _)| o.clone())
        .collect();
    outlets.sort();
    outlets
}

fn region_of(regions: &Regions, outlet: &str) -> String {
    regions.get(outlet).cloned().unwrap_or_default()
}

impl Service {
    pub(super) async fn get_vehicle_pipeline(
        &self,
        principal: &Principal,
        req: pb::GetVehiclePipelineRequest,
    ) -> Result<pb::GetVehiclePipelineResponse> {
        require_insight_reader(principal, "the vehicle pipeline")?;
        let mut v = FieldViolations::new();
        let model = model_filter(&mut v, &req.model);
        let states = states(&mut v, "states", &req.states);
        let region = region_filter(&mut v, &req.region);
        v.into_result()?;
        let regions = self.outlets.regions().await?;
        let outlets = region.as_deref().map(|r| outlets_of(&regions, r));
        let mut conn = self.pool.acquire().await?;
        let groups =
            store::insights::pipeline(&mut conn, model.as_deref(), &states, outlets.as_deref())
                .await?;
        // Outlets fold into their regions; the key orders the answer.
        let mut counts: BTreeMap<(i32, String, String), i64> = BTreeMap::new();
        for (state, model, outlet, n) in groups {
            let key = (
                state_to_proto(state) as i32,
                model,
                region_of(&regions, &outlet),
            );
            *counts.entry(key).or_default() += n;
        }
        Ok(pb::GetVehiclePipelineResponse {
            total: counts.values().sum(),
            counts: counts
                .into_iter()
                .map(|((state, model, region), vehicles)| pb::PipelineCount {
                    state,
                    model: format!("models/{model}"),
                    region,
                    vehicles,
                })
                .collect(),
        })
    }

    pub(super) async fn list_overdue_transits(
        &self,
        principal: &Principal,
        req: pb::ListOverdueTransitsRequest,
    ) -> Result<pb::ListOverdueTransitsResponse> {
        require_insight_reader(principal, "the overdue transit list")?;
        let mut v = FieldViolations::new();
        let model = model_filter(&mut v, &req.model);
        let region = region_filter(&mut v, &req.region);
        let bound = pb::ListOverdueTransitsRequest {
            page_size: 0,
            page_token: String::new(),
            ..req.clone()
        }
        .encode_to_vec();
        let (size, after) =
            self.page_tokens
                .page::<(i64, String)>(&mut v, req.page_size, &req.page_token, &bound);
        let after = match after {
            Some((micros, vin)) => match DateTime::from_timestamp_micros(micros) {
                Some(eta) => Some((eta, vin)),
                None => {
                    v.add("page_token", "is not a page of this list");
                    None
                }
            },
            None => None,
        };
        v.into_result()?;
        let regions = self.outlets.regions().await?;
        let filter = OverdueFilter {
            model,
            destinations: region.as_deref().map(|r| outlets_of(&regions, r)),
        };
        let now = crate::now();
        let mut conn = self.pool.acquire().await?;
        let mut cars = store::insights::overdue(
            &mut conn,
            now,
            &filter,
            after.as_ref().map(|(eta, vin)| (*eta, vin.as_str())),
            size + 1,
        )
        .await?;
        let total_size = store::insights::count_overdue(&mut conn, now, &filter).await?;
        let next_page_token = self.page_tokens.next_page(&mut cars, size, &bound, |c| {
            (c.eta.timestamp_micros(), c.vin.clone())
        });
        Ok(pb::ListOverdueTransitsResponse {
            transits: cars
                .into_iter()
                .map(|c| pb::OverdueTransit {
                    vehicle: format!("vehicles/{}", c.vin),
                    model: format!("models/{}", c.model_code),
                    shipment: format!("shipments/{}", c.shipment),
                    region: region_of(&regions, &c.destination_outlet),
                    destination_outlet: c.destination_outlet,
                    eta: Some(timestamp(c.eta)),
                })
                .collect(),
            next_page_token,
            total_size,
        })
    }

    pub(super) async fn rank_failing_parts(
        &self,
        principal: &Principal,
        req: pb::RankFailingPartsRequest,
    ) -> Result<pb::RankFailingPartsResponse> {
        require_insight_reader(principal, "the failing parts ranking")?;
        let mut v = FieldViolations::new();
        let range = month_range(
            &mut v,
            ("start_month", req.start_month.as_ref()),
            ("end_month", req.end_month.as_ref()),
        );
        let model = model_filter(&mut v, &req.model);
        let top = match req.top {
            n if n < 0 => {
                v.add("top", "must not be negative");
                0
            }
            0 => DEFAULT_TOP,
            n => (n as usize).min(MAX_TOP),
        };
        let Some(range) = range else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        let ranked =
            store::insights::top_failing_parts(&mut conn, range, model.as_deref(), top).await?;
        let pairs: Vec<(String, String)> = ranked
            .iter()
            .map(|(m, p, ..)| (m.clone(), p.clone()))
            .collect();
        let mut months: BTreeMap<(String, String), Vec<pb::PartFailureMonth>> = BTreeMap::new();
        let per_thousand = |lines: i64, cars: i64| lines as f64 * 1000.0 / cars as f64;
        let cars_of: BTreeMap<&str, i64> = ranked
            .iter()
            .map(|(m, _, _, _, c)| (m.as_str(), *c))
            .collect();
        for (model, part, month, lines, quantity) in
            store::insights::part_failure_months(&mut conn, range, &pairs).await?
        {
            let cars = cars_of.get(model.as_str()).copied().unwrap_or(1);
            months
                .entry((model, part))
                .or_default()
                .push(pb::PartFailureMonth {
                    month: Some(month_to_proto(month)),
                    lines,
                    quantity,
                    lines_per_thousand: per_thousand(lines, cars),
                });
        }
        Ok(pb::RankFailingPartsResponse {
            parts: ranked
                .into_iter()
                .map(|(model, part_number, lines, quantity, vehicles)| {
                    let months = months
                        .remove(&(model.clone(), part_number.clone()))
                        .unwrap_or_default();
                    pb::FailingPart {
                        model: format!("models/{model}"),
                        part_number,
                        lines,
                        quantity,
                        vehicles,
                        lines_per_thousand: per_thousand(lines, vehicles),
                        months,
                    }
                })
                .collect(),
        })
    }
}
