//! Recall campaigns: HQ creates one with its selection of vehicles; workshops remedy
//! them through recall lines of repair orders (see `repair`); progress per outlet.

use dealernet_kit::{
    auth::{Principal, Role},
    error::FieldViolations,
    idempotency::IdempotencyKey,
};
use dealernet_proto::vehicles::v1 as pb;
use prost::Message;

use super::{
    Result,
    catalogue::model_code,
    commit, replay, require_head_office, required_time,
    stock::central,
    vehicle::{timestamp, vehicle_name},
};
use crate::{
    Error, Service,
    domain::{
        recall::{Campaign, Selection, Status},
        vin::Vin,
    },
    store,
};

const MAX_VINS: usize = 10_000;
const MAX_MODELS: usize = 50;

fn campaign_code(code: &str) -> bool {
    (2..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// `recallCampaigns/{code}`.
fn campaign_name(name: &str, field: &str) -> std::result::Result<String, FieldViolations> {
    name.strip_prefix("recallCampaigns/")
        .filter(|code| campaign_code(code))
        .map(str::to_owned)
        .ok_or_else(|| {
            FieldViolations::one(
                field,
                format!("'{name}' is not a campaign name (recallCampaigns/{{code}})"),
            )
        })
}

fn status_to_proto(s: Status) -> pb::RecallStatus {
    match s {
        Status::Open => pb::RecallStatus::Open,
        Status::Closed => pb::RecallStatus::Closed,
    }
}

pub(super) fn campaign_to_proto(c: &Campaign) -> pb::RecallCampaign {
    let selection = match &c.selection {
        Selection::Vins(vins) => pb::recall_campaign::Selection::Vins(pb::VinList {
            vins: vins.iter().map(|v| v.to_string()).collect(),
        }),
        Selection::BuildWindow { models, from, to } => {
            pb::recall_campaign::Selection::BuildWindow(pb::BuildWindow {
                models: models.iter().map(|m| format!("models/{m}")).collect(),
                built_from: Some(timestamp(*from)),
                built_to: Some(timestamp(*to)),
            })
        }
        Selection::PartBatch { part_number, batch } => {
            pb::recall_campaign::Selection::PartBatch(pb::PartBatch {
                part_number: part_number.clone(),
                batch: batch.clone(),
            })
        }
    };
    pb::RecallCampaign {
        name: format!("recallCampaigns/{}", c.code),
        code: c.code.clone(),
        title: c.title.clone(),
        description: c.description.clone(),
        remedy: c.remedy.clone(),
        selection: Some(selection),
        status: status_to_proto(c.status) as i32,
        affected_count: c.affected_count,
        create_time: Some(timestamp(c.create_time)),
        close_time: c.close_time.map(timestamp),
    }
}

fn text(v: &mut FieldViolations, field: &str, value: &str, max: usize) -> String {
    let t = value.trim();
    if t.is_empty() || t.chars().count() > max {
        v.add(field, format!("required, at most {max} characters"));
    }
    t.to_owned()
}

fn parse_selection(
    v: &mut FieldViolations,
    selection: Option<&pb::recall_campaign::Selection>,
) -> Option<Selection> {
    use pb::recall_campaign::Selection as S;
    match selection {
        None => {
            v.add(
                "campaign.selection",
                "required: vins, build_window or part_batch",
            );
            None
        }
        Some(S::Vins(list)) => {
            if list.vins.is_empty() || list.vins.len() > MAX_VINS {
                v.add("campaign.vins.vins", format!("1 to {MAX_VINS} VINs"));
            }
            let mut vins: Vec<Vin> = Vec::with_capacity(list.vins.len());
            for (i, raw) in list.vins.iter().enumerate() {
                match Vin::parse(raw) {
                    Ok(vin) => vins.push(vin),
                    Err(e) => v.add(format!("campaign.vins.vins[{i}]"), e.to_string()),
                }
            }
            vins.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            vins.dedup();
            Some(Selection::Vins(vins))
        }
        Some(S::BuildWindow(w)) => {
            if w.models.is_empty() || w.models.len() > MAX_MODELS {
                v.add(
                    "campaign.build_window.models",
                    format!("1 to {MAX_MODELS} models"),
                );
            }
            let mut models = Vec::new();
            for (i, m) in w.models.iter().enumerate() {
                match model_code(m, &format!("campaign.build_window.models[{i}]")) {
                    Ok(code) if !models.contains(&code) => models.push(code),
                    Ok(_) => {}
                    Err(e) => v.append(e),
                }
            }
            let from = required_time(
                v,
                "campaign.build_window.built_from",
                w.built_from.as_ref(),
                false,
            );
            let to = required_time(
                v,
                "campaign.build_window.built_to",
                w.built_to.as_ref(),
                false,
            );
            let (from, to) = (from?, to?);
            if from >= to {
                v.add("campaign.build_window.built_to", "must be after built_from");
            }
            Some(Selection::BuildWindow { models, from, to })
        }
        Some(S::PartBatch(p)) => Some(Selection::PartBatch {
            part_number: text(v, "campaign.part_batch.part_number", &p.part_number, 40),
            batch: text(v, "campaign.part_batch.batch", &p.batch, 40),
        }),
    }
}

impl Service {
    pub(super) async fn create_recall_campaign(
        &self,
        principal: &Principal,
        req: pb::CreateRecallCampaignRequest,
    ) -> Result<pb::CreateRecallCampaignResponse> {
        require_head_office(principal, "creating a recall campaign")?;
        let key = IdempotencyKey::new(principal, "CreateRecallCampaign", &req.request_id, &req)?;
        let Some(c) = req.campaign.as_ref() else {
            return Err(FieldViolations::one("campaign", "required").into());
        };
        let mut v = FieldViolations::new();
        if !campaign_code(&c.code) {
            v.add(
                "campaign.code",
                "must be 2 to 32 characters of A-Z, 0-9 and '-'",
            );
        }
        let title = text(&mut v, "campaign.title", &c.title, 200);
        let description = text(&mut v, "campaign.description", &c.description, 2_000);
        let remedy = text(&mut v, "campaign.remedy", &c.remedy, 2_000);
        let selection = parse_selection(&mut v, c.selection.as_ref());
        let Some(selection) = selection else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        match &selection {
            Selection::Vins(vins) => {
                let known = store::recall::registered(&mut tx, vins).await?;
                let mut v = FieldViolations::new();
                // Named by their position in the request (the list was sorted and deduplicated).
                let sent = match &c.selection {
                    Some(pb::recall_campaign::Selection::Vins(list)) => list.vins.as_slice(),
                    _ => &[],
                };
                for (i, raw) in sent.iter().enumerate() {
                    let Ok(vin) = Vin::parse(raw) else { continue };
                    if !known.iter().any(|k| k == vin.as_str()) {
                        v.add(
                            format!("campaign.vins.vins[{i}]"),
                            format!("{vin} is not a registered vehicle"),
                        );
                    }
                }
                v.into_result()?;
            }
            Selection::BuildWindow { models, .. } => {
                for m in models {
                    store::load_model(&mut tx, m, false)
                        .await?
                        .ok_or_else(|| Error::ModelNotFound(format!("models/{m}")))?;
                }
            }
            Selection::PartBatch { .. } => {}
        }
        let mut campaign = Campaign {
            code: c.code.clone(),
            title,
            description,
            remedy,
            selection,
            status: Status::Open,
            affected_count: 0,
            create_time: crate::now(),
            close_time: None,
        };
        campaign.affected_count =
            store::recall::insert(&mut tx, &campaign, principal.organization())
                .await
                .map_err(|e| match Error::from(e) {
                    Error::RecallExists(_) => Error::RecallExists(campaign.code.clone()),
                    other => other,
                })? as i64;
        let answerable = store::recall::answerable(&mut tx, &campaign.code).await?;
        crate::events::recall_campaign_created(&mut tx, principal, &campaign, &answerable).await?;
        if let Selection::Vins(vins) = &mut campaign.selection {
            // The answer names the selection's kind; ListAffectedVehicles lists the VINs.
            vins.clear();
        }
        let response = pb::CreateRecallCampaignResponse {
            campaign: Some(campaign_to_proto(&campaign)),
        };
        let name = format!("recallCampaigns/{}", campaign.code);
        commit(tx, key.as_ref(), response, &name).await
    }

    async fn campaign(&self, name: &str, field: &str) -> Result<(String, Campaign)> {
        let code = campaign_name(name, field)?;
        let mut conn = self.pool.acquire().await?;
        let campaign = store::recall::load(&mut conn, &code, false)
            .await?
            .ok_or_else(|| Error::RecallNotFound(name.to_owned()))?;
        Ok((code, campaign))
    }

    pub(super) async fn get_recall_campaign(
        &self,
        _principal: &Principal,
        req: pb::GetRecallCampaignRequest,
    ) -> Result<pb::GetRecallCampaignResponse> {
        let (_, campaign) = self.campaign(&req.name, "name").await?;
        Ok(pb::GetRecallCampaignResponse {
            campaign: Some(campaign_to_proto(&campaign)),
        })
    }

    pub(super) async fn list_recall_campaigns(
        &self,
        _principal: &Principal,
        req: pb::ListRecallCampaignsRequest,
    ) -> Result<pb::ListRecallCampaignsResponse> {
        let mut v = FieldViolations::new();
        let status = match pb::RecallStatus::try_from(req.status) {
            Ok(pb::RecallStatus::Unspecified) => None,
            Ok(pb::RecallStatus::Open) => Some(Status::Open),
            Ok(pb::RecallStatus::Closed) => Some(Status::Closed),
            Err(_) => {
                v.add("status", "not a RECALL_STATUS_* value");
                None
            }
        };
        let filters = format!("{status:?}").into_bytes();
        let (size, after) =
            self.page_tokens
                .page::<String>(&mut v, req.page_size, &req.page_token, &filters);
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        let mut campaigns =
            store::recall::list(&mut conn, status, after.as_deref().unwrap_or(""), size + 1)
                .await?;
        let next_page_token = self
            .page_tokens
            .next_page(&mut campaigns, size, &filters, |c| c.code.clone());
        Ok(pb::ListRecallCampaignsResponse {
            campaigns: campaigns.iter().map(campaign_to_proto).collect(),
            next_page_token,
        })
    }

    pub(super) async fn close_recall_campaign(
        &self,
        principal: &Principal,
        req: pb::CloseRecallCampaignRequest,
    ) -> Result<pb::CloseRecallCampaignResponse> {
        require_head_office(principal, "closing a recall campaign")?;
        let key = IdempotencyKey::new(principal, "CloseRecallCampaign", &req.request_id, &req)?;
        let code = campaign_name(&req.name, "name")?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let mut campaign = store::recall::load(&mut tx, &code, true)
            .await?
            .ok_or_else(|| Error::RecallNotFound(req.name.clone()))?;
        if campaign.status == Status::Closed {
            return Err(Error::Precondition {
                reason: "RECALL_CAMPAIGN_CLOSED",
                message: format!("{} is already closed", req.name),
            });
        }
        let now = crate::now();
        store::recall::close(&mut tx, &code, now).await?;
        (campaign.status, campaign.close_time) = (Status::Closed, Some(now));
        let response = pb::CloseRecallCampaignResponse {
            campaign: Some(campaign_to_proto(&campaign)),
        };
        commit(tx, key.as_ref(), response, &req.name).await
    }

    pub(super) async fn list_affected_vehicles(
        &self,
        principal: &Principal,
        req: pb::ListAffectedVehiclesRequest,
    ) -> Result<pb::ListAffectedVehiclesResponse> {
        let mut v = FieldViolations::new();
        let code = campaign_name(&req.campaign, "campaign")
            .map_err(|e| v.append(e))
            .ok();
        let filters = pb::ListAffectedVehiclesRequest {
            page_size: 0,
            page_token: String::new(),
            ..req.clone()
        }
        .encode_to_vec();
        let (size, after) =
            self.page_tokens
                .page::<String>(&mut v, req.page_size, &req.page_token, &filters);
        let Some(code) = code else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        // An outlet sees the affected vehicles it is answerable for.
        let outlet = (!(central(principal) || principal.has_role(Role::Agent)))
            .then(|| principal.organization());
        let mut conn = self.pool.acquire().await?;
        if store::recall::load(&mut conn, &code, false)
            .await?
            .is_none()
        {
            return Err(Error::RecallNotFound(req.campaign.clone()));
        }
        let mut rows = store::recall::affected(
            &mut conn,
            &code,
            req.completed,
            outlet,
            after.as_deref().unwrap_or(""),
            size + 1,
        )
        .await?;
        let next_page_token = self
            .page_tokens
            .next_page(&mut rows, size, &filters, |r| r.vin.clone());
        let sees_owners = outlet.is_none();
        Ok(pb::ListAffectedVehiclesResponse {
            vehicles: rows
                .into_iter()
                .map(|r| pb::AffectedVehicle {
                    vehicle: format!("vehicles/{}", r.vin),
                    model: format!("models/{}", r.model_code),
                    outlet: r.outlet,
                    completed: r.completed_at.is_some(),
                    complete_time: r.completed_at.map(timestamp),
                    completed_by: r.completed_by.unwrap_or_default(),
                    repair_order: r
                        .repair_order
                        .map(|id| format!("repairOrders/{id}"))
                        .unwrap_or_default(),
                    owner: r
                        .owner
                        .filter(|_| sees_owners)
                        .map(|id| format!("customers/{id}"))
                        .unwrap_or_default(),
                })
                .collect(),
            next_page_token,
        })
    }

    pub(super) async fn list_open_recalls(
        &self,
        _principal: &Principal,
        req: pb::ListOpenRecallsRequest,
    ) -> Result<pb::ListOpenRecallsResponse> {
        let vin = vehicle_name(&req.vehicle, "vehicle")?;
        let mut conn = self.pool.acquire().await?;
        if store::vehicle::load(&mut conn, &vin, false)
            .await?
            .is_none()
        {
            return Err(Error::VehicleNotFound(req.vehicle.clone()));
        }
        let campaigns = store::recall::open_for_vehicle(&mut conn, &vin).await?;
        Ok(pb::ListOpenRecallsResponse {
            campaigns: campaigns.iter().map(campaign_to_proto).collect(),
        })
    }

    pub(super) async fn get_recall_progress(
        &self,
        principal: &Principal,
        req: pb::GetRecallProgressRequest,
    ) -> Result<pb::GetRecallProgressResponse> {
        require_head_office(principal, "recall progress")?;
        let (code, _) = self.campaign(&req.campaign, "campaign").await?;
        let mut conn = self.pool.acquire().await?;
        let (answerable, performed) = store::recall::progress(&mut conn, &code).await?;
        let mut outlets: Vec<pb::OutletRecallProgress> = answerable
            .iter()
            .map(|(outlet, affected, completed)| pb::OutletRecallProgress {
                outlet: outlet.clone(),
                affected: *affected,
                completed: *completed,
                performed: 0,
            })
            .collect();
        for (outlet, n) in performed {
            match outlets.iter_mut().find(|o| o.outlet == outlet) {
                Some(o) => o.performed = n,
                None => outlets.push(pb::OutletRecallProgress {
                    outlet,
                    performed: n,
                    ..Default::default()
                }),
            }
        }
        outlets.sort_by(|a, b| a.outlet.cmp(&b.outlet));
        let affected: i64 = answerable.iter().map(|a| a.1).sum();
        let completed: i64 = answerable.iter().map(|a| a.2).sum();
        Ok(pb::GetRecallProgressResponse {
            affected,
            completed,
            completion_rate: if affected == 0 {
                0.0
            } else {
                completed as f64 / affected as f64
            },
            outlets,
        })
    }
}
