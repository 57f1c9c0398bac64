//! The gateway end to end: every call goes through the public endpoint of a platform that
//! runs the gateway in front of every service, as `dealernet dev` does.

mod apikeys;
mod credentials;
mod customer360;
mod limits;
mod permissions;
mod routing;
mod story;
mod tls;
mod web;

use tonic::{Code, Request, Status, client::Grpc, transport::Channel};

/// Calls `path` with an empty request message (every field at its default) and the given
/// metadata, decoding nothing of the answer: enough to see how the gateway treats a path.
pub async fn call_raw(
    channel: Channel,
    path: &str,
    metadata: &[(&'static str, String)],
) -> Result<(), Status> {
    let mut grpc = Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut request = Request::new(());
    request.set_timeout(std::time::Duration::from_secs(5));
    for (key, value) in metadata {
        request.metadata_mut().insert(
            *key,
            value
                .parse()
                .map_err(|_| Status::internal("bad metadata"))?,
        );
    }
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let path = http::uri::PathAndQuery::try_from(path)
        .map_err(|_| Status::internal(format!("bad path {path}")))?;
    grpc.unary(request, path, codec).await.map(|_| ())
}

/// The code and ErrorInfo reason of a refusal ("" when it has none).
pub fn code_and_reason(status: &Status) -> (Code, String) {
    use tonic_types::StatusExt;
    let reason = status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default();
    (status.code(), reason)
}
