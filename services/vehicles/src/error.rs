//! The vehicle service's one error type and its single mapping onto `tonic::Status`.

use dealernet_kit::{
    db::{self, DbFailure},
    error::{self as kit, FieldViolations},
    idempotency::IdempotencyError,
};
use tonic::{Code, Status};

/// Everything a vehicle-service call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    InvalidArgument(FieldViolations),
    #[error("{0} not found")]
    ModelNotFound(String),
    #[error("model {0} already exists")]
    ModelExists(String),
    #[error("{0} not found")]
    VehicleNotFound(String),
    #[error("the VIN is already registered")]
    VinExists,
    #[error("{0} not found")]
    RepairOrderNotFound(String),
    #[error("{0} not found")]
    RecallNotFound(String),
    #[error("recall campaign {0} already exists")]
    RecallExists(String),
    #[error("the etag does not match the current version")]
    EtagMismatch,
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
    #[error("{0}")]
    Unavailable(String),
    /// The registry refused a read made with the caller's credentials; passed on as is.
    #[error("the customer registry refused: {}", .0.message())]
    Registry(Status),
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
            && constraint == crate::store::MODEL_UNIQUE
        {
            return Error::ModelExists(String::new());
        }
        if let DbFailure::UniqueViolation(constraint) = db::classify(&e)
            && constraint == crate::store::recall::CAMPAIGN_UNIQUE
        {
            return Error::RecallExists(String::new());
        }
        if let DbFailure::UniqueViolation(constraint) = db::classify(&e)
            && constraint == crate::store::vehicle::VIN_UNIQUE
        {
            return Error::VinExists;
        }
        Error::Database(e)
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Status {
        match error {
            Error::InvalidArgument(v) => kit::invalid_argument("INVALID_ARGUMENT", &v),
            Error::ModelNotFound(name) => {
                kit::not_found("MODEL_NOT_FOUND", "dealernet.vehicles.v1.Model", &name)
            }
            Error::ModelExists(code) => kit::refusal(
                Code::AlreadyExists,
                "MODEL_EXISTS",
                format!("model {code} already exists").replace("model  ", "model "),
                [],
            ),
            Error::VehicleNotFound(name) => {
                kit::not_found("VEHICLE_NOT_FOUND", "dealernet.vehicles.v1.Vehicle", &name)
            }
            Error::RepairOrderNotFound(name) => kit::not_found(
                "REPAIR_ORDER_NOT_FOUND",
                "dealernet.vehicles.v1.RepairOrder",
                &name,
            ),
            Error::RecallNotFound(name) => kit::not_found(
                "RECALL_CAMPAIGN_NOT_FOUND",
                "dealernet.vehicles.v1.RecallCampaign",
                &name,
            ),
            Error::RecallExists(code) => kit::refusal(
                Code::AlreadyExists,
                "RECALL_CAMPAIGN_EXISTS",
                format!("recall campaign {code} already exists"),
                [],
            ),
            Error::EtagMismatch => kit::refusal(
                Code::Aborted,
                "ETAG_MISMATCH",
                "the etag does not match the current version; read it again",
                [],
            ),
            Error::VinExists => kit::refusal(
                Code::FailedPrecondition,
                "VEHICLE_ALREADY_REGISTERED",
                "the VIN is already registered",
                [],
            ),
            Error::PermissionDenied { reason, message } => {
                kit::refusal(Code::PermissionDenied, reason, message, [])
            }
            Error::Precondition { reason, message } => {
                kit::refusal(Code::FailedPrecondition, reason, message, [])
            }
            Error::Registry(status) => status,
            Error::Unavailable(message) => kit::unavailable("DEPENDENCY_UNAVAILABLE", message),
            Error::Idempotency(e) => e.status(),
            Error::Database(e) => db::status(&e),
        }
    }
}
