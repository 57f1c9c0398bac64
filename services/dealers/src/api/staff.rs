//! Staff members of outlets: HQ and the outlet's own staff manage them; HQ, systems,
//! the hotline and the outlet read them.

use dealernet_kit::{
    auth::Principal, error::FieldViolations, idempotency::IdempotencyKey, paging::PageSize,
};
use dealernet_proto::dealers::v1 as pb;
use uuid::Uuid;

use super::{
    Caller, Result, commit,
    convert::{etag, outlet_code, text, timestamp, uuid_in_name},
    next_page, not_your_outlet, replay,
};
use crate::{
    Error, Service,
    domain::{
        outlet::Status,
        staff::{Role, StaffMember},
    },
    store::{self, Lock},
};

const UPDATABLE: &[&str] = &["display_name", "role", "employee_number", "active"];

fn role_from(r: i32) -> Option<Role> {
    match pb::StaffRole::try_from(r).ok()? {
        pb::StaffRole::Unspecified => None,
        pb::StaffRole::SalesPerson => Some(Role::SalesPerson),
        pb::StaffRole::ServiceAdvisor => Some(Role::ServiceAdvisor),
        pb::StaffRole::Technician => Some(Role::Technician),
        pb::StaffRole::Manager => Some(Role::Manager),
    }
}

fn role_to(r: Role) -> pb::StaffRole {
    match r {
        Role::SalesPerson => pb::StaffRole::SalesPerson,
        Role::ServiceAdvisor => pb::StaffRole::ServiceAdvisor,
        Role::Technician => pb::StaffRole::Technician,
        Role::Manager => pb::StaffRole::Manager,
    }
}

pub(super) fn staff_to_proto(s: &StaffMember) -> pb::StaffMember {
    pb::StaffMember {
        name: format!("staffMembers/{}", s.id),
        outlet: s.outlet.clone(),
        display_name: s.display_name.clone(),
        role: role_to(s.role) as i32,
        employee_number: s.employee_number.clone().unwrap_or_default(),
        active: s.active,
        create_time: Some(timestamp(s.create_time)),
        update_time: Some(timestamp(s.update_time)),
        etag: etag(s.version),
    }
}

/// Display name, role and employee number of a client's staff member.
fn staff_fields(
    v: &mut FieldViolations,
    s: &pb::StaffMember,
) -> (String, Option<Role>, Option<String>) {
    let display_name = text(v, "staff_member.display_name", &s.display_name, 100, true);
    let role = role_from(s.role);
    if role.is_none() {
        v.add(
            "staff_member.role",
            "required: one of the STAFF_ROLE_* values",
        );
    }
    let number = text(
        v,
        "staff_member.employee_number",
        &s.employee_number,
        32,
        false,
    );
    (display_name, role, (!number.is_empty()).then_some(number))
}

/// `staffMembers/{uuid}` as an id.
pub(super) fn staff_id(name: &str, field: &str) -> std::result::Result<Uuid, FieldViolations> {
    let mut v = FieldViolations::new();
    let id = uuid_in_name(&mut v, name, "staffMembers", field);
    match id {
        Some(id) => Ok(id),
        None => Err(v),
    }
}

impl Service {
    pub(super) async fn create_staff_member(
        &self,
        principal: &Principal,
        req: pb::CreateStaffMemberRequest,
    ) -> Result<pb::CreateStaffMemberResponse> {
        let key = IdempotencyKey::new(principal, "CreateStaffMember", &req.request_id, &req)?;
        let input = req
            .staff_member
            .as_ref()
            .ok_or_else(|| FieldViolations::one("staff_member", "required"))?;
        let mut v = FieldViolations::new();
        let outlet = outlet_code(&mut v, "staff_member.outlet", &input.outlet);
        let (display_name, role, employee_number) = staff_fields(&mut v, input);
        let Some(role) = role else {
            return Err(v.into());
        };
        v.into_result()?;
        if !Caller::of(principal).manages(&outlet) {
            return Err(not_your_outlet(principal, &outlet));
        }
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        // FOR SHARE: a closure committing meanwhile waits, or is seen.
        let at = store::outlet::load_outlet(&mut tx, &outlet, Lock::Share)
            .await?
            .ok_or_else(|| Error::outlet_not_found(&outlet))?;
        if at.status == Status::Closed {
            return Err(Error::precondition(
                "OUTLET_CLOSED",
                format!("outlets/{outlet} is closed"),
            ));
        }
        let staff = StaffMember {
            id: Uuid::now_v7(),
            outlet,
            display_name,
            role,
            employee_number,
            active: true,
            version: 1,
            create_time: now,
            update_time: now,
        };
        store::staff::insert(&mut tx, &staff).await?;
        let response = pb::CreateStaffMemberResponse {
            staff_member: Some(staff_to_proto(&staff)),
        };
        commit(
            tx,
            key.as_ref(),
            response,
            &format!("staffMembers/{}", staff.id),
        )
        .await
    }

