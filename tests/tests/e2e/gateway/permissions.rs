//! The method permission table, checked through the gateway for every method the gateway
//! reflects × every role: a method without an entry fails here, so a new RPC cannot ship
//! without one.

use dealernet_gateway::permissions;
use dealernet_kit::auth::{Principal, Role, TokenKeys};
use dealernet_tests::{TEST_JWT_SECRET, TestPlatform};
use prost::Message;
use tokio_stream::StreamExt;
use tonic::{Code, transport::Channel};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

use super::{call_raw, code_and_reason};

async fn reflect(channel: Channel, request: MessageRequest) -> MessageResponse {
    let mut client = ServerReflectionClient::new(channel);
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([ServerReflectionRequest {
            host: String::new(),
            message_request: Some(request),
        }]))
        .await
        .expect("reflection")
        .into_inner();
    answers
        .next()
        .await
        .expect("an answer")
        .expect("reflection answer")
        .message_response
        .expect("a response")
}

/// Every service the gateway reflects, by full name.
pub async fn reflected_services(channel: Channel) -> Vec<String> {
    match reflect(channel, MessageRequest::ListServices(String::new())).await {
        MessageResponse::ListServicesResponse(list) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// Every method of the platform's services as `package.Service/Method`, from reflection.
async fn reflected_methods(channel: Channel) -> Vec<String> {
    let mut methods = Vec::new();
    for service in reflected_services(channel.clone()).await {
        if !service.starts_with("dealernet.") {
            continue;
        }
        let files = match reflect(
            channel.clone(),
            MessageRequest::FileContainingSymbol(service.clone()),
        )
        .await
        {
            MessageResponse::FileDescriptorResponse(files) => files.file_descriptor_proto,
            other => panic!("unexpected {other:?}"),
        };
        for bytes in files {
            let file =
                prost_types::FileDescriptorProto::decode(bytes.as_slice()).expect("descriptor");
            for s in &file.service {
                if format!("{}.{}", file.package(), s.name()) == service {
                    methods.extend(s.method.iter().map(|m| format!("{service}/{}", m.name())));
                }
            }
        }
    }
    methods.sort();
    methods.dedup();
    methods
}

/// The organisation a caller of `role` acts for in this test.
fn org_of(role: Role) -> &'static str {
    match role {
        Role::Hq | Role::Steward => "HQ",
        Role::Agent => "CALLCENTER",
        Role::Dealer => "D1001",
        Role::Station => "S3001",
        Role::System => "PLATFORM",
        Role::Factory => "PLANT-SH",
        Role::Carrier => "CN-LOG-1",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reflected_method_is_allowed_exactly_to_the_roles_of_the_table() {
    let platform = TestPlatform::spawn_gateway_with(|l| dealernet_kit::config::Layer {
        rate_limit_per_org_rps: Some(100_000),
        rate_limit_burst: Some(100_000),
        ..l
    })
    .await;
    let methods = reflected_methods(platform.channel()).await;
    assert!(methods.len() > 100, "{} methods reflected", methods.len());
    let unlisted: Vec<&String> = methods
        .iter()
        .filter(|m| permissions::allowed_roles(m).is_none())
        .collect();
    assert!(
        unlisted.is_empty(),
        "methods without an entry in gateway/src/permissions.rs: {unlisted:?}"
    );
    let keys = TokenKeys::new(secrecy::SecretString::from(TEST_JWT_SECRET));
    let mut checks = tokio::task::JoinSet::new();
    for role in Role::ALL.iter().copied() {
        let principal = Principal::new("table.test", org_of(role), &[role]).expect("principal");
        let metadata = [
            (
                "authorization",
                format!("Bearer {}", keys.mint(&principal, 600)),
            ),
            ("x-purpose", "permission table test".to_owned()),
        ];
        let channel = platform.channel();
        let methods = methods.clone();
        checks.spawn(async move {
            let mut wrong = Vec::new();
            for method in &methods {
                let allowed = permissions::permits(method, &[role]);
                let outcome = call_raw(channel.clone(), &format!("/{method}"), &metadata).await;
                let refused_by_table = matches!(&outcome, Err(s)
                    if code_and_reason(s) == (Code::PermissionDenied, "METHOD_NOT_ALLOWED".into()));
                if allowed == refused_by_table {
                    wrong.push(format!("{} → {method}: {outcome:?}", role.name()));
                }
            }
            wrong
        });
    }
    let mut wrong = Vec::new();
    while let Some(done) = checks.join_next().await {
        wrong.extend(done.expect("checks"));
    }
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
