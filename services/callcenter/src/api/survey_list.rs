//! A customer's survey answers, for the hotline's view of the customer (Customer360).

use dealernet_kit::{
    auth::Principal,
    error::FieldViolations,
    paging::{TimeIdCursor, time_id, time_id_cursor},
};
use dealernet_proto::callcenter::v1 as pb;
use prost::Message;

use super::{Result, customer_id, is_desk, timestamp};
use crate::{Error, Service, store, store::desk::Survey};

/// The answer as the API shows it.
pub(super) fn survey_to_proto(s: &Survey) -> pb::SurveyResponse {
    pb::SurveyResponse {
        name: format!("surveyResponses/{}", s.id),
        case: s.case_id.map(|c| format!("cases/{c}")).unwrap_or_default(),
        repair_order: s.repair_order.clone().unwrap_or_default(),
        customer: format!("customers/{}", s.customer_id),
        outlet: s.outlet.clone(),
        technician: s.technician.clone(),
        satisfaction: s.satisfaction,
        nps: s.nps,
        comments: s.comments.clone(),
        create_time: Some(timestamp(s.create_time)),
    }
}

impl Service {
    pub(super) async fn list_survey_responses(
        &self,
        principal: &Principal,
        req: pb::ListSurveyResponsesRequest,
    ) -> Result<pb::ListSurveyResponsesResponse> {
        let mut v = FieldViolations::new();
        let customer = if req.customer.is_empty() {
            v.add("customer", "required: customers/{id}");
            None
        } else {
            customer_id(&mut v, "customer", &req.customer)
        };
        let bound = pb::ListSurveyResponsesRequest {
            page_size: 0,
            page_token: String::new(),
            ..req.clone()
        }
        .encode_to_vec();
        let (size, after) =
            self.page_tokens
                .page::<TimeIdCursor>(&mut v, req.page_size, &req.page_token, &bound);
        let after = after.and_then(time_id);
        let Some(customer) = customer else {
            return Err(Error::InvalidArgument(v));
        };
        v.into_result()?;
        // The desk sees every answer; an outlet only those about itself.
        let outlet = (!is_desk(principal)).then(|| principal.organization());
        let mut conn = self.pool.acquire().await?;
        let mut rows =
            store::desk::surveys_of(&mut conn, customer, outlet, after, size + 1).await?;
        drop(conn);
        let next_page_token = self.page_tokens.next_page(&mut rows, size, &bound, |s| {
            time_id_cursor(s.create_time, s.id)
        });
        Ok(pb::ListSurveyResponsesResponse {
            responses: rows.iter().map(survey_to_proto).collect(),
            next_page_token,
        })
    }
}
