//! The Prometheus endpoint: calls through the gateway (answered, refused, rate-limited,
//! streamed, to unknown paths), then one scrape over HTTP, parsed by the official parser of
//! the text format (Python `prometheus_client`, via `tests/smoke/scrape_metrics.py`), and
//! every series checked against the calls made.

use dealernet_kit::{
    auth::Role,
    config::{Layer, ServiceKind},
};
use dealernet_proto::customers::v1 as pb;
use dealernet_tests::{Bearer, TestPlatform};
use serde_json::Value;
use tokio_stream::StreamExt;
use tonic::Code;

const CUSTOMERS: &str = "dealernet.customers.v1.CustomerService";
/// A well-formed customer name that names nobody.
const MISSING: &str = "customers/0190a000-0000-7000-8000-000000000000";

/// The samples of one scrape.
struct Scrape(Vec<Value>);

impl Scrape {
    /// The value of the one sample named `name` whose labels include `labels`.
    #[track_caller]
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<f64> = self
            .0
            .iter()
            .filter(|s| s["name"] == name)
            .filter(|s| labels.iter().all(|(k, v)| s["labels"][k] == *v))
            .filter_map(|s| s["value"].as_f64())
            .collect();
        match found[..] {
            [value] => value,
            _ => panic!("{} samples {name} {labels:?}: {found:?}", found.len()),
        }
    }

    /// A call counter: 0 when the series does not exist (nothing was counted).
    fn calls(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let exists = self
            .0
            .iter()
            .any(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][k] == *v));
        if exists {
            self.value(name, labels)
        } else {
            0.0
        }
    }

    /// Every label set of the samples named `name`.
    fn label_sets(&self, name: &str) -> Vec<&Value> {
        self.0
            .iter()
            .filter(|s| s["name"] == name)
            .map(|s| &s["labels"])
            .collect()
    }
}

