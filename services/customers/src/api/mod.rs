//! The gRPC face of the registry: `CustomerService` handlers. Each handler parses and
//! validates, opens the transaction, and commits the change with its idempotency record.

mod access;
mod consent;
pub mod convert;
mod duplicates;
mod erasure;
mod events;
mod grpc;
mod merge;
mod record_access;
mod relationship;
mod value;

pub use access::to_masked_proto;
pub use grpc::Caller;

use std::collections::HashSet;

use dealernet_kit::{
    error::FieldViolations,
    idempotency::{self, Begin, IdempotencyKey},
    paging::PageSize,
};
use dealernet_proto::customers::v1 as pb;
use prost::Message;
use sqlx::PgConnection;

use crate::{
    Error, Service,
    domain::{
        Customer, State,
        contact::{normalize_email, normalize_phone},
        profile::{MAX_PERSON_NAME_PART, clean_text, name_key},
        visibility::sees_everything,
    },
    store::{self, ListFilter, MatchKeys, Matched},
};
use convert::{
    apply_mask, check_mask, etag, parse_name, profile_from_proto, resource_name, to_proto,
};

type Result<T> = std::result::Result<T, Error>;

/// Returns the saved response when `key` was already used for this exact request.
async fn replay<R: Message + Default>(
    tx: &mut PgConnection,
    key: Option<&IdempotencyKey>,
) -> Result<Option<R>> {
    match key {
        Some(key) => match idempotency::begin(tx, key).await? {
            Begin::Replay(r) => Ok(Some(r)),
            Begin::Fresh => Ok(None),
        },
        None => Ok(None),
    }
}

/// Saves the response of a fresh mutation next to its change; `resource` is the customer
/// it is about (an erasure deletes saved responses about the erased customer).
async fn remember<R: Message>(
    tx: &mut PgConnection,
    key: Option<&IdempotencyKey>,
    response: &R,
    resource: &str,
) -> Result<()> {
    if let Some(key) = key {
        idempotency::finish(tx, key, response, Some(resource)).await?;
    }
    Ok(())
}

fn required_customer(customer: Option<&pb::Customer>) -> Result<&pb::Customer> {
    customer.ok_or_else(|| FieldViolations::one("customer", "required").into())
}

/// Loads a customer that must exist and be active (not merged away, not erased);
/// `lock` holds its row until the transaction ends.
async fn active_customer(conn: &mut PgConnection, id: uuid::Uuid, lock: bool) -> Result<Customer> {
    let customer = store::load(conn, id, lock)
        .await?
        .ok_or_else(|| Error::NotFound(resource_name(id)))?;
    if customer.state != State::Active {
        return Err(Error::NotActive {
            name: resource_name(id),
            state: customer.state,
        });
    }
    Ok(customer)
}

/// A validated request for one page of a customer's child resources (consents,
/// relationships): the parent exists and the caller may see it.
struct ChildPage<C> {
    parent: uuid::Uuid,
    size: usize,
    after: Option<C>,
}

