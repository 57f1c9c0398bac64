//! Object-level visibility applied to answers, and LinkCustomer.

use std::collections::HashSet;

use dealernet_kit::{
    auth::Principal, error::FieldViolations, idempotency::IdempotencyKey, paging::PageSize,
};
use dealernet_proto::customers::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    Caller, Result,
    convert::{from_timestamp, parse_name, resource_name, timestamp, to_proto},
    remember, replay,
};
use crate::{
    Error, Service,
    audit::Access,
    domain::{
        Customer,
        profile::check_issuer,
        visibility::{mask, sees_everything},
    },
    store::{self, access_log::AccessFilter},
};

/// A customer as one caller may see it.
#[derive(Debug)]
pub struct Rendered {
    pub customer: pb::Customer,
    /// The record carries unmasked personal data (and must be audited).
    pub unmasked: bool,
}

/// Renders `customers` given the ones `principal`'s organisation is linked to.
pub(super) fn render_with(
    principal: &Principal,
    customers: &[Customer],
    linked: &HashSet<Uuid>,
) -> Vec<Rendered> {
    let full = sees_everything(principal);
    customers
        .iter()
        .map(|c| {
            if full || linked.contains(&c.id) {
                Rendered {
                    customer: to_proto(c),
                    unmasked: true,
                }
            } else {
                Rendered {
                    customer: to_masked_proto(c),
                    unmasked: false,
                }
            }
        })
        .collect()
}

/// Refuses unless `principal` is head office (role hq or steward at HQ).
pub(super) fn require_hq(principal: &Principal, action: &str) -> Result<()> {
    if principal.is_head_office() {
        Ok(())
    } else {
        Err(Error::PermissionDenied {
            reason: "HQ_ROLE_REQUIRED",
            message: format!("{action} needs an HQ principal with role hq or steward"),
        })
    }
}

/// The masked rendering of a customer.
pub fn to_masked_proto(c: &Customer) -> pb::Customer {
    pb::Customer {
        masked: true,
        ..to_proto(&mask(c))
    }
}

impl Service {
    /// Refuses unless `principal` may see and act on customer `id` in full.
    pub(super) async fn require_access(
        &self,
        conn: &mut PgConnection,
        principal: &Principal,
        id: Uuid,
    ) -> Result<()> {
        if sees_everything(principal)
            || !store::linked_among(conn, &[id], principal.organization())
                .await?
                .is_empty()
        {
            return Ok(());
        }
        Err(Error::PermissionDenied {
            reason: "CUSTOMER_NOT_LINKED",
            message: format!(
                "{} has no relationship with {}: resolve the customer or have it assigned first",
                principal.organization(),
                resource_name(id)
            ),
        })
    }

    pub(super) async fn link_customer(
        &self,
        caller: &Caller,
        req: pb::LinkCustomerRequest,
    ) -> Result<pb::LinkCustomerResponse> {
        let principal = &caller.principal;
        if !sees_everything(principal) {
            return Err(Error::PermissionDenied {
                reason: "LINK_NOT_ALLOWED",
                message: "only HQ, hotline and platform services link customers to organisations"
                    .into(),
            });
        }
        let key = IdempotencyKey::new(principal, "LinkCustomer", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let id = parse_name(&req.name, "name").map_err(|e| v.append(e)).ok();
        if let Err(e) = check_issuer(&req.organization) {
            v.add("organization", format!("an organisation code {e}"));
        }
        if let Err(e) = check_issuer(&req.reason) {
            v.add("reason", format!("a reason code such as SALE {e}"));
        }
        v.into_result()?;
        let id = id.unwrap_or_default();
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let _customer = super::active_customer(&mut tx, id, false).await?;
        let created = store::link(&mut tx, id, &req.organization, &req.reason).await?;
        let response = pb::LinkCustomerResponse { created };
        remember(&mut tx, key.as_ref(), &response, &resource_name(id)).await?;
        tx.commit().await?;
        Ok(response)
    }
}

/// The personal-data fields an answer carries, for the access log.
fn personal_fields(c: &pb::Customer) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let name = c
        .person_name
        .as_ref()
        .is_some_and(|n| !n.family_name.is_empty() || !n.given_name.is_empty());
    if name || !c.organization_name.is_empty() {
        fields.push("name");
    }
    for (present, field) in [
        (!c.phones.is_empty(), "phones"),
        (!c.emails.is_empty(), "emails"),
        (c.address.is_some(), "address"),
        (c.birthday.is_some(), "birthday"),
        (!c.national_id_last4.is_empty(), "national_id_last4"),
        (!c.external_ids.is_empty(), "external_ids"),
    ] {
        if present {
            fields.push(field);
        }
    }
    fields
}

