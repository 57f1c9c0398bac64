//! SetConsent, ListConsents, CheckContactPermission.

use chrono::{DateTime, TimeDelta, Utc};
use dealernet_kit::{error::FieldViolations, idempotency::IdempotencyKey};
use dealernet_proto::customers::v1 as pb;
use uuid::Uuid;

use super::{
    Caller, Result,
    convert::{
        from_timestamp, parse_name, resource_name, source_channel_from_proto,
        source_channel_to_proto, timestamp,
    },
    remember, replay,
};
use crate::{
    Error, Service,
    domain::{
        Channel, Consent, Purpose, State,
        consent::{Decision, Status, decide},
    },
    store,
};

/// Clock skew tolerated on client-supplied capture times.
const MAX_FUTURE_SKEW: TimeDelta = TimeDelta::minutes(5);
/// A merge chain longer than this is corrupt data, not a real history.
const MAX_MERGE_HOPS: usize = 16;

fn channel_from_proto(v: i32) -> Option<Channel> {
    match pb::ContactChannel::try_from(v).ok()? {
        pb::ContactChannel::Unspecified => None,
        pb::ContactChannel::Phone => Some(Channel::Phone),
        pb::ContactChannel::Sms => Some(Channel::Sms),
        pb::ContactChannel::Email => Some(Channel::Email),
        pb::ContactChannel::Mail => Some(Channel::Mail),
        pb::ContactChannel::App => Some(Channel::App),
    }
}

fn channel_to_proto(c: Channel) -> pb::ContactChannel {
    match c {
        Channel::Phone => pb::ContactChannel::Phone,
        Channel::Sms => pb::ContactChannel::Sms,
        Channel::Email => pb::ContactChannel::Email,
        Channel::Mail => pb::ContactChannel::Mail,
        Channel::App => pb::ContactChannel::App,
    }
}

fn purpose_from_proto(v: i32) -> Option<Purpose> {
    match pb::ConsentPurpose::try_from(v).ok()? {
        pb::ConsentPurpose::Unspecified => None,
        pb::ConsentPurpose::ServiceReminders => Some(Purpose::ServiceReminders),
        pb::ConsentPurpose::Marketing => Some(Purpose::Marketing),
        pb::ConsentPurpose::Surveys => Some(Purpose::Surveys),
        pb::ConsentPurpose::Research => Some(Purpose::Research),
    }
}

fn purpose_to_proto(p: Purpose) -> pb::ConsentPurpose {
    match p {
        Purpose::ServiceReminders => pb::ConsentPurpose::ServiceReminders,
        Purpose::Marketing => pb::ConsentPurpose::Marketing,
        Purpose::Surveys => pb::ConsentPurpose::Surveys,
        Purpose::Research => pb::ConsentPurpose::Research,
    }
}

fn status_from_proto(v: i32) -> Option<Status> {
    match pb::ConsentStatus::try_from(v).ok()? {
        pb::ConsentStatus::Unspecified => None,
        pb::ConsentStatus::Granted => Some(Status::Granted),
        pb::ConsentStatus::Denied => Some(Status::Denied),
        pb::ConsentStatus::Withdrawn => Some(Status::Withdrawn),
    }
}

fn status_to_proto(s: Status) -> pb::ConsentStatus {
    match s {
        Status::Granted => pb::ConsentStatus::Granted,
        Status::Denied => pb::ConsentStatus::Denied,
        Status::Withdrawn => pb::ConsentStatus::Withdrawn,
    }
}

/// Renders a stored consent.
pub fn consent_to_proto(c: &Consent) -> pb::Consent {
    pb::Consent {
        name: format!(
            "{}/consents/{}.{}",
            resource_name(c.customer_id),
            c.channel.as_str(),
            c.purpose.as_str()
        ),
        channel: channel_to_proto(c.channel) as i32,
        purpose: purpose_to_proto(c.purpose) as i32,
        status: status_to_proto(c.status) as i32,
        capture_source: source_channel_to_proto(c.capture_source) as i32,
        capture_time: Some(timestamp(c.capture_time)),
        valid_until: c.valid_until.map(timestamp),
        recorded_by: c.recorded_by.clone(),
        update_time: Some(timestamp(c.update_time)),
    }
}

