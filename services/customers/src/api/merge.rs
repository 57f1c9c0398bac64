//! MergeCustomers and UnmergeCustomer.

use std::collections::HashSet;

use dealernet_kit::{error::FieldViolations, idempotency::IdempotencyKey};
use dealernet_proto::customers::v1 as pb;
use uuid::Uuid;

use super::{
    Caller, Result,
    access::require_hq,
    convert::{parse_name, resource_name, source_channel_from_proto, timestamp, to_proto},
    remember, replay,
};
use crate::{
    Error, Service,
    domain::{
        Customer, State,
        survivorship::{DEFAULT_PRIORITY, Field, Rule, merged_profile},
    },
    store::{
        self,
        merge::{
            MergeRecord, close, consents_changed_since, open, release_external_ids, restore,
            snapshot, unite_consents, unite_relations,
        },
    },
};

/// Most duplicates merged in one call.
const MAX_DUPLICATES: usize = 20;

fn merge_name(id: Uuid) -> String {
    format!("merges/{id}")
}

fn merge_to_proto(r: &MergeRecord) -> pb::Merge {
    pb::Merge {
        name: merge_name(r.id),
        survivor: resource_name(r.survivor_id),
        duplicates: r
            .duplicate_ids
            .iter()
            .map(|id| resource_name(*id))
            .collect(),
        merge_time: Some(timestamp(r.merged_at)),
        merged_by: r.merged_by.clone(),
        unmerge_time: r.unmerged_at.map(timestamp),
    }
}

/// A validated merge request.
struct Plan {
    survivor: Uuid,
    duplicates: Vec<Uuid>,
    rule: Rule,
    overrides: Vec<(Field, Uuid)>,
}

/// Parses the request, reporting every problem.
fn parse(req: &pb::MergeCustomersRequest) -> Result<Plan> {
    let mut v = FieldViolations::new();
    let survivor = parse_name(&req.survivor, "survivor")
        .map_err(|e| v.append(e))
        .ok();
    if req.duplicates.is_empty() {
        v.add(
            "duplicates",
            "at least one customer to merge into the survivor",
        );
    } else if req.duplicates.len() > MAX_DUPLICATES {
        v.add(
            "duplicates",
            format!("at most {MAX_DUPLICATES} customers per merge"),
        );
    }
    let mut duplicates = Vec::new();
    for (i, name) in req.duplicates.iter().enumerate() {
        let field = format!("duplicates[{i}]");
        match parse_name(name, &field) {
            Err(e) => v.append(e),
            Ok(id) if Some(id) == survivor => v.add(
                field,
                "is the survivor: a customer cannot be merged into itself",
            ),
            Ok(id) if duplicates.contains(&id) => v.add(field, "is listed twice"),
            Ok(id) => duplicates.push(id),
        }
    }
    let mut order = Vec::new();
    for (i, channel) in req.source_priority.iter().enumerate() {
        match source_channel_from_proto(*channel) {
            Some(c) if !order.contains(&c) => order.push(c),
            Some(_) => v.add(format!("source_priority[{i}]"), "is listed twice"),
            None => v.add(
                format!("source_priority[{i}]"),
                "must be one of the SOURCE_CHANNEL_* values",
            ),
        }
    }
    let rule = match pb::SurvivorshipRule::try_from(req.rule) {
        Ok(pb::SurvivorshipRule::Unspecified | pb::SurvivorshipRule::SourcePriority) => {
            Rule::SourcePriority(if order.is_empty() {
                DEFAULT_PRIORITY.to_vec()
            } else {
                order
            })
        }
        Ok(pb::SurvivorshipRule::MostRecent) => Rule::MostRecent,
        Ok(pb::SurvivorshipRule::MostFrequent) => Rule::MostFrequent,
        Err(_) => {
            v.add("rule", "must be one of the SURVIVORSHIP_RULE_* values");
            Rule::MostRecent
        }
    };
    let involved: Vec<Uuid> = survivor
        .into_iter()
        .chain(duplicates.iter().copied())
        .collect();
    let mut overrides: Vec<(Field, Uuid)> = Vec::new();
    for (i, o) in req.overrides.iter().enumerate() {
        let field = Field::parse(&o.field);
        match field {
            None => v.add(
                format!("overrides[{i}].field"),
                format!("'{}' cannot be overridden", o.field),
            ),
            Some(f) if overrides.iter().any(|(g, _)| *g == f) => {
                v.add(format!("overrides[{i}].field"), "is overridden twice")
            }
            Some(_) => {}
        }
        let source = parse_name(&o.source, &format!("overrides[{i}].source"))
            .map_err(|e| v.append(e))
            .ok();
        if let Some(source) = source
            && !involved.contains(&source)
        {
            v.add(
                format!("overrides[{i}].source"),
                "must be the survivor or one of the duplicates",
            );
        }
        if let (Some(f), Some(s)) = (field, source) {
            overrides.push((f, s));
        }
    }
    let Some(survivor) = survivor else {
        return Err(Error::InvalidArgument(v));
    };
    v.into_result()?;
    Ok(Plan {
        survivor,
        duplicates,
        rule,
        overrides,
    })
}

