//! What the call center publishes: opened cases (complaints among them) and survey
//! answers, each written with its change in the same transaction
//! (`dealernet_kit::events`), built from the answer the caller gets.

use dealernet_kit::{
    auth::Principal,
    events::{self, NewEvent},
};
use dealernet_proto::callcenter::v1 as pb;
use pb::call_center_service_event::Kind;
use sqlx::PgConnection;

/// The event types StreamEvents offers (the payload messages' names).
pub const EVENT_TYPES: &[&str] = &["CaseOpened", "SurveyCompleted"];

async fn publish(
    conn: &mut PgConnection,
    principal: &Principal,
    aggregate: (&'static str, String),
    event_type: &'static str,
    kind: Kind,
    outlet: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    let message = pb::CallCenterServiceEvent { kind: Some(kind) };
    let actor = format!("{}/{}", principal.organization(), principal.subject());
    let event = NewEvent::new(aggregate.0, aggregate.1, event_type, &message, actor, at)
        .about_outlets([outlet]);
    events::append(conn, &event).await?;
    Ok(())
}

fn time(t: Option<&prost_types::Timestamp>) -> chrono::DateTime<chrono::Utc> {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .unwrap_or_else(chrono::Utc::now)
}

/// A case just opened, as OpenCase answers it.
pub async fn case_opened(
    conn: &mut PgConnection,
    principal: &Principal,
    case: &pb::Case,
) -> Result<(), sqlx::Error> {
    let kind = Kind::CaseOpened(pb::CaseOpened {
        case: case.name.clone(),
        r#type: case.r#type,
        customer: case.customer.clone(),
        vehicle: case.vehicle.clone(),
        outlet: case.outlet.clone(),
        category: case.category.clone(),
        model: case.model.clone(),
        open_time: case.create_time,
    });
    let at = time(case.create_time.as_ref());
    let about = ("case", case.name.clone());
    publish(conn, principal, about, "CaseOpened", kind, &case.outlet, at).await
}

/// A survey answer just recorded, as SubmitSurveyResponse answers it.
pub async fn survey_completed(
    conn: &mut PgConnection,
    principal: &Principal,
    r: &pb::SurveyResponse,
) -> Result<(), sqlx::Error> {
    let kind = Kind::SurveyCompleted(pb::SurveyCompleted {
        survey_response: r.name.clone(),
        case: r.case.clone(),
        repair_order: r.repair_order.clone(),
        customer: r.customer.clone(),
        outlet: r.outlet.clone(),
        technician: r.technician.clone(),
        satisfaction: r.satisfaction,
        nps: r.nps,
        answer_time: r.create_time,
    });
    let at = time(r.create_time.as_ref());
    let about = ("surveyResponse", r.name.clone());
    publish(
        conn,
        principal,
        about,
        "SurveyCompleted",
        kind,
        &r.outlet,
        at,
    )
    .await
}
