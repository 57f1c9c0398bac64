//! CallCenterService scenarios, as hotline agents.
//!
//! - `claim-callbacks`: each worker is one agent (its own token) taking callbacks off the
//!   queue with ClaimNextCallback until the queue is empty or the run ends. Every claim's
//!   name is kept so that the run can check no callback went to two agents; each claim
//!   must come back CLAIMED, held by this worker's agent, with a lease in the future.
//! - `open-case`: OpenCase of a NORMAL INQUIRY for a random registry customer, with a
//!   request id. The service reads the customer from the registry first (GetCustomer as
//!   the call center's own `system` principal), so every call crosses both services.

use chrono::Utc;
use dealernet_bench::callcenter::INQUIRY_TEXTS;
use dealernet_customers::demo::Rng;
use dealernet_proto::callcenter::v1::{
    self as pb, call_center_service_client::CallCenterServiceClient,
};
use tonic::transport::Channel;

use super::{
    Ctx, Scenario,
    measure::{Claim, Outcome},
};

pub struct Caller {
    pub client: CallCenterServiceClient<Channel>,
    pub ctx: Ctx,
    pub scenario: Scenario,
    /// Key-space size: customers 1..=N exist in the registry.
    pub customers: u64,
    /// claim-callbacks: the lease asked for, in seconds.
    pub lease_seconds: i32,
    /// claim-callbacks: the agent the server named on this worker's first claim; every
    /// later claim must name the same one.
    pub agent: Option<String>,
}

impl Caller {
    pub async fn unit(&mut self, rng: &mut Rng, seq: u64) -> Outcome {
        match self.scenario {
            Scenario::ClaimCallbacks => self.claim().await,
            Scenario::OpenCase => self.open_case(rng, seq).await,
            other => unreachable!("{other:?} is not a call-center scenario"),
        }
    }

    async fn claim(&mut self) -> Outcome {
        let request = pb::ClaimNextCallbackRequest {
            lease_seconds: self.lease_seconds,
        };
        let r = self
            .client
            .claim_next_callback(self.ctx.request(request))
            .await;
        let callback = match r {
            Ok(r) => r.into_inner().callback,
            Err(status) => return Outcome::single::<()>(Err(status), |_| true),
        };
        let Some(c) = callback else {
            return Outcome {
                drained: true,
                ..Outcome::default()
            };
        };
        let agent = self.agent.get_or_insert_with(|| c.claimed_by.clone());
        let now = Utc::now().timestamp();
        let as_expected = c.name.starts_with("callbacks/")
            && c.status == pb::CallbackStatus::Claimed as i32
            && !c.claimed_by.is_empty()
            && c.claimed_by == *agent
            && c.lease_expire_time
                .as_ref()
                .is_some_and(|t| t.seconds > now)
            && [
                pb::CallbackPurpose::CustomerRequest as i32,
                pb::CallbackPurpose::CaseFollowUp as i32,
            ]
            .contains(&c.purpose);
        let code = if as_expected {
            "Ok"
        } else {
            "OkUnexpectedContent"
        };
        Outcome {
            responses: vec![code.to_owned()],
            ok: as_expected,
            claim: Some(Claim {
                name: c.name,
                holder: c.claimed_by,
            }),
            ..Outcome::default()
        }
    }

    async fn open_case(&mut self, rng: &mut Rng, seq: u64) -> Outcome {
        let n = 1 + rng.below(self.customers as usize) as u64;
        let customer = format!("customers/{}", dealernet_bench::customer_id(n));
        let (subject, description) = *rng.pick(INQUIRY_TEXTS);
        let ctx = &self.ctx;
        let request = pb::OpenCaseRequest {
            case: Some(pb::Case {
                r#type: pb::CaseType::Inquiry as i32,
                priority: pb::Priority::Normal as i32,
                customer: customer.clone(),
                subject: subject.to_owned(),
                description: description.to_owned(),
                ..Default::default()
            }),
            request_id: format!("bench-{}-{}-{seq}", ctx.run_id, ctx.worker),
            ..Default::default()
        };
        let r = self.client.open_case(ctx.request(request)).await;
        Outcome::single(r, |r| {
            r.get_ref().case.as_ref().is_some_and(|c| {
                c.name.starts_with("cases/")
                    && c.customer == customer
                    && c.status == pb::CaseStatus::New as i32
                    && c.team == pb::Team::CustomerSupport as i32
                    && c.sla
                        .as_ref()
                        .is_some_and(|s| s.first_response_due.is_some())
            })
        })
    }
}