impl Service {
    pub(super) async fn merge(
        &self,
        caller: &Caller,
        req: pb::MergeCustomersRequest,
    ) -> Result<pb::MergeCustomersResponse> {
        let principal = &caller.principal;
        require_hq(principal, "merging customers")?;
        let key = IdempotencyKey::new(principal, "MergeCustomers", &req.request_id, &req)?;
        let Plan {
            survivor: survivor_id,
            duplicates: duplicate_ids,
            rule,
            overrides,
        } = parse(&req)?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay::<pb::MergeCustomersResponse>(&mut tx, key.as_ref()).await? {
            self.audit_answer(caller, "MergeCustomers", done.survivor.as_ref())
                .await?;
            return Ok(done);
        }
        // Lock in id order so that two overlapping merges cannot deadlock.
        let mut ids: Vec<Uuid> = std::iter::once(survivor_id)
            .chain(duplicate_ids.iter().copied())
            .collect();
        ids.sort();
        let mut loaded = Vec::new();
        for id in ids {
            let c = super::active_customer(&mut tx, id, true).await?;
            loaded.push(c);
        }
        let take = |id: Uuid| loaded.iter().find(|c| c.id == id).cloned();
        let survivor =
            take(survivor_id).ok_or_else(|| Error::NotFound(resource_name(survivor_id)))?;
        let duplicates: Vec<Customer> = duplicate_ids.iter().filter_map(|id| take(*id)).collect();
        if duplicates
            .iter()
            .any(|d| d.profile.kind != survivor.profile.kind)
        {
            return Err(Error::Precondition {
                reason: "KIND_MISMATCH",
                message: "a person and an organisation cannot be merged".into(),
            });
        }
        let profile = merged_profile(&survivor, &duplicates, &rule, &overrides);
        let mut record = MergeRecord {
            id: Uuid::now_v7(),
            survivor_id,
            duplicate_ids,
            merged_at: store::now(),
            merged_by: principal.organization().to_owned(),
            survivor_version: survivor.version,
            unmerged_at: None,
        };
        let (merge_id, duplicate_ids) = (record.id, record.duplicate_ids.clone());
        open(&mut tx, &record, principal.subject()).await?;
        snapshot(&mut tx, merge_id, survivor_id, &duplicate_ids).await?;
        release_external_ids(&mut tx, merge_id, &duplicate_ids).await?;
        let updated = store::update(
            &mut tx,
            &Customer {
                profile,
                ..survivor
            },
        )
        .await?;
        unite_consents(
            &mut tx,
            &record,
            principal.organization(),
            principal.subject(),
        )
        .await?;
        unite_relations(&mut tx, merge_id, survivor_id, &duplicate_ids).await?;
        crate::events::customer_merged(
            &mut tx,
            principal,
            merge_id,
            survivor_id,
            &duplicate_ids,
            store::now(),
        )
        .await?;
        record.survivor_version = updated.version;
        close(&mut tx, &record).await?;
        // The survivor's value now counts the duplicates' facts; theirs are gone.
        let valued: Vec<Uuid> = std::iter::once(survivor_id)
            .chain(duplicate_ids.iter().copied())
            .collect();
        store::value::recompute(&mut tx, &valued, &self.value_rules).await?;
        let response = pb::MergeCustomersResponse {
            survivor: Some(to_proto(&updated)),
            merge: Some(merge_to_proto(&record)),
        };
        remember(
            &mut tx,
            key.as_ref(),
            &response,
            &resource_name(survivor_id),
        )
        .await?;
        tx.commit().await?;
        dealernet_kit::events::published();
        tracing::info!(survivor = %survivor_id, merged = record.duplicate_ids.len(), "customers merged");
        self.audit_answer(caller, "MergeCustomers", response.survivor.as_ref())
            .await?;
        Ok(response)
    }