impl Service {
    /// Checks `parent`, `page_size` and `page_token` (sealed to the parent) of a child list.
    async fn child_page<C: serde::de::DeserializeOwned>(
        &self,
        conn: &mut PgConnection,
        caller: &Caller,
        parent: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<ChildPage<C>> {
        let mut v = FieldViolations::new();
        let id = parse_name(parent, "parent").map_err(|e| v.append(e)).ok();
        let size = PageSize::STANDARD
            .resolve(page_size)
            .map_err(|e| v.append(e))
            .unwrap_or(0);
        let after = self
            .page_tokens
            .open::<C>(page_token, parent.as_bytes())
            .map_err(|e| v.append(e.violation()))
            .unwrap_or(None);
        v.into_result()?;
        let parent = id.unwrap_or_default();
        if store::load(conn, parent, false).await?.is_none() {
            return Err(Error::NotFound(resource_name(parent)));
        }
        self.require_access(conn, &caller.principal, parent).await?;
        Ok(ChildPage {
            parent,
            size,
            after,
        })
    }

    /// Cuts `items` (fetched with one extra) to the page and seals the next token.
    fn finish_page<T, C: serde::Serialize>(
        &self,
        items: &mut Vec<T>,
        size: usize,
        parent: &str,
        cursor: impl Fn(&T) -> C,
    ) -> String {
        if items.len() <= size {
            return String::new();
        }
        items.truncate(size);
        items
            .last()
            .map(|last| self.page_tokens.seal(&cursor(last), parent.as_bytes()))
            .unwrap_or_default()
    }
}

fn prefixed(v: FieldViolations) -> Error {
    let mut all = FieldViolations::new();
    all.extend_prefixed("customer", v);
    Error::InvalidArgument(all)
}

impl Service {
    async fn create(
        &self,
        caller: &Caller,
        req: pb::CreateCustomerRequest,
    ) -> Result<pb::CreateCustomerResponse> {
        let principal = &caller.principal;
        let key = IdempotencyKey::new(principal, "CreateCustomer", &req.request_id, &req)?;
        let profile = profile_from_proto(required_customer(req.customer.as_ref())?, &self.hasher)
            .map_err(prefixed)?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay::<pb::CreateCustomerResponse>(&mut tx, key.as_ref()).await? {
            self.audit_answer(caller, "CreateCustomer", done.customer.as_ref())
                .await?;
            return Ok(done);
        }
        let customer = Customer::new(profile, principal.organization());
        store::insert(&mut tx, &customer).await?;
        store::link(&mut tx, customer.id, principal.organization(), "CREATED").await?;
        let response = pb::CreateCustomerResponse {
            customer: Some(to_proto(&customer)),
        };
        remember(
            &mut tx,
            key.as_ref(),
            &response,
            &resource_name(customer.id),
        )
        .await?;
        tx.commit().await?;
        self.audit_answer(caller, "CreateCustomer", response.customer.as_ref())
            .await?;
        Ok(response)
    }

    async fn get(
        &self,
        caller: &Caller,
        req: pb::GetCustomerRequest,
    ) -> Result<pb::GetCustomerResponse> {
        let requested = parse_name(&req.name, "name")?;
        caller.require_purpose_for_reads()?;
        let mut warm = self.reads.acquire().await?;
        let conn = warm.conn();
        let mut id = requested;
        let mut merged_from = String::new();
        let mut hops = 0;
        let (customer, linked) = loop {
            // One round trip for everybody: central callers need no link check, and for
            // the others it rides along with the read.
            let (customer, linked) = if sees_everything(&caller.principal) {
                (store::load(conn, id, false).await?, false)
            } else {
                match store::load_linked(conn, id, caller.principal.organization()).await? {
                    Some((c, linked)) => (Some(c), linked),
                    None => (None, false),
                }
            };
            let customer = customer.ok_or_else(|| Error::NotFound(resource_name(id)))?;
            // A merged id keeps resolving: answer with the survivor and say so.
            match (customer.state, customer.merged_into) {
                // A chain longer than this would be corrupt data, not a merge history.
                (State::Merged, Some(survivor)) if hops < 16 => {
                    merged_from = resource_name(requested);
                    id = survivor;
                    hops += 1;
                }
                _ => break (customer, linked),
            }
        };
        warm.release();
        let linked: HashSet<uuid::Uuid> = linked.then_some(customer.id).into_iter().collect();
        let rendered = access::render_with(&caller.principal, &[customer], &linked);
        self.audit_rendered(caller, "GetCustomer", &rendered)
            .await?;
        Ok(pb::GetCustomerResponse {
            customer: rendered.into_iter().next().map(|r| r.customer),
            merged_from,
        })
    }

