//! RankOutletScorecards: outlets ordered by one scorecard figure for a period (HQ). The
//! figure of every outlet in the filter is read in one grouped statement from the
//! aggregates the event consumers keep, ranked here, and the page's outlets get their
//! whole scorecards.

use dealernet_kit::{auth::Principal, error::FieldViolations, paging::PageSize};
use dealernet_proto::dealers::v1 as pb;
use prost::Message;

use super::{
    Result,
    convert::optional,
    require_head_office,
    scorecard::{period, scorecards},
};
use crate::{
    Service,
    domain::scorecard::{Metric, after, rank},
    store,
};

fn metric(v: &mut FieldViolations, m: i32) -> Option<Metric> {
    match pb::ScorecardMetric::try_from(m) {
        Ok(pb::ScorecardMetric::Sales) => Some(Metric::Sales),
        Ok(pb::ScorecardMetric::Conversion) => Some(Metric::Conversion),
        Ok(pb::ScorecardMetric::Satisfaction) => Some(Metric::Satisfaction),
        Ok(pb::ScorecardMetric::RepairTurnaround) => Some(Metric::RepairTurnaround),
        Ok(pb::ScorecardMetric::RecallCompletion) => Some(Metric::RecallCompletion),
        Ok(pb::ScorecardMetric::Unspecified) | Err(_) => {
            v.add("metric", "required: a SCORECARD_METRIC_* value");
            None
        }
    }
}

impl Service {
    pub(super) async fn rank_outlet_scorecards(
        &self,
        principal: &Principal,
        req: pb::RankOutletScorecardsRequest,
    ) -> Result<pb::RankOutletScorecardsResponse> {
        require_head_office(principal, "ranking outlets")?;
        let mut v = FieldViolations::new();
        let period = period(&mut v, req.start_date.as_ref(), req.end_date.as_ref());
        let metric = metric(&mut v, req.metric);
        let size = PageSize::STANDARD
            .resolve(req.page_size)
            .map_err(|e| v.append(e))
            .unwrap_or(0);
        let bound = pb::RankOutletScorecardsRequest {
            page_size: 0,
            page_token: String::new(),
            ..req.clone()
        }
        .encode_to_vec();
        // The last entry of the previous page: (figure, outlet code).
        let last_seen = self
            .page_tokens
            .open::<(f64, String)>(&req.page_token, &bound)
            .map_err(|e| v.append(e.violation()))
            .unwrap_or(None);
        let (Some((first, last)), Some(metric)) = (period, metric) else {
            return Err(v.into());
        };
        v.into_result()?;
        let (region, province) = (optional(&req.region), optional(&req.province));
        let mut conn = self.pool.acquire().await?;
        let figures = store::ranking::figures(
            &mut conn,
            metric,
            (first, last),
            region.as_deref(),
            province.as_deref(),
        )
        .await?;
        let ranked = rank(metric, figures);
        let rest = after(
            metric,
            &ranked,
            last_seen
                .as_ref()
                .map(|(value, code)| (*value, code.as_str())),
        );
        let page = &rest[..rest.len().min(size)];
        let next_page_token = match page.last() {
            Some(l) if rest.len() > size => {
                self.page_tokens.seal(&(l.value, l.outlet.clone()), &bound)
            }
            _ => String::new(),
        };
        let codes: Vec<String> = page.iter().map(|r| r.outlet.clone()).collect();
        let mut cards = scorecards(&mut conn, &codes, first, last).await?;
        let ranked_page = page
            .iter()
            .filter_map(|r| {
                let at = cards.iter().position(|c| c.outlet == r.outlet)?;
                Some(pb::RankedScorecard {
                    rank: r.rank,
                    scorecard: Some(cards.swap_remove(at)),
                })
            })
            .collect();
        Ok(pb::RankOutletScorecardsResponse {
            ranked: ranked_page,
            total_ranked: ranked.len() as i64,
            next_page_token,
        })
    }
}