/// Parses a client's consent for `customer`, reporting every invalid field under `consent.`.
fn consent_from_proto(
    input: &pb::Consent,
    customer: Uuid,
    organization: &str,
    now: DateTime<Utc>,
) -> Result<Consent> {
    let mut v = FieldViolations::new();
    let channel = channel_from_proto(input.channel);
    if channel.is_none() {
        v.add(
            "consent.channel",
            "required: one of the CONTACT_CHANNEL_* values",
        );
    }
    let purpose = purpose_from_proto(input.purpose);
    if purpose.is_none() {
        v.add(
            "consent.purpose",
            "required: one of the CONSENT_PURPOSE_* values",
        );
    }
    let status = status_from_proto(input.status);
    if status.is_none() {
        v.add(
            "consent.status",
            "required: one of the CONSENT_STATUS_* values",
        );
    }
    let capture_source = source_channel_from_proto(input.capture_source);
    if capture_source.is_none() {
        v.add(
            "consent.capture_source",
            "required: one of the SOURCE_CHANNEL_* values",
        );
    }
    let mut time = |field: &str, t: Option<&prost_types::Timestamp>| {
        t.map(|t| from_timestamp(t).map_err(|e| v.add(field, e)).ok())
            .unwrap_or(None)
    };
    let capture_time = time("consent.capture_time", input.capture_time.as_ref()).unwrap_or(now);
    let valid_until = time("consent.valid_until", input.valid_until.as_ref());
    if capture_time > now + MAX_FUTURE_SKEW {
        v.add("consent.capture_time", "must not be in the future");
    }
    if valid_until.is_some_and(|until| until <= capture_time) {
        v.add("consent.valid_until", "must be after capture_time");
    }
    let (Some(channel), Some(purpose), Some(status), Some(capture_source)) =
        (channel, purpose, status, capture_source)
    else {
        return Err(Error::InvalidArgument(v));
    };
    v.into_result()?;
    Ok(Consent {
        customer_id: customer,
        channel,
        purpose,
        status,
        capture_source,
        capture_time,
        valid_until,
        recorded_by: organization.to_owned(),
        update_time: now,
    })
}

impl Service {
    pub(super) async fn set_consent(
        &self,
        caller: &Caller,
        req: pb::SetConsentRequest,
    ) -> Result<pb::SetConsentResponse> {
        let principal = &caller.principal;
        let key = IdempotencyKey::new(principal, "SetConsent", &req.request_id, &req)?;
        let id = parse_name(&req.parent, "parent")?;
        let input = req
            .consent
            .as_ref()
            .ok_or_else(|| FieldViolations::one("consent", "required"))?;
        let consent = consent_from_proto(input, id, principal.organization(), store::now())?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        // Lock the customer so that an erasure cannot interleave with a new grant.
        let _customer = super::active_customer(&mut tx, id, true).await?;
        self.require_access(&mut tx, principal, id).await?;
        store::consent::record(&mut tx, &consent, principal.subject()).await?;
        let response = pb::SetConsentResponse {
            consent: Some(consent_to_proto(&consent)),
        };
        remember(&mut tx, key.as_ref(), &response, &req.parent).await?;
        tx.commit().await?;
        Ok(response)
    }

    pub(super) async fn list_consents(
        &self,
        caller: &Caller,
        req: pb::ListConsentsRequest,
    ) -> Result<pb::ListConsentsResponse> {
        let mut conn = self.pool.acquire().await?;
        let page = self
            .child_page::<(String, String)>(
                &mut conn,
                caller,
                &req.parent,
                req.page_size,
                &req.page_token,
            )
            .await?;
        let mut consents =
            store::consent::list(&mut conn, page.parent, page.after, page.size + 1).await?;
        let next_page_token = self.finish_page(&mut consents, page.size, &req.parent, |c| {
            (c.channel.as_str().to_owned(), c.purpose.as_str().to_owned())
        });
        Ok(pb::ListConsentsResponse {
            consents: consents.iter().map(consent_to_proto).collect(),
            next_page_token,
        })
    }

    pub(super) async fn check_contact_permission(
        &self,
        _caller: &Caller,
        req: pb::CheckContactPermissionRequest,
    ) -> Result<pb::CheckContactPermissionResponse> {
        let mut v = FieldViolations::new();
        let id = parse_name(&req.name, "name").map_err(|e| v.append(e)).ok();
        let channel = channel_from_proto(req.channel);
        if channel.is_none() {
            v.add("channel", "required: one of the CONTACT_CHANNEL_* values");
        }
        let purpose = purpose_from_proto(req.purpose);
        if purpose.is_none() {
            v.add("purpose", "required: one of the CONSENT_PURPOSE_* values");
        }
        let at = match req.at.as_ref().map(from_timestamp) {
            None => store::now(),
            Some(Ok(at)) => at,
            Some(Err(e)) => {
                v.add("at", e);
                store::now()
            }
        };
        let (Some(mut id), Some(channel), Some(purpose)) = (id, channel, purpose) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        // A merged-away customer's answers were united into the survivor's.
        let mut customer = store::load(&mut conn, id, false)
            .await?
            .ok_or_else(|| Error::NotFound(req.name.clone()))?;
        for _ in 0..MAX_MERGE_HOPS {
            match (customer.state, customer.merged_into) {
                (State::Merged, Some(survivor)) => {
                    id = survivor;
                    customer = store::load(&mut conn, id, false)
                        .await?
                        .ok_or_else(|| Error::NotFound(resource_name(id)))?;
                }
                _ => break,
            }
        }
        let (decision, consent) = if customer.state == State::Erased {
            (Decision::CustomerErased, None)
        } else {
            let consent = store::consent::get(&mut conn, id, channel, purpose).await?;
            (decide(consent.as_ref(), at), consent)
        };
        Ok(pb::CheckContactPermissionResponse {
            allowed: decision.allowed(),
            reason: decision.reason().to_owned(),
            consent: consent.as_ref().map(consent_to_proto),
        })
    }
}
