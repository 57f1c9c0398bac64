//! Outlets and groups between proto and domain: validation of everything a client sends,
//! and update masks.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, Utc, Weekday};
use dealernet_kit::error::FieldViolations;
use dealernet_proto::{dealers::v1 as pb, types::v1 as types};

use super::convert::{
    capability_from, capability_to, date, date_from, etag, geo_point, point, status_to, text,
    timestamp,
};
use crate::domain::{
    hours::{Calendar, Period, WeeklyHours, format_clock, parse_clock},
    outlet::{Address, Capability, Group, Outlet, Status, check_code, is_four_s},
};

/// China's offset: UTC+8 all year.
pub(super) const DEFAULT_UTC_OFFSET_MINUTES: i32 = 480;
const MAX_CLOSED_DATES: usize = 366;
const MAX_BRANDS: usize = 20;

/// Fields UpdateOutlet may change.
pub(super) const UPDATABLE: &[&str] = &[
    "display_name",
    "group",
    "region",
    "address",
    "location",
    "capabilities",
    "brands",
    "phone",
    "utc_offset_minutes",
    "opening_hours",
    "closed_dates",
];
/// The subset an outlet's own staff may change.
pub(super) const OUTLET_UPDATABLE: &[&str] = &["phone", "opening_hours", "closed_dates"];

pub(super) fn group_to_proto(g: &Group) -> pb::DealerGroup {
    pb::DealerGroup {
        name: format!("dealerGroups/{}", g.code),
        code: g.code.clone(),
        display_name: g.display_name.clone(),
        create_time: Some(timestamp(g.create_time)),
    }
}

pub(super) fn group_from_proto(
    g: &pb::DealerGroup,
    now: DateTime<Utc>,
) -> Result<Group, FieldViolations> {
    let mut v = FieldViolations::new();
    let code = g.code.trim().to_owned();
    if let Err(e) = check_code(&code) {
        v.add("dealer_group.code", e);
    }
    let display_name = text(
        &mut v,
        "dealer_group.display_name",
        &g.display_name,
        100,
        true,
    );
    v.into_result()?;
    Ok(Group {
        code,
        display_name,
        create_time: now,
    })
}

fn weekday_to(d: Weekday) -> pb::Weekday {
    match d {
        Weekday::Mon => pb::Weekday::Monday,
        Weekday::Tue => pb::Weekday::Tuesday,
        Weekday::Wed => pb::Weekday::Wednesday,
        Weekday::Thu => pb::Weekday::Thursday,
        Weekday::Fri => pb::Weekday::Friday,
        Weekday::Sat => pb::Weekday::Saturday,
        Weekday::Sun => pb::Weekday::Sunday,
    }
}

fn weekday_from(d: i32) -> Option<Weekday> {
    match pb::Weekday::try_from(d).ok()? {
        pb::Weekday::Unspecified => None,
        pb::Weekday::Monday => Some(Weekday::Mon),
        pb::Weekday::Tuesday => Some(Weekday::Tue),
        pb::Weekday::Wednesday => Some(Weekday::Wed),
        pb::Weekday::Thursday => Some(Weekday::Thu),
        pb::Weekday::Friday => Some(Weekday::Fri),
        pb::Weekday::Saturday => Some(Weekday::Sat),
        pb::Weekday::Sunday => Some(Weekday::Sun),
    }
}

pub(super) fn outlet_to_proto(o: &Outlet) -> pb::Outlet {
    pb::Outlet {
        name: format!("outlets/{}", o.code),
        code: o.code.clone(),
        display_name: o.display_name.clone(),
        group: o.group.clone().unwrap_or_default(),
        region: o.region.clone(),
        address: Some(types::PostalAddress {
            province: o.address.province.clone(),
            city: o.address.city.clone(),
            district: o.address.district.clone(),
            street: o.address.street.clone(),
            postal_code: o.address.postal_code.clone(),
            region_code: o.address.region_code.clone(),
        }),
        location: Some(geo_point(o.location)),
        capabilities: o
            .capabilities
            .iter()
            .map(|c| capability_to(*c) as i32)
            .collect(),
        brands: o.brands.clone(),
        phone: o.phone.clone(),
        utc_offset_minutes: Some(o.calendar.offset.local_minus_utc() / 60),
        opening_hours: o
            .calendar
            .hours
            .iter()
            .map(|(day, p)| pb::OpeningPeriod {
                weekday: weekday_to(day) as i32,
                open_time: format_clock(p.open),
                close_time: format_clock(p.close),
            })
            .collect(),
        closed_dates: o.calendar.closed.iter().map(|d| date(*d)).collect(),
        status: status_to(o.status) as i32,
        status_reason: o.status_reason.clone(),
        status_time: Some(timestamp(o.status_time)),
        four_s: is_four_s(&o.capabilities),
        create_time: Some(timestamp(o.create_time)),
        update_time: Some(timestamp(o.update_time)),
        etag: etag(o.version),
    }
}

