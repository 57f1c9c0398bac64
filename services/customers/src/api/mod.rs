//! The gRPC face of the registry: `CustomerService` handlers. Each handler parses and
//! validates, opens the transaction, and commits the change with its idempotency record.

mod consent;
pub mod convert;
mod erasure;
mod relationship;

use dealernet_kit::{
    auth::Principal,
    error::FieldViolations,
    idempotency::{self, Begin, IdempotencyKey},
    paging::PageSize,
};
use dealernet_proto::customers::v1::{self as pb, customer_service_server::CustomerService};
use prost::Message;
use sqlx::PgConnection;
use tonic::{Request, Response, Status};

use crate::{
    Error, Service,
    domain::{
        Customer, State,
        contact::{normalize_email, normalize_phone},
        profile::{MAX_PERSON_NAME_PART, clean_text, name_key},
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

fn prefixed(v: FieldViolations) -> Error {
    let mut all = FieldViolations::new();
    all.extend_prefixed("customer", v);
    Error::InvalidArgument(all)
}

impl Service {
    async fn create(
        &self,
        principal: &Principal,
        req: pb::CreateCustomerRequest,
    ) -> Result<pb::CreateCustomerResponse> {
        let key = IdempotencyKey::new(principal, "CreateCustomer", &req.request_id, &req)?;
        let profile = profile_from_proto(required_customer(req.customer.as_ref())?, &self.hasher)
            .map_err(prefixed)?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
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
        Ok(response)
    }

    async fn get(&self, req: pb::GetCustomerRequest) -> Result<pb::GetCustomerResponse> {
        let id = parse_name(&req.name, "name")?;
        let mut conn = self.pool.acquire().await?;
        let customer = store::load(&mut conn, id, false)
            .await?
            .ok_or_else(|| Error::NotFound(req.name.clone()))?;
        Ok(pb::GetCustomerResponse {
            customer: Some(to_proto(&customer)),
        })
    }

    async fn update(
        &self,
        principal: &Principal,
        req: pb::UpdateCustomerRequest,
    ) -> Result<pb::UpdateCustomerResponse> {
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
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let current = store::load(&mut tx, id, true)
            .await?
            .ok_or_else(|| Error::NotFound(input.name.clone()))?;
        if current.state != State::Active {
            return Err(Error::NotActive {
                name: input.name.clone(),
                state: current.state,
            });
        }
        if !input.etag.is_empty() && input.etag != etag(current.version) {
            return Err(Error::EtagMismatch {
                current: etag(current.version),
            });
        }
        let profile = apply_mask(&current, input, &paths, &self.hasher).map_err(prefixed)?;
        let updated = store::update(&mut tx, &Customer { profile, ..current }).await?;
        let response = pb::UpdateCustomerResponse {
            customer: Some(to_proto(&updated)),
        };
        remember(&mut tx, key.as_ref(), &response, &resource_name(id)).await?;
        tx.commit().await?;
        Ok(response)
    }

    async fn list(&self, req: pb::ListCustomersRequest) -> Result<pb::ListCustomersResponse> {
        let mut v = FieldViolations::new();
        let page_size = PageSize::STANDARD
            .resolve(req.page_size)
            .unwrap_or_else(|e| {
                v.add("page_size", e.iter().map(|(_, d)| d).collect::<String>());
                0
            });
        let filter = list_filter(&req, &mut v);
        let fingerprint = filter_fingerprint(&filter);
        let after = self
            .page_tokens
            .open::<uuid::Uuid>(&req.page_token, &fingerprint)
            .unwrap_or_else(|e| {
                v.add("page_token", e.to_string());
                None
            });
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        let mut customers = store::list(&mut conn, &filter, after, page_size + 1).await?;
        let next_page_token = if customers.len() > page_size {
            customers.truncate(page_size);
            customers
                .last()
                .map(|c| self.page_tokens.seal(&c.id, &fingerprint))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListCustomersResponse {
            customers: customers.iter().map(to_proto).collect(),
            next_page_token,
        })
    }

    async fn resolve(
        &self,
        principal: &Principal,
        req: pb::ResolveCustomerRequest,
    ) -> Result<pb::ResolveCustomerResponse> {
        let key = IdempotencyKey::new(principal, "ResolveCustomer", &req.request_id, &req)?;
        let profile = profile_from_proto(required_customer(req.customer.as_ref())?, &self.hasher)
            .map_err(prefixed)?;
        let keys = MatchKeys {
            external_ids: profile
                .external_ids
                .iter()
                .map(|x| (x.issuer.clone(), x.value.clone()))
                .collect(),
            national_id_hash: profile.national_id.as_ref().map(|n| n.hash.clone()),
            phones: profile.phones.iter().map(|p| p.e164.clone()).collect(),
            emails: profile.emails.clone(),
        };
        if keys.is_empty() {
            return Err(FieldViolations::one(
                "customer",
                "give at least one phone, e-mail, national id or external id to match on",
            )
            .into());
        }
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
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
    ]
    .join("\u{1f}")
    .into_bytes()
}

#[tonic::async_trait]
impl CustomerService for Service {
    async fn create_customer(
        &self,
        request: Request<pb::CreateCustomerRequest>,
    ) -> std::result::Result<Response<pb::CreateCustomerResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.create(&principal, request.into_inner()).await?,
        ))
    }

    async fn get_customer(
        &self,
        request: Request<pb::GetCustomerRequest>,
    ) -> std::result::Result<Response<pb::GetCustomerResponse>, Status> {
        Principal::of(&request)?;
        Ok(Response::new(self.get(request.into_inner()).await?))
    }

    async fn update_customer(
        &self,
        request: Request<pb::UpdateCustomerRequest>,
    ) -> std::result::Result<Response<pb::UpdateCustomerResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.update(&principal, request.into_inner()).await?,
        ))
    }

    async fn list_customers(
        &self,
        request: Request<pb::ListCustomersRequest>,
    ) -> std::result::Result<Response<pb::ListCustomersResponse>, Status> {
        Principal::of(&request)?;
        Ok(Response::new(self.list(request.into_inner()).await?))
    }

    async fn erase_customer(
        &self,
        request: Request<pb::EraseCustomerRequest>,
    ) -> std::result::Result<Response<pb::EraseCustomerResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.erase(&principal, request.into_inner()).await?,
        ))
    }

    async fn create_relationship(
        &self,
        request: Request<pb::CreateRelationshipRequest>,
    ) -> std::result::Result<Response<pb::CreateRelationshipResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.create_relationship(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn list_relationships(
        &self,
        request: Request<pb::ListRelationshipsRequest>,
    ) -> std::result::Result<Response<pb::ListRelationshipsResponse>, Status> {
        Principal::of(&request)?;
        Ok(Response::new(
            self.list_relationships(request.into_inner()).await?,
        ))
    }

    async fn delete_relationship(
        &self,
        request: Request<pb::DeleteRelationshipRequest>,
    ) -> std::result::Result<Response<pb::DeleteRelationshipResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.delete_relationship(&principal, request.into_inner())
                .await?,
        ))
    }

    async fn set_consent(
        &self,
        request: Request<pb::SetConsentRequest>,
    ) -> std::result::Result<Response<pb::SetConsentResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.set_consent(&principal, request.into_inner()).await?,
        ))
    }

    async fn list_consents(
        &self,
        request: Request<pb::ListConsentsRequest>,
    ) -> std::result::Result<Response<pb::ListConsentsResponse>, Status> {
        Principal::of(&request)?;
        Ok(Response::new(
            self.list_consents(request.into_inner()).await?,
        ))
    }

    async fn check_contact_permission(
        &self,
        request: Request<pb::CheckContactPermissionRequest>,
    ) -> std::result::Result<Response<pb::CheckContactPermissionResponse>, Status> {
        Principal::of(&request)?;
        Ok(Response::new(
            self.check_contact_permission(request.into_inner()).await?,
        ))
    }

    async fn resolve_customer(
        &self,
        request: Request<pb::ResolveCustomerRequest>,
    ) -> std::result::Result<Response<pb::ResolveCustomerResponse>, Status> {
        let principal = Principal::of(&request)?.clone();
        Ok(Response::new(
            self.resolve(&principal, request.into_inner()).await?,
        ))
    }
}