impl Service {
    /// Records the unmasked customers of an answer; returns once the record is durable.
    pub(super) async fn audit_rendered(
        &self,
        caller: &Caller,
        method: &'static str,
        rendered: &[Rendered],
    ) -> Result<()> {
        let accesses: Vec<Access> = rendered
            .iter()
            .filter(|r| r.unmasked)
            .filter_map(|r| {
                let fields = personal_fields(&r.customer);
                let id = parse_name(&r.customer.name, "name").ok()?;
                (!fields.is_empty()).then_some(Access {
                    customer_id: id,
                    fields,
                })
            })
            .collect();
        self.audit
            .record(caller.reader(method), accesses)
            .await
            .map_err(Error::AuditUnavailable)
    }

    /// Records an answer about one customer that the caller may see in full.
    pub(super) async fn audit_answer(
        &self,
        caller: &Caller,
        method: &'static str,
        customer: Option<&pb::Customer>,
    ) -> Result<()> {
        let rendered: Vec<Rendered> = customer
            .map(|c| Rendered {
                customer: c.clone(),
                unmasked: !c.masked,
            })
            .into_iter()
            .collect();
        self.audit_rendered(caller, method, &rendered).await
    }

    pub(super) async fn list_access_log(
        &self,
        caller: &Caller,
        req: pb::ListAccessLogRequest,
    ) -> Result<pb::ListAccessLogResponse> {
        let principal = &caller.principal;
        let hq = principal.is_head_office();
        if !hq && sees_everything(principal) {
            return Err(Error::PermissionDenied {
                reason: "ACCESS_LOG_NOT_ALLOWED",
                message: "the access log is open to HQ, and to dealers and stations for their own customers".into(),
            });
        }
        let mut v = FieldViolations::new();
        let customer = (!req.customer.is_empty())
            .then(|| {
                parse_name(&req.customer, "customer")
                    .map_err(|e| v.append(e))
                    .ok()
            })
            .flatten();
        let organization = (!req.organization.is_empty()).then(|| req.organization.clone());
        if let Some(org) = &organization {
            if !hq {
                v.add("organization", "only HQ filters by organisation");
            } else if let Err(e) = check_issuer(org) {
                v.add("organization", format!("an organisation code {e}"));
            }
        }
        let mut time = |field: &str, t: Option<&prost_types::Timestamp>| {
            t.and_then(|t| from_timestamp(t).map_err(|e| v.add(field, e)).ok())
        };
        let start = time("start_time", req.start_time.as_ref());
        let end = time("end_time", req.end_time.as_ref());
        if let (Some(s), Some(e)) = (start, end)
            && s >= e
        {
            v.add("end_time", "must be after start_time");
        }
        let page_size = PageSize::STANDARD
            .resolve(req.page_size)
            .map_err(|e| v.append(e))
            .unwrap_or(0);
        let filter = AccessFilter {
            customer,
            organization,
            start,
            end,
            outsiders_of: (!hq).then(|| principal.organization().to_owned()),
        };
        let fingerprint = format!("{filter:?}").into_bytes();
        let before = self
            .page_tokens
            .open::<i64>(&req.page_token, &fingerprint)
            .map_err(|e| v.append(e.violation()))
            .unwrap_or(None);
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        let mut rows = store::access_log::list(&mut conn, &filter, before, page_size + 1).await?;
        let next_page_token = if rows.len() > page_size {
            rows.truncate(page_size);
            rows.last()
                .map(|r| self.page_tokens.seal(&r.id, &fingerprint))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListAccessLogResponse {
            records: rows
                .into_iter()
                .map(|r| pb::AccessRecord {
                    time: Some(timestamp(r.at)),
                    subject: r.subject,
                    organization: r.organization,
                    roles: r.roles,
                    customer: resource_name(r.customer_id),
                    fields: r.fields,
                    purpose: r.purpose,
                    request_id: r.request_id,
                    method: r.method,
                })
                .collect(),
            next_page_token,
        })
    }
}
