//! Answers carrying customers' phone numbers kept here (GetCallback, ListCallbacks,
//! ListInteractions) are reads of personal data outside the registry: each is written to the registry's
//! access log (RecordAccess: who, which customers, why, when) before it leaves, and
//! withheld (UNAVAILABLE `AUDIT_UNAVAILABLE`) when it cannot be.

use std::collections::BTreeSet;

use dealernet_kit::{auth::Principal, error::FieldViolations, server::RequestId};
use tonic::Request;
use uuid::Uuid;

use super::Result;
use crate::{Service, customers::AccessRead};

/// The metadata key in which callers declare why they read personal data.
const PURPOSE_HEADER: &str = "x-purpose";
const MAX_PURPOSE: usize = 200;

/// Why the caller reads, and the call's request id: what the access log records with
/// the verified principal.
#[derive(Debug, Clone)]
pub(super) struct Reading {
    purpose: String,
    request_id: String,
}

impl Reading {
    /// The declared purpose of `request`, required as the registry requires it of the
    /// hotline and HQ (every caller of these reads).
    pub(super) fn of<T>(request: &Request<T>) -> Result<Reading> {
        let purpose = request
            .metadata()
            .get(PURPOSE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|p| {
                !p.is_empty()
                    && p.len() <= MAX_PURPOSE
                    && p.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
            })
            .ok_or_else(|| {
                FieldViolations::one(
                    PURPOSE_HEADER,
                    format!(
                        "reads of customers' phone numbers must declare their purpose (1 to {MAX_PURPOSE} printable ASCII characters)"
                    ),
                )
            })?;
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        Ok(Reading {
            purpose: purpose.to_owned(),
            request_id,
        })
    }
}

impl Service {
    /// Records that `principal` is about to receive the phone numbers of `customers` in
    /// the answer of `method`; returns once the registry has it durably.
    pub(super) async fn audit_phone_read(
        &self,
        principal: &Principal,
        reading: &Reading,
        method: &'static str,
        customers: impl IntoIterator<Item = Uuid>,
    ) -> Result<()> {
        let customers: BTreeSet<Uuid> = customers.into_iter().collect();
        if customers.is_empty() {
            return Ok(());
        }
        self.registry
            .record_access(AccessRead {
                accessor: principal,
                purpose: &reading.purpose,
                request_id: &reading.request_id,
                method,
                customers: customers.into_iter().collect(),
                fields: &["phones"],
            })
            .await
    }
}