async fn scrape(platform: &TestPlatform) -> Scrape {
    let addr = platform.metrics_addr.expect("metrics_addr was set");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/smoke/scrape_metrics.py");
    let output = tokio::process::Command::new("python3")
        .arg(script)
        .arg(format!("http://{addr}"))
        .output()
        .await
        .expect("python3 must be installed (with `pip install prometheus-client`)");
    assert!(
        output.status.success(),
        "the scrape failed (it needs `pip install prometheus-client`):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let scrape: Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");
    assert!(
        scrape["content_type"]
            .as_str()
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{}",
        scrape["content_type"]
    );
    assert_eq!(scrape["other_status"], 404, "only /metrics is served");
    Scrape(scrape["samples"].as_array().expect("samples").clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_counts_every_call_by_method_and_status() {
    let platform = TestPlatform::spawn_gateway_with(|l| Layer {
        metrics_addr: Some("127.0.0.1:0".into()),
        // HQ's five calls fit in the burst; the dealer's loop below runs into it.
        rate_limit_per_org_rps: Some(1),
        rate_limit_burst: Some(8),
        ..l
    })
    .await;
    let mut hq = platform.customers("HQ", Role::Hq);
    let created = hq
        .create_customer(pb::CreateCustomerRequest {
            customer: Some(crate::person("王", "芳", "13800138000")),
            request_id: String::new(),
        })
        .await
        .expect("create")
        .into_inner()
        .customer
        .expect("customer");
    for _ in 0..2 {
        hq.get_customer(pb::GetCustomerRequest {
            name: created.name.clone(),
        })
        .await
        .expect("get");
    }
    let missing = hq
        .get_customer(pb::GetCustomerRequest {
            name: MISSING.into(),
        })
        .await;
    assert_eq!(
        missing.expect_err("no such customer").code(),
        Code::NotFound
    );
    // A server stream: its status comes in the trailers, after the messages.
    let mut groups = hq
        .scan_duplicates(pb::ScanDuplicatesRequest::default())
        .await
        .expect("scan")
        .into_inner();
    while let Some(group) = groups.next().await {
        group.expect("a group");
    }
    // Refused at the edge: never reaches the registry.
    let refused = platform
        .customers_with(Bearer::none())
        .get_customer(pb::GetCustomerRequest {
            name: created.name.clone(),
        })
        .await;
    assert_eq!(refused.expect_err("no token").code(), Code::Unauthenticated);
    // Paths that are no method: one label value for all of them, wherever they arrive.
    for path in ["/dealernet.customers.v1.CustomerService/Teleport", "/x/y"] {
        let status = crate::gateway::call_raw(platform.channel(), path, &[])
            .await
            .expect_err("unknown at the gateway");
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }
    let backend = tonic::transport::Channel::from_shared(format!(
        "http://{}",
        platform.backend_addr(ServiceKind::Customers)
    ))
    .expect("uri")
    .connect_lazy();
    let status = crate::gateway::call_raw(backend, "/x/y", &[])
        .await
        .expect_err("unknown at the registry");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    // The dealer calls until its bucket is empty: exactly one refusal.
    let mut dealer = platform.customers("D1001", Role::Dealer);
    let mut listed = 0.0;
    for _ in 0..100 {
        match dealer
            .list_customers(pb::ListCustomersRequest::default())
            .await
        {
            Ok(_) => listed += 1.0,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                break;
            }
        }
    }
    assert!(listed >= 8.0, "the burst passes: {listed}");

    let scrape = scrape(&platform).await;

    // The gateway: every call, by backend, method and status.
    let through = |method: &str, code: &str| {
        scrape.calls(
            "dealernet_gateway_requests_total",
            &[
                ("backend", "customers"),
                ("service", CUSTOMERS),
                ("method", method),
                ("code", code),
            ],
        )
    };
    assert_eq!(through("CreateCustomer", "OK"), 1.0);
    assert_eq!(through("GetCustomer", "OK"), 2.0);
    assert_eq!(through("GetCustomer", "NOT_FOUND"), 1.0);
    assert_eq!(through("GetCustomer", "UNAUTHENTICATED"), 1.0);
    assert_eq!(through("ScanDuplicates", "OK"), 1.0);
    assert_eq!(through("ListCustomers", "OK"), listed);
    assert_eq!(through("ListCustomers", "RESOURCE_EXHAUSTED"), 1.0);
    let unknown = [
        ("backend", "unknown"),
        ("service", "unknown"),
        ("method", "unknown"),
    ];
    let with_code = |labels: &[(&'static str, &'static str)], code| {
        let mut labels = labels.to_vec();
        labels.push(("code", code));
        labels
    };
    assert_eq!(
        scrape.value(
            "dealernet_gateway_requests_total",
            &with_code(&unknown, "UNAUTHENTICATED")
        ),
        2.0
    );
    assert_eq!(
        scrape.value(
            "dealernet_gateway_request_duration_seconds_count",
            &[("backend", "customers"), ("method", "GetCustomer")]
        ),
        4.0
    );
    assert_eq!(
        scrape.value(
            "dealernet_gateway_request_duration_seconds_bucket",
            &[("method", "GetCustomer"), ("le", "+Inf")]
        ),
        4.0
    );
    assert!(
        scrape.value(
            "dealernet_gateway_request_duration_seconds_sum",
            &[("method", "GetCustomer")]
        ) > 0.0
    );
    assert_eq!(
        scrape.value(
            "dealernet_gateway_rate_limited_requests_total",
            &[("role", "default")]
        ),
        1.0
    );
    assert_eq!(
        scrape.value("dealernet_gateway_in_flight_requests", &[]),
        0.0
    );
    assert_eq!(
        scrape.value("dealernet_gateway_shed_requests_total", &[]),
        0.0
    );

    // The registry behind it sees only what the gateway let through, and its own
    // unknown path.
    let served = |method: &str, code: &str| {
        scrape.calls(
            "dealernet_grpc_server_requests_total",
            &[("service", CUSTOMERS), ("method", method), ("code", code)],
        )
    };
    assert_eq!(served("CreateCustomer", "OK"), 1.0);
    assert_eq!(served("GetCustomer", "OK"), 2.0);
    assert_eq!(served("GetCustomer", "NOT_FOUND"), 1.0);
    assert_eq!(served("GetCustomer", "UNAUTHENTICATED"), 0.0);
    assert_eq!(served("ScanDuplicates", "OK"), 1.0);
    assert_eq!(served("ListCustomers", "OK"), listed);
    assert_eq!(served("ListCustomers", "RESOURCE_EXHAUSTED"), 0.0);
    assert_eq!(
        scrape.value(
            "dealernet_grpc_server_requests_total",
            &[
                ("service", "unknown"),
                ("method", "unknown"),
                ("code", "UNIMPLEMENTED")
            ]
        ),
        1.0
    );
    assert_eq!(
        scrape.value(
            "dealernet_grpc_server_request_duration_seconds_count",
            &[("service", CUSTOMERS), ("method", "GetCustomer")]
        ),
        3.0
    );
    assert_eq!(
        scrape.value("dealernet_grpc_server_shed_requests_total", &[]),
        0.0
    );
    scrape.value("dealernet_grpc_server_in_flight_requests", &[]);
    // Bounded labels: backend servers carry no backend label, and every method label is
    // a method of the descriptor set or `unknown`.
    for labels in scrape.label_sets("dealernet_grpc_server_requests_total") {
        assert!(labels.get("backend").is_none(), "{labels}");
        let service = labels["service"].as_str().unwrap_or_default();
        assert!(
            service.starts_with("dealernet.")
                || service.starts_with("grpc.")
                || service == "unknown",
            "{labels}"
        );
    }

    // Every pool of the process, read at the scrape.
    for (service, max) in [
        ("customers", 20.0),
        ("vehicles", 20.0),
        ("callcenter", 20.0),
        ("dealers", 20.0),
        ("gateway", 8.0),
    ] {
        assert_eq!(
            scrape.value("dealernet_db_pool_max_connections", &[("service", service)]),
            max
        );
        let open = |state| {
            scrape.value(
                "dealernet_db_pool_connections",
                &[("service", service), ("state", state)],
            )
        };
        let (idle, in_use) = (open("idle"), open("in_use"));
        assert!(idle >= 0.0 && in_use >= 0.0 && idle + in_use >= 1.0 && idle + in_use <= max);
    }

    // The registry's access log: one record per unmasked answer, as in its table.
    let logged = platform.count("access_log").await as f64;
    assert!(logged >= 3.0, "create and two reads: {logged}");
    assert_eq!(
        scrape.value(
            "dealernet_access_log_records_total",
            &[("outcome", "written")]
        ),
        logged
    );
    assert_eq!(
        scrape.value(
            "dealernet_access_log_records_total",
            &[("outcome", "failed")]
        ),
        0.0
    );
    assert_eq!(scrape.value("dealernet_access_log_queue_depth", &[]), 0.0);

    assert_eq!(
        scrape.value(
            "dealernet_build_info",
            &[
                ("version", env!("CARGO_PKG_VERSION")),
                ("services", "customers,vehicles,callcenter,dealers,gateway"),
            ]
        ),
        1.0
    );
}

#[tokio::test]
async fn without_metrics_addr_there_is_no_endpoint() {
    let platform = TestPlatform::spawn().await;
    assert_eq!(platform.metrics_addr, None);
}
