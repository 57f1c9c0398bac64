//! FindDuplicates.

use std::collections::{BTreeMap, HashMap, HashSet};

use dealernet_kit::error::FieldViolations;
use dealernet_proto::customers::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use uuid::Uuid;

use super::{
    Caller, Result,
    access::{render_with, require_hq},
    convert::{parse_name, profile_from_proto, resource_name},
};
use crate::{
    Error, Service,
    domain::{
        Customer,
        matching::{self, Rule},
        profile::clean_text,
        visibility::sees_everything,
    },
    store::{self, MatchKeys, duplicates::NameBlocks},
};

const DEFAULT_RESULTS: usize = 10;
const MAX_RESULTS: usize = 100;
/// The score from which two records are reported as possibly one party.
pub const DEFAULT_MIN_SCORE: f64 = 0.6;

fn rule_to_proto(rule: Rule) -> pb::MatchRule {
    match rule {
        Rule::SameNationalId => pb::MatchRule::SameNationalId,
        Rule::SameExternalId => pb::MatchRule::SameExternalId,
        Rule::SamePhone => pb::MatchRule::SamePhone,
        Rule::SameEmail => pb::MatchRule::SameEmail,
        Rule::SameName => pb::MatchRule::SameName,
        Rule::SwappedName => pb::MatchRule::SwappedName,
        Rule::SimilarName => pb::MatchRule::SimilarName,
        Rule::DifferentName => pb::MatchRule::DifferentName,
        Rule::SameBirthday => pb::MatchRule::SameBirthday,
        Rule::DifferentBirthday => pb::MatchRule::DifferentBirthday,
        Rule::SameCity => pb::MatchRule::SameCity,
        Rule::SameStreet => pb::MatchRule::SameStreet,
    }
}

impl Service {
    pub(super) async fn find_duplicates(
        &self,
        caller: &Caller,
        req: pb::FindDuplicatesRequest,
    ) -> Result<pb::FindDuplicatesResponse> {
        let mut v = FieldViolations::new();
        let max_results = match req.max_results {
            n if n < 0 => {
                v.add("max_results", "must not be negative");
                0
            }
            0 => DEFAULT_RESULTS,
            n => (n as usize).min(MAX_RESULTS),
        };
        let min_score = if req.min_score == 0.0 {
            DEFAULT_MIN_SCORE
        } else {
            req.min_score
        };
        if !(min_score > 0.0 && min_score <= 1.0) {
            v.add("min_score", "must be greater than 0 and at most 1");
        }
        let target = match &req.target {
            None => {
                v.add(
                    "target",
                    "required: the name of a customer or a candidate record",
                );
                None
            }
            Some(pb::find_duplicates_request::Target::Name(name)) => parse_name(name, "name")
                .map_err(|e| v.append(e))
                .ok()
                .map(Ok),
            Some(pb::find_duplicates_request::Target::Candidate(c)) => {
                match profile_from_proto(c, &self.hasher) {
                    Ok(profile) => Some(Err(profile)),
                    Err(e) => {
                        v.extend_prefixed("candidate", e);
                        None
                    }
                }
            }
        };
        v.into_result()?;
        let Some(target) = target else {
            return Err(Error::InvalidArgument(FieldViolations::one(
                "target", "required",
            )));
        };

        let mut conn = self.pool.acquire().await?;
        let (exclude, profile) = match target {
            Ok(id) => {
                let customer = super::active_customer(&mut conn, id, false).await?;
                self.require_access(&mut conn, &caller.principal, id)
                    .await?;
                (Some(id), customer.profile)
            }
            Err(profile) => (None, profile),
        };
        let phonetic = matching::phonetic_key(&profile);
        let blocks = NameBlocks {
            phonetic: &phonetic,
            birthday: profile.birthday,
            city: &profile.address.city,
        };
        let ids: Vec<Uuid> =
            store::duplicates::candidates(&mut conn, &MatchKeys::of(&profile), blocks)
                .await?
                .into_iter()
                .filter(|id| Some(*id) != exclude)
                .collect();
        let mut scored: Vec<_> = store::duplicates::load_active(&mut conn, &ids)
            .await?
            .into_iter()
            .map(|c| {
                let (score, reasons) = matching::score(&profile, &c.profile);
                (score, reasons, c)
            })
            .filter(|(score, _, _)| *score >= min_score)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.id.cmp(&b.2.id)));
        scored.truncate(max_results);

        let customers: Vec<_> = scored.iter().map(|(_, _, c)| c.clone()).collect();
        let linked: HashSet<Uuid> = if sees_everything(&caller.principal) || customers.is_empty() {
            HashSet::new()
        } else {
            let ids: Vec<Uuid> = customers.iter().map(|c| c.id).collect();
            store::linked_among(&mut conn, &ids, caller.principal.organization())
                .await?
                .into_iter()
                .collect()
        };
        drop(conn);
        let rendered = render_with(&caller.principal, &customers, &linked);
        self.audit_rendered(caller, "FindDuplicates", &rendered)
            .await?;
        Ok(pb::FindDuplicatesResponse {
            candidates: scored
                .into_iter()
                .zip(rendered)
                .map(|((score, reasons, _), r)| pb::DuplicateCandidate {
                    customer: Some(r.customer),
                    score,
                    reasons: reasons
                        .into_iter()
                        .map(|reason| pb::MatchReason {
                            rule: rule_to_proto(reason.rule) as i32,
                            weight: reason.weight,
                        })
                        .collect(),
                })
                .collect(),
        })
    }
}

