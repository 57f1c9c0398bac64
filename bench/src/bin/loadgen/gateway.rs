//! GatewayService scenarios: the hotline screen (GetCustomer360) by a random existing
//! customer's phone, as a call-center agent.

use dealernet_customers::demo::Rng;
use dealernet_proto::gateway::v1::{
    self as pb, SectionState, gateway_service_client::GatewayServiceClient,
    get_customer360_request::Key,
};
use tonic::transport::Channel;

use super::{Ctx, measure::Outcome};

pub struct Caller {
    pub client: GatewayServiceClient<Channel>,
    pub ctx: Ctx,
    /// Key-space size: customers 1..=N exist.
    pub customers: u64,
}

/// Every section answered: a section marked unavailable or late is a failure here, not
/// a fast answer.
fn complete(r: &tonic::Response<pb::GetCustomer360Response>) -> bool {
    let r = r.get_ref();
    let states = [
        r.vehicles.as_ref().and_then(|s| s.status.as_ref()),
        r.repair_orders.as_ref().and_then(|s| s.status.as_ref()),
        r.open_cases.as_ref().and_then(|s| s.status.as_ref()),
        r.pending_callbacks.as_ref().and_then(|s| s.status.as_ref()),
        r.surveys.as_ref().and_then(|s| s.status.as_ref()),
    ];
    r.customer.is_some()
        && states
            .iter()
            .all(|s| s.is_some_and(|s| s.state == SectionState::Ok as i32))
}

impl Caller {
    pub async fn unit(&mut self, rng: &mut Rng) -> Outcome {
        let n = 1 + rng.below(self.customers as usize) as u64;
        let request = pb::GetCustomer360Request {
            key: Some(Key::Phone(dealernet_bench::mobile_e164(n))),
            recent: 0,
        };
        let r = self.client.get_customer360(self.ctx.request(request)).await;
        Outcome::single(r, complete)
    }
}
