//! Who may change an outlet, status changes, and the permission check they drive.

use dealernet_kit::auth::Role;
use dealernet_proto::dealers::v1 as pb;
use dealernet_tests::TestPlatform;
use prost_types::FieldMask;
use tonic::Code;

use super::{create_outlets, date, hq, outlet_at};
use crate::{assert_invalid, assert_refused};

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

fn check(outlet: &str, action: pb::OutletAction) -> pb::CheckOutletPermissionRequest {
    pb::CheckOutletPermissionRequest {
        outlet: outlet.into(),
        action: action as i32,
    }
}

#[tokio::test]
async fn dealers_an_outlet_changes_only_its_own_hours_and_phone() {
    let platform = TestPlatform::spawn().await;
    let created = create_outlets(
        &platform,
        vec![outlet_at("D7001", 0.0, &[]), outlet_at("D7002", 3.0, &[])],
    )
    .await;
    let mut own = platform.dealers("D7001", Role::Dealer);
    let saturday = pb::OpeningPeriod {
        weekday: pb::Weekday::Saturday as i32,
        open_time: "10:00".into(),
        close_time: "16:00".into(),
    };
    let mut hours = created[0].opening_hours.clone();
    hours.push(saturday.clone());
    let updated = own
        .update_outlet(pb::UpdateOutletRequest {
            outlet: Some(pb::Outlet {
                name: "outlets/D7001".into(),
                opening_hours: hours,
                closed_dates: vec![date(2027, 1, 1)],
                ..Default::default()
            }),
            update_mask: mask(&["opening_hours", "closed_dates"]),
            request_id: "d7001-hours".into(),
        })
        .await
        .expect("own hours")
        .into_inner()
        .outlet
        .expect("outlet");
    assert!(updated.opening_hours.contains(&saturday));
    assert_eq!(updated.closed_dates, vec![date(2027, 1, 1)]);
    assert_refused(
        own.update_outlet(pb::UpdateOutletRequest {
            outlet: Some(pb::Outlet {
                name: "outlets/D7001".into(),
                capabilities: vec![pb::Capability::Sales as i32],
                ..Default::default()
            }),
            update_mask: mask(&["capabilities"]),
            request_id: String::new(),
        })
        .await,
        Code::PermissionDenied,
        "HQ_ROLE_REQUIRED",
    );
    assert_refused(
        own.update_outlet(pb::UpdateOutletRequest {
            outlet: Some(pb::Outlet {
                name: "outlets/D7002".into(),
                phone: "1".into(),
                ..Default::default()
            }),
            update_mask: mask(&["phone"]),
            request_id: String::new(),
        })
        .await,
        Code::PermissionDenied,
        "NOT_YOUR_OUTLET",
    );
    for (org, role) in [
        ("D7001", Role::Dealer),
        ("CALLCENTER", Role::Agent),
        ("SYS", Role::System),
    ] {
        assert_refused(
            platform
                .dealers(org, role)
                .create_outlet(pb::CreateOutletRequest {
                    outlet: Some(outlet_at("D7003", 1.0, &[])),
                    request_id: String::new(),
                })
                .await,
            Code::PermissionDenied,
            "HQ_ROLE_REQUIRED",
        );
        assert_refused(
            platform
                .dealers(org, role)
                .suspend_outlet(pb::SuspendOutletRequest {
                    name: "outlets/D7002".into(),
                    reason: "x".into(),
                    request_id: String::new(),
                })
                .await,
            Code::PermissionDenied,
            "HQ_ROLE_REQUIRED",
        );
    }
    // Outlet data is public to every authenticated caller.
    let other = platform
        .dealers("D7002", Role::Dealer)
        .get_outlet(pb::GetOutletRequest {
            name: "outlets/D7001".into(),
        })
        .await
        .expect("read another outlet")
        .into_inner()
        .outlet
        .expect("outlet");
    assert_eq!(other.etag, updated.etag);
}

