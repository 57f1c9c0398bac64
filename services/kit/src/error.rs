//! The error vocabulary every service maps its own error enum onto, so that every refusal
//! reaches the client as a `google.rpc.Status` with the same shape: `BadRequest` field
//! violations for invalid input and exactly one `ErrorInfo` with a stable reason.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::ERROR_DOMAIN;

/// Invalid fields of one request, collected so that the client hears about all of them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldViolations(Vec<(String, String)>);

impl FieldViolations {
    pub fn new() -> Self {
        Self::default()
    }

    /// A single violation.
    pub fn one(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut v = Self::new();
        v.add(field, description);
        v
    }

    /// Records that `field` (a dotted path such as `customer.phones[0].number`) is invalid.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push((field.into(), description.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was recorded, otherwise the violations.
    pub fn into_result(self) -> Result<(), FieldViolations> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(f, d)| (f.as_str(), d.as_str()))
    }

    /// Adds the violations of `other` as they are.
    pub fn append(&mut self, other: FieldViolations) {
        self.0.extend(other.0);
    }

    /// Moves the violations of `other` under `prefix` (e.g. `customer`).
    pub fn extend_prefixed(&mut self, prefix: &str, other: FieldViolations) {
        for (field, description) in other.0 {
            self.0.push((format!("{prefix}.{field}"), description));
        }
    }
}

impl std::fmt::Display for FieldViolations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(fi, d)| format!("{fi}: {d}")).collect();
        f.write_str(&parts.join("; "))
    }
}

/// INVALID_ARGUMENT with one `BadRequest` listing every violation and `ErrorInfo{reason}`.
pub fn invalid_argument(reason: &str, violations: &FieldViolations) -> Status {
    let mut details = ErrorDetails::new();
    for (field, description) in violations.iter() {
        details.add_bad_request_violation(field, description);
    }
    details.set_error_info(reason, ERROR_DOMAIN, []);
    Status::with_error_details(
        Code::InvalidArgument,
        format!("invalid request: {violations}"),
        details,
    )
}

/// A refusal (FAILED_PRECONDITION, ABORTED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED,
/// …) carrying one `ErrorInfo` with a stable, machine-readable reason and metadata.
pub fn refusal<'a>(
    code: Code,
    reason: &str,
    message: impl Into<String>,
    metadata: impl IntoIterator<Item = (&'a str, String)>,
) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(
        reason,
        ERROR_DOMAIN,
        metadata
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<std::collections::HashMap<_, _>>(),
    );
    Status::with_error_details(code, message, details)
}

/// NOT_FOUND for a resource, with `ResourceInfo` and `ErrorInfo{reason}`.
pub fn not_found(reason: &str, resource_type: &str, resource_name: &str) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(
        reason,
        ERROR_DOMAIN,
        [("name".to_owned(), resource_name.to_owned())],
    );
    details.set_resource_info(resource_type, resource_name, "", "no such resource");
    Status::with_error_details(
        Code::NotFound,
        format!("{resource_name} not found"),
        details,
    )
}

/// INTERNAL for a failure that is ours, not the caller's: logged in full here, reported
/// without internals so that nothing about the database leaks to clients.
pub fn internal(error: &dyn std::error::Error) -> Status {
    tracing::error!(error = %error, "internal error");
    refusal(Code::Internal, "INTERNAL", "internal error", [])
}

/// UNAVAILABLE for a dependency that is down or overloaded; the client may retry.
pub fn unavailable(reason: &str, message: impl Into<String>) -> Status {
    refusal(Code::Unavailable, reason, message, [])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_lists_every_violation_and_one_reason() {
        let mut v = FieldViolations::new();
        v.add("customer.phones[0].number", "not a valid phone number");
        v.add("page_size", "must not be negative");
        let status = invalid_argument("INVALID_CUSTOMER", &v);
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad = details.bad_request().expect("bad request");
        let fields: Vec<_> = bad
            .field_violations
            .iter()
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(fields, ["customer.phones[0].number", "page_size"]);
        let info = details.error_info().expect("error info");
        assert_eq!(info.reason, "INVALID_CUSTOMER");
        assert_eq!(info.domain, ERROR_DOMAIN);
    }

    #[test]
    fn refusal_carries_reason_and_metadata() {
        let status = refusal(
            Code::Aborted,
            "ETAG_MISMATCH",
            "stale",
            [("current_etag", "\"3\"".to_owned())],
        );
        let info = status
            .get_error_details()
            .error_info()
            .cloned()
            .expect("info");
        assert_eq!(status.code(), Code::Aborted);
        assert_eq!(info.reason, "ETAG_MISMATCH");
        assert_eq!(
            info.metadata.get("current_etag").map(String::as_str),
            Some("\"3\"")
        );
    }

    #[test]
    fn internal_hides_the_cause() {
        let cause = std::io::Error::other("password authentication failed for user x");
        let status = internal(&cause);
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("password"));
    }
}
