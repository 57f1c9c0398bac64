//! RecordAccess: another service's reads of the customers' personal data it keeps (the
//! call center's callback and contact-log phone numbers), written to the registry's
//! access log by the same writer as the registry's own reads, before that service
//! answers. Only platform systems call it; they vouch for the accessor they verified.

use std::collections::BTreeSet;

use dealernet_kit::{auth::Role, error::FieldViolations};
use dealernet_proto::customers::v1 as pb;

use super::{Caller, Result, convert::parse_name};
use crate::{
    Error, Service,
    audit::{Access, Reader},
    domain::profile::check_issuer,
};

/// The personal-data fields an access record may name (the registry's own set).
const FIELDS: &[&str] = &[
    "name",
    "phones",
    "emails",
    "address",
    "birthday",
    "national_id_last4",
    "external_ids",
];
const MAX_CUSTOMERS: usize = 1_000;
const MAX_TEXT: usize = 200;

fn printable(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
}

/// `Service.Method`, e.g. `CallCenterService.GetCallback`.
fn method_name(s: &str) -> bool {
    (3..=100).contains(&s.len())
        && s.contains('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
}

impl Service {
    pub(super) async fn record_access(
        &self,
        caller: &Caller,
        req: pb::RecordAccessRequest,
    ) -> Result<pb::RecordAccessResponse> {
        if !caller.principal.has_role(Role::System) {
            return Err(Error::PermissionDenied {
                reason: "SYSTEM_ROLE_REQUIRED",
                message: "only platform services record their reads in the access log".into(),
            });
        }
        let mut v = FieldViolations::new();
        if !printable(&req.subject, MAX_TEXT) {
            v.add("subject", "required: 1 to 200 printable ASCII characters");
        }
        if let Err(e) = check_issuer(&req.organization) {
            v.add("organization", format!("an organisation code {e}"));
        }
        if req.roles.is_empty() {
            v.add("roles", "at least one role");
        }
        for (i, role) in req.roles.iter().enumerate() {
            if let Err(e) = role.parse::<Role>() {
                v.add(format!("roles[{i}]"), e);
            }
        }
        if req.customers.is_empty() || req.customers.len() > MAX_CUSTOMERS {
            v.add("customers", "1 to 1,000 customer names");
        }
        let customers: BTreeSet<_> = req
            .customers
            .iter()
            .enumerate()
            .filter_map(|(i, name)| {
                parse_name(name, &format!("customers[{i}]"))
                    .map_err(|e| v.append(e))
                    .ok()
            })
            .collect();
        let mut fields = Vec::new();
        for (i, field) in req.fields.iter().enumerate() {
            match FIELDS.iter().find(|f| **f == field.as_str()) {
                Some(f) if !fields.contains(f) => fields.push(*f),
                Some(_) => {}
                None => v.add(
                    format!("fields[{i}]"),
                    format!(
                        "'{field}' is not a personal-data field ({})",
                        FIELDS.join(", ")
                    ),
                ),
            }
        }
        if req.fields.is_empty() {
            v.add("fields", "at least one personal-data field");
        }
        if !printable(&req.purpose, MAX_TEXT) {
            v.add(
                "purpose",
                "required: the accessor's declared purpose, 1 to 200 printable ASCII characters",
            );
        }
        if !method_name(&req.method) {
            v.add(
                "method",
                "required: Service.Method, e.g. CallCenterService.GetCallback",
            );
        }
        if !req.request_id.is_empty() && !printable(&req.request_id, MAX_TEXT) {
            v.add("request_id", "at most 200 printable ASCII characters");
        }
        v.into_result()?;
        let reader = Reader {
            subject: req.subject,
            organization: req.organization,
            roles: req.roles,
            purpose: req.purpose,
            request_id: if req.request_id.is_empty() {
                caller.request_id.clone()
            } else {
                req.request_id
            },
            method: req.method.into(),
        };
        let accesses: Vec<Access> = customers
            .iter()
            .map(|&customer_id| Access {
                customer_id,
                fields: fields.clone(),
            })
            .collect();
        let recorded = accesses.len() as i32;
        self.audit
            .record(reader, accesses)
            .await
            .map_err(Error::AuditUnavailable)?;
        Ok(pb::RecordAccessResponse { recorded })
    }
}
