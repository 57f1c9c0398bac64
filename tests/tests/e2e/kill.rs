//! The access log loses nothing when the server is killed while serving reads.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use dealernet_kit::auth::Role;
use dealernet_proto::customers::v1::{self as pb, customer_service_client::CustomerServiceClient};
use dealernet_tests::Bearer;
use sqlx::Connection;
use tonic::transport::Channel;

use crate::person;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_answer_received_before_a_kill_has_its_record() {
    let database_url = dealernet_tests::fresh_database().await;
    let (mut server, addr) = crate::server_process(&database_url, None);
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");

    let mut dealer = CustomerServiceClient::with_interceptor(
        channel.clone(),
        Bearer::valid("D1001", Role::Dealer),
    );
    let mut names = Vec::new();
    for i in 0..20 {
        let c = person("吴", "杰", &format!("1350000{i:04}"));
        let created = dealer
            .create_customer(pb::CreateCustomerRequest {
                customer: Some(c),
                request_id: String::new(),
            })
            .await
            .expect("create");
        names.push(created.into_inner().customer.expect("customer").name);
    }

    // Readers hammer GetCustomer until the server dies, remembering every answer received.
    let received = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut readers = Vec::new();
    for worker in 0..8 {
        let mut client =
            CustomerServiceClient::with_interceptor(channel.clone(), Bearer::valid("HQ", Role::Hq));
        let names = names.clone();
        let received = received.clone();
        readers.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            for n in 0.. {
                if Instant::now() > deadline {
                    break;
                }
                let id = format!("kill-{worker}-{n}");
                let mut request = tonic::Request::new(pb::GetCustomerRequest {
                    name: names[n % names.len()].clone(),
                });
                request
                    .metadata_mut()
                    .insert("x-request-id", id.parse().expect("ascii"));
                match client.get_customer(request).await {
                    Ok(_) => received.lock().expect("lock").push(id),
                    Err(_) => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.kill().expect("SIGKILL the server");
    server.wait().expect("reap");
    for reader in readers {
        reader.await.expect("reader");
    }

    let received = received.lock().expect("lock").clone();
    assert!(
        received.len() >= 50,
        "only {} reads before the kill",
        received.len()
    );
    let mut db = sqlx::PgConnection::connect(&database_url)
        .await
        .expect("db");
    let recorded: HashSet<String> = sqlx::query_scalar(
        "SELECT request_id FROM customers.access_log WHERE method = 'GetCustomer'",
    )
    .fetch_all(&mut db)
    .await
    .expect("access log")
    .into_iter()
    .collect();
    let missing: Vec<&String> = received
        .iter()
        .filter(|id| !recorded.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answers have no access record: {missing:?}",
        missing.len(),
        received.len()
    );
}
