//! Dealer groups and outlets: create, read, update, list, status changes, and the cheap
//! permission check other services ask before acting for an outlet.

use dealernet_kit::{
    auth::Principal, error::FieldViolations, idempotency::IdempotencyKey, paging::PageSize,
};
use dealernet_proto::dealers::v1 as pb;
use prost::Message;

use super::{
    Caller, Result, commit,
    convert::{
        capability_filter, code_in_name, etag, optional, outlet_code, status_from, status_to, text,
    },
    next_page, not_your_outlet,
    outlet_input::{
        OUTLET_UPDATABLE, apply_mask, check_mask, group_from_proto, group_to_proto,
        outlet_from_proto, outlet_to_proto,
    },
    replay, require_head_office,
};
use crate::{
    Error, Service,
    domain::outlet::{Action, StatusChange, permits},
    store::{self, Lock},
};

fn action_from(a: i32) -> Option<Action> {
    match pb::OutletAction::try_from(a).ok()? {
        pb::OutletAction::Unspecified => None,
        pb::OutletAction::ReceiveStock => Some(Action::ReceiveStock),
        pb::OutletAction::Reserve => Some(Action::Reserve),
        pb::OutletAction::Sell => Some(Action::Sell),
        pb::OutletAction::Repair => Some(Action::Repair),
        pb::OutletAction::ReceiveSalesLead => Some(Action::ReceiveSalesLead),
        pb::OutletAction::ReceiveServiceLead => Some(Action::ReceiveServiceLead),
    }
}

impl Service {
    pub(super) async fn create_dealer_group(
        &self,
        principal: &Principal,
        req: pb::CreateDealerGroupRequest,
    ) -> Result<pb::CreateDealerGroupResponse> {
        require_head_office(principal, "creating a dealer group")?;
        let key = IdempotencyKey::new(principal, "CreateDealerGroup", &req.request_id, &req)?;
        let input = req
            .dealer_group
            .as_ref()
            .ok_or_else(|| FieldViolations::one("dealer_group", "required"))?;
        let group = group_from_proto(input, self.now())?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        store::outlet::insert_group(&mut tx, &group).await?;
        let response = pb::CreateDealerGroupResponse {
            dealer_group: Some(group_to_proto(&group)),
        };
        commit(
            tx,
            key.as_ref(),
            response,
            &format!("dealerGroups/{}", group.code),
        )
        .await
    }

    pub(super) async fn get_dealer_group(
        &self,
        _principal: &Principal,
        req: pb::GetDealerGroupRequest,
    ) -> Result<pb::GetDealerGroupResponse> {
        let code = code_in_name(&req.name, "dealerGroups", "name")?;
        let mut conn = self.pool.acquire().await?;
        let group = store::outlet::load_group(&mut conn, &code)
            .await?
            .ok_or_else(|| Error::group_not_found(&code))?;
        Ok(pb::GetDealerGroupResponse {
            dealer_group: Some(group_to_proto(&group)),
        })
    }

    pub(super) async fn list_dealer_groups(
        &self,
        _principal: &Principal,
        req: pb::ListDealerGroupsRequest,
    ) -> Result<pb::ListDealerGroupsResponse> {
        let mut v = FieldViolations::new();
        let size = PageSize::STANDARD
            .resolve(req.page_size)
            .map_err(|e| v.append(e))
            .unwrap_or(0);
        let after = self
            .page_tokens
            .open::<String>(&req.page_token, b"dealerGroups")
            .map_err(|e| v.append(e.violation()))
            .unwrap_or(None);
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        let mut groups =
            store::outlet::list_groups(&mut conn, after.as_deref().unwrap_or(""), size + 1).await?;
        let next_page_token =
            next_page(&self.page_tokens, &mut groups, size, b"dealerGroups", |g| {
                g.code.clone()
            });
        Ok(pb::ListDealerGroupsResponse {
            dealer_groups: groups.iter().map(group_to_proto).collect(),
            next_page_token,
        })
    }

    pub(super) async fn create_outlet(
        &self,
        principal: &Principal,
        req: pb::CreateOutletRequest,
    ) -> Result<pb::CreateOutletResponse> {
        require_head_office(principal, "creating an outlet")?;
        let key = IdempotencyKey::new(principal, "CreateOutlet", &req.request_id, &req)?;
        let input = req
            .outlet
            .as_ref()
            .ok_or_else(|| FieldViolations::one("outlet", "required"))?;
        let now = self.now();
        let mut outlet = outlet_from_proto(input, now)?;
        outlet.status_reason = "created".into();
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        if let Some(group) = &outlet.group
            && store::outlet::load_group(&mut tx, group).await?.is_none()
        {
            return Err(Error::group_not_found(group));
        }
        store::outlet::insert_outlet(&mut tx, &outlet).await?;
        let response = pb::CreateOutletResponse {
            outlet: Some(outlet_to_proto(&outlet)),
        };
        commit(
            tx,
            key.as_ref(),
            response,
            &format!("outlets/{}", outlet.code),
        )
        .await
    }

