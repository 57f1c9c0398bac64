//! Staff members: created and changed by HQ or their own outlet, read by those who may.

use dealernet_kit::auth::Role;
use dealernet_proto::dealers::v1 as pb;
use dealernet_tests::TestPlatform;
use prost_types::FieldMask;
use tonic::Code;

use super::{counts, create_outlets, hq, outlet_at};
use crate::{assert_invalid, assert_refused};

fn member(
    outlet: &str,
    name: &str,
    role: pb::StaffRole,
    number: &str,
) -> pb::CreateStaffMemberRequest {
    pb::CreateStaffMemberRequest {
        staff_member: Some(pb::StaffMember {
            outlet: outlet.into(),
            display_name: name.into(),
            role: role as i32,
            employee_number: number.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn dealers_staff_are_managed_by_their_outlet() {
    let platform = TestPlatform::spawn().await;
    create_outlets(
        &platform,
        vec![outlet_at("D5001", 0.0, &[]), outlet_at("D5002", 4.0, &[])],
    )
    .await;
    let mut own = platform.dealers("D5001", Role::Dealer);
    let li = own
        .create_staff_member(member("D5001", "李伟", pb::StaffRole::SalesPerson, "E001"))
        .await
        .expect("create")
        .into_inner()
        .staff_member
        .expect("staff");
    assert!(li.name.starts_with("staffMembers/"));
    assert!(li.active);
    let wang = hq(&platform)
        .create_staff_member(member("D5001", "王芳", pb::StaffRole::Technician, ""))
        .await
        .expect("hq creates")
        .into_inner()
        .staff_member
        .expect("staff");
    assert_refused(
        own.create_staff_member(member("D5001", "张强", pb::StaffRole::Manager, "E001"))
            .await,
        Code::AlreadyExists,
        "EMPLOYEE_NUMBER_TAKEN",
    );
    assert_refused(
        own.create_staff_member(member("D5002", "张强", pb::StaffRole::Manager, ""))
            .await,
        Code::PermissionDenied,
        "NOT_YOUR_OUTLET",
    );
    assert_refused(
        hq(&platform)
            .create_staff_member(member("NOPE", "张强", pb::StaffRole::Manager, ""))
            .await,
        Code::NotFound,
        "OUTLET_NOT_FOUND",
    );
    let before = counts(&platform).await;
    assert_invalid(
        own.create_staff_member(member(
            "D5001",
            "",
            pb::StaffRole::Unspecified,
            "x".repeat(40).as_str(),
        ))
        .await,
        &[
            "staff_member.display_name",
            "staff_member.role",
            "staff_member.employee_number",
        ],
    );
    assert_eq!(counts(&platform).await, before, "nothing written");

    // Deactivate (the record stays for the sales and repairs that name it).
    let off = own
        .update_staff_member(pb::UpdateStaffMemberRequest {
            staff_member: Some(pb::StaffMember {
                name: li.name.clone(),
                active: false,
                etag: li.etag.clone(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["active".into()],
            }),
            request_id: String::new(),
        })
        .await
        .expect("deactivate")
        .into_inner()
        .staff_member
        .expect("staff");
    assert!(!off.active);
    assert_eq!(off.display_name, "李伟");
    assert_refused(
        own.update_staff_member(pb::UpdateStaffMemberRequest {
            staff_member: Some(pb::StaffMember {
                name: li.name.clone(),
                active: true,
                etag: li.etag.clone(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["active".into()],
            }),
            request_id: String::new(),
        })
        .await,
        Code::Aborted,
        "ETAG_MISMATCH",
    );
    assert_invalid(
        own.update_staff_member(pb::UpdateStaffMemberRequest {
            staff_member: Some(pb::StaffMember {
                name: li.name.clone(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["outlet".into(), "display_name".into()],
            }),
            request_id: String::new(),
        })
        .await,
        &["update_mask.paths[0]"],
    );

    let list = |active_only| pb::ListStaffMembersRequest {
        outlet: "D5001".into(),
        active_only,
        ..Default::default()
    };
    let all = own
        .list_staff_members(list(false))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(all.staff_members.len(), 2);
    let active = own
        .list_staff_members(list(true))
        .await
        .expect("active")
        .into_inner();
    assert_eq!(active.staff_members, vec![wang.clone()]);
    assert_refused(
        platform
            .dealers("D5002", Role::Dealer)
            .list_staff_members(list(false))
            .await,
        Code::PermissionDenied,
        "NOT_YOUR_OUTLET",
    );
    assert_refused(
        platform
            .dealers("D5002", Role::Dealer)
            .get_staff_member(pb::GetStaffMemberRequest {
                name: wang.name.clone(),
            })
            .await,
        Code::PermissionDenied,
        "NOT_YOUR_OUTLET",
    );
    // Other services look staff up with a system token, the hotline with its own.
    for (org, role) in [("VEHICLES", Role::System), ("CALLCENTER", Role::Agent)] {
        let got = platform
            .dealers(org, role)
            .get_staff_member(pb::GetStaffMemberRequest {
                name: wang.name.clone(),
            })
            .await
            .expect("read")
            .into_inner()
            .staff_member
            .expect("staff");
        assert_eq!(got, wang);
    }
    assert_refused(
        own.get_staff_member(pb::GetStaffMemberRequest {
            name: "staffMembers/01936f0e-0000-7000-8000-000000000001".into(),
        })
        .await,
        Code::NotFound,
        "STAFF_MEMBER_NOT_FOUND",
    );
    assert_invalid(
        own.get_staff_member(pb::GetStaffMemberRequest {
            name: "staff/1".into(),
        })
        .await,
        &["name"],
    );

    // A closed outlet takes on nobody.
    hq(&platform)
        .close_outlet(pb::CloseOutletRequest {
            name: "outlets/D5002".into(),
            reason: "closed".into(),
            request_id: String::new(),
        })
        .await
        .expect("close");
    assert_refused(
        hq(&platform)
            .create_staff_member(member("D5002", "赵敏", pb::StaffRole::Manager, ""))
            .await,
        Code::FailedPrecondition,
        "OUTLET_CLOSED",
    );
}