    pub(super) async fn unmerge(
        &self,
        caller: &Caller,
        req: pb::UnmergeCustomerRequest,
    ) -> Result<pb::UnmergeCustomerResponse> {
        let principal = &caller.principal;
        require_hq(principal, "merging customers")?;
        let key = IdempotencyKey::new(principal, "UnmergeCustomer", &req.request_id, &req)?;
        let id = req
            .merge
            .strip_prefix("merges/")
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| {
                FieldViolations::one(
                    "merge",
                    format!("'{}' is not a merge name (merges/{{uuid}})", req.merge),
                )
            })?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay::<pb::UnmergeCustomerResponse>(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let mut record = store::merge::load(&mut tx, id)
            .await?
            .ok_or_else(|| Error::MergeNotFound(req.merge.clone()))?;
        if record.unmerged_at.is_none() {
            let survivor = store::load(&mut tx, record.survivor_id, true)
                .await?
                .ok_or_else(|| Error::NotFound(resource_name(record.survivor_id)))?;
            let refuse = |reason: &'static str, message: &str| Error::Precondition {
                reason,
                message: message.to_owned(),
            };
            match survivor.state {
                State::Merged => {
                    return Err(refuse(
                        "SURVIVOR_MERGED",
                        "the survivor was merged into another customer since",
                    ));
                }
                State::Erased => {
                    return Err(refuse("SURVIVOR_ERASED", "the survivor was erased since"));
                }
                State::Active => {}
            }
            if survivor.version != record.survivor_version
                || consents_changed_since(&mut tx, &record).await?
            {
                return Err(refuse(
                    "SURVIVOR_CHANGED",
                    "the survivor changed since the merge; undoing it would lose those changes",
                ));
            }
            for dup in &record.duplicate_ids {
                let c = store::load(&mut tx, *dup, true)
                    .await?
                    .ok_or_else(|| Error::NotFound(resource_name(*dup)))?;
                if c.state != State::Merged || c.merged_into != Some(record.survivor_id) {
                    return Err(refuse(
                        "DUPLICATE_CHANGED",
                        "a merged-away customer changed since the merge",
                    ));
                }
            }
            restore(&mut tx, &record, principal.organization()).await?;
            // Each customer's facts are its own again (all of them are locked above).
            let valued: Vec<Uuid> = std::iter::once(record.survivor_id)
                .chain(record.duplicate_ids.iter().copied())
                .collect();
            store::value::recompute(&mut tx, &valued, &self.value_rules).await?;
            crate::events::customer_unmerged(
                &mut tx,
                principal,
                record.id,
                record.survivor_id,
                &record.duplicate_ids,
                store::now(),
            )
            .await?;
            record = store::merge::load(&mut tx, id)
                .await?
                .ok_or_else(|| Error::MergeNotFound(req.merge.clone()))?;
        }
        let mut customers = Vec::new();
        for cid in std::iter::once(record.survivor_id).chain(record.duplicate_ids.iter().copied()) {
            customers.push(
                store::load(&mut tx, cid, false)
                    .await?
                    .ok_or_else(|| Error::NotFound(resource_name(cid)))?,
            );
        }
        let response = pb::UnmergeCustomerResponse {
            customers: customers.iter().map(to_proto).collect(),
            merge: Some(merge_to_proto(&record)),
        };
        remember(
            &mut tx,
            key.as_ref(),
            &response,
            &resource_name(record.survivor_id),
        )
        .await?;
        tx.commit().await?;
        dealernet_kit::events::published();
        let linked: HashSet<Uuid> = HashSet::new();
        let rendered = super::access::render_with(principal, &customers, &linked);
        self.audit_rendered(caller, "UnmergeCustomer", &rendered)
            .await?;
        Ok(response)
    }
}