/// Blocks larger than this are not scored pair by pair (see `store::duplicates::blocks`).
const MAX_SCAN_BLOCK: i64 = 50;
/// Blocks whose customers are loaded and scored together.
const SCAN_BATCH: usize = 256;
/// ScanDuplicates' default `min_score`: pairs that are duplicates, not just possible ones.
const DEFAULT_SCAN_SCORE: f64 = 0.8;

/// Joins pairs into groups (union-find over customer ids).
fn groups(pairs: &HashMap<(Uuid, Uuid), f64>) -> Vec<pb::DuplicateGroup> {
    fn root(parent: &mut HashMap<Uuid, Uuid>, id: Uuid) -> Uuid {
        let mut r = id;
        while let Some(&p) = parent.get(&r).filter(|p| **p != r) {
            r = p;
        }
        parent.insert(id, r);
        r
    }
    let mut parent: HashMap<Uuid, Uuid> = HashMap::new();
    for &(a, b) in pairs.keys() {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent.insert(ra.max(rb), ra.min(rb));
        }
    }
    let mut members: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    let ids: Vec<Uuid> = parent.keys().copied().collect();
    for id in ids {
        let r = root(&mut parent, id);
        members.entry(r).or_default().push(id);
    }
    members
        .into_values()
        .map(|mut customers| {
            customers.sort();
            let mut joined: Vec<(&(Uuid, Uuid), &f64)> = pairs
                .iter()
                .filter(|((a, _), _)| customers.binary_search(a).is_ok())
                .collect();
            joined.sort_by_key(|(k, _)| **k);
            pb::DuplicateGroup {
                customers: customers.iter().map(|id| resource_name(*id)).collect(),
                pairs: joined
                    .into_iter()
                    .map(|((a, b), score)| pb::DuplicatePair {
                        first: resource_name(*a),
                        second: resource_name(*b),
                        score: *score,
                    })
                    .collect(),
            }
        })
        .collect()
}

impl Service {
    /// Starts the scan and returns its stream at once; validation errors come first.
    pub(super) fn scan_duplicates(
        &self,
        caller: &Caller,
        req: pb::ScanDuplicatesRequest,
    ) -> Result<ReceiverStream<std::result::Result<pb::ScanDuplicatesResponse, Status>>> {
        require_hq(&caller.principal, "scanning the registry for duplicates")?;
        let mut v = FieldViolations::new();
        let min_score = if req.min_score == 0.0 {
            DEFAULT_SCAN_SCORE
        } else {
            req.min_score
        };
        if !(min_score > 0.0 && min_score <= 1.0) {
            v.add("min_score", "must be greater than 0 and at most 1");
        }
        let province = clean_text(&req.province, 100)
            .map_err(|e| v.add("province", e))
            .unwrap_or_default();
        v.into_result()?;
        let (tx, rx) = mpsc::channel(64);
        let service = self.clone();
        tokio::spawn(async move {
            let province = (!province.is_empty()).then_some(province);
            match service.scan(province.as_deref(), min_score).await {
                Ok(groups) => {
                    for group in groups {
                        if tx
                            .send(Ok(pb::ScanDuplicatesResponse { group: Some(group) }))
                            .await
                            .is_err()
                        {
                            return; // the client went away
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                }
            }
        });
        Ok(ReceiverStream::new(rx))
    }

    async fn scan(
        &self,
        province: Option<&str>,
        min_score: f64,
    ) -> Result<Vec<pb::DuplicateGroup>> {
        let mut conn = self.pool.acquire().await?;
        let blocks = store::duplicates::blocks(&mut conn, province, MAX_SCAN_BLOCK).await?;
        let mut pairs: HashMap<(Uuid, Uuid), f64> = HashMap::new();
        for batch in blocks.chunks(SCAN_BATCH) {
            let mut ids: Vec<Uuid> = batch.iter().flatten().copied().collect();
            ids.sort();
            ids.dedup();
            let customers: HashMap<Uuid, Customer> =
                store::duplicates::load_active(&mut conn, &ids)
                    .await?
                    .into_iter()
                    .map(|c| (c.id, c))
                    .collect();
            for block in batch {
                for (i, a) in block.iter().enumerate() {
                    for b in &block[i + 1..] {
                        let key = ((*a).min(*b), (*a).max(*b));
                        if pairs.contains_key(&key) {
                            continue;
                        }
                        if let (Some(x), Some(y)) = (customers.get(a), customers.get(b)) {
                            let (score, _) = matching::score(&x.profile, &y.profile);
                            if score >= min_score {
                                pairs.insert(key, score);
                            }
                        }
                    }
                }
            }
        }
        Ok(groups(&pairs))
    }
}
