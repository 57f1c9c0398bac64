//! CreateRelationship, ListRelationships, DeleteRelationship.

use chrono::{Datelike, NaiveDate};
use dealernet_kit::{error::FieldViolations, idempotency::IdempotencyKey};
use dealernet_proto::{customers::v1 as pb, types::v1 as types};
use uuid::Uuid;

use super::{
    Caller, Result,
    convert::{parse_name, resource_name, timestamp},
    remember, replay,
};
use crate::{
    Error, Service,
    domain::{
        Kind,
        relationship::{Relationship, RelationshipType},
    },
    store,
};

fn type_from_proto(v: i32) -> Option<RelationshipType> {
    match pb::RelationshipType::try_from(v).ok()? {
        pb::RelationshipType::Unspecified => None,
        pb::RelationshipType::HouseholdMember => Some(RelationshipType::HouseholdMember),
        pb::RelationshipType::Spouse => Some(RelationshipType::Spouse),
        pb::RelationshipType::Employer => Some(RelationshipType::Employer),
        pb::RelationshipType::FleetManager => Some(RelationshipType::FleetManager),
    }
}

fn type_to_proto(t: RelationshipType) -> pb::RelationshipType {
    match t {
        RelationshipType::HouseholdMember => pb::RelationshipType::HouseholdMember,
        RelationshipType::Spouse => pb::RelationshipType::Spouse,
        RelationshipType::Employer => pb::RelationshipType::Employer,
        RelationshipType::FleetManager => pb::RelationshipType::FleetManager,
    }
}

fn date_from_proto(d: Option<&types::Date>) -> std::result::Result<Option<NaiveDate>, String> {
    match d {
        None => Ok(None),
        Some(d) if *d == types::Date::default() => Ok(None),
        Some(d) => NaiveDate::from_ymd_opt(d.year, d.month.max(0) as u32, d.day.max(0) as u32)
            .map(Some)
            .ok_or_else(|| format!("{}-{}-{} is not a calendar date", d.year, d.month, d.day)),
    }
}

fn date_to_proto(d: NaiveDate) -> types::Date {
    types::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

fn relationship_name(r: &Relationship) -> String {
    format!("{}/relationships/{}", resource_name(r.customer_id), r.id)
}

fn to_proto(r: &Relationship) -> pb::Relationship {
    pb::Relationship {
        name: relationship_name(r),
        related_customer: resource_name(r.related_id),
        r#type: type_to_proto(r.kind) as i32,
        valid_from: r.valid_from.map(date_to_proto),
        valid_to: r.valid_to.map(date_to_proto),
        recorded_by: r.recorded_by.clone(),
        create_time: Some(timestamp(r.create_time)),
    }
}

/// Parses `customers/{c}/relationships/{id}`.
fn parse_relationship_name(name: &str) -> std::result::Result<(Uuid, Uuid), FieldViolations> {
    name.split_once("/relationships/")
        .and_then(|(parent, id)| {
            Some((parse_name(parent, "name").ok()?, Uuid::parse_str(id).ok()?))
        })
        .ok_or_else(|| {
            FieldViolations::one(
                "name",
                format!("'{name}' is not customers/{{uuid}}/relationships/{{uuid}}"),
            )
        })
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Person => "a person",
        Kind::Organization => "an organisation",
    }
}

