//! CustomerService scenarios: one call per unit on a random existing customer.

use dealernet_customers::demo::Rng;
use dealernet_proto::customers::v1::{self as pb, customer_service_client::CustomerServiceClient};
use tonic::transport::Channel;

use super::{Ctx, Scenario, measure::Outcome};

pub struct Caller {
    pub client: CustomerServiceClient<Channel>,
    pub ctx: Ctx,
    pub scenario: Scenario,
    /// Key-space size: customers 1..=N exist.
    pub customers: u64,
}

impl Caller {
    pub async fn unit(&mut self, rng: &mut Rng, seq: u64) -> Outcome {
        let n = 1 + rng.below(self.customers as usize) as u64;
        let ctx = &self.ctx;
        match self.scenario {
            Scenario::Get => {
                let name = format!("customers/{}", dealernet_bench::customer_id(n));
                let r = self
                    .client
                    .get_customer(ctx.request(pb::GetCustomerRequest { name }))
                    .await;
                Outcome::single(r, |_| true)
            }
            Scenario::Resolve => {
                // The candidate as a dealer's POS would send it: name + mobile, nothing else.
                let p = dealernet_bench::person(n);
                let customer = pb::Customer {
                    kind: pb::CustomerKind::Person as i32,
                    person_name: Some(pb::PersonName {
                        family_name: p.family.0.to_owned(),
                        given_name: p.given.0.to_owned(),
                    }),
                    phones: vec![pb::Phone {
                        number: p.mobile,
                        kind: pb::PhoneKind::Mobile as i32,
                    }],
                    source_channel: pb::SourceChannel::DealerPos as i32,
                    ..Default::default()
                };
                let request_id = format!("bench-{}-{}-{seq}", ctx.run_id, ctx.worker);
                let r = self
                    .client
                    .resolve_customer(ctx.request(pb::ResolveCustomerRequest {
                        customer: Some(customer),
                        request_id,
                    }))
                    .await;
                let created = matches!(&r, Ok(r) if r.get_ref().created);
                // A created customer still counts as OK here; `created` reports it apart.
                Outcome {
                    created,
                    ..Outcome::single(r, |_| true)
                }
            }
            Scenario::ListByPhone => {
                let list = pb::ListCustomersRequest {
                    phone: dealernet_bench::mobile_e164(n),
                    page_size: 10,
                    ..Default::default()
                };
                let r = self.client.list_customers(ctx.request(list)).await;
                Outcome::single(r, |_| true)
            }
            Scenario::FindDuplicates => {
                let name = format!("customers/{}", dealernet_bench::customer_id(n));
                let find = pb::FindDuplicatesRequest {
                    target: Some(pb::find_duplicates_request::Target::Name(name)),
                    max_results: 10,
                    min_score: 0.0,
                };
                let r = self.client.find_duplicates(ctx.request(find)).await;
                Outcome::single(r, |_| true)
            }
            other => unreachable!("{other:?} is not a customer scenario"),
        }
    }
}