    pub(super) async fn get_staff_member(
        &self,
        principal: &Principal,
        req: pb::GetStaffMemberRequest,
    ) -> Result<pb::GetStaffMemberResponse> {
        let id = staff_id(&req.name, "name")?;
        let mut conn = self.pool.acquire().await?;
        let staff = store::staff::load(&mut conn, id, false)
            .await?
            .ok_or_else(|| Error::staff_not_found(&req.name))?;
        if !Caller::of(principal).reads(&staff.outlet) {
            return Err(not_your_outlet(principal, &staff.outlet));
        }
        Ok(pb::GetStaffMemberResponse {
            staff_member: Some(staff_to_proto(&staff)),
        })
    }

    pub(super) async fn update_staff_member(
        &self,
        principal: &Principal,
        req: pb::UpdateStaffMemberRequest,
    ) -> Result<pb::UpdateStaffMemberResponse> {
        let key = IdempotencyKey::new(principal, "UpdateStaffMember", &req.request_id, &req)?;
        let input = req
            .staff_member
            .as_ref()
            .ok_or_else(|| FieldViolations::one("staff_member", "required"))?;
        let mut v = FieldViolations::new();
        let id = uuid_in_name(&mut v, &input.name, "staffMembers", "staff_member.name");
        let paths = req
            .update_mask
            .as_ref()
            .map(|m| m.paths.clone())
            .unwrap_or_default();
        if paths.is_empty() {
            v.add(
                "update_mask",
                format!(
                    "required: name the fields to change, from {}",
                    UPDATABLE.join(", ")
                ),
            );
        }
        for (i, path) in paths.iter().enumerate() {
            if !UPDATABLE.contains(&path.as_str()) {
                v.add(
                    format!("update_mask.paths[{i}]"),
                    format!("'{path}' is not an updatable field"),
                );
            }
        }
        let Some(id) = id else { return Err(v.into()) };
        v.into_result()?;
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let current = store::staff::load(&mut tx, id, true)
            .await?
            .ok_or_else(|| Error::staff_not_found(&input.name))?;
        if !Caller::of(principal).manages(&current.outlet) {
            return Err(not_your_outlet(principal, &current.outlet));
        }
        if !input.etag.is_empty() && input.etag != etag(current.version) {
            return Err(Error::EtagMismatch {
                current: etag(current.version),
            });
        }
        // Validate the whole merged record, so a masked field cannot slip an invalid value in.
        let mut merged = staff_to_proto(&current);
        for path in &paths {
            match path.as_str() {
                "display_name" => merged.display_name = input.display_name.clone(),
                "role" => merged.role = input.role,
                "employee_number" => merged.employee_number = input.employee_number.clone(),
                "active" => merged.active = input.active,
                _ => {}
            }
        }
        let mut v = FieldViolations::new();
        let (display_name, role, employee_number) = staff_fields(&mut v, &merged);
        let Some(role) = role else {
            return Err(v.into());
        };
        v.into_result()?;
        let updated = StaffMember {
            display_name,
            role,
            employee_number,
            active: merged.active,
            version: current.version + 1,
            update_time: now,
            ..current
        };
        store::staff::update(&mut tx, &updated).await?;
        let response = pb::UpdateStaffMemberResponse {
            staff_member: Some(staff_to_proto(&updated)),
        };
        commit(tx, key.as_ref(), response, &format!("staffMembers/{id}")).await
    }

    pub(super) async fn list_staff_members(
        &self,
        principal: &Principal,
        req: pb::ListStaffMembersRequest,
    ) -> Result<pb::ListStaffMembersResponse> {
        let mut v = FieldViolations::new();
        let outlet = outlet_code(&mut v, "outlet", &req.outlet);
        let role = match req.role {
            0 => None,
            r => role_from(r).or_else(|| {
                v.add("role", "not a staff role");
                None
            }),
        };
        let size = PageSize::STANDARD
            .resolve(req.page_size)
            .map_err(|e| v.append(e))
            .unwrap_or(0);
        let filters = format!("{outlet}|{role:?}|{}", req.active_only).into_bytes();
        let after = self
            .page_tokens
            .open::<String>(&req.page_token, &filters)
            .map_err(|e| v.append(e.violation()))
            .unwrap_or(None);
        let after = after.and_then(|a| Uuid::parse_str(&a).ok());
        v.into_result()?;
        if !Caller::of(principal).reads(&outlet) {
            return Err(not_your_outlet(principal, &outlet));
        }
        let mut conn = self.pool.acquire().await?;
        if store::outlet::permission_facts(&mut conn, &outlet)
            .await?
            .is_none()
        {
            return Err(Error::outlet_not_found(&outlet));
        }
        let mut staff =
            store::staff::list(&mut conn, &outlet, role, req.active_only, after, size + 1).await?;
        let next_page_token = next_page(&self.page_tokens, &mut staff, size, &filters, |s| {
            s.id.to_string()
        });
        Ok(pb::ListStaffMembersResponse {
            staff_members: staff.iter().map(staff_to_proto).collect(),
            next_page_token,
        })
    }
}