impl Service {
    pub(super) async fn create_relationship(
        &self,
        caller: &Caller,
        req: pb::CreateRelationshipRequest,
    ) -> Result<pb::CreateRelationshipResponse> {
        let principal = &caller.principal;
        let key = IdempotencyKey::new(principal, "CreateRelationship", &req.request_id, &req)?;
        let mut v = FieldViolations::new();
        let subject = parse_name(&req.parent, "parent")
            .map_err(|e| v.append(e))
            .ok();
        let input = req.relationship.clone().unwrap_or_default();
        if req.relationship.is_none() {
            v.add("relationship", "required");
        }
        let related = parse_name(&input.related_customer, "relationship.related_customer")
            .map_err(|e| v.append(e))
            .ok();
        let kind = type_from_proto(input.r#type);
        if kind.is_none() && req.relationship.is_some() {
            v.add(
                "relationship.type",
                "required: one of the RELATIONSHIP_TYPE_* values",
            );
        }
        let valid_from = date_from_proto(input.valid_from.as_ref())
            .map_err(|e| v.add("relationship.valid_from", e))
            .unwrap_or(None);
        let valid_to = date_from_proto(input.valid_to.as_ref())
            .map_err(|e| v.add("relationship.valid_to", e))
            .unwrap_or(None);
        if let (Some(from), Some(to)) = (valid_from, valid_to)
            && from > to
        {
            v.add("relationship.valid_to", "must not be before valid_from");
        }
        if subject.is_some() && subject == related {
            v.add(
                "relationship.related_customer",
                "a customer cannot be related to itself",
            );
        }
        let (Some(subject), Some(related), Some(kind)) = (subject, related, kind) else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;

        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        let (want_subject, want_related) = kind.parties();
        for (id, field, want) in [
            (subject, "parent", want_subject),
            (related, "relationship.related_customer", want_related),
        ] {
            let customer = super::active_customer(&mut tx, id, false).await?;
            self.require_access(&mut tx, principal, id).await?;
            if customer.profile.kind != want {
                return Err(FieldViolations::one(
                    field,
                    format!(
                        "a {} relationship needs {} here",
                        kind.as_str().to_lowercase(),
                        kind_name(want)
                    ),
                )
                .into());
            }
        }
        let relationship = Relationship {
            id: Uuid::now_v7(),
            customer_id: subject,
            related_id: related,
            kind,
            valid_from,
            valid_to,
            recorded_by: principal.organization().to_owned(),
            create_time: store::now(),
        };
        store::relationship::insert(&mut tx, &relationship).await?;
        let response = pb::CreateRelationshipResponse {
            relationship: Some(to_proto(&relationship)),
        };
        remember(&mut tx, key.as_ref(), &response, &resource_name(subject)).await?;
        tx.commit().await?;
        Ok(response)
    }

    pub(super) async fn list_relationships(
        &self,
        caller: &Caller,
        req: pb::ListRelationshipsRequest,
    ) -> Result<pb::ListRelationshipsResponse> {
        let mut conn = self.pool.acquire().await?;
        let page = self
            .child_page::<Uuid>(
                &mut conn,
                caller,
                &req.parent,
                req.page_size,
                &req.page_token,
            )
            .await?;
        let mut relationships =
            store::relationship::list(&mut conn, page.parent, page.after, page.size + 1).await?;
        let next_page_token =
            self.finish_page(&mut relationships, page.size, &req.parent, |r| r.id);
        Ok(pb::ListRelationshipsResponse {
            relationships: relationships.iter().map(to_proto).collect(),
            next_page_token,
        })
    }

    pub(super) async fn delete_relationship(
        &self,
        caller: &Caller,
        req: pb::DeleteRelationshipRequest,
    ) -> Result<pb::DeleteRelationshipResponse> {
        let principal = &caller.principal;
        let key = IdempotencyKey::new(principal, "DeleteRelationship", &req.request_id, &req)?;
        let (subject, id) = parse_relationship_name(&req.name)?;
        let mut tx = self.pool.begin().await?;
        if let Some(done) = replay(&mut tx, key.as_ref()).await? {
            return Ok(done);
        }
        self.require_access(&mut tx, principal, subject).await?;
        if !store::relationship::delete(&mut tx, subject, id).await? {
            return Err(Error::RelationshipNotFound(req.name.clone()));
        }
        let response = pb::DeleteRelationshipResponse {};
        remember(&mut tx, key.as_ref(), &response, &resource_name(subject)).await?;
        tx.commit().await?;
        Ok(response)
    }
}
