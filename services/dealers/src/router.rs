//! Places a lead at an outlet: the IO around [`crate::domain::routing`], shared by
//! CreateLead and the deadline sweeper.
//!
//! Candidates are read without locks; the chosen outlet is then locked FOR SHARE and
//! checked again, so that a lead is never placed at an outlet whose suspension committed
//! first, and a suspension waits for leads being placed there to commit. The outlets'
//! loads are read without locks, so concurrent routings may pick the same least-loaded
//! outlet: balancing is approximate, eligibility is exact.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgConnection;

use crate::{
    domain::{
        geo::{Point, haversine_km},
        lead::{Interest, RoutingReason},
        outlet::{Status, permits},
        routing::{self, Candidate, LOCAL_CANDIDATES, LOCAL_RADIUS_KM, WIDER_RADII_KM},
    },
    store::{self, Lock},
};

/// How many of the nearest outlets each wider ring reads (fallbacks when the nearest is
/// suspended meanwhile).
const WIDER_CANDIDATES: usize = 5;

/// What a lead needs from the router.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The customer's preferred outlet, tried first.
    pub preferred: Option<&'a str>,
    /// Where the customer is.
    pub origin: Point,
    pub interest: Interest,
    /// Open time the outlet gets for first contact.
    pub response_window: TimeDelta,
    /// Outlets that had the lead before.
    pub excluded: &'a [String],
    pub now: DateTime<Utc>,
}

/// Where the lead goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub outlet: String,
    pub distance_km: f64,
    /// PREFERRED or NEAREST.
    pub reason: RoutingReason,
    /// `now` plus the response window in the outlet's opening hours.
    pub respond_before: DateTime<Utc>,
}

/// Locks `code` FOR SHARE and returns its deadline for the lead if it may receive the
/// lead now; `None` if it may not (or is never open to count a deadline in).
async fn lock_eligible(
    conn: &mut PgConnection,
    code: &str,
    req: &Request<'_>,
) -> Result<Option<(DateTime<Utc>, Point)>, sqlx::Error> {
    let Some(outlet) = store::outlet::load_outlet(conn, code, Lock::Share).await? else {
        return Ok(None);
    };
    if permits(outlet.status, &outlet.capabilities, req.interest.action()).is_err() {
        return Ok(None);
    }
    Ok(outlet
        .calendar
        .add_open_time(req.now, req.response_window)
        .map(|deadline| (deadline, outlet.location)))
}

/// The outlet for a lead, or `None` when no active capable outlet is within the widest
/// search radius.
pub async fn place(
    conn: &mut PgConnection,
    req: &Request<'_>,
) -> Result<Option<Placement>, sqlx::Error> {
    let action = req.interest.action();
    let mut excluded = req.excluded.to_vec();
    if let Some(code) = req.preferred.filter(|c| !excluded.iter().any(|e| e == c)) {
        if let Some((respond_before, location)) = lock_eligible(conn, code, req).await? {
            return Ok(Some(Placement {
                outlet: code.to_owned(),
                distance_km: haversine_km(req.origin, location),
                reason: RoutingReason::Preferred,
                respond_before,
            }));
        }
        excluded.push(code.to_owned());
    }
    let rings = std::iter::once((LOCAL_RADIUS_KM, LOCAL_CANDIDATES))
        .chain(WIDER_RADII_KM.iter().map(|r| (*r, WIDER_CANDIDATES)));
    for (radius_km, limit) in rings {
        let nearby = store::lead::candidates(
            conn,
            req.origin,
            action.capability(),
            radius_km,
            limit,
            &excluded,
        )
        .await?;
        // The query returned only active, capable outlets: that is what it read.
        let candidates: Vec<Candidate> = nearby
            .into_iter()
            .map(|n| Candidate {
                code: n.code,
                status: Status::Active,
                capabilities: vec![action.capability()],
                distance_km: n.distance_km,
                open_leads: n.open_leads,
            })
            .collect();
        while let Some(chosen) = routing::choose(&candidates, action, &excluded) {
            if let Some((respond_before, _)) = lock_eligible(conn, &chosen.code, req).await? {
                return Ok(Some(Placement {
                    outlet: chosen.code.clone(),
                    distance_km: chosen.distance_km,
                    reason: RoutingReason::Nearest,
                    respond_before,
                }));
            }
            excluded.push(chosen.code.clone());
        }
    }
    Ok(None)
}
