//! The dealer service's one error type and its single mapping onto `tonic::Status`.

use dealernet_kit::{
    db::{self, DbFailure},
    error::{self as kit, FieldViolations},
    idempotency::IdempotencyError,
};
use tonic::{Code, Status};

use crate::store;

/// Everything a dealer-service call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    InvalidArgument(FieldViolations),
    #[error("{name} not found")]
    NotFound {
        reason: &'static str,
        resource_type: &'static str,
        name: String,
    },
    #[error("{message}")]
    AlreadyExists {
        reason: &'static str,
        message: String,
    },
    #[error("the etag does not match the current version")]
    EtagMismatch { current: String },
    #[error("{message}")]
    PermissionDenied {
        reason: &'static str,
        message: String,
    },
    #[error("{message}")]
    Precondition {
        reason: &'static str,
        message: String,
    },
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    #[error(transparent)]
    Database(sqlx::Error),
}

impl Error {
    pub fn outlet_not_found(code: &str) -> Error {
        Error::NotFound {
            reason: "OUTLET_NOT_FOUND",
            resource_type: "dealernet.dealers.v1.Outlet",
            name: format!("outlets/{code}"),
        }
    }

    pub fn group_not_found(code: &str) -> Error {
        Error::NotFound {
            reason: "DEALER_GROUP_NOT_FOUND",
            resource_type: "dealernet.dealers.v1.DealerGroup",
            name: format!("dealerGroups/{code}"),
        }
    }

    pub fn staff_not_found(name: &str) -> Error {
        Error::NotFound {
            reason: "STAFF_MEMBER_NOT_FOUND",
            resource_type: "dealernet.dealers.v1.StaffMember",
            name: name.to_owned(),
        }
    }

    pub fn lead_not_found(name: &str) -> Error {
        Error::NotFound {
            reason: "LEAD_NOT_FOUND",
            resource_type: "dealernet.dealers.v1.Lead",
            name: name.to_owned(),
        }
    }

    pub fn precondition(reason: &'static str, message: impl Into<String>) -> Error {
        Error::Precondition {
            reason,
            message: message.into(),
        }
    }

    pub fn denied(reason: &'static str, message: impl Into<String>) -> Error {
        Error::PermissionDenied {
            reason,
            message: message.into(),
        }
    }
}

impl From<FieldViolations> for Error {
    fn from(v: FieldViolations) -> Self {
        Error::InvalidArgument(v)
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        let DbFailure::UniqueViolation(constraint) = db::classify(&e) else {
            return Error::Database(e);
        };
        let (reason, message) = match constraint.as_str() {
            store::outlet::OUTLET_UNIQUE => {
                ("OUTLET_EXISTS", "an outlet with this code already exists")
            }
            store::outlet::GROUP_UNIQUE => (
                "DEALER_GROUP_EXISTS",
                "a dealer group with this code already exists",
            ),
            store::staff::EMPLOYEE_NUMBER_UNIQUE => (
                "EMPLOYEE_NUMBER_TAKEN",
                "another staff member of the outlet has this employee number",
            ),
            _ => return Error::Database(e),
        };
        Error::AlreadyExists {
            reason,
            message: message.into(),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Status {
        match error {
            Error::InvalidArgument(v) => kit::invalid_argument("INVALID_ARGUMENT", &v),
            Error::NotFound {
                reason,
                resource_type,
                name,
            } => kit::not_found(reason, resource_type, &name),
            Error::AlreadyExists { reason, message } => {
                kit::refusal(Code::AlreadyExists, reason, message, [])
            }
            Error::EtagMismatch { current } => kit::refusal(
                Code::Aborted,
                "ETAG_MISMATCH",
                "the resource changed since it was read: read it again and retry",
                [("current_etag", current)],
            ),
            Error::PermissionDenied { reason, message } => {
                kit::refusal(Code::PermissionDenied, reason, message, [])
            }
            Error::Precondition { reason, message } => {
                kit::refusal(Code::FailedPrecondition, reason, message, [])
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
    fn every_error_has_its_code_and_reason() {
        let cases = [
            (
                Error::outlet_not_found("D1"),
                Code::NotFound,
                "OUTLET_NOT_FOUND",
            ),
            (
                Error::precondition("OUTLET_SUSPENDED", "x"),
                Code::FailedPrecondition,
                "OUTLET_SUSPENDED",
            ),
            (
                Error::denied("NOT_YOUR_OUTLET", "x"),
                Code::PermissionDenied,
                "NOT_YOUR_OUTLET",
            ),
            (
                Error::EtagMismatch {
                    current: "\"2\"".into(),
                },
                Code::Aborted,
                "ETAG_MISMATCH",
            ),
            (
                Error::InvalidArgument(FieldViolations::one("f", "bad")),
                Code::InvalidArgument,
                "INVALID_ARGUMENT",
            ),
            (
                Error::AlreadyExists {
                    reason: "OUTLET_EXISTS",
                    message: "x".into(),
                },
                Code::AlreadyExists,
                "OUTLET_EXISTS",
            ),
        ];
        for (error, code, reason) in cases {
            let status = Status::from(error);
            assert_eq!(status.code(), code);
            let info = status
                .get_error_details()
                .error_info()
                .cloned()
                .expect("info");
            assert_eq!(info.reason, reason);
        }
    }
}