fn address(v: &mut FieldViolations, a: Option<&types::PostalAddress>) -> Address {
    let Some(a) = a else {
        v.add(
            "outlet.address",
            "required: province, city, district and street",
        );
        return Address::default();
    };
    let postal_code = a.postal_code.trim().to_owned();
    if !(postal_code.is_empty()
        || (postal_code.len() == 6 && postal_code.bytes().all(|b| b.is_ascii_digit())))
    {
        v.add("outlet.address.postal_code", "must be six digits");
    }
    let region_code = match a.region_code.trim() {
        "" => "CN".to_owned(),
        r if r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()) => r.to_owned(),
        _ => {
            v.add(
                "outlet.address.region_code",
                "must be an ISO 3166-1 alpha-2 code such as CN",
            );
            String::new()
        }
    };
    Address {
        province: text(v, "outlet.address.province", &a.province, 50, true),
        city: text(v, "outlet.address.city", &a.city, 50, true),
        district: text(v, "outlet.address.district", &a.district, 50, true),
        street: text(v, "outlet.address.street", &a.street, 200, true),
        postal_code,
        region_code,
    }
}

fn capabilities(v: &mut FieldViolations, raw: &[i32]) -> Vec<Capability> {
    if raw.is_empty() {
        v.add(
            "outlet.capabilities",
            "at least one of SALES, SERVICE, PARTS, SURVEY",
        );
    }
    let mut caps = BTreeSet::new();
    for (i, c) in raw.iter().enumerate() {
        match capability_from(*c) {
            Some(c) => {
                caps.insert(c);
            }
            None => v.add(format!("outlet.capabilities[{i}]"), "not a capability"),
        }
    }
    caps.into_iter().collect()
}

