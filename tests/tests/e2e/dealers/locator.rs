//! The locator: nearest active outlets with a capability, checked against brute force.

use dealernet_kit::auth::Role;
use dealernet_proto::dealers::v1::{self as pb, locate_outlets_request::Origin};
use dealernet_tests::TestPlatform;
use tonic::Code;

use super::{SHANGHAI, counts, create_outlets, hq, outlet_at};
use crate::{assert_invalid, assert_refused};

fn from_point(
    lat: f64,
    lng: f64,
    capability: pb::Capability,
    max_results: i32,
) -> pb::LocateOutletsRequest {
    pb::LocateOutletsRequest {
        origin: Some(Origin::Point(pb::GeoPoint {
            latitude: lat,
            longitude: lng,
        })),
        capability: capability as i32,
        max_results,
        max_distance_km: 0.0,
    }
}

/// Great-circle distance, written out independently of the service's code.
fn km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let r = 6371.0088_f64;
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2)
        + p1.cos() * p2.cos() * ((b.1 - a.1).to_radians() / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

#[tokio::test]
async fn dealers_locator_finds_the_nearest_capable_active_outlets() {
    let platform = TestPlatform::spawn().await;
    // A ring of outlets around Shanghai at 1..40 km in all directions, a few in Suzhou
    // (≈ 85 km), one in Beijing; every third one is a service station.
    let mut outlets = Vec::new();
    let mut positions = Vec::new();
    for i in 0..36u32 {
        let bearing = f64::from(i * 47 % 360).to_radians();
        let dist = 1.0 + f64::from(i);
        let lat = SHANGHAI.0 + dist / 111.195 * bearing.cos();
        let lng = SHANGHAI.1 + dist / (111.195 * SHANGHAI.0.to_radians().cos()) * bearing.sin();
        let caps: &[pb::Capability] = if i % 3 == 0 {
            &[pb::Capability::Service, pb::Capability::Parts]
        } else {
            &[]
        };
        let mut o = outlet_at(&format!("L{i:03}"), 0.0, caps);
        o.location = Some(pb::GeoPoint {
            latitude: lat,
            longitude: lng,
        });
        positions.push((o.code.clone(), (lat, lng), i % 3 != 0));
        outlets.push(o);
    }
    for (i, (lat, lng, city)) in [
        (31.30, 120.59, "苏州市"),
        (31.32, 120.62, "苏州市"),
        (39.90, 116.41, "北京市"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut o = outlet_at(&format!("F{i:03}"), 0.0, &[]);
        o.location = Some(pb::GeoPoint {
            latitude: lat,
            longitude: lng,
        });
        if let Some(a) = o.address.as_mut() {
            a.city = city.into();
        }
        positions.push((o.code.clone(), (lat, lng), true));
        outlets.push(o);
    }
    create_outlets(&platform, outlets).await;
    let mut hq = hq(&platform);
    hq.suspend_outlet(pb::SuspendOutletRequest {
        name: "outlets/L001".into(),
        reason: "audit".into(),
        request_id: String::new(),
    })
    .await
    .expect("suspend");
    let mut agent = platform.dealers("CALLCENTER", Role::Agent);

    // From a few origins, the answer equals brute force over active SALES outlets.
    for origin in [SHANGHAI, (31.25, 121.60), (31.10, 121.20), (31.31, 120.60)] {
        let got = agent
            .locate_outlets(from_point(origin.0, origin.1, pb::Capability::Sales, 8))
            .await
            .expect("locate")
            .into_inner();
        let mut want: Vec<(String, f64)> = positions
            .iter()
            .filter(|(code, _, sales)| *sales && code != "L001")
            .map(|(code, p, _)| (code.clone(), km(origin, *p)))
            .filter(|(_, d)| *d <= 300.0)
            .collect();
        want.sort_by(|a, b| a.1.total_cmp(&b.1));
        want.truncate(8);
        let got_codes: Vec<&str> = got
            .outlets
            .iter()
            .map(|l| l.outlet.as_ref().expect("outlet").code.as_str())
            .collect();
        let want_codes: Vec<&str> = want.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(got_codes, want_codes, "from {origin:?}");
        for (l, (_, d)) in got.outlets.iter().zip(&want) {
            assert!((l.distance_km - d).abs() < 1e-6, "{} vs {d}", l.distance_km);
        }
    }

    // A radius cuts the list; service stations answer a SERVICE search.
    let near = agent
        .locate_outlets(pb::LocateOutletsRequest {
            max_distance_km: 5.5,
            ..from_point(SHANGHAI.0, SHANGHAI.1, pb::Capability::Service, 50)
        })
        .await
        .expect("near")
        .into_inner();
    let codes: Vec<&str> = near
        .outlets
        .iter()
        .map(|l| l.outlet.as_ref().expect("outlet").code.as_str())
        .collect();
    assert_eq!(
        codes,
        ["L000", "L002", "L003", "L004"],
        "within 5.5 km, L001 suspended"
    );
    assert!(near.outlets.iter().all(|l| l.distance_km <= 5.5));

    // From a city: its outlets' centroid.
    let suzhou = agent
        .locate_outlets(pb::LocateOutletsRequest {
            origin: Some(Origin::City(pb::CityRef {
                province: String::new(),
                city: "苏州市".into(),
            })),
            capability: pb::Capability::Sales as i32,
            max_results: 2,
            max_distance_km: 10.0,
        })
        .await
        .expect("city")
        .into_inner();
    let centre = suzhou.origin.expect("origin");
    assert!((centre.latitude - 31.31).abs() < 1e-9 && (centre.longitude - 120.605).abs() < 1e-9);
    assert_eq!(suzhou.outlets.len(), 2);
    assert!(suzhou.outlets.iter().all(|l| l.distance_km < 3.0));
}

#[tokio::test]
async fn dealers_locator_refuses_bad_input() {
    let platform = TestPlatform::spawn().await;
    create_outlets(&platform, vec![outlet_at("L1", 0.0, &[])]).await;
    let before = counts(&platform).await;
    let mut client = platform.dealers("D1", Role::Dealer);
    assert_invalid(
        client
            .locate_outlets(from_point(95.0, 200.0, pb::Capability::Sales, 5))
            .await,
        &["point.latitude", "point.longitude"],
    );
    assert_invalid(
        client
            .locate_outlets(pb::LocateOutletsRequest {
                origin: None,
                capability: 0,
                max_results: 500,
                max_distance_km: -1.0,
            })
            .await,
        &["origin", "capability", "max_results", "max_distance_km"],
    );
    assert_invalid(
        client
            .locate_outlets(pb::LocateOutletsRequest {
                max_distance_km: f64::NAN,
                ..from_point(31.0, 121.0, pb::Capability::Sales, 5)
            })
            .await,
        &["max_distance_km"],
    );
    assert_refused(
        client
            .locate_outlets(pb::LocateOutletsRequest {
                origin: Some(Origin::City(pb::CityRef {
                    province: String::new(),
                    city: "亚特兰蒂斯".into(),
                })),
                capability: pb::Capability::Sales as i32,
                ..Default::default()
            })
            .await,
        Code::NotFound,
        "CITY_NOT_FOUND",
    );
    let none = client
        .locate_outlets(from_point(45.8, 126.5, pb::Capability::Sales, 5))
        .await
        .expect("nothing near Harbin")
        .into_inner();
    assert!(none.outlets.is_empty());
    assert_eq!(counts(&platform).await, before);
}