    pub(super) async fn get_outlet(
        &self,
        _principal: &Principal,
        req: pb::GetOutletRequest,
    ) -> Result<pb::GetOutletResponse> {
        let code = code_in_name(&req.name, "outlets", "name")?;
        let mut conn = self.pool.acquire().await?;
        let outlet = store::outlet::load_outlet(&mut conn, &code, Lock::None)
            .await?
            .ok_or_else(|| Error::outlet_not_found(&code))?;
        Ok(pb::GetOutletResponse {
            outlet: Some(outlet_to_proto(&outlet)),
        })
    }

    pub(super) async fn update_outlet(
        &self,
        principal: &Principal,
        req: pb::UpdateOutletRequest,
    ) -> Result<pb::UpdateOutletResponse> {
        let key = IdempotencyKey::new(principal, "UpdateOutlet", &req.request_id, &req)?;
        let input = req
            .outlet
            .as_ref()
            .ok_or_else(|| FieldViolations::one("outlet", "required"))?;
        let code = code_in_name(&input.name, "outlets", "outlet.name")?;
        let paths = req
            .update_mask
            .as_ref()
            .map(|m| m.paths.clone())
            .unwrap_or_default();
        check_mask(&paths)?;
        let caller = Caller::of(principal);
        if !caller.manages(&code) {
            return Err(match caller {
                Caller::Outlet(_) => not_your_outlet(principal, &code),
                _ => Error::denied(
                    "HQ_ROLE_REQUIRED",
                    "changing an outlet needs HQ or the outlet's own staff",
                ),
            });
        }
        if let Caller::Outlet(_) = caller
            && let Some(path) = paths
                .iter()
                .find(|p| !OUTLET_UPDATABLE.contains(&p.as_str()))
        {
            return Err(Error::denied(
                "HQ_ROLE_REQUIRED",
                format!(
                    "only HQ may change '{path}'; an outlet may change {}",
                    OUTLET_UPDATABLE.join(", ")
                ),
            ));
        }
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let current = store::outlet::load_outlet(&mut tx, &code, Lock::Update)
            .await?
            .ok_or_else(|| Error::outlet_not_found(&code))?;
        if !input.etag.is_empty() && input.etag != etag(current.version) {
            return Err(Error::EtagMismatch {
                current: etag(current.version),
            });
        }
        let updated = apply_mask(&current, input, &paths, now)?;
        if paths.iter().any(|p| p == "group")
            && let Some(group) = &updated.group
            && store::outlet::load_group(&mut tx, group).await?.is_none()
        {
            return Err(Error::group_not_found(group));
        }
        store::outlet::update_outlet(&mut tx, &updated).await?;
        let response = pb::UpdateOutletResponse {
            outlet: Some(outlet_to_proto(&updated)),
        };
        commit(tx, key.as_ref(), response, &format!("outlets/{code}")).await
    }

    pub(super) async fn list_outlets(
        &self,
        _principal: &Principal,
        req: pb::ListOutletsRequest,
    ) -> Result<pb::ListOutletsResponse> {
        let mut v = FieldViolations::new();
        let status = match req.status {
            0 => None,
            s => status_from(s).or_else(|| {
                v.add("status", "not an outlet status");
                None
            }),
        };
        let filter = store::outlet::Filter {
            region: optional(&req.region),
            province: optional(&req.province),
            city: optional(&req.city),
            capability: capability_filter(&mut v, "capability", req.capability),
            status,
            group: optional(&req.group),
        };
        let size = PageSize::STANDARD
            .resolve(req.page_size)
            .map_err(|e| v.append(e))
            .unwrap_or(0);
        let bound = pb::ListOutletsRequest {
            page_size: 0,
            page_token: String::new(),
            ..req.clone()
        }
        .encode_to_vec();
        let after = self
            .page_tokens
            .open::<String>(&req.page_token, &bound)
            .map_err(|e| v.append(e.violation()))
            .unwrap_or(None);
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        let mut outlets = store::outlet::list_outlets(
            &mut conn,
            &filter,
            after.as_deref().unwrap_or(""),
            size + 1,
        )
        .await?;
        let next_page_token = next_page(&self.page_tokens, &mut outlets, size, &bound, |o| {
            o.code.clone()
        });
        Ok(pb::ListOutletsResponse {
            outlets: outlets.iter().map(outlet_to_proto).collect(),
            next_page_token,
        })
    }