    async fn update(
        &self,
        caller: &Caller,
        req: pb::UpdateCustomerRequest,
    ) -> Result<pb::UpdateCustomerResponse> {
        let principal = &caller.principal;
        let key = IdempotencyKey::new(principal, "UpdateCustomer", &req.request_id, &req)?;
        let input = required_customer(req.customer.as_ref())?;
        let id = parse_name(&input.name, "customer.name")?;
        let paths = req
            .update_mask
            .as_ref()
            .map(|m| m.paths.clone())
            .unwrap_or_default();
        check_mask(&paths)?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay::<pb::UpdateCustomerResponse>(&mut tx, key.as_ref()).await? {
            self.audit_answer(caller, "UpdateCustomer", done.customer.as_ref())
                .await?;
            return Ok(done);
        }
        let current = active_customer(&mut tx, id, true).await?;
        self.require_access(&mut tx, principal, id).await?;
        if !input.etag.is_empty() && input.etag != etag(current.version) {
            return Err(Error::EtagMismatch {
                current: etag(current.version),
            });
        }
        let profile = apply_mask(&current, input, &paths, &self.hasher).map_err(prefixed)?;
        let moved = profile.address.province != current.profile.address.province;
        let updated = store::update(&mut tx, &Customer { profile, ..current }).await?;
        if moved {
            // Segments are counted per province.
            store::value::recompute(&mut tx, &[id], &self.value_rules).await?;
        }
        let response = pb::UpdateCustomerResponse {
            customer: Some(to_proto(&updated)),
        };
        remember(&mut tx, key.as_ref(), &response, &resource_name(id)).await?;
        tx.commit().await?;
        self.audit_answer(caller, "UpdateCustomer", response.customer.as_ref())
            .await?;
        Ok(response)
    }

