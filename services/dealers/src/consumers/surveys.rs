//! The call center's survey answers as scorecard figures: per rated outlet and local day
//! of the answer, the number of answers and the sum of their satisfaction (so that a
//! period's mean is exact).

use dealernet_kit::events::{Apply, ApplyError};
use dealernet_proto::callcenter::v1::{self as pb, call_center_service_event::Kind};
use sqlx::PgConnection;

use super::{DayFigures, add_to_day, id_in, outlet_day, poison, required_time};

/// Applies SurveyCompleted.
#[derive(Debug, Clone, Copy, Default)]
pub struct SurveyFacts;

async fn answered(conn: &mut PgConnection, s: &pb::SurveyCompleted) -> Result<(), ApplyError> {
    id_in(&s.survey_response, "surveyResponses/", "survey_response")?;
    if s.outlet.is_empty() {
        // Rates no outlet: nothing for a scorecard.
        return Ok(());
    }
    if !(1..=5).contains(&s.satisfaction) {
        return Err(poison(format!(
            "satisfaction {} is not 1..5",
            s.satisfaction
        )));
    }
    let at = required_time(s.answer_time.as_ref(), "answer_time")?;
    let day = outlet_day(conn, &s.outlet, at).await?;
    let new = sqlx::query(
        "INSERT INTO survey_fact (survey_response, outlet_code, day, satisfaction) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(&s.survey_response)
    .bind(&s.outlet)
    .bind(day)
    .bind(s.satisfaction as i16)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if new > 0 {
        let f = DayFigures {
            surveys: 1,
            satisfaction_sum: i64::from(s.satisfaction),
            ..Default::default()
        };
        add_to_day(conn, &s.outlet, day, f).await?;
    }
    Ok(())
}

impl Apply for SurveyFacts {
    type Delivery = pb::StreamEventsResponse;

    fn event_types(&self) -> &'static [&'static str] {
        &["SurveyCompleted"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        delivery: &pb::StreamEventsResponse,
    ) -> Result<(), ApplyError> {
        match delivery.event.as_ref().and_then(|e| e.kind.as_ref()) {
            Some(Kind::SurveyCompleted(s)) => answered(conn, s).await,
            Some(Kind::CaseOpened(_)) => Ok(()),
            None => Err(poison("the event has no payload".to_owned())),
        }
    }
}
