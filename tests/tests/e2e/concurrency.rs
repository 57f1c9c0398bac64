//! Races that must end in exactly one outcome.

use std::collections::HashSet;

use dealernet_kit::auth::Role;
use dealernet_proto::customers::v1 as pb;
use dealernet_tests::TestPlatform;

use crate::person;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_resolves_of_one_new_phone_create_one_customer() {
    let platform = TestPlatform::spawn().await;
    let mut calls = Vec::new();
    for i in 0..50 {
        // Several connections, several organisations, the phone written several ways.
        let channel = platform.connect().await;
        let org = ["D1001", "D1002", "S3001", "CALLCENTER"][i % 4];
        let mut client = pb::customer_service_client::CustomerServiceClient::with_interceptor(
            channel,
            dealernet_tests::Bearer::valid(org, Role::Dealer),
        );
        let phone = ["13700137000", "+86 137 0013 7000", "137-0013-7000"][i % 3];
        calls.push(tokio::spawn(async move {
            client
                .resolve_customer(pb::ResolveCustomerRequest {
                    customer: Some(person("赵", "敏", phone)),
                    request_id: format!("race-{i}"),
                })
                .await
                .map(tonic::Response::into_inner)
        }));
    }
    let mut names = HashSet::new();
    let mut created = 0;
    for call in calls {
        let response = call.await.expect("join").expect("resolve succeeds");
        created += usize::from(response.created);
        names.insert(response.customer.expect("customer").name);
    }
    assert_eq!(created, 1, "exactly one call creates");
    assert_eq!(names.len(), 1, "every call answers the same customer");
    assert_eq!(platform.count("customer").await, 1);
}