    async fn list(
        &self,
        caller: &Caller,
        req: pb::ListCustomersRequest,
    ) -> Result<pb::ListCustomersResponse> {
        let mut v = FieldViolations::new();
        let page_size = PageSize::STANDARD
            .resolve(req.page_size)
            .unwrap_or_else(|e| {
                v.add("page_size", e.iter().map(|(_, d)| d).collect::<String>());
                0
            });
        let mut filter = list_filter(&req, &mut v);
        // Without an exact identifier, a dealer or station lists only its own customers;
        // with one, others come back masked so that it can avoid creating a duplicate.
        let exact =
            filter.phone.is_some() || filter.email.is_some() || filter.external_id.is_some();
        if !exact && !sees_everything(&caller.principal) {
            filter.linked_to = Some(caller.principal.organization().to_owned());
        }
        let fingerprint = filter_fingerprint(&filter);
        let after = self
            .page_tokens
            .open::<uuid::Uuid>(&req.page_token, &fingerprint)
            .unwrap_or_else(|e| {
                v.add("page_token", e.to_string());
                None
            });
        v.into_result()?;
        caller.require_purpose_for_reads()?;
        // Central callers see everything; for the others the link check rides along.
        let link_org =
            (!sees_everything(&caller.principal)).then(|| caller.principal.organization());
        let mut warm = self.reads.acquire().await?;
        let mut listed = store::list(warm.conn(), &filter, after, page_size + 1, link_org).await?;
        warm.release();
        let next_page_token = if listed.len() > page_size {
            listed.truncate(page_size);
            listed
                .last()
                .map(|(c, _)| self.page_tokens.seal(&c.id, &fingerprint))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let linked: HashSet<uuid::Uuid> = listed
            .iter()
            .filter(|(_, linked)| *linked)
            .map(|(c, _)| c.id)
            .collect();
        let customers: Vec<Customer> = listed.into_iter().map(|(c, _)| c).collect();
        let rendered = access::render_with(&caller.principal, &customers, &linked);
        self.audit_rendered(caller, "ListCustomers", &rendered)
            .await?;
        Ok(pb::ListCustomersResponse {
            customers: rendered.into_iter().map(|r| r.customer).collect(),
            next_page_token,
        })
    }

    async fn resolve(
        &self,
        caller: &Caller,
        req: pb::ResolveCustomerRequest,
    ) -> Result<pb::ResolveCustomerResponse> {
        let principal = &caller.principal;
        let key = IdempotencyKey::new(principal, "ResolveCustomer", &req.request_id, &req)?;
        let profile = profile_from_proto(required_customer(req.customer.as_ref())?, &self.hasher)
            .map_err(prefixed)?;
        let keys = MatchKeys::of(&profile);
        if keys.is_empty() {
            return Err(FieldViolations::one(
                "customer",
                "give at least one phone, e-mail, national id or external id to match on",
            )
            .into());
        }
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay::<pb::ResolveCustomerResponse>(&mut tx, key.as_ref()).await? {
            self.audit_answer(caller, "ResolveCustomer", done.customer.as_ref())
                .await?;
            return Ok(done);
        }
        // Optimistic look first: most resolves find an existing customer and need no lock.
        let mut found = store::find_match(&mut tx, &keys).await?;
        if found.is_none() {
            // Lock the identifiers, then look again: a concurrent resolve of the same new
            // identifier either committed before we got the locks (we now see it) or waits
            // for us (and will see ours).
            store::claim(&mut tx, &keys.claim_keys()).await?;
            found = store::find_match(&mut tx, &keys).await?;
        }
        let response = match found {
            Some((id, matched, value)) => {
                let customer = store::load(&mut tx, id, false)
                    .await?
                    .ok_or_else(|| Error::NotFound(resource_name(id)))?;
                store::link(&mut tx, id, principal.organization(), "RESOLVED").await?;
                pb::ResolveCustomerResponse {
                    customer: Some(to_proto(&customer)),
                    created: false,
                    matched_key: match matched {
                        Matched::ExternalId => pb::MatchKey::ExternalId,
                        Matched::NationalId => pb::MatchKey::NationalId,
                        Matched::Phone => pb::MatchKey::Phone,
                        Matched::Email => pb::MatchKey::Email,
                    } as i32,
                    matched_value: value,
                }
            }
            None => {
                let customer = Customer::new(profile, principal.organization());
                store::insert(&mut tx, &customer).await?;
                store::link(&mut tx, customer.id, principal.organization(), "CREATED").await?;
                pb::ResolveCustomerResponse {
                    customer: Some(to_proto(&customer)),
                    created: true,
                    matched_key: pb::MatchKey::Unspecified as i32,
                    matched_value: String::new(),
                }
            }
        };
        let resource = response
            .customer
            .as_ref()
            .map(|c| c.name.clone())
            .unwrap_or_default();
        remember(&mut tx, key.as_ref(), &response, &resource).await?;
        tx.commit().await?;
        self.audit_answer(caller, "ResolveCustomer", response.customer.as_ref())
            .await?;
        Ok(response)
    }
}

/// Normalises list filters the way stored values are normalised.
fn list_filter(req: &pb::ListCustomersRequest, v: &mut FieldViolations) -> ListFilter {
    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let mut check =
        |field: &str, r: std::result::Result<String, String>| r.map_err(|e| v.add(field, e)).ok();
    let phone = non_empty(&req.phone)
        .and_then(|p| check("phone", normalize_phone(&p, None).map(|p| p.e164)));
    let email = non_empty(&req.email).and_then(|e| check("email", normalize_email(&e)));
    let name_prefix = non_empty(&req.name_prefix).and_then(|n| {
        check(
            "name_prefix",
            clean_text(&n, MAX_PERSON_NAME_PART * 2).map(|n| name_key(&n)),
        )
    });
    let province = non_empty(&req.province).and_then(|p| check("province", clean_text(&p, 100)));
    let city = non_empty(&req.city).and_then(|c| check("city", clean_text(&c, 100)));
    let external_id = match &req.external_id {
        Some(x) if !x.issuer.is_empty() && !x.value.is_empty() => {
            Some((x.issuer.trim().to_owned(), x.value.trim().to_owned()))
        }
        Some(x) if !(x.issuer.is_empty() && x.value.is_empty()) => {
            v.add("external_id", "issuer and value are required together");
            None
        }
        _ => None,
    };
    ListFilter {
        phone,
        email,
        name_prefix,
        province,
        city,
        external_id,
        include_inactive: req.show_inactive,
        linked_to: None,
    }
}

/// A stable byte string of the filters, bound into page tokens.
fn filter_fingerprint(f: &ListFilter) -> Vec<u8> {
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    let (issuer, value) = f.external_id.clone().unwrap_or_default();
    [
        opt(&f.phone),
        opt(&f.email),
        opt(&f.name_prefix),
        opt(&f.province),
        opt(&f.city),
        issuer,
        value,
        f.include_inactive.to_string(),
        opt(&f.linked_to),
    ]
    .join("\u{1f}")
    .into_bytes()
}
