//! Consent per contact channel × purpose, and the one rule that decides whether a customer
//! may be contacted.

use chrono::{DateTime, Utc};
use dealernet_kit::db_names;
use uuid::Uuid;

use super::SourceChannel;

/// How a customer may be contacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Channel {
    Phone,
    Sms,
    Email,
    Mail,
    App,
}

/// What a contact is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Purpose {
    ServiceReminders,
    Marketing,
    Surveys,
    Research,
}

/// The customer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Granted,
    Denied,
    Withdrawn,
}

db_names!(Channel { Phone => "phone", Sms => "sms", Email => "email", Mail => "mail", App => "app" });
db_names!(Purpose {
    ServiceReminders => "service_reminders",
    Marketing => "marketing",
    Surveys => "surveys",
    Research => "research",
});
db_names!(Status { Granted => "GRANTED", Denied => "DENIED", Withdrawn => "WITHDRAWN" });

/// The current answer of one customer for one channel and purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub customer_id: Uuid,
    pub channel: Channel,
    pub purpose: Purpose,
    pub status: Status,
    pub capture_source: SourceChannel,
    pub capture_time: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub recorded_by: String,
    pub update_time: DateTime<Utc>,
}

/// Whether a contact is allowed, and the stable reason why (or why not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Granted,
    NoConsent,
    Denied,
    Withdrawn,
    Expired,
    CustomerErased,
}

impl Decision {
    pub fn allowed(self) -> bool {
        self == Decision::Granted
    }

    pub fn reason(self) -> &'static str {
        match self {
            Decision::Granted => "CONSENT_GRANTED",
            Decision::NoConsent => "NO_CONSENT",
            Decision::Denied => "CONSENT_DENIED",
            Decision::Withdrawn => "CONSENT_WITHDRAWN",
            Decision::Expired => "CONSENT_EXPIRED",
            Decision::CustomerErased => "CUSTOMER_ERASED",
        }
    }
}

/// Contact is allowed only with a granted answer that was given by `at` and has not
/// lapsed by then; anything else — no answer, a refusal, a withdrawal — forbids it.
pub fn decide(consent: Option<&Consent>, at: DateTime<Utc>) -> Decision {
    match consent {
        None => Decision::NoConsent,
        Some(c) if c.capture_time > at => Decision::NoConsent,
        Some(c) => match c.status {
            Status::Denied => Decision::Denied,
            Status::Withdrawn => Decision::Withdrawn,
            Status::Granted if c.valid_until.is_some_and(|until| until <= at) => Decision::Expired,
            Status::Granted => Decision::Granted,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn consent(status: Status, valid_for: Option<TimeDelta>) -> Consent {
        let now = Utc::now();
        Consent {
            customer_id: Uuid::nil(),
            channel: Channel::Phone,
            purpose: Purpose::Surveys,
            status,
            capture_source: SourceChannel::Hotline,
            capture_time: now - TimeDelta::days(1),
            valid_until: valid_for.map(|d| now + d),
            recorded_by: "CALLCENTER".into(),
            update_time: now,
        }
    }

    #[test]
    fn only_a_current_grant_allows() {
        let now = Utc::now();
        let day = TimeDelta::days(1);
        let cases = [
            (None, now, Decision::NoConsent),
            (Some(consent(Status::Granted, None)), now, Decision::Granted),
            (
                Some(consent(Status::Granted, Some(day))),
                now,
                Decision::Granted,
            ),
            (
                Some(consent(Status::Granted, Some(day))),
                now + day * 2,
                Decision::Expired,
            ),
            (
                Some(consent(Status::Granted, None)),
                now - day * 2,
                Decision::NoConsent,
            ),
            (Some(consent(Status::Denied, None)), now, Decision::Denied),
            (
                Some(consent(Status::Withdrawn, None)),
                now,
                Decision::Withdrawn,
            ),
        ];
        for (c, at, want) in cases {
            assert_eq!(decide(c.as_ref(), at), want, "{c:?} at {at}");
            assert_eq!(want.allowed(), want == Decision::Granted);
        }
    }
}
