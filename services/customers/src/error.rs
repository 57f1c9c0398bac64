//! The registry's one error type and its single mapping onto `tonic::Status`.

use dealernet_kit::{
    db::{self, DbFailure},
    error::{self as kit, FieldViolations},
    idempotency::IdempotencyError,
};
use tonic::{Code, Status};

use crate::domain::State;

/// Everything a registry call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    InvalidArgument(FieldViolations),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} not found")]
    RelationshipNotFound(String),
    #[error("{0} not found")]
    MergeNotFound(String),
    #[error("{message}")]
    Precondition {
        reason: &'static str,
        message: String,
    },
    #[error("the relationship already exists")]
    RelationshipExists,
    #[error("etag mismatch: the customer changed since it was read")]
    EtagMismatch { current: String },
    #[error("{name} is {state:?} and cannot be changed")]
    NotActive { name: String, state: State },
    #[error("{message}")]
    PermissionDenied {
        reason: &'static str,
        message: String,
    },
    #[error("an external id is already assigned to another customer")]
    ExternalIdTaken { detail: String },
    #[error(transparent)]
    AuditUnavailable(crate::audit::AuditFailed),
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    #[error(transparent)]
    Database(sqlx::Error),
}

impl From<FieldViolations> for Error {
    fn from(v: FieldViolations) -> Self {
        Error::InvalidArgument(v)
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if let DbFailure::UniqueViolation(constraint) = db::classify(&e)
            && constraint == crate::store::relationship::UNIQUE_LINK
        {
            return Error::RelationshipExists;
        }
        if let DbFailure::UniqueViolation(constraint) = db::classify(&e)
            && constraint == crate::store::EXTERNAL_ID_UNIQUE
        {
            let detail = match &e {
                sqlx::Error::Database(d) => d
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .and_then(|pg| pg.detail())
                    .unwrap_or_default()
                    .to_owned(),
                _ => String::new(),
            };
            return Error::ExternalIdTaken { detail };
        }
        Error::Database(e)
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Status {
        match error {
            Error::InvalidArgument(v) => kit::invalid_argument("INVALID_ARGUMENT", &v),
            Error::NotFound(name) => kit::not_found(
                "CUSTOMER_NOT_FOUND",
                "dealernet.customers.v1.Customer",
                &name,
            ),
            Error::RelationshipNotFound(name) => kit::not_found(
                "RELATIONSHIP_NOT_FOUND",
                "dealernet.customers.v1.Relationship",
                &name,
            ),
            Error::MergeNotFound(name) => {
                kit::not_found("MERGE_NOT_FOUND", "dealernet.customers.v1.Merge", &name)
            }
            Error::Precondition { reason, message } => {
                kit::refusal(Code::FailedPrecondition, reason, message, [])
            }
            Error::RelationshipExists => kit::refusal(
                Code::AlreadyExists,
                "RELATIONSHIP_EXISTS",
                "the two customers already have a relationship of this type",
                [],
            ),
            Error::EtagMismatch { current } => kit::refusal(
                Code::Aborted,
                "ETAG_MISMATCH",
                "the customer changed since it was read: read it again and retry",
                [("current_etag", current)],
            ),
            Error::NotActive { name, state } => {
                let reason = match state {
                    State::Merged => "CUSTOMER_MERGED",
                    State::Erased => "CUSTOMER_ERASED",
                    State::Active => "CUSTOMER_NOT_ACTIVE",
                };
                kit::refusal(
                    Code::FailedPrecondition,
                    reason,
                    format!(
                        "{name} is {} and cannot be changed",
                        state.as_str().to_lowercase()
                    ),
                    [("name", name)],
                )
            }
            Error::PermissionDenied { reason, message } => {
                kit::refusal(Code::PermissionDenied, reason, message, [])
            }
            Error::ExternalIdTaken { detail } => kit::refusal(
                Code::AlreadyExists,
                "EXTERNAL_ID_TAKEN",
                format!("an external id is already assigned to another customer {detail}")
                    .trim_end()
                    .to_owned(),
                [],
            ),
            Error::AuditUnavailable(e) => {
                tracing::error!(error = %e, "answer withheld: access log unavailable");
                kit::unavailable(
                    "AUDIT_UNAVAILABLE",
                    "the access log cannot record this read; retry later",
                )
            }
            Error::Idempotency(e) => e.status(),
            Error::Database(e) => db::status(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::StatusExt;

    #[test]
    fn each_error_has_its_code_and_reason() {
        let cases = [
            (
                Error::InvalidArgument(FieldViolations::one("customer.kind", "required")),
                Code::InvalidArgument,
                "INVALID_ARGUMENT",
            ),
            (
                Error::NotFound("customers/x".into()),
                Code::NotFound,
                "CUSTOMER_NOT_FOUND",
            ),
            (
                Error::EtagMismatch {
                    current: "\"2\"".into(),
                },
                Code::Aborted,
                "ETAG_MISMATCH",
            ),
            (
                Error::NotActive {
                    name: "customers/x".into(),
                    state: State::Merged,
                },
                Code::FailedPrecondition,
                "CUSTOMER_MERGED",
            ),
            (
                Error::ExternalIdTaken {
                    detail: String::new(),
                },
                Code::AlreadyExists,
                "EXTERNAL_ID_TAKEN",
            ),
            (
                Error::Idempotency(IdempotencyError::Reused),
                Code::InvalidArgument,
                "REQUEST_ID_REUSED",
            ),
            (
                Error::Database(sqlx::Error::PoolTimedOut),
                Code::Unavailable,
                "DATABASE_UNAVAILABLE",
            ),
            (
                Error::Database(sqlx::Error::RowNotFound),
                Code::Internal,
                "INTERNAL",
            ),
        ];
        for (error, code, reason) in cases {
            let status = Status::from(error);
            assert_eq!(status.code(), code);
            let info = status
                .get_error_details()
                .error_info()
                .cloned()
                .expect("error info");
            assert_eq!(info.reason, reason);
        }
    }
}
