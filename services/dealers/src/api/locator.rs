//! LocateOutlets: the nearest active outlets with a capability, from coordinates or a city.

use dealernet_kit::{auth::Principal, error::FieldViolations};
use dealernet_proto::dealers::v1::{self as pb, locate_outlets_request::Origin};

use super::{
    Result,
    convert::{capability_from, geo_point, optional, point, text},
    outlet_input::outlet_to_proto,
};
use crate::{Error, Service, store};

const DEFAULT_RESULTS: usize = 10;
const MAX_RESULTS: usize = 50;
const DEFAULT_DISTANCE_KM: f64 = 300.0;
const MAX_DISTANCE_KM: f64 = 5000.0;
/// The first search radius, grown fourfold while fewer outlets than wanted are found:
/// the bounding box of a small radius selects few rows in a dense city.
const FIRST_RADIUS_KM: f64 = 25.0;

impl Service {
    pub(super) async fn locate_outlets(
        &self,
        _principal: &Principal,
        req: pb::LocateOutletsRequest,
    ) -> Result<pb::LocateOutletsResponse> {
        let mut v = FieldViolations::new();
        let capability = capability_from(req.capability);
        if capability.is_none() {
            v.add("capability", "required: one of the CAPABILITY_* values");
        }
        let limit = match req.max_results {
            0 => DEFAULT_RESULTS,
            n if (1..=MAX_RESULTS as i32).contains(&n) => n as usize,
            _ => {
                v.add(
                    "max_results",
                    format!("must be 1 to {MAX_RESULTS} (0 for {DEFAULT_RESULTS})"),
                );
                0
            }
        };
        let max_km = match req.max_distance_km {
            0.0 => DEFAULT_DISTANCE_KM,
            d if d.is_finite() && d > 0.0 && d <= MAX_DISTANCE_KM => d,
            _ => {
                v.add("max_distance_km", format!("must be above 0 and at most {MAX_DISTANCE_KM} (0 for {DEFAULT_DISTANCE_KM})"));
                0.0
            }
        };
        let mut conn = self.pool.acquire().await?;
        let origin = match &req.origin {
            Some(Origin::Point(p)) => point(&mut v, "point", p),
            Some(Origin::City(c)) => {
                let city = text(&mut v, "city.city", &c.city, 50, true);
                let province = optional(&c.province);
                if v.is_empty() {
                    let centre =
                        store::outlet::city_centre(&mut conn, province.as_deref(), &city).await?;
                    if centre.is_none() {
                        return Err(Error::NotFound {
                            reason: "CITY_NOT_FOUND",
                            resource_type: "city",
                            name: city,
                        });
                    }
                    centre
                } else {
                    None
                }
            }
            None => {
                v.add("origin", "required: a point or a city");
                None
            }
        };
        let (Some(origin), Some(capability)) = (origin, capability) else {
            return Err(v.into());
        };
        v.into_result()?;
        // Nearest within a growing radius: a result inside radius r is final, because
        // anything outside the box of r is farther than r.
        let mut radius = FIRST_RADIUS_KM.min(max_km);
        let found = loop {
            let found = store::outlet::locate(&mut conn, origin, capability, radius, limit).await?;
            if found.len() >= limit || radius >= max_km {
                break found;
            }
            radius = (radius * 4.0).min(max_km);
        };
        Ok(pb::LocateOutletsResponse {
            outlets: found
                .iter()
                .map(|(o, km)| pb::LocatedOutlet {
                    outlet: Some(outlet_to_proto(o)),
                    distance_km: *km,
                })
                .collect(),
            origin: Some(geo_point(origin)),
        })
    }
}
