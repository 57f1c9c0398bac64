//! `GET /metrics` over HTTP/1.1, served with the hyper already in the tree (tonic's).

use std::{convert::Infallible, future::Future, time::Duration};

use http::{Request, Response, StatusCode, header::CONTENT_TYPE};
use tokio::net::TcpListener;

use super::Metrics;

/// How long a scraper may take to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `GET /metrics` (HTTP/1.1) on `listener` until `shutdown` resolves; any other
/// path is 404. Scrapes still open then are dropped: a scraper simply tries again.
pub async fn serve(listener: TcpListener, metrics: Metrics, shutdown: impl Future<Output = ()>) {
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let metrics = metrics.clone();
                    connections.spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            let response = respond(&metrics, &request);
                            async move { Ok::<_, Infallible>(response) }
                        });
                        let served = hyper::server::conn::http1::Builder::new()
                            .timer(hyper_util::rt::TokioTimer::new())
                            .header_read_timeout(HEADER_READ_TIMEOUT)
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                        if let Err(e) = served {
                            tracing::debug!(error = %e, "metrics connection ended");
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors, usually: wait instead of spinning.
                    tracing::warn!(error = %e, "metrics endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // Finished connections are reaped so the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn respond<B>(metrics: &Metrics, request: &Request<B>) -> Response<String> {
    let text = |status: StatusCode, body: &str| {
        let mut response = Response::new(body.to_owned());
        *response.status_mut() = status;
        response.headers_mut().insert(
            CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    };
    if request.uri().path() != "/metrics" {
        return text(
            StatusCode::NOT_FOUND,
            "not found: metrics are at /metrics\n",
        );
    }
    if request.method() != http::Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
    }
    match metrics.encode() {
        Ok(body) => {
            let mut response = Response::new(body);
            response.headers_mut().insert(
                CONTENT_TYPE,
                http::HeaderValue::from_static(
                    prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
                ),
            );
            response
        }
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "encoding failed\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_metrics_is_served() {
        let metrics = Metrics::new(&[]);
        let get = |method: http::Method, path: &str| {
            let request = Request::builder()
                .method(method)
                .uri(path)
                .body(())
                .expect("request");
            respond(&metrics, &request)
        };
        let ok = get(http::Method::GET, "/metrics");
        assert_eq!(ok.status(), StatusCode::OK);
        assert!(
            ok.headers()[CONTENT_TYPE]
                .to_str()
                .is_ok_and(|t| t.contains("version=0.0.4"))
        );
        assert_eq!(get(http::Method::GET, "/").status(), StatusCode::NOT_FOUND);
        assert_eq!(
            get(http::Method::POST, "/metrics").status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }
}
