//! Which outlet gets a lead: the customer's preferred outlet when it may receive the
//! lead; otherwise, among capable active outlets near the customer, the one with the
//! fewest open leads; when none is near, the nearest anywhere.

use super::{
    lead::RoutingReason,
    outlet::{Action, Capability, Status, permits},
};

/// Outlets within this distance of the customer share leads by load; farther ones are
/// considered only when none is this near, and then strictly by distance.
pub const LOCAL_RADIUS_KM: f64 = 30.0;
/// How many of the nearest outlets inside the local radius compete by load.
pub const LOCAL_CANDIDATES: usize = 20;
/// Search radii beyond the local one, widened until an outlet is found.
pub const WIDER_RADII_KM: [f64; 3] = [150.0, 800.0, 5000.0];

/// An outlet that might get the lead.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub code: String,
    pub status: Status,
    pub capabilities: Vec<Capability>,
    pub distance_km: f64,
    /// Leads NEW, CONTACTED or in APPOINTMENT at the outlet.
    pub open_leads: i64,
}

impl Candidate {
    fn eligible(&self, action: Action, excluded: &[String]) -> bool {
        permits(self.status, &self.capabilities, action).is_ok() && !excluded.contains(&self.code)
    }
}

/// Chooses among `nearby` (any order): eligible outlets within [`LOCAL_RADIUS_KM`] by
/// fewest open leads, then distance, then code; with none that near, the nearest
/// eligible one. `excluded` are outlets that already had the lead.
pub fn choose<'a>(
    nearby: &'a [Candidate],
    action: Action,
    excluded: &[String],
) -> Option<&'a Candidate> {
    let eligible = || nearby.iter().filter(|c| c.eligible(action, excluded));
    let by_distance = |a: &&Candidate, b: &&Candidate| {
        a.distance_km
            .total_cmp(&b.distance_km)
            .then_with(|| a.code.cmp(&b.code))
    };
    eligible()
        .filter(|c| c.distance_km <= LOCAL_RADIUS_KM)
        .min_by(|a, b| {
            a.open_leads
                .cmp(&b.open_leads)
                .then_with(|| by_distance(a, b))
        })
        .or_else(|| eligible().min_by(by_distance))
}

/// The outlet for a new lead and why: the preferred outlet when it may receive the lead
/// (and did not have it before), otherwise [`choose`].
pub fn route<'a>(
    preferred: Option<&'a Candidate>,
    nearby: &'a [Candidate],
    action: Action,
    excluded: &[String],
) -> Option<(&'a Candidate, RoutingReason)> {
    if let Some(p) = preferred.filter(|p| p.eligible(action, excluded)) {
        return Some((p, RoutingReason::Preferred));
    }
    choose(nearby, action, excluded).map(|c| (c, RoutingReason::Nearest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Capability::*;

    fn outlet(code: &str, km: f64, open: i64) -> Candidate {
        Candidate {
            code: code.into(),
            status: Status::Active,
            capabilities: vec![Sales, Service, Parts, Survey],
            distance_km: km,
            open_leads: open,
        }
    }

    fn with(mut c: Candidate, f: impl FnOnce(&mut Candidate)) -> Candidate {
        f(&mut c);
        c
    }

    #[test]
    fn routing_table() {
        let sales = Action::ReceiveSalesLead;
        let suspended = |c| with(c, |c| c.status = Status::Suspended);
        let station = |c| with(c, |c| c.capabilities = vec![Service, Parts]);
        type Case = (
            &'static str,
            Option<Candidate>,
            Vec<Candidate>,
            Action,
            Vec<&'static str>,
            Option<(&'static str, RoutingReason)>,
        );
        let cases: Vec<Case> = vec![
            (
                "preferred active and capable",
                Some(outlet("P", 80.0, 50)),
                vec![outlet("A", 1.0, 0)],
                sales,
                vec![],
                Some(("P", RoutingReason::Preferred)),
            ),
            (
                "preferred suspended → nearest",
                Some(suspended(outlet("P", 1.0, 0))),
                vec![outlet("A", 5.0, 3)],
                sales,
                vec![],
                Some(("A", RoutingReason::Nearest)),
            ),
            (
                "preferred lacks capability",
                Some(station(outlet("P", 1.0, 0))),
                vec![outlet("A", 5.0, 3)],
                sales,
                vec![],
                Some(("A", RoutingReason::Nearest)),
            ),
            (
                "preferred already had it",
                Some(outlet("P", 1.0, 0)),
                vec![outlet("A", 5.0, 3)],
                sales,
                vec!["P"],
                Some(("A", RoutingReason::Nearest)),
            ),
            (
                "fewest open leads nearby wins",
                None,
                vec![
                    outlet("A", 2.0, 7),
                    outlet("B", 12.0, 1),
                    outlet("C", 25.0, 4),
                ],
                sales,
                vec![],
                Some(("B", RoutingReason::Nearest)),
            ),
            (
                "equal load → nearer",
                None,
                vec![outlet("A", 9.0, 2), outlet("B", 3.0, 2)],
                sales,
                vec![],
                Some(("B", RoutingReason::Nearest)),
            ),
            (
                "equal load and distance → code",
                None,
                vec![outlet("B", 3.0, 2), outlet("A", 3.0, 2)],
                sales,
                vec![],
                Some(("A", RoutingReason::Nearest)),
            ),
            (
                "an idle far outlet does not beat a busy near one",
                None,
                vec![outlet("NEAR", 4.0, 40), outlet("FAR", 90.0, 0)],
                sales,
                vec![],
                Some(("NEAR", RoutingReason::Nearest)),
            ),
            (
                "none near → nearest regardless of load",
                None,
                vec![outlet("X", 300.0, 0), outlet("Y", 120.0, 9)],
                sales,
                vec![],
                Some(("Y", RoutingReason::Nearest)),
            ),
            (
                "suspended and incapable skipped",
                None,
                vec![
                    suspended(outlet("A", 1.0, 0)),
                    station(outlet("B", 2.0, 0)),
                    outlet("C", 20.0, 5),
                ],
                sales,
                vec![],
                Some(("C", RoutingReason::Nearest)),
            ),
            (
                "service lead goes to a station",
                None,
                vec![outlet("A", 10.0, 3), station(outlet("S", 5.0, 6))],
                Action::ReceiveServiceLead,
                vec![],
                Some(("A", RoutingReason::Nearest)),
            ),
            (
                "earlier holders excluded",
                None,
                vec![outlet("A", 1.0, 0), outlet("B", 2.0, 9)],
                sales,
                vec!["A"],
                Some(("B", RoutingReason::Nearest)),
            ),
            (
                "nobody can take it",
                None,
                vec![suspended(outlet("A", 1.0, 0))],
                sales,
                vec![],
                None,
            ),
            ("nothing nearby at all", None, vec![], sales, vec![], None),
        ];
        for (what, preferred, nearby, action, excluded, want) in cases {
            let excluded: Vec<String> = excluded.into_iter().map(String::from).collect();
            let got = route(preferred.as_ref(), &nearby, action, &excluded)
                .map(|(c, reason)| (c.code.as_str(), reason));
            assert_eq!(got, want, "{what}");
        }
    }
}
