//! GetCustomerValue, ListSegmentMembers and GetSegmentSummary: the stored value rows (see
//! `store::value`), with recency scored at the time of the answer.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use dealernet_kit::{error::FieldViolations, paging::PageSize};
use dealernet_proto::{customers::v1 as pb, types::v1::Money};
use uuid::Uuid;

use super::{
    Caller, Result,
    convert::{parse_name, resource_name, timestamp},
};
use crate::{
    Error, Service,
    domain::{
        State,
        profile::{check_issuer, clean_text},
        value::{CURRENCY, Tier, recency_score, service_share_percent},
        visibility::sees_everything,
    },
    store::{
        self,
        value::{MemberFilter, StoredValue},
    },
};

/// Longest merge chain followed; a longer one is corrupt data.
const MAX_MERGE_HOPS: usize = 16;
const MAX_PROVINCE: usize = 100;

fn cny(minor: i64) -> Option<Money> {
    Some(Money {
        currency_code: CURRENCY.into(),
        minor_units: minor,
    })
}

fn tier_to_proto(tier: &str) -> pb::CustomerTier {
    match Tier::parse(tier) {
        Some(Tier::Transactional) => pb::CustomerTier::Transactional,
        Some(Tier::Relationship) => pb::CustomerTier::Relationship,
        Some(Tier::KeyAccount) => pb::CustomerTier::KeyAccount,
        None => pb::CustomerTier::Unspecified,
    }
}

fn tier_from_proto(tier: i32) -> std::result::Result<Option<Tier>, String> {
    match pb::CustomerTier::try_from(tier) {
        Ok(pb::CustomerTier::Unspecified) => Ok(None),
        Ok(pb::CustomerTier::Transactional) => Ok(Some(Tier::Transactional)),
        Ok(pb::CustomerTier::Relationship) => Ok(Some(Tier::Relationship)),
        Ok(pb::CustomerTier::KeyAccount) => Ok(Some(Tier::KeyAccount)),
        Err(_) => Err(format!("{tier} is not a tier")),
    }
}

/// A stored value as the API answers it, recency scored at `now`.
fn to_proto(v: &StoredValue, now: DateTime<Utc>) -> pb::CustomerValue {
    pb::CustomerValue {
        customer: resource_name(v.customer_id),
        tier: tier_to_proto(&v.tier) as i32,
        province: v.province.clone(),
        purchases: v.purchases,
        sales_revenue: cny(v.sales_minor),
        service_visits: v.service_visits,
        service_revenue: cny(v.service_minor),
        contribution: cny(v.contribution_minor),
        cars: v.cars,
        cars_serviced: v.cars_serviced,
        service_share_percent: service_share_percent(v.cars.into(), v.cars_serviced.into()) as i32,
        tenure_days: v.tenure_days,
        first_activity_time: v.first_activity_at.map(timestamp),
        last_activity_time: v.last_activity_at.map(timestamp),
        surveys: v.surveys,
        recent_satisfaction: v.recent_satisfaction_centi.map(|c| f64::from(c) / 100.0),
        recent_nps: v.recent_nps,
        complaints: v.complaints,
        complaints_since_last_survey: v.complaints_since_survey,
        satisfaction_score: v.satisfaction_score.into(),
        loyalty_score: v.loyalty_score.into(),
        recency_score: recency_score(v.last_activity_at, now) as i32,
        frequency_score: v.frequency_score.into(),
        monetary_score: v.monetary_score.into(),
        compute_time: Some(timestamp(v.computed_at)),
    }
}

/// The value of an active customer no fact has reached yet.
fn no_facts(id: Uuid, province: &str) -> pb::CustomerValue {
    pb::CustomerValue {
        customer: resource_name(id),
        tier: pb::CustomerTier::Transactional as i32,
        province: province.to_owned(),
        sales_revenue: cny(0),
        service_revenue: cny(0),
        contribution: cny(0),
        frequency_score: 1,
        monetary_score: 1,
        loyalty_score: 1,
        ..Default::default()
    }
}

/// The filters as a stable byte string, bound into page tokens.
fn fingerprint(f: &MemberFilter) -> Vec<u8> {
    [
        f.tier.map(Tier::as_str).unwrap_or_default(),
        f.province.as_deref().unwrap_or_default(),
        f.preferred_outlet.as_deref().unwrap_or_default(),
        f.linked_to.as_deref().unwrap_or_default(),
    ]
    .join("\u{1f}")
    .into_bytes()
}

fn province_filter(province: &str, v: &mut FieldViolations) -> Option<String> {
    match clean_text(province, MAX_PROVINCE) {
        Ok(p) if p.is_empty() => None,
        Ok(p) => Some(p),
        Err(e) => {
            v.add("province", e);
            None
        }
    }
}

