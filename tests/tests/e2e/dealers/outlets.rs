//! Groups and outlets: CRUD with masks and etags, filters and paging, status changes, the
//! permission check, object-level rules, and bad input that writes nothing.

use dealernet_proto::dealers::v1 as pb;
use dealernet_tests::TestPlatform;
use prost_types::FieldMask;
use tonic::Code;

use super::{counts, create_outlets, date, hq, outlet_at};
use crate::{assert_invalid, assert_refused};

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

#[tokio::test]
async fn dealers_hq_creates_reads_updates_and_lists_outlets() {
    let platform = TestPlatform::spawn().await;
    let mut hq = hq(&platform);
    let group = hq
        .create_dealer_group(pb::CreateDealerGroupRequest {
            dealer_group: Some(pb::DealerGroup {
                code: "G-EAST".into(),
                display_name: "华东汽车集团".into(),
                ..Default::default()
            }),
            request_id: "group-1".into(),
        })
        .await
        .expect("group")
        .into_inner()
        .dealer_group
        .expect("group");
    assert_eq!(group.name, "dealerGroups/G-EAST");
    let mut first = outlet_at("SH001", 0.0, &[]);
    first.group = "G-EAST".into();
    first.closed_dates = vec![date(2027, 2, 6), date(2027, 2, 5), date(2027, 2, 6)];
    let created = create_outlets(
        &platform,
        vec![
            first,
            outlet_at(
                "SH002",
                5.0,
                &[pb::Capability::Service, pb::Capability::Parts],
            ),
            outlet_at("SH003", 9.0, &[pb::Capability::Sales]),
        ],
    )
    .await;
    let sh001 = &created[0];
    assert_eq!(sh001.name, "outlets/SH001");
    assert!(sh001.four_s);
    assert!(!created[1].four_s);
    assert_eq!(sh001.status, pb::OutletStatus::Active as i32);
    assert_eq!(
        sh001.utc_offset_minutes,
        Some(480),
        "China time when not given"
    );
    assert_eq!(
        sh001.closed_dates,
        vec![date(2027, 2, 5), date(2027, 2, 6)],
        "sorted, no repeats"
    );
    assert_eq!(sh001.opening_hours.len(), 5);

    let got = hq
        .get_outlet(pb::GetOutletRequest {
            name: "outlets/SH001".into(),
        })
        .await
        .expect("get")
        .into_inner()
        .outlet
        .expect("outlet");
    assert_eq!(&got, sh001);

    // Update with the current etag, then again with the stale one.
    let mut change = pb::Outlet {
        name: "outlets/SH001".into(),
        display_name: "上海浦东旗舰4S店".into(),
        phone: "021-6666-8888".into(),
        etag: sh001.etag.clone(),
        ..Default::default()
    };
    let updated = hq
        .update_outlet(pb::UpdateOutletRequest {
            outlet: Some(change.clone()),
            update_mask: mask(&["display_name", "phone"]),
            request_id: String::new(),
        })
        .await
        .expect("update")
        .into_inner()
        .outlet
        .expect("outlet");
    assert_eq!(updated.display_name, "上海浦东旗舰4S店");
    assert_eq!(updated.phone, "021-6666-8888");
    assert_eq!(updated.region, "EAST", "unmasked fields stay");
    assert_eq!(updated.opening_hours, sh001.opening_hours);
    assert_ne!(updated.etag, sh001.etag);
    change.display_name = "stale".into();
    assert_refused(
        hq.update_outlet(pb::UpdateOutletRequest {
            outlet: Some(change),
            update_mask: mask(&["display_name"]),
            request_id: String::new(),
        })
        .await,
        Code::Aborted,
        "ETAG_MISMATCH",
    );

    // Filters and sealed page tokens.
    let list = |capability: pb::Capability, page_token: String| pb::ListOutletsRequest {
        city: "上海市".into(),
        capability: capability as i32,
        page_size: 1,
        page_token,
        ..Default::default()
    };
    let page = hq
        .list_outlets(list(pb::Capability::Sales, String::new()))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page.outlets.len(), 1);
    assert_eq!(page.outlets[0].code, "SH001");
    let rest = hq
        .list_outlets(list(pb::Capability::Sales, page.next_page_token.clone()))
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(rest.outlets[0].code, "SH003", "SH002 has no SALES");
    assert!(rest.next_page_token.is_empty());
    assert_invalid(
        hq.list_outlets(list(pb::Capability::Service, page.next_page_token))
            .await,
        &["page_token"],
    );
    let grouped = hq
        .list_outlets(pb::ListOutletsRequest {
            group: "G-EAST".into(),
            ..Default::default()
        })
        .await
        .expect("by group")
        .into_inner();
    assert_eq!(grouped.outlets.len(), 1);
}

