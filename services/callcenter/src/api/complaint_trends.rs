//! GetComplaintTrends: complaints by category × model × month, read from the counts the
//! case store keeps (`store::complaint_trend`), so the answer does not grow with the
//! number of cases.

use dealernet_kit::{
    auth::Principal,
    error::FieldViolations,
    months::{month_range, month_to_proto},
};
use dealernet_proto::callcenter::v1 as pb;

use super::{Result, case::model, code, require_head_office};
use crate::{Error, Service, store};

impl Service {
    pub(super) async fn get_complaint_trends(
        &self,
        principal: &Principal,
        req: pb::GetComplaintTrendsRequest,
    ) -> Result<pb::GetComplaintTrendsResponse> {
        require_head_office(principal, "complaint trends")?;
        let mut v = FieldViolations::new();
        let range = month_range(
            &mut v,
            ("start_month", req.start_month.as_ref()),
            ("end_month", req.end_month.as_ref()),
        );
        let category = code(&mut v, "category", &req.category, false);
        let model_code = model(&mut v, "model", &req.model);
        let Some(range) = range else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        let mut conn = self.pool.acquire().await?;
        let rows = store::complaint_trend::trends(
            &mut conn,
            range,
            (!category.is_empty()).then_some(category.as_str()),
            (!model_code.is_empty()).then_some(model_code.as_str()),
        )
        .await?;
        Ok(pb::GetComplaintTrendsResponse {
            total: rows.iter().map(|r| r.3).sum(),
            trends: rows
                .into_iter()
                .map(|(month, category, model, complaints)| pb::ComplaintTrend {
                    month: Some(month_to_proto(month)),
                    category,
                    model: if model.is_empty() {
                        String::new()
                    } else {
                        format!("models/{model}")
                    },
                    complaints,
                })
                .collect(),
        })
    }
}
