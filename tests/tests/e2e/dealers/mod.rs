//! The dealer network end to end: outlets, staff, the locator, leads with routing,
//! deadlines and the sweeper, scorecards (and the events that feed them), the registry's
//! merges and erasures as the network applies them. Shared builders live here.

mod customer_events;
mod lead_listing;
mod leads;
mod locator;
mod outlet_rules;
mod outlets;
mod reassignment;
mod routing;
mod scorecard_events;
mod scorecard_ranking;
mod scorecards;
mod staff;
mod sweeper;

use chrono::{DateTime, Utc};
use dealernet_kit::auth::Role;
use dealernet_proto::{dealers::v1 as pb, types::v1 as types};
use dealernet_tests::{DealersClient, TestPlatform};
use prost_types::Timestamp;

/// Central Shanghai (People's Square).
pub const SHANGHAI: (f64, f64) = (31.2304, 121.4737);

/// A Wednesday morning in Shanghai, inside office hours.
pub fn wednesday() -> dealernet_kit::clock::ManualClock {
    dealernet_kit::clock::ManualClock::new(sh("2026-11-18 10:00"))
}

/// A Shanghai local time ("2026-11-20 17:00") as an instant.
pub fn sh(local: &str) -> DateTime<Utc> {
    DateTime::parse_from_str(&format!("{local} +0800"), "%Y-%m-%d %H:%M %z")
        .unwrap_or_else(|e| panic!("{local}: {e}"))
        .to_utc()
}

pub fn ts(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn time(t: Option<&Timestamp>) -> DateTime<Utc> {
    let t = t.expect("timestamp present");
    DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("valid timestamp")
}

pub fn date(y: i32, m: i32, d: i32) -> types::Date {
    types::Date {
        year: y,
        month: m,
        day: d,
    }
}

/// Monday to Friday, 09:00–18:00.
pub fn office_hours() -> Vec<pb::OpeningPeriod> {
    (1..=5)
        .map(|day| pb::OpeningPeriod {
            weekday: day,
            open_time: "09:00".into(),
            close_time: "18:00".into(),
        })
        .collect()
}

/// A valid outlet in Shanghai at `km_east` kilometres east of the centre (0.0106° of
/// longitude per km at this latitude), 4S unless `capabilities` say otherwise.
pub fn outlet_at(code: &str, km_east: f64, capabilities: &[pb::Capability]) -> pb::Outlet {
    let caps = if capabilities.is_empty() {
        vec![
            pb::Capability::Sales,
            pb::Capability::Service,
            pb::Capability::Parts,
            pb::Capability::Survey,
        ]
    } else {
        capabilities.to_vec()
    };
    pb::Outlet {
        code: code.into(),
        display_name: format!("测试{code}店"),
        region: "EAST".into(),
        address: Some(types::PostalAddress {
            province: "上海市".into(),
            city: "上海市".into(),
            district: "浦东新区".into(),
            street: "世纪大道100号".into(),
            postal_code: "200120".into(),
            region_code: "CN".into(),
        }),
        location: Some(pb::GeoPoint {
            latitude: SHANGHAI.0,
            longitude: SHANGHAI.1 + km_east * 0.010_53,
        }),
        capabilities: caps.into_iter().map(|c| c as i32).collect(),
        brands: vec!["Dealernet Auto".into()],
        phone: "021-5555-0000".into(),
        opening_hours: office_hours(),
        ..Default::default()
    }
}

pub fn hq(platform: &TestPlatform) -> DealersClient {
    platform.dealers("HQ", Role::Hq)
}

/// Creates outlets as HQ.
pub async fn create_outlets(platform: &TestPlatform, outlets: Vec<pb::Outlet>) -> Vec<pb::Outlet> {
    let mut client = hq(platform);
    let mut created = Vec::new();
    for outlet in outlets {
        created.push(
            client
                .create_outlet(pb::CreateOutletRequest {
                    outlet: Some(outlet),
                    request_id: String::new(),
                })
                .await
                .expect("create outlet")
                .into_inner()
                .outlet
                .expect("outlet"),
        );
    }
    created
}

/// A customer id of the registry (leads check its shape only).
pub fn customer(n: u32) -> String {
    format!("customers/01936f0e-0000-7000-8000-{n:012}")
}

/// A buy lead from the hotline for a customer `km_east` of the Shanghai centre.
pub fn buy_lead(n: u32, km_east: f64) -> pb::Lead {
    pb::Lead {
        customer: customer(n),
        interest: pb::LeadInterest::Buy as i32,
        model: "models/DA7-2026".into(),
        source: pb::LeadSource::Hotline as i32,
        location: Some(pb::GeoPoint {
            latitude: SHANGHAI.0,
            longitude: SHANGHAI.1 + km_east * 0.010_53,
        }),
        city: "上海市".into(),
        notes: "想试驾\n周末方便".into(),
        ..Default::default()
    }
}

pub async fn create_lead(client: &mut DealersClient, lead: pb::Lead) -> pb::Lead {
    client
        .create_lead(pb::CreateLeadRequest {
            lead: Some(lead),
            request_id: String::new(),
        })
        .await
        .expect("create lead")
        .into_inner()
        .lead
        .expect("lead")
}

pub async fn get_lead(platform: &TestPlatform, name: &str) -> pb::Lead {
    hq(platform)
        .get_lead(pb::GetLeadRequest { name: name.into() })
        .await
        .expect("get lead")
        .into_inner()
        .lead
        .expect("lead")
}

/// AdvanceLead to `status` as the outlet `org`.
pub fn advance(name: &str, status: pb::LeadStatus) -> pb::AdvanceLeadRequest {
    pb::AdvanceLeadRequest {
        name: name.into(),
        status: status as i32,
        ..Default::default()
    }
}

/// Row counts of the dealers schema, to show that a refused call wrote nothing.
pub async fn counts(platform: &TestPlatform) -> [i64; 6] {
    let mut out = [0; 6];
    for (i, table) in [
        "outlet",
        "outlet_hours",
        "staff_member",
        "lead",
        "lead_assignment",
        "idempotency",
    ]
    .iter()
    .enumerate()
    {
        out[i] = platform.count_in("dealers", table).await;
    }
    out
}