#[tokio::test]
async fn dealers_bad_outlet_input_is_refused_and_nothing_is_written() {
    let platform = TestPlatform::spawn().await;
    create_outlets(&platform, vec![outlet_at("SH001", 0.0, &[])]).await;
    let before = counts(&platform).await;
    let mut hq = hq(&platform);
    let create = |outlet: pb::Outlet| pb::CreateOutletRequest {
        outlet: Some(outlet),
        request_id: String::new(),
    };
    let with = |f: &dyn Fn(&mut pb::Outlet)| {
        let mut o = outlet_at("SH009", 1.0, &[]);
        f(&mut o);
        o
    };
    let cases: Vec<(pb::Outlet, Vec<&str>)> = vec![
        (
            with(&|o| {
                o.location = Some(pb::GeoPoint {
                    latitude: 91.0,
                    longitude: f64::NAN,
                })
            }),
            vec!["outlet.location.latitude", "outlet.location.longitude"],
        ),
        (
            with(&|o| o.location = Some(pb::GeoPoint::default())),
            vec!["outlet.location.latitude"],
        ),
        (with(&|o| o.location = None), vec!["outlet.location"]),
        (with(&|o| o.code = "sh 9".into()), vec!["outlet.code"]),
        (
            with(&|o| {
                o.address = Some(dealernet_proto::types::v1::PostalAddress {
                    postal_code: "12".into(),
                    ..Default::default()
                })
            }),
            vec![
                "outlet.address.province",
                "outlet.address.city",
                "outlet.address.district",
                "outlet.address.street",
                "outlet.address.postal_code",
            ],
        ),
        (
            with(&|o| o.capabilities = vec![]),
            vec!["outlet.capabilities"],
        ),
        (
            with(&|o| o.capabilities = vec![1, 42]),
            vec!["outlet.capabilities[1]"],
        ),
        (
            with(&|o| o.opening_hours[0].close_time = "25:00".into()),
            vec!["outlet.opening_hours[0].close_time"],
        ),
        (
            with(&|o| {
                o.opening_hours.push(pb::OpeningPeriod {
                    weekday: pb::Weekday::Monday as i32,
                    open_time: "17:00".into(),
                    close_time: "20:00".into(),
                })
            }),
            vec!["outlet.opening_hours"],
        ),
        (
            with(&|o| o.opening_hours.clear()),
            vec!["outlet.opening_hours"],
        ),
        (
            with(&|o| o.utc_offset_minutes = Some(481)),
            vec!["outlet.utc_offset_minutes"],
        ),
        (
            with(&|o| o.closed_dates = vec![date(2026, 2, 30)]),
            vec!["outlet.closed_dates[0]"],
        ),
        (with(&|o| o.region = String::new()), vec!["outlet.region"]),
    ];
    for (outlet, fields) in cases {
        assert_invalid(hq.create_outlet(create(outlet)).await, &fields);
    }
    assert_refused(
        hq.create_outlet(create(with(&|o| o.group = "NO-SUCH".into())))
            .await,
        Code::NotFound,
        "DEALER_GROUP_NOT_FOUND",
    );
    assert_refused(
        hq.create_outlet(create(outlet_at("SH001", 3.0, &[]))).await,
        Code::AlreadyExists,
        "OUTLET_EXISTS",
    );
    assert_refused(
        hq.get_outlet(pb::GetOutletRequest {
            name: "outlets/NOPE".into(),
        })
        .await,
        Code::NotFound,
        "OUTLET_NOT_FOUND",
    );
    assert_invalid(
        hq.get_outlet(pb::GetOutletRequest {
            name: "SH001".into(),
        })
        .await,
        &["name"],
    );
    let update = |name: &str, paths: &[&str], outlet: pb::Outlet| pb::UpdateOutletRequest {
        outlet: Some(pb::Outlet {
            name: name.into(),
            ..outlet
        }),
        update_mask: mask(paths),
        request_id: String::new(),
    };
    assert_invalid(
        hq.update_outlet(update(
            "outlets/SH001",
            &["code", "status"],
            pb::Outlet::default(),
        ))
        .await,
        &["update_mask.paths[0]", "update_mask.paths[1]"],
    );
    assert_invalid(
        hq.update_outlet(update(
            "outlets/SH001",
            &["location"],
            pb::Outlet {
                location: Some(pb::GeoPoint {
                    latitude: -100.0,
                    longitude: 121.0,
                }),
                ..Default::default()
            },
        ))
        .await,
        &["outlet.location.latitude"],
    );
    assert_refused(
        hq.update_outlet(update("outlets/NOPE", &["phone"], pb::Outlet::default()))
            .await,
        Code::NotFound,
        "OUTLET_NOT_FOUND",
    );
    assert_invalid(
        hq.suspend_outlet(pb::SuspendOutletRequest {
            name: "outlets/SH001".into(),
            reason: "  ".into(),
            request_id: String::new(),
        })
        .await,
        &["reason"],
    );
    assert_invalid(
        hq.create_dealer_group(pb::CreateDealerGroupRequest {
            dealer_group: Some(pb::DealerGroup::default()),
            request_id: String::new(),
        })
        .await,
        &["dealer_group.code", "dealer_group.display_name"],
    );
    assert_eq!(counts(&platform).await, before, "nothing written");
    assert_eq!(
        platform.count_in("dealers", "outlet_status_change").await,
        0
    );
}

#[tokio::test]
async fn dealers_create_outlet_is_idempotent() {
    let platform = TestPlatform::spawn().await;
    let mut hq = hq(&platform);
    let request = pb::CreateOutletRequest {
        outlet: Some(outlet_at("ID001", 0.0, &[])),
        request_id: "create-id001".into(),
    };
    let first = hq
        .create_outlet(request.clone())
        .await
        .expect("first")
        .into_inner();
    let again = hq
        .create_outlet(request.clone())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, again);
    assert_refused(
        hq.create_outlet(pb::CreateOutletRequest {
            outlet: Some(outlet_at("ID002", 0.0, &[])),
            ..request
        })
        .await,
        Code::InvalidArgument,
        "REQUEST_ID_REUSED",
    );
    assert_eq!(platform.count_in("dealers", "outlet").await, 1);
}
