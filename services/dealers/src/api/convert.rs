//! Proto ↔ domain values shared by every handler: times, dates, resource names, text.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use dealernet_kit::error::FieldViolations;
use dealernet_proto::{dealers::v1 as pb, types::v1 as types};
use prost_types::Timestamp;
use uuid::Uuid;

use crate::domain::{
    geo::Point,
    outlet::{Capability, Status, check_code},
};

pub(super) fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// A client's timestamp; a violation when it is not a valid instant.
pub(super) fn time_from(
    v: &mut FieldViolations,
    field: &str,
    t: &Timestamp,
) -> Option<DateTime<Utc>> {
    let at = u32::try_from(t.nanos)
        .ok()
        .and_then(|n| DateTime::from_timestamp(t.seconds, n));
    if at.is_none() {
        v.add(field, "is not a valid timestamp");
    }
    at
}

pub(super) fn duration(d: TimeDelta) -> prost_types::Duration {
    prost_types::Duration {
        seconds: d.num_seconds(),
        nanos: d.subsec_nanos(),
    }
}

pub(super) fn date(d: NaiveDate) -> types::Date {
    types::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

pub(super) fn date_from(d: &types::Date) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(
        d.year,
        u32::try_from(d.month).ok()?,
        u32::try_from(d.day).ok()?,
    )
}

/// A required calendar date.
pub(super) fn required_date(
    v: &mut FieldViolations,
    field: &str,
    d: Option<&types::Date>,
) -> Option<NaiveDate> {
    let parsed = d.and_then(date_from);
    if parsed.is_none() {
        v.add(field, "required: a calendar date");
    }
    parsed
}

/// Checks an outlet code given as a reference (e.g. `lead.preferred_outlet`).
pub(super) fn outlet_code(v: &mut FieldViolations, field: &str, code: &str) -> String {
    if let Err(e) = check_code(code) {
        v.add(field, format!("an outlet code {e}"));
    }
    code.to_owned()
}

/// The code in a resource name `{collection}/{code}`.
pub(super) fn code_in_name(
    name: &str,
    collection: &str,
    field: &str,
) -> std::result::Result<String, FieldViolations> {
    name.strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|code| check_code(code).is_ok())
        .map(str::to_owned)
        .ok_or_else(|| {
            FieldViolations::one(
                field,
                format!("'{name}' is not a name of the form {collection}/{{code}}"),
            )
        })
}

/// The UUID in a resource name `{collection}/{uuid}`.
pub(super) fn uuid_in_name(
    v: &mut FieldViolations,
    name: &str,
    collection: &str,
    field: &str,
) -> Option<Uuid> {
    let id = name
        .strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|id| Uuid::parse_str(id).ok());
    if id.is_none() {
        v.add(
            field,
            format!("'{name}' is not a name of the form {collection}/{{uuid}}"),
        );
    }
    id
}

/// Free text of at most `max` characters without control characters, trimmed;
/// `required` refuses an empty value.
pub(super) fn text(
    v: &mut FieldViolations,
    field: &str,
    value: &str,
    max: usize,
    required: bool,
) -> String {
    let t = value.trim();
    if required && t.is_empty() {
        v.add(field, "required");
    } else if t.chars().count() > max || t.chars().any(char::is_control) {
        v.add(field, format!("at most {max} printable characters"));
    }
    t.to_owned()
}

/// Free text that may contain line breaks (notes), at most `max` characters.
pub(super) fn multiline(v: &mut FieldViolations, field: &str, value: &str, max: usize) -> String {
    let t = value.trim();
    if t.chars().count() > max
        || t.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        v.add(
            field,
            format!("at most {max} characters, no control characters but line breaks"),
        );
    }
    t.to_owned()
}

pub(super) fn point(v: &mut FieldViolations, field: &str, p: &pb::GeoPoint) -> Option<Point> {
    Point::new(p.latitude, p.longitude)
        .map_err(|problems| {
            for (part, problem) in problems {
                v.add(format!("{field}.{part}"), problem);
            }
        })
        .ok()
}

pub(super) fn geo_point(p: Point) -> pb::GeoPoint {
    pb::GeoPoint {
        latitude: p.lat,
        longitude: p.lng,
    }
}

pub(super) fn capability_from(c: i32) -> Option<Capability> {
    match pb::Capability::try_from(c) {
        Ok(pb::Capability::Sales) => Some(Capability::Sales),
        Ok(pb::Capability::Service) => Some(Capability::Service),
        Ok(pb::Capability::Parts) => Some(Capability::Parts),
        Ok(pb::Capability::Survey) => Some(Capability::Survey),
        _ => None,
    }
}

pub(super) fn capability_to(c: Capability) -> pb::Capability {
    match c {
        Capability::Sales => pb::Capability::Sales,
        Capability::Service => pb::Capability::Service,
        Capability::Parts => pb::Capability::Parts,
        Capability::Survey => pb::Capability::Survey,
    }
}

/// An optional capability filter: 0 is "any".
pub(super) fn capability_filter(
    v: &mut FieldViolations,
    field: &str,
    c: i32,
) -> Option<Capability> {
    if c == 0 {
        return None;
    }
    let parsed = capability_from(c);
    if parsed.is_none() {
        v.add(field, "not a capability");
    }
    parsed
}

pub(super) fn status_to(s: Status) -> pb::OutletStatus {
    match s {
        Status::Active => pb::OutletStatus::Active,
        Status::Suspended => pb::OutletStatus::Suspended,
        Status::Closed => pb::OutletStatus::Closed,
    }
}

pub(super) fn status_from(s: i32) -> Option<Status> {
    match pb::OutletStatus::try_from(s) {
        Ok(pb::OutletStatus::Active) => Some(Status::Active),
        Ok(pb::OutletStatus::Suspended) => Some(Status::Suspended),
        Ok(pb::OutletStatus::Closed) => Some(Status::Closed),
        _ => None,
    }
}

/// The etag of a stored version.
pub(super) fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// A filter given as text: empty is "any".
pub(super) fn optional(value: &str) -> Option<String> {
    let t = value.trim();
    (!t.is_empty()).then(|| t.to_owned())
}