fn brands(v: &mut FieldViolations, raw: &[String]) -> Vec<String> {
    if raw.len() > MAX_BRANDS {
        v.add("outlet.brands", format!("at most {MAX_BRANDS}"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, b) in raw.iter().enumerate() {
        let b = text(v, &format!("outlet.brands[{i}]"), b, 50, true);
        if !out.contains(&b) {
            out.push(b);
        }
    }
    out
}

/// The week, or `None` (with violations) when a period is invalid.
fn weekly_hours(v: &mut FieldViolations, raw: &[pb::OpeningPeriod]) -> Option<WeeklyHours> {
    let mut periods = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let field = format!("outlet.opening_hours[{i}]");
        let day = weekday_from(p.weekday);
        if day.is_none() {
            v.add(format!("{field}.weekday"), "required: a WEEKDAY_* value");
        }
        let open = parse_clock(&p.open_time, false);
        if open.is_none() {
            v.add(
                format!("{field}.open_time"),
                "must be HH:MM from 00:00 to 23:59",
            );
        }
        let close = parse_clock(&p.close_time, true);
        if close.is_none() {
            v.add(
                format!("{field}.close_time"),
                "must be HH:MM from 00:01 to 24:00",
            );
        }
        if let (Some(day), Some(open), Some(close)) = (day, open, close) {
            periods.push((day, Period { open, close }));
        }
    }
    if periods.len() < raw.len() {
        return None;
    }
    WeeklyHours::new(periods)
        .map_err(|e| v.add("outlet.opening_hours", e))
        .ok()
}

/// Parses a client's outlet, reporting every invalid field under `outlet.`. Status and
/// times are the caller's to set.
pub(super) fn outlet_from_proto(
    o: &pb::Outlet,
    now: DateTime<Utc>,
) -> Result<Outlet, FieldViolations> {
    let mut v = FieldViolations::new();
    let code = o.code.trim().to_owned();
    if let Err(e) = check_code(&code) {
        v.add("outlet.code", e);
    }
    let display_name = text(&mut v, "outlet.display_name", &o.display_name, 100, true);
    let group = match o.group.trim() {
        "" => None,
        g => {
            if let Err(e) = check_code(g) {
                v.add("outlet.group", format!("a group code {e}"));
            }
            Some(g.to_owned())
        }
    };
    let region = o.region.trim().to_owned();
    if let Err(e) = check_code(&region) {
        v.add("outlet.region", format!("required, a region code {e}"));
    }
    let address = address(&mut v, o.address.as_ref());
    let location = match &o.location {
        Some(p) => point(&mut v, "outlet.location", p),
        None => {
            v.add("outlet.location", "required: latitude and longitude");
            None
        }
    };
    let capabilities = capabilities(&mut v, &o.capabilities);
    let brands = brands(&mut v, &o.brands);
    let phone = text(&mut v, "outlet.phone", &o.phone, 32, false);
    let offset_minutes = o.utc_offset_minutes.unwrap_or(DEFAULT_UTC_OFFSET_MINUTES);
    let offset = FixedOffset::east_opt(offset_minutes * 60).filter(|_| offset_minutes % 15 == 0);
    if offset.is_none() {
        v.add(
            "outlet.utc_offset_minutes",
            "must be a multiple of 15 from -840 to 840",
        );
    }
    let hours = weekly_hours(&mut v, &o.opening_hours);
    let needs_hours = capabilities
        .iter()
        .any(|c| matches!(c, Capability::Sales | Capability::Service));
    if hours.as_ref().is_some_and(WeeklyHours::is_empty) && needs_hours {
        v.add(
            "outlet.opening_hours",
            "required for SALES and SERVICE outlets: lead deadlines count their open time",
        );
    }
    if o.closed_dates.len() > MAX_CLOSED_DATES {
        v.add("outlet.closed_dates", format!("at most {MAX_CLOSED_DATES}"));
    }
    let mut closed = BTreeSet::new();
    for (i, d) in o.closed_dates.iter().enumerate() {
        match date_from(d) {
            Some(d) => {
                closed.insert(d);
            }
            None => v.add(format!("outlet.closed_dates[{i}]"), "not a calendar date"),
        }
    }
    // Each is None only with a violation recorded above.
    let (Some(location), Some(offset), Some(hours)) = (location, offset, hours) else {
        return Err(v);
    };
    v.into_result()?;
    Ok(Outlet {
        code,
        display_name,
        group,
        region,
        address,
        location,
        capabilities,
        brands,
        phone,
        calendar: Calendar {
            offset,
            hours,
            closed,
        },
        status: Status::Active,
        status_reason: String::new(),
        status_time: now,
        version: 1,
        create_time: now,
        update_time: now,
    })
}

/// Checks an update mask against `allowed`: non-empty, known paths only.
pub(super) fn check_mask(paths: &[String]) -> Result<(), FieldViolations> {
    let mut v = FieldViolations::new();
    if paths.is_empty() {
        v.add(
            "update_mask",
            format!(
                "required: name the fields to change, from {}",
                UPDATABLE.join(", ")
            ),
        );
    }
    for (i, path) in paths.iter().enumerate() {
        if !UPDATABLE.contains(&path.as_str()) {
            v.add(
                format!("update_mask.paths[{i}]"),
                format!("'{path}' is not an updatable field"),
            );
        }
    }
    v.into_result()
}

/// The current outlet with the masked fields of `input` applied, validated as a whole.
pub(super) fn apply_mask(
    current: &Outlet,
    input: &pb::Outlet,
    paths: &[String],
    now: DateTime<Utc>,
) -> Result<Outlet, FieldViolations> {
    let mut merged = outlet_to_proto(current);
    for path in paths {
        match path.as_str() {
            "display_name" => merged.display_name = input.display_name.clone(),
            "group" => merged.group = input.group.clone(),
            "region" => merged.region = input.region.clone(),
            "address" => merged.address = input.address.clone(),
            "location" => merged.location = input.location,
            "capabilities" => merged.capabilities = input.capabilities.clone(),
            "brands" => merged.brands = input.brands.clone(),
            "phone" => merged.phone = input.phone.clone(),
            "utc_offset_minutes" => merged.utc_offset_minutes = input.utc_offset_minutes,
            "opening_hours" => merged.opening_hours = input.opening_hours.clone(),
            "closed_dates" => merged.closed_dates = input.closed_dates.clone(),
            _ => {}
        }
    }
    let parsed = outlet_from_proto(&merged, now)?;
    Ok(Outlet {
        status: current.status,
        status_reason: current.status_reason.clone(),
        status_time: current.status_time,
        version: current.version + 1,
        create_time: current.create_time,
        update_time: now,
        ..parsed
    })
}
