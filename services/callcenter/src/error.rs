//! The call center's one error type and its single mapping onto `tonic::Status`.

use dealernet_kit::{
    db::{self, DbFailure},
    error::{self as kit, FieldViolations},
    idempotency::IdempotencyError,
};
use tonic::{Code, Status};

/// Everything a call-center call can fail with.
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
    PermissionDenied {
        reason: &'static str,
        message: String,
    },
    #[error("{message}")]
    Precondition {
        reason: &'static str,
        message: String,
    },
    #[error("the etag does not match the current version")]
    EtagMismatch,
    #[error("a survey response for this {0} exists already")]
    SurveyExists(&'static str),
    #[error("{0}")]
    Unavailable(String),
    /// A read of personal data could not be written to the registry's access log.
    #[error("access log unavailable: {0}")]
    AuditUnavailable(String),
    /// Another service refused a read made with the caller's credentials; passed on.
    #[error("{}", .0.message())]
    Upstream(Status),
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    #[error(transparent)]
    Database(sqlx::Error),
}

impl Error {
    pub fn refused(reason: &'static str, message: impl Into<String>) -> Error {
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

    pub fn case_not_found(name: &str) -> Error {
        Error::NotFound {
            reason: "CASE_NOT_FOUND",
            resource_type: "dealernet.callcenter.v1.Case",
            name: name.to_owned(),
        }
    }

    pub fn callback_not_found(name: &str) -> Error {
        Error::NotFound {
            reason: "CALLBACK_NOT_FOUND",
            resource_type: "dealernet.callcenter.v1.Callback",
            name: name.to_owned(),
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
        if let DbFailure::UniqueViolation(constraint) = db::classify(&e) {
            match constraint.as_str() {
                "survey_response_case" => return Error::SurveyExists("case"),
                "survey_response_repair" => return Error::SurveyExists("repair order"),
                _ => {}
            }
        }
        Error::Database(e)
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
            Error::PermissionDenied { reason, message } => {
                kit::refusal(Code::PermissionDenied, reason, message, [])
            }
            Error::Precondition { reason, message } => {
                kit::refusal(Code::FailedPrecondition, reason, message, [])
            }
            Error::EtagMismatch => kit::refusal(
                Code::Aborted,
                "ETAG_MISMATCH",
                "the etag does not match the current version; read it again",
                [],
            ),
            Error::SurveyExists(what) => kit::refusal(
                Code::AlreadyExists,
                "SURVEY_RESPONSE_EXISTS",
                format!("a survey response for this {what} exists already"),
                [],
            ),
            Error::Unavailable(message) => kit::unavailable("DEPENDENCY_UNAVAILABLE", message),
            Error::AuditUnavailable(_) => kit::unavailable(
                "AUDIT_UNAVAILABLE",
                "the read cannot be recorded in the access log; the answer is withheld, retry later",
            ),
            Error::Upstream(status) => status,
            Error::Idempotency(e) => e.status(),
            Error::Database(e) => db::status(&e),
        }
    }
}
