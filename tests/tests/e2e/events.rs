//! Event streams end to end: a vehicle's events with their envelopes, live tailing,
//! outlet scoping and refusals; the registry's merges re-pointing the vehicle service's
//! references, and unmerges restoring them.

use std::time::Duration;

use dealernet_kit::auth::Role;
use dealernet_proto::{customers::v1 as cpb, vehicles::v1 as pb};
use dealernet_tests::{TestPlatform, VehiclesClient};
use pb::vehicle_service_event::Kind;
use tonic::{Code, Streaming};

use crate::{
    assert_invalid, assert_refused,
    sale::{car_in_stock, customer, sell},
};

fn request(after: &str, types: &[&str]) -> pb::StreamEventsRequest {
    pb::StreamEventsRequest {
        after_cursor: after.into(),
        event_types: types.iter().map(|t| (*t).to_owned()).collect(),
        consumer: String::new(),
    }
}

async fn open(
    client: &mut VehiclesClient,
    after: &str,
    types: &[&str],
) -> Streaming<pb::StreamEventsResponse> {
    client
        .stream_events(request(after, types))
        .await
        .expect("stream")
        .into_inner()
}

/// The next message within five seconds.
async fn next(stream: &mut Streaming<pb::StreamEventsResponse>) -> pb::StreamEventsResponse {
    tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("a message within 5 s")
        .expect("stream ok")
        .expect("stream open")
}

/// Events until the first checkpoint (the backlog), skipping nothing.
async fn backlog(
    stream: &mut Streaming<pb::StreamEventsResponse>,
) -> (Vec<pb::StreamEventsResponse>, String) {
    let mut events = Vec::new();
    loop {
        let m = next(stream).await;
        if !m.checkpoint_cursor.is_empty() {
            return (events, m.checkpoint_cursor);
        }
        events.push(m);
    }
}

