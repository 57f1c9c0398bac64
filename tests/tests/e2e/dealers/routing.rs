//! Routing table: outlets at distances with loads, capabilities and statuses, and where
//! a new lead goes. Each case runs on its own platform.

use dealernet_kit::{auth::Role, clock::ManualClock};
use dealernet_proto::dealers::v1 as pb;
use dealernet_tests::TestPlatform;

use super::{buy_lead, create_lead, create_outlets, hq, outlet_at, sh};

/// An outlet of a case: code, km east of the centre, open leads it already has, kind.
struct Site {
    code: &'static str,
    km: f64,
    load: u32,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    FourS,
    Station,
    Suspended,
}

const fn site(code: &'static str, km: f64, load: u32, kind: Kind) -> Site {
    Site {
        code,
        km,
        load,
        kind,
    }
}

struct Case {
    what: &'static str,
    sites: &'static [Site],
    interest: pb::LeadInterest,
    preferred: &'static str,
    want: &'static str,
    reason: pb::RoutingReason,
}

const CASES: &[Case] = &[
    Case {
        what: "fewest open leads within the local radius",
        sites: &[
            site("A", 1.0, 3, Kind::FourS),
            site("B", 10.0, 0, Kind::FourS),
            site("C", 25.0, 1, Kind::FourS),
        ],
        interest: pb::LeadInterest::Buy,
        preferred: "",
        want: "B",
        reason: pb::RoutingReason::Nearest,
    },
    Case {
        what: "equal loads: the nearer",
        sites: &[
            site("A", 5.0, 1, Kind::FourS),
            site("B", 2.0, 1, Kind::FourS),
        ],
        interest: pb::LeadInterest::TestDrive,
        preferred: "",
        want: "B",
        reason: pb::RoutingReason::Nearest,
    },
    Case {
        what: "an idle outlet beyond the local radius loses to a busy near one",
        sites: &[
            site("A", 3.0, 4, Kind::FourS),
            site("B", 60.0, 0, Kind::FourS),
        ],
        interest: pb::LeadInterest::Buy,
        preferred: "",
        want: "A",
        reason: pb::RoutingReason::Nearest,
    },
    Case {
        what: "none near: the nearest, whatever its load",
        sites: &[
            site("A", 90.0, 3, Kind::FourS),
            site("B", 400.0, 0, Kind::FourS),
        ],
        interest: pb::LeadInterest::TradeIn,
        preferred: "",
        want: "A",
        reason: pb::RoutingReason::Nearest,
    },
    Case {
        what: "suspended and incapable outlets are skipped",
        sites: &[
            site("A", 1.0, 0, Kind::Suspended),
            site("B", 2.0, 0, Kind::Station),
            site("C", 20.0, 2, Kind::FourS),
        ],
        interest: pb::LeadInterest::Buy,
        preferred: "",
        want: "C",
        reason: pb::RoutingReason::Nearest,
    },
    Case {
        what: "a service lead goes to a workshop",
        sites: &[
            site("A", 1.0, 0, Kind::Suspended),
            site("S", 8.0, 1, Kind::Station),
            site("T", 9.0, 2, Kind::Station),
        ],
        interest: pb::LeadInterest::Service,
        preferred: "",
        want: "S",
        reason: pb::RoutingReason::Nearest,
    },
    Case {
        what: "the preferred outlet, busy and far, when it may receive the lead",
        sites: &[
            site("A", 1.0, 0, Kind::FourS),
            site("P", 200.0, 5, Kind::FourS),
        ],
        interest: pb::LeadInterest::Buy,
        preferred: "P",
        want: "P",
        reason: pb::RoutingReason::Preferred,
    },
    Case {
        what: "a preferred workshop cannot take a buy lead",
        sites: &[
            site("A", 1.0, 0, Kind::FourS),
            site("P", 2.0, 0, Kind::Station),
        ],
        interest: pb::LeadInterest::Buy,
        preferred: "P",
        want: "A",
        reason: pb::RoutingReason::Nearest,
    },
];

#[tokio::test]
async fn dealers_routing_table() {
    for case in CASES {
        let clock = ManualClock::new(sh("2026-11-18 10:00"));
        let platform = TestPlatform::spawn_at(&clock).await;
        let outlets = case
            .sites
            .iter()
            .map(|s| {
                let caps: &[pb::Capability] = match s.kind {
                    Kind::Station => &[pb::Capability::Service, pb::Capability::Parts],
                    _ => &[],
                };
                outlet_at(s.code, s.km, caps)
            })
            .collect();
        create_outlets(&platform, outlets).await;
        let mut agent = platform.dealers("CALLCENTER", Role::Agent);
        let mut customer = 100;
        for s in case.sites {
            for _ in 0..s.load {
                customer += 1;
                let load = pb::Lead {
                    preferred_outlet: s.code.into(),
                    interest: if s.kind == Kind::Station {
                        pb::LeadInterest::Service as i32
                    } else {
                        pb::LeadInterest::Buy as i32
                    },
                    ..buy_lead(customer, s.km)
                };
                assert_eq!(
                    create_lead(&mut agent, load).await.assigned_outlet,
                    s.code,
                    "{}: load",
                    case.what
                );
            }
            if s.kind == Kind::Suspended {
                hq(&platform)
                    .suspend_outlet(pb::SuspendOutletRequest {
                        name: format!("outlets/{}", s.code),
                        reason: "routing table".into(),
                        request_id: String::new(),
                    })
                    .await
                    .expect("suspend");
            }
        }
        let lead = create_lead(
            &mut agent,
            pb::Lead {
                interest: case.interest as i32,
                preferred_outlet: case.preferred.into(),
                ..buy_lead(1, 0.0)
            },
        )
        .await;
        assert_eq!(lead.assigned_outlet, case.want, "{}", case.what);
        assert_eq!(lead.routings[0].reason, case.reason as i32, "{}", case.what);
    }
}