#[tokio::test]
async fn dealers_status_changes_drive_the_permission_check() {
    use pb::OutletAction as A;
    let platform = TestPlatform::spawn().await;
    create_outlets(
        &platform,
        vec![
            outlet_at("D8001", 0.0, &[]),
            outlet_at(
                "S8001",
                2.0,
                &[pb::Capability::Service, pb::Capability::Parts],
            ),
        ],
    )
    .await;
    let mut hq = hq(&platform);
    // Other services call the check with a system token.
    let mut vehicles = platform.dealers("VEHICLES", Role::System);
    let verdict = |r: pb::CheckOutletPermissionResponse| (r.allowed, r.reason, r.status);
    let ask = |outlet: &'static str, action: A| {
        let mut vehicles = vehicles.clone();
        async move {
            verdict(
                vehicles
                    .check_outlet_permission(check(outlet, action))
                    .await
                    .expect("check")
                    .into_inner(),
            )
        }
    };
    let active = pb::OutletStatus::Active as i32;
    assert_eq!(ask("D8001", A::Sell).await, (true, String::new(), active));
    assert_eq!(ask("S8001", A::Repair).await, (true, String::new(), active));
    assert_eq!(
        ask("S8001", A::ReceiveStock).await,
        (false, "OUTLET_LACKS_CAPABILITY".into(), active)
    );
    assert_eq!(
        ask("S8001", A::ReceiveSalesLead).await,
        (false, "OUTLET_LACKS_CAPABILITY".into(), active)
    );

    let change = |name: &str, reason: &str| (name.to_owned(), reason.to_owned());
    let (name, reason) = change("outlets/D8001", "sales audit");
    let suspended = hq
        .suspend_outlet(pb::SuspendOutletRequest {
            name: name.clone(),
            reason: reason.clone(),
            request_id: "suspend-d8001".into(),
        })
        .await
        .expect("suspend")
        .into_inner()
        .outlet
        .expect("outlet");
    assert_eq!(suspended.status, pb::OutletStatus::Suspended as i32);
    assert_eq!(suspended.status_reason, "sales audit");
    let suspended_status = pb::OutletStatus::Suspended as i32;
    for action in [
        A::ReceiveStock,
        A::Reserve,
        A::Sell,
        A::Repair,
        A::ReceiveSalesLead,
    ] {
        assert_eq!(
            ask("D8001", action).await,
            (false, "OUTLET_SUSPENDED".into(), suspended_status),
            "{action:?}"
        );
    }
    // A retry with the same request id replays; a second suspension is refused.
    let replayed = hq
        .suspend_outlet(pb::SuspendOutletRequest {
            name: name.clone(),
            reason: reason.clone(),
            request_id: "suspend-d8001".into(),
        })
        .await
        .expect("replay")
        .into_inner()
        .outlet
        .expect("outlet");
    assert_eq!(replayed, suspended);
    assert_refused(
        hq.suspend_outlet(pb::SuspendOutletRequest {
            name: name.clone(),
            reason,
            request_id: String::new(),
        })
        .await,
        Code::FailedPrecondition,
        "OUTLET_ALREADY_SUSPENDED",
    );
    hq.reactivate_outlet(pb::ReactivateOutletRequest {
        name: name.clone(),
        reason: "audit passed".into(),
        request_id: String::new(),
    })
    .await
    .expect("reactivate");
    assert_eq!(ask("D8001", A::Sell).await, (true, String::new(), active));
    assert_refused(
        hq.reactivate_outlet(pb::ReactivateOutletRequest {
            name: name.clone(),
            reason: "again".into(),
            request_id: String::new(),
        })
        .await,
        Code::FailedPrecondition,
        "OUTLET_NOT_SUSPENDED",
    );
    hq.close_outlet(pb::CloseOutletRequest {
        name: name.clone(),
        reason: "contract ended".into(),
        request_id: String::new(),
    })
    .await
    .expect("close");
    assert_eq!(
        ask("D8001", A::Sell).await,
        (
            false,
            "OUTLET_CLOSED".into(),
            pb::OutletStatus::Closed as i32
        )
    );
    assert_refused(
        hq.reactivate_outlet(pb::ReactivateOutletRequest {
            name,
            reason: "reopen".into(),
            request_id: String::new(),
        })
        .await,
        Code::FailedPrecondition,
        "OUTLET_CLOSED",
    );
    assert_eq!(
        platform.count_in("dealers", "outlet_status_change").await,
        3
    );

    assert_refused(
        vehicles
            .check_outlet_permission(check("NOPE", A::Sell))
            .await,
        Code::NotFound,
        "OUTLET_NOT_FOUND",
    );
    assert_invalid(
        vehicles
            .check_outlet_permission(pb::CheckOutletPermissionRequest {
                outlet: "bad code".into(),
                action: 0,
            })
            .await,
        &["outlet", "action"],
    );
}