    /// Suspend, reactivate or close: HQ only, with a reason, recorded in the history.
    /// The three responses carry just the outlet, so the outlet is what is saved for
    /// replays.
    async fn change_status(
        &self,
        principal: &Principal,
        change: StatusChange,
        (method, request): (&'static str, &impl Message),
        name: &str,
        reason: &str,
        request_id: &str,
    ) -> Result<pb::Outlet> {
        require_head_office(principal, "changing an outlet's status")?;
        let key = IdempotencyKey::new(principal, method, request_id, request)?;
        let mut v = FieldViolations::new();
        let code = code_in_name(name, "outlets", "name")
            .map_err(|e| v.append(e))
            .ok();
        let reason = text(&mut v, "reason", reason, 500, true);
        let Some(code) = code else {
            return Err(v.into());
        };
        v.into_result()?;
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay::<pb::Outlet>(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let mut outlet = store::outlet::load_outlet(&mut tx, &code, Lock::Update)
            .await?
            .ok_or_else(|| Error::outlet_not_found(&code))?;
        let from = outlet.status;
        let to = change.apply(from).map_err(|refusal| {
            Error::precondition(
                refusal,
                format!(
                    "cannot {} outlets/{code}: it is {}",
                    change.as_str().to_lowercase(),
                    from.as_str()
                ),
            )
        })?;
        outlet.status = to;
        outlet.status_reason = reason.clone();
        outlet.status_time = now;
        outlet.version += 1;
        outlet.update_time = now;
        store::outlet::update_outlet(&mut tx, &outlet).await?;
        store::outlet::record_status_change(
            &mut tx,
            &code,
            change,
            (from, to),
            &reason,
            (principal.organization(), principal.subject()),
            now,
        )
        .await?;
        let response = commit(
            tx,
            key.as_ref(),
            outlet_to_proto(&outlet),
            &format!("outlets/{code}"),
        )
        .await?;
        tracing::info!(outlet = %code, change = change.as_str(), "outlet status changed");
        Ok(response)
    }

    pub(super) async fn suspend_outlet(
        &self,
        principal: &Principal,
        req: pb::SuspendOutletRequest,
    ) -> Result<pb::SuspendOutletResponse> {
        let outlet = self
            .change_status(
                principal,
                StatusChange::Suspend,
                ("SuspendOutlet", &req),
                &req.name,
                &req.reason,
                &req.request_id,
            )
            .await?;
        Ok(pb::SuspendOutletResponse {
            outlet: Some(outlet),
        })
    }

    pub(super) async fn reactivate_outlet(
        &self,
        principal: &Principal,
        req: pb::ReactivateOutletRequest,
    ) -> Result<pb::ReactivateOutletResponse> {
        let outlet = self
            .change_status(
                principal,
                StatusChange::Reactivate,
                ("ReactivateOutlet", &req),
                &req.name,
                &req.reason,
                &req.request_id,
            )
            .await?;
        Ok(pb::ReactivateOutletResponse {
            outlet: Some(outlet),
        })
    }

    pub(super) async fn close_outlet(
        &self,
        principal: &Principal,
        req: pb::CloseOutletRequest,
    ) -> Result<pb::CloseOutletResponse> {
        let outlet = self
            .change_status(
                principal,
                StatusChange::Close,
                ("CloseOutlet", &req),
                &req.name,
                &req.reason,
                &req.request_id,
            )
            .await?;
        Ok(pb::CloseOutletResponse {
            outlet: Some(outlet),
        })
    }

    pub(super) async fn check_outlet_permission(
        &self,
        _principal: &Principal,
        req: pb::CheckOutletPermissionRequest,
    ) -> Result<pb::CheckOutletPermissionResponse> {
        let mut v = FieldViolations::new();
        let code = outlet_code(&mut v, "outlet", &req.outlet);
        let action = action_from(req.action);
        if action.is_none() {
            v.add("action", "required: one of the OUTLET_ACTION_* values");
        }
        let Some(action) = action else {
            return Err(v.into());
        };
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        let (status, capabilities) = store::outlet::permission_facts(&mut conn, &code)
            .await?
            .ok_or_else(|| Error::outlet_not_found(&code))?;
        let verdict = permits(status, &capabilities, action);
        Ok(pb::CheckOutletPermissionResponse {
            allowed: verdict.is_ok(),
            reason: verdict.err().unwrap_or_default().to_owned(),
            status: status_to(status) as i32,
        })
    }
}
