//! Checking the fields of repair-order requests: texts, money in the order's currency,
//! hours, and a whole line.

use dealernet_kit::error::FieldViolations;
use dealernet_proto::vehicles::v1 as pb;

use super::vehicle::short_text;
use crate::domain::repair::{Item, Line, PayType};

pub(super) const MAX_KM: i64 = 5_000_000;
pub(super) const MAX_TEXT: usize = 2_000;
const MAX_HUNDREDTHS: f64 = 10_000.0;
const MAX_QUANTITY: i32 = 1_000;

/// Free text of at most `max` characters, no control characters but line breaks.
pub(super) fn long_text(
    v: &mut FieldViolations,
    field: &str,
    value: &str,
    required: bool,
    max: usize,
) -> String {
    let t = value.trim();
    if required && t.is_empty() {
        v.add(field, "required");
    } else if t.chars().count() > max {
        v.add(field, format!("at most {max} characters"));
    } else if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        v.add(field, "must not contain control characters");
    }
    t.to_owned()
}

/// An optional code of at most 40 printable characters.
fn optional_code(v: &mut FieldViolations, field: &str, value: &str) -> String {
    let t = value.trim();
    if t.chars().count() > 40 || t.chars().any(char::is_control) {
        v.add(field, "at most 40 printable characters");
    }
    t.to_owned()
}

pub(super) fn currency(v: &mut FieldViolations, field: &str, code: &str) -> String {
    let code = if code.is_empty() { "CNY" } else { code };
    if !(code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())) {
        v.add(field, "must be an ISO 4217 code such as CNY");
    }
    code.to_owned()
}

/// A price in the order's currency (an empty currency means the order's), not negative.
fn price(
    v: &mut FieldViolations,
    field: &str,
    money: Option<&dealernet_proto::types::v1::Money>,
    order_currency: &str,
) -> i64 {
    let Some(money) = money else {
        v.add(field, "required");
        return 0;
    };
    if !money.currency_code.is_empty() && money.currency_code != order_currency {
        v.add(
            format!("{field}.currency_code"),
            format!("must be the order's currency {order_currency}"),
        );
    }
    if money.minor_units < 0 {
        v.add(format!("{field}.minor_units"), "must not be negative");
    }
    money.minor_units
}

/// Hours as hundredths: 0.01..100 in steps of 0.01.
fn hundredths(v: &mut FieldViolations, field: &str, hours: f64) -> i32 {
    let h = hours * 100.0;
    let rounded = h.round();
    if !(h.is_finite() && (1.0..=MAX_HUNDREDTHS).contains(&rounded) && (h - rounded).abs() < 1e-6) {
        v.add(field, "must be 0.01 to 100 hours in steps of 0.01");
        return 0;
    }
    rounded as i32
}

/// The line of a request, checked for shape; the order's currency prices it.
pub(super) fn parse_line(
    v: &mut FieldViolations,
    line: &pb::RepairOrderLine,
    order_currency: &str,
) -> Option<Line> {
    let item = match &line.item {
        Some(pb::repair_order_line::Item::Labour(l)) => Item::Labour {
            operation_code: short_text(v, "line.labour.operation_code", &l.operation_code),
            hundredths: hundredths(v, "line.labour.hours", l.hours),
            technician: short_text(v, "line.labour.technician", &l.technician),
            rate_minor: price(
                v,
                "line.labour.hourly_rate",
                l.hourly_rate.as_ref(),
                order_currency,
            ),
        },
        Some(pb::repair_order_line::Item::Part(p)) => {
            if !(1..=MAX_QUANTITY).contains(&p.quantity) {
                v.add("line.part.quantity", format!("must be 1 to {MAX_QUANTITY}"));
            }
            Item::Part {
                part_number: short_text(v, "line.part.part_number", &p.part_number),
                batch: optional_code(v, "line.part.batch", &p.batch),
                serial: optional_code(v, "line.part.serial", &p.serial),
                quantity: p.quantity,
                unit_minor: price(
                    v,
                    "line.part.unit_price",
                    p.unit_price.as_ref(),
                    order_currency,
                ),
            }
        }
        None => {
            v.add("line.item", "required: labour or part");
            return None;
        }
    };
    let pay_type = match pb::PayType::try_from(line.pay_type) {
        Ok(pb::PayType::Customer) => Some(PayType::Customer),
        Ok(pb::PayType::Warranty) => Some(PayType::Warranty),
        Ok(pb::PayType::Goodwill) => Some(PayType::Goodwill),
        Ok(pb::PayType::Recall) => Some(PayType::Recall),
        _ => {
            v.add("line.pay_type", "required: one of the PAY_TYPE_* values");
            None
        }
    };
    let recall_campaign = match (pay_type, line.recall_campaign.as_str()) {
        (Some(PayType::Recall), "") => {
            v.add("line.recall_campaign", "required for a recall line");
            None
        }
        (Some(PayType::Recall), name) => match name.strip_prefix("recallCampaigns/") {
            Some(code) if !code.is_empty() => Some(code.to_owned()),
            _ => {
                v.add(
                    "line.recall_campaign",
                    format!("'{name}' is not a campaign name (recallCampaigns/{{code}})"),
                );
                None
            }
        },
        (_, "") => None,
        (_, _) => {
            v.add("line.recall_campaign", "only for PAY_TYPE_RECALL lines");
            None
        }
    };
    let fault_code = optional_code(v, "line.fault_code", &line.fault_code);
    let description = long_text(v, "line.description", &line.description, false, 500);
    let amount_minor = item.amount_minor().unwrap_or_else(|| {
        v.add("line", "the amount is too large");
        0
    });
    Some(Line {
        number: 0,
        item,
        pay_type: pay_type?,
        fault_code,
        description,
        recall_campaign,
        amount_minor,
    })
}
