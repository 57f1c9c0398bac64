//! Traces and logs of the real platform, in a test binary of their own: telemetry is
//! process-wide, and this one installs it with an OTLP exporter pointing at an in-process
//! OTLP/gRPC receiver and a log writer that keeps every line.
//!
//! One call through the gateway to the call center, which asks the registry, must be one
//! trace: client → gateway → callcenter → customers, each span the child of the one
//! before, with the registry's SQL statements under it. And a story told with known
//! names, phone numbers and an e-mail address must leave none of them in any log line or
//! span attribute.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use dealernet_kit::{
    auth::Role,
    telemetry::{self, LogFormat, TelemetrySettings},
};
use dealernet_proto::{callcenter::v1 as hpb, customers::v1 as cpb, types::v1 as types};
use dealernet_tests::TestPlatform;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value::Value,
    trace::v1::Span,
};
use tokio_stream::wrappers::TcpListenerStream;

/// Every span the receiver was sent, with its `service.name`.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<(String, Span)>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().expect("receiver lock");
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref())
                .and_then(|v| match &v.value {
                    Some(Value::StringValue(s)) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                spans.extend(scope.spans.into_iter().map(|s| (service.clone(), s)));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// The log lines written so far.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn string_attribute<'a>(span: &'a Span, key: &str) -> &'a str {
    match attribute(span, key) {
        Some(Value::StringValue(s)) => s,
        _ => "",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The person the story is about; none of these may reach a log line or a span.
const FAMILY: &str = "欧阳";
const GIVEN: &str = "锋华";
const PHONE_DIGITS: &str = "13987654321";
const PHONE_AS_TYPED: &str = "139 8765 4321";
const EMAIL: &str = "ouyang.fenghua.telemetry@example.com";

/// The trace and parent span the test client claims to be in.
const CLIENT_TRACE: &str = "5c2f4a3b9d8e7f60a1b2c3d4e5f60718";
const CLIENT_SPAN: &str = "a1b2c3d4e5f60718";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_is_one_trace_and_no_personal_data_reaches_logs_or_spans() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("receiver port");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let logs = Captured::default();
    let sink = logs.clone();
    let guard = telemetry::init_with_writer(
        &TelemetrySettings {
            // Everything, the libraries' debug lines included: the stricter the search.
            filter: "debug".into(),
            format: LogFormat::Json,
            service_name: "dealernet-telemetry-test".into(),
            otlp_endpoint: Some(endpoint),
        },
        move || sink.clone(),
    );
    let platform = TestPlatform::spawn_gateway().await;

    // The story: a dealer registers the customer, the hotline identifies them calling in
    // and opens a case, HQ reads the record.
    let customer = platform
        .customers("D1001", Role::Dealer)
        .create_customer(cpb::CreateCustomerRequest {
            customer: Some(cpb::Customer {
                kind: cpb::CustomerKind::Person as i32,
                person_name: Some(cpb::PersonName {
                    family_name: FAMILY.into(),
                    given_name: GIVEN.into(),
                }),
                phones: vec![cpb::Phone {
                    number: PHONE_AS_TYPED.into(),
                    kind: 0,
                }],
                emails: vec![cpb::Email {
                    address: EMAIL.into(),
                }],
                address: Some(types::PostalAddress {
                    province: "广东省".into(),
                    city: "深圳市".into(),
                    district: "南山区".into(),
                    street: "科技园路1号".into(),
                    postal_code: "518057".into(),
                    region_code: "CN".into(),
                }),
                source_channel: cpb::SourceChannel::DealerPos as i32,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("the dealer registers the customer")
        .into_inner()
        .customer
        .expect("customer");

    let mut identify = tonic::Request::new(hpb::IdentifyCallerRequest {
        phone: PHONE_DIGITS.into(),
    });
    identify.metadata_mut().insert(
        "traceparent",
        format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01")
            .parse()
            .expect("ascii"),
    );
    let found = platform
        .callcenter("CALLCENTER", Role::Agent)
        .identify_caller(identify)
        .await
        .expect("the hotline identifies the caller")
        .into_inner();
    assert_eq!(found.matches.len(), 1, "{found:?}");
    assert_eq!(found.matches[0].customer, customer.name);
    let _ = platform
        .callcenter("CALLCENTER", Role::Agent)
        .identify_caller(hpb::IdentifyCallerRequest {
            phone: "139876543".into(),
        })
        .await
        .expect_err("a phone number too short is refused");
    platform
        .customers("HQ", Role::Hq)
        .get_customer(cpb::GetCustomerRequest {
            name: customer.name.clone(),
        })
        .await
        .expect("HQ reads the record");

    // The trace of the identification, once the server spans have ended and been sent.
    let wanted = |spans: &[(String, Span)]| {
        let in_trace = spans
            .iter()
            .filter(|(_, s)| hex(&s.trace_id) == CLIENT_TRACE)
            .count();
        let customers_server = spans.iter().any(|(_, s)| {
            hex(&s.trace_id) == CLIENT_TRACE
                && string_attribute(s, "rpc.service") == "dealernet.customers.v1.CustomerService"
        });
        in_trace >= 4 && customers_server
    };
    let mut spans = Vec::new();
    for _ in 0..100 {
        guard.flush();
        spans = receiver.0.lock().expect("receiver lock").clone();
        if wanted(&spans) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let trace: Vec<&Span> = spans
        .iter()
        .map(|(_, s)| s)
        .filter(|s| hex(&s.trace_id) == CLIENT_TRACE)
        .collect();
    let server = |component: &str, service: &str| -> &Span {
        let matching: Vec<&&Span> = trace
            .iter()
            .filter(|s| {
                string_attribute(s, "component") == component
                    && string_attribute(s, "rpc.service") == service
            })
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "one {component} span of {service} in the trace; spans: {:#?}",
            trace.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        matching[0]
    };
    let gateway = server("gateway", "dealernet.callcenter.v1.CallCenterService");
    let callcenter = server("services", "dealernet.callcenter.v1.CallCenterService");
    let registry = server("services", "dealernet.customers.v1.CustomerService");
    assert_eq!(
        gateway.name,
        "dealernet.callcenter.v1.CallCenterService/IdentifyCaller"
    );
    assert_eq!(string_attribute(gateway, "rpc.method"), "IdentifyCaller");
    assert_eq!(
        hex(&gateway.parent_span_id),
        CLIENT_SPAN,
        "the gateway's span is the child of the client's"
    );
    assert_eq!(
        callcenter.parent_span_id, gateway.span_id,
        "the call center's span is the gateway's child"
    );
    assert_eq!(
        registry.parent_span_id, callcenter.span_id,
        "the registry's span is the call center's child"
    );
    for span in [gateway, callcenter, registry] {
        assert_eq!(
            span.kind,
            opentelemetry_proto::tonic::trace::v1::span::SpanKind::Server as i32
        );
        assert_eq!(
            attribute(span, "rpc.grpc.status_code"),
            Some(&Value::IntValue(0)),
            "{}",
            span.name
        );
    }
    let statements: Vec<&&Span> = trace
        .iter()
        .filter(|s| string_attribute(s, "db.system.name") == "postgresql")
        .collect();
    assert!(
        statements
            .iter()
            .any(|s| s.parent_span_id == registry.span_id),
        "the registry's SQL statements are spans under its call"
    );
    assert!(
        statements
            .iter()
            .all(|s| !string_attribute(s, "db.query.text").is_empty()),
        "every statement span carries its SQL"
    );
    let service_names: Vec<&str> = spans.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        service_names
            .iter()
            .all(|n| *n == "dealernet-telemetry-test"),
        "service.name is the process's: {service_names:?}"
    );

    // No personal data in any span: names, attribute keys or values.
    let secrets = [
        FAMILY,
        GIVEN,
        PHONE_DIGITS,
        PHONE_AS_TYPED,
        "+8613987654321",
        "139876543",
        EMAIL,
    ];
    for (_, span) in &spans {
        let rendered = format!("{span:?}");
        for secret in secrets {
            assert!(
                !rendered.contains(secret),
                "span {} holds '{secret}': {rendered}",
                span.name
            );
        }
    }

    // No personal data in any log line; every line is JSON, and the lines written while
    // serving the identification carry its trace id.
    let text = logs.text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() > 20,
        "debug logging wrote lines: {}",
        lines.len()
    );
    for secret in secrets {
        let leaks: Vec<&&str> = lines.iter().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "'{secret}' reached the logs: {leaks:#?}");
    }
    let mut traced_lines = 0;
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        if value.get("request_id").is_some() {
            assert!(
                value["trace_id"].as_str().is_some_and(|t| t.len() == 32),
                "a line of a call without its trace id: {line}"
            );
        }
        if value["trace_id"] == CLIENT_TRACE {
            traced_lines += 1;
        }
    }
    assert!(
        traced_lines >= 3,
        "the gateway, call center and registry lines of the call carry its trace id"
    );
}
