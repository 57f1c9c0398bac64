//! The platform as a separate process, for tests that must kill the server mid-flight.
//! Serves on a free port of 127.0.0.1 against `DEALERNET_TEST_DATABASE_URL` with the test
//! keys, prints `listening <addr>` once ready, and runs until killed. Runs the services
//! named in `DEALERNET_TEST_SERVICES` (comma-separated; default: every backend), on
//! `DEALERNET_TEST_LISTEN_ADDR` when set, calling the customers and dealers services at
//! `DEALERNET_TEST_CUSTOMERS_URL` / `DEALERNET_TEST_DEALERS_URL` when they run elsewhere.

use std::io::Write;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DEALERNET_TEST_DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("set DEALERNET_TEST_DATABASE_URL"))?;
    let services = std::env::var("DEALERNET_TEST_SERVICES").ok();
    let var = |name: &str| std::env::var(name).ok();
    let config = dealernet_tests::test_config(&url, |layer| dealernet_kit::config::Layer {
        services: services.map(|s| s.split(',').map(str::to_owned).collect()),
        listen_addr: var("DEALERNET_TEST_LISTEN_ADDR").or(layer.listen_addr),
        customers_url: var("DEALERNET_TEST_CUSTOMERS_URL"),
        dealers_url: var("DEALERNET_TEST_DEALERS_URL"),
        ..layer
    });
    let platform = dealernet::Platform::build(&config).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening {}", platform.addr())?;
    stdout.flush()?;
    platform
        .run_until_stopped(dealernet::shutdown_signal())
        .await
}
