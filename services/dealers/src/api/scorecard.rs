//! Scorecards: lead figures per outlet and period, and the sales, satisfaction, repair
//! and recall figures the event consumers keep (`crate::consumers`). A figure with
//! nothing to average is left unset rather than reported as zero.

use chrono::{NaiveDate, TimeDelta};
use dealernet_kit::{auth::Principal, error::FieldViolations, paging::PageSize};
use dealernet_proto::{dealers::v1 as pb, types::v1 as types};
use prost::Message;

use super::{
    Caller, Result,
    convert::{date, optional, outlet_code, required_date},
    next_page, not_your_outlet, require_head_office,
};
use crate::{Error, Service, domain::scorecard::recall_completion, store};

const MAX_PERIOD_DAYS: i64 = 366;

pub(super) fn period(
    v: &mut FieldViolations,
    start: Option<&types::Date>,
    end: Option<&types::Date>,
) -> Option<(NaiveDate, NaiveDate)> {
    let first = required_date(v, "start_date", start);
    let last = required_date(v, "end_date", end);
    let (first, last) = (first?, last?);
    if last < first {
        v.add("end_date", "must not be before start_date");
    } else if last - first >= TimeDelta::days(MAX_PERIOD_DAYS) {
        v.add(
            "end_date",
            format!("at most {MAX_PERIOD_DAYS} days after start_date"),
        );
    }
    Some((first, last))
}

/// The scorecard of one outlet from its lead and event figures (same outlet).
fn scorecard(
    f: &store::scorecard::LeadFigures,
    e: &store::scorecard::EventFigures,
    first: NaiveDate,
    last: NaiveDate,
) -> pb::Scorecard {
    let seconds = |s: f64| prost_types::Duration {
        seconds: s.trunc() as i64,
        nanos: (s.fract() * 1e9) as i32,
    };
    pb::Scorecard {
        outlet: f.outlet.clone(),
        start_date: Some(date(first)),
        end_date: Some(date(last)),
        leads_received: f.received,
        leads_contacted: f.contacted,
        median_time_to_first_contact: f.median_contact_secs.map(seconds),
        leads_won: f.won,
        leads_lost: f.lost,
        conversion_rate: (f.received > 0).then(|| f.won as f64 / f.received as f64),
        rerouted_away: f.rerouted_away,
        vehicles_sold: Some(e.vehicles_sold),
        satisfaction_score: (e.surveys > 0).then(|| e.satisfaction_sum as f64 / e.surveys as f64),
        median_repair_turnaround: e.median_turnaround_secs.map(seconds),
        recall_completion_rate: recall_completion(e.recall_remedies, e.recall_answerable),
    }
}

/// The scorecards of `codes` (unknown codes left out), by outlet code.
pub(super) async fn scorecards(
    conn: &mut sqlx::PgConnection,
    codes: &[String],
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<pb::Scorecard>> {
    let leads = store::scorecard::lead_figures(conn, codes, first, last).await?;
    let events = store::scorecard::event_figures(conn, codes, first, last).await?;
    Ok(leads
        .iter()
        .filter_map(|f| {
            let e = events.iter().find(|e| e.outlet == f.outlet)?;
            Some(scorecard(f, e, first, last))
        })
        .collect())
}

impl Service {
    pub(super) async fn get_outlet_scorecard(
        &self,
        principal: &Principal,
        req: pb::GetOutletScorecardRequest,
    ) -> Result<pb::GetOutletScorecardResponse> {
        let mut v = FieldViolations::new();
        let outlet = outlet_code(&mut v, "outlet", &req.outlet);
        let period = period(&mut v, req.start_date.as_ref(), req.end_date.as_ref());
        let Some((first, last)) = period else {
            return Err(v.into());
        };
        v.into_result()?;
        let caller = Caller::of(principal);
        if !(caller == Caller::System || caller.manages(&outlet)) {
            return Err(not_your_outlet(principal, &outlet));
        }
        let mut conn = self.pool.acquire().await?;
        let card = scorecards(&mut conn, std::slice::from_ref(&outlet), first, last)
            .await?
            .pop()
            .ok_or_else(|| Error::outlet_not_found(&outlet))?;
        Ok(pb::GetOutletScorecardResponse {
            scorecard: Some(card),
        })
    }

    pub(super) async fn list_outlet_scorecards(
        &self,
        principal: &Principal,
        req: pb::ListOutletScorecardsRequest,
    ) -> Result<pb::ListOutletScorecardsResponse> {
        require_head_office(principal, "listing every outlet's scorecard")?;
        let mut v = FieldViolations::new();
        let period = period(&mut v, req.start_date.as_ref(), req.end_date.as_ref());
        let size = PageSize::STANDARD
            .resolve(req.page_size)
            .map_err(|e| v.append(e))
            .unwrap_or(0);
        let bound = pb::ListOutletScorecardsRequest {
            page_size: 0,
            page_token: String::new(),
            ..req.clone()
        }
        .encode_to_vec();
        let after = self
            .page_tokens
            .open::<String>(&req.page_token, &bound)
            .map_err(|e| v.append(e.violation()))
            .unwrap_or(None);
        let Some((first, last)) = period else {
            return Err(v.into());
        };
        v.into_result()?;
        let filter = store::outlet::Filter {
            region: optional(&req.region),
            province: optional(&req.province),
            ..Default::default()
        };
        let mut conn = self.pool.acquire().await?;
        let mut outlets = store::outlet::list_outlets(
            &mut conn,
            &filter,
            after.as_deref().unwrap_or(""),
            size + 1,
        )
        .await?;
        let next_page_token = next_page(&self.page_tokens, &mut outlets, size, &bound, |o| {
            o.code.clone()
        });
        let codes: Vec<String> = outlets.into_iter().map(|o| o.code).collect();
        Ok(pb::ListOutletScorecardsResponse {
            scorecards: scorecards(&mut conn, &codes, first, last).await?,
            next_page_token,
        })
    }
}