/// Waits until every event in `schema`'s outbox lies below the streams' horizon. The
/// horizon is the oldest transaction still running anywhere in the cluster (other tests'
/// databases and every platform's consumers included), so a backlog read before then may
/// end at a checkpoint short of events that have already committed.
pub(crate) async fn settled(platform: &TestPlatform, schema: &str) {
    let mut db = platform.db().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let below: bool = sqlx::query_scalar(&format!(
            "SELECT coalesce(max(tx_id) < pg_snapshot_xmin(pg_current_snapshot()), true) \
             FROM {schema}.outbox_event"
        ))
        .fetch_one(&mut db)
        .await
        .expect("horizon");
        if below {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{schema}'s events never fell below the horizon"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn kind(m: &pb::StreamEventsResponse) -> &Kind {
    m.event
        .as_ref()
        .and_then(|e| e.kind.as_ref())
        .expect("payload")
}

#[tokio::test]
async fn a_vehicle_s_events_stream_live_and_scoped_to_its_outlets() {
    let platform = TestPlatform::spawn().await;
    let vehicle = car_in_stock(&platform, 901).await;
    let buyer = customer(&platform, "13512345678").await;
    let mut dealer = platform.vehicles("D1001", Role::Dealer);
    dealer
        .sell_vehicle(sell(&vehicle, &buyer, 199_000))
        .await
        .expect("sell");

    // HQ reads everything: the timeline as VehicleChanged, and the typed sale.
    let mut hq = platform.vehicles("HQ", Role::Hq);
    settled(&platform, "vehicles").await;
    let mut all = open(&mut hq, "", &[]).await;
    let (events, caught_up) = backlog(&mut all).await;
    let actions: Vec<&str> = events
        .iter()
        .filter_map(|m| match kind(m) {
            Kind::VehicleChanged(c) => Some(c.action.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        actions,
        [
            "REGISTER_PRODUCTION",
            "DISPATCH_SHIPMENT",
            "RECEIVE_AT_DEALER",
            "SELL"
        ]
    );
    let sold: Vec<&pb::StreamEventsResponse> = events
        .iter()
        .filter(|m| matches!(kind(m), Kind::VehicleSold(_)))
        .collect();
    assert_eq!(sold.len(), 1);
    let Kind::VehicleSold(sale) = kind(sold[0]) else {
        unreachable!()
    };
    assert_eq!(
        (
            sale.vehicle.as_str(),
            sale.customer.as_str(),
            sale.outlet.as_str()
        ),
        (vehicle.as_str(), buyer.as_str(), "D1001")
    );
    assert_eq!(sale.price.as_ref().map(|p| p.minor_units), Some(19_900_000));
    assert_eq!(
        sale.list_price.as_ref().map(|p| p.minor_units),
        Some(19_980_000)
    );
    let envelope = sold[0].envelope.as_ref().expect("envelope");
    assert_eq!(envelope.event_type, "VehicleSold");
    assert_eq!(envelope.aggregate_id, vehicle);
    assert!(envelope.actor.starts_with("D1001/"), "{envelope:?}");
    assert!(
        !envelope.request_id.is_empty() && envelope.event_id.len() == 36,
        "{envelope:?}"
    );
    let cursors: Vec<&str> = events
        .iter()
        .map(|m| m.envelope.as_ref().expect("envelope").cursor.as_str())
        .collect();
    let mut unique = cursors.clone();
    unique.dedup();
    assert_eq!(unique.len(), cursors.len(), "each event once");

    // Resuming after the sale gives exactly what followed it.
    let after_sale = &envelope.cursor;
    let mut resumed = open(&mut hq, after_sale, &[]).await;
    let (rest, _) = backlog(&mut resumed).await;
    let at = cursors
        .iter()
        .position(|c| c == after_sale)
        .expect("the sale's cursor");
    assert_eq!(
        rest.iter()
            .map(|m| m.envelope.as_ref().expect("e").cursor.clone())
            .collect::<Vec<_>>(),
        cursors[at + 1..]
            .iter()
            .map(|c| (*c).to_owned())
            .collect::<Vec<_>>()
    );

    // Live: a delivery made now reaches the open stream.
    dealer
        .deliver_vehicle(pb::DeliverVehicleRequest {
            vehicle: vehicle.clone(),
            odometer_km: 12,
            request_id: String::new(),
        })
        .await
        .expect("deliver");
    let live = next(&mut all).await;
    match kind(&live) {
        Kind::VehicleChanged(c) => assert_eq!(c.action, "DELIVER"),
        other => panic!("expected the delivery, got {other:?}"),
    }
    assert!(
        live.envelope.as_ref().expect("e").cursor > caught_up,
        "after the checkpoint"
    );

    // The selling outlet reads its car's events; another outlet reads none of them.
    settled(&platform, "vehicles").await;
    let (own, _) = backlog(&mut open(&mut dealer, "", &["VehicleSold"]).await).await;
    assert_eq!(own.len(), 1);
    let mut other = platform.vehicles("D2002", Role::Dealer);
    let (none, _) = backlog(&mut open(&mut other, "", &[]).await).await;
    assert!(none.is_empty(), "another outlet's events: {none:?}");

    // Refusals.
    let mut agent = platform.vehicles("CALLCENTER", Role::Agent);
    assert_refused(
        agent.stream_events(request("", &[])).await,
        Code::PermissionDenied,
        "EVENTS_NOT_PERMITTED",
    );
    assert_invalid(
        hq.stream_events(request("not-a-cursor", &["Nope"])).await,
        &["after_cursor", "event_types[0]"],
    );
    let registry = platform.customers("D1001", Role::Dealer);
    assert_refused(
        registry
            .clone()
            .stream_events(cpb::StreamEventsRequest::default())
            .await,
        Code::PermissionDenied,
        "EVENTS_NOT_PERMITTED",
    );
    assert_refused(
        dealer
            .ack_events(pb::AckEventsRequest {
                consumer: "x".into(),
                cursor: String::new(),
            })
            .await,
        Code::PermissionDenied,
        "EVENTS_NOT_PERMITTED",
    );
}

/// The vehicle's owner and the sale's buyer as the vehicle service holds them.
async fn references(platform: &TestPlatform, vin: &str) -> (String, String) {
    let mut db = platform.db().await;
    sqlx::query_as(
        "SELECT v.owner_id::text, s.customer_id::text FROM vehicles.vehicle v \
         JOIN vehicles.sale s USING (vin) WHERE v.vin = $1",
    )
    .bind(vin)
    .fetch_one(&mut db)
    .await
    .expect("references")
}

async fn until_references(platform: &TestPlatform, vin: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = references(platform, vin).await;
        if got.0 == want && got.1 == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "references still {got:?}, want {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn merges_re_point_the_vehicle_service_s_references_and_unmerges_restore_them() {
    let platform = TestPlatform::spawn().await;
    let vehicle = car_in_stock(&platform, 902).await;
    let vin = vehicle.trim_start_matches("vehicles/").to_owned();
    let survivor = customer(&platform, "13612345678").await;
    let duplicate = customer(&platform, "13712345678").await;
    platform
        .vehicles("D1001", Role::Dealer)
        .sell_vehicle(sell(&vehicle, &duplicate, 199_000))
        .await
        .expect("sell");
    let id = |name: &str| name.trim_start_matches("customers/").to_owned();
    assert_eq!(
        references(&platform, &vin).await,
        (id(&duplicate), id(&duplicate))
    );

    let mut hq = platform.customers("HQ", Role::Hq);
    let merged = hq
        .merge_customers(cpb::MergeCustomersRequest {
            survivor: survivor.clone(),
            duplicates: vec![duplicate.clone()],
            ..Default::default()
        })
        .await
        .expect("merge")
        .into_inner();
    until_references(&platform, &vin, &id(&survivor)).await;

    hq.unmerge_customer(cpb::UnmergeCustomerRequest {
        merge: merged.merge.expect("merge").name,
        request_id: String::new(),
    })
    .await
    .expect("unmerge");
    until_references(&platform, &vin, &id(&duplicate)).await;
    assert_eq!(platform.count_in("vehicles", "customer_repoint").await, 0);
    assert_eq!(platform.count_in("vehicles", "parked_event").await, 0);

    // The registry's stream carried both, in order, to HQ too.
    let mut stream = hq
        .stream_events(cpb::StreamEventsRequest {
            after_cursor: String::new(),
            event_types: vec![],
            consumer: String::new(),
        })
        .await
        .expect("stream")
        .into_inner();
    let mut types = Vec::new();
    while types.len() < 2 {
        let m = tokio::time::timeout(Duration::from_secs(5), stream.message())
            .await
            .expect("message")
            .expect("ok")
            .expect("open");
        if let Some(e) = m.envelope {
            types.push(e.event_type);
        }
    }
    assert_eq!(types, ["CustomerMerged", "CustomerUnmerged"]);
}

#[tokio::test]
async fn a_server_with_open_event_streams_still_shuts_down() {
    use dealernet_proto::vehicles::v1::vehicle_service_client::VehicleServiceClient;
    let database_url = dealernet_tests::fresh_database().await;
    let (mut server, addr) = crate::server_process(&database_url, None);
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut client = VehicleServiceClient::with_interceptor(
        channel,
        dealernet_tests::Bearer::valid("HQ", Role::Hq),
    );
    let mut stream = client
        .stream_events(request("", &[]))
        .await
        .expect("stream")
        .into_inner();
    assert!(
        !next(&mut stream).await.checkpoint_cursor.is_empty(),
        "caught up"
    );
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(interrupted.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.try_wait().expect("wait") {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "an open stream kept the server from stopping"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let end = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("the stream ends");
    assert!(matches!(end, Err(_) | Ok(None)), "{end:?}");
}