impl Service {
    pub(super) async fn get_customer_value(
        &self,
        caller: &Caller,
        req: pb::GetCustomerValueRequest,
    ) -> Result<pb::GetCustomerValueResponse> {
        let requested = parse_name(&req.name, "name")?;
        let mut warm = self.reads.acquire().await?;
        let conn = warm.conn();
        let mut id = requested;
        let mut hops = 0;
        let customer = loop {
            let customer = store::load(conn, id, false)
                .await?
                .ok_or_else(|| Error::NotFound(resource_name(id)))?;
            match (customer.state, customer.merged_into) {
                (State::Merged, Some(survivor)) if hops < MAX_MERGE_HOPS => {
                    id = survivor;
                    hops += 1;
                }
                _ => break customer,
            }
        };
        self.require_access(conn, &caller.principal, id).await?;
        let stored = store::value::load(conn, id).await?;
        warm.release();
        let value = match stored {
            Some(v) => to_proto(&v, Utc::now()),
            None => no_facts(id, &customer.profile.address.province),
        };
        Ok(pb::GetCustomerValueResponse {
            value: Some(value),
            merged_from: if id == requested {
                String::new()
            } else {
                resource_name(requested)
            },
        })
    }

    pub(super) async fn list_segment_members(
        &self,
        caller: &Caller,
        req: pb::ListSegmentMembersRequest,
    ) -> Result<pb::ListSegmentMembersResponse> {
        let mut v = FieldViolations::new();
        let size = PageSize::STANDARD
            .resolve(req.page_size)
            .map_err(|e| v.append(e))
            .unwrap_or(0);
        let tier = tier_from_proto(req.tier)
            .map_err(|e| v.add("tier", e))
            .unwrap_or(None);
        let province = province_filter(&req.province, &mut v);
        let outlet = req.preferred_outlet.trim();
        let preferred_outlet = if outlet.is_empty() {
            None
        } else if let Err(e) = check_issuer(outlet) {
            v.add("preferred_outlet", format!("an outlet code {e}"));
            None
        } else {
            Some(outlet.to_owned())
        };
        // An outlet lists the customers it has a relationship with, nobody else's.
        let linked_to = (!sees_everything(&caller.principal))
            .then(|| caller.principal.organization().to_owned());
        let filter = MemberFilter {
            tier,
            province,
            preferred_outlet,
            linked_to,
        };
        let fingerprint = fingerprint(&filter);
        let after = self
            .page_tokens
            .open::<Uuid>(&req.page_token, &fingerprint)
            .map_err(|e| v.append(e.violation()))
            .unwrap_or(None);
        v.into_result()?;
        let mut warm = self.reads.acquire().await?;
        let mut rows = store::value::list(warm.conn(), &filter, after, size + 1).await?;
        warm.release();
        let next_page_token = if rows.len() > size {
            rows.truncate(size);
            rows.last()
                .map(|last| self.page_tokens.seal(&last.customer_id, &fingerprint))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let now = Utc::now();
        Ok(pb::ListSegmentMembersResponse {
            values: rows.iter().map(|r| to_proto(r, now)).collect(),
            next_page_token,
        })
    }

    pub(super) async fn get_segment_summary(
        &self,
        caller: &Caller,
        req: pb::GetSegmentSummaryRequest,
    ) -> Result<pb::GetSegmentSummaryResponse> {
        if !sees_everything(&caller.principal) {
            return Err(Error::PermissionDenied {
                reason: "SEGMENT_SUMMARY_CENTRAL_ONLY",
                message: "segment summaries are for HQ, the hotline and platform systems".into(),
            });
        }
        let mut v = FieldViolations::new();
        let province = province_filter(&req.province, &mut v);
        v.into_result()?;
        let mut warm = self.reads.acquire().await?;
        let counts = store::value::summary(warm.conn()).await?;
        warm.release();
        let counts: Vec<(String, String, i64)> = counts
            .into_iter()
            .filter(|(_, p, _)| province.as_ref().is_none_or(|want| want == p))
            .collect();
        let total: i64 = counts.iter().map(|(_, _, n)| n).sum();
        let mut per_province: BTreeMap<&str, i64> = BTreeMap::new();
        for (_, p, n) in &counts {
            *per_province.entry(p.as_str()).or_default() += n;
        }
        let ratio = |n: i64, of: i64| if of == 0 { 0.0 } else { n as f64 / of as f64 };
        let segments = counts
            .iter()
            .map(|(tier, p, n)| pb::SegmentCount {
                tier: tier_to_proto(tier) as i32,
                province: p.clone(),
                customers: *n,
                share: ratio(*n, total),
                province_share: ratio(*n, per_province.get(p.as_str()).copied().unwrap_or(0)),
            })
            .collect();
        Ok(pb::GetSegmentSummaryResponse {
            segments,
            total_customers: total,
        })
    }
}
