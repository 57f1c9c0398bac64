//! End-to-end tests: one binary, so that the whole run shares one PostgreSQL cluster.

mod audit;
mod auth;
mod callbacks;
mod concurrency;
mod consent;
mod customers;
mod dealers;
mod duplicates;
mod erasure;
mod events;
mod feed;
mod gateway;
mod hotline;
mod hotline_events;
mod insights;
mod kill;
mod list;
mod merge;
mod metrics;
mod outlets;
mod outreach;
mod phone_reads;
mod recall;
mod relationships;
mod repair;
mod resolve;
mod sale;
mod server;
mod stock;
mod value;
mod vehicles;
mod visibility;

use dealernet_proto::{customers::v1 as pb, types::v1 as types};
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The platform's `services` (default: every backend) as a separate process on
/// `database_url`, for tests that kill it; returns the process and its address.
pub fn server_process(database_url: &str, services: Option<&str>) -> (std::process::Child, String) {
    server_process_with(database_url, services, &[])
}

/// As [`server_process`], with more `DEALERNET_TEST_*` variables for the test server.
pub fn server_process_with(
    database_url: &str,
    services: Option<&str>,
    env: &[(&str, String)],
) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dealernet-test-server"));
    command
        .env("DEALERNET_TEST_DATABASE_URL", database_url)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::piped());
    if let Some(services) = services {
        command.env("DEALERNET_TEST_SERVICES", services);
    }
    let mut child = command.spawn().expect("start the test server");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    let addr = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("unexpected: {line}"))
        .to_owned();
    (child, addr)
}

/// Asserts the status code and ErrorInfo reason of a refusal.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    reason: &str,
) -> Status {
    let status = result.expect_err("the call should have been refused");
    assert_eq!(status.code(), code, "{status:?}");
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "{status:?}");
    status
}

/// Asserts INVALID_ARGUMENT naming exactly `fields` (in any order) as violations.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Status>, fields: &[&str]) {
    let status = assert_refused(result, Code::InvalidArgument, "INVALID_ARGUMENT");
    let details = status.get_error_details();
    let bad = details
        .bad_request()
        .unwrap_or_else(|| panic!("no BadRequest in {status:?}"));
    let mut got: Vec<&str> = bad
        .field_violations
        .iter()
        .map(|f| f.field.as_str())
        .collect();
    got.sort();
    let mut want = fields.to_vec();
    want.sort();
    assert_eq!(got, want, "{status:?}");
    assert!(
        bad.field_violations
            .iter()
            .all(|f| !f.description.is_empty())
    );
}

/// A valid VIN for serial `n`: the check digit computed the ISO 3779 way.
pub fn test_vin(n: u32) -> String {
    let body = format!("LDN7A2B4_T{n:07}");
    let weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let value = |c: char| match c {
        '0'..='9' => c.to_digit(10).unwrap_or(0),
        'A' | 'J' => 1,
        'B' | 'K' | 'S' => 2,
        'C' | 'L' | 'T' => 3,
        'D' | 'M' | 'U' => 4,
        'E' | 'N' | 'V' => 5,
        'F' | 'W' => 6,
        'G' | 'P' | 'X' => 7,
        'H' | 'Y' => 8,
        _ => 9,
    };
    let sum: u32 = body
        .chars()
        .zip(weights)
        .map(|(c, w)| if c == '_' { 0 } else { value(c) * w })
        .sum();
    let check = match sum % 11 {
        10 => 'X',
        n => char::from_digit(n, 10).unwrap_or('0'),
    };
    body.replace('_', &check.to_string())
}

/// A valid person as a dealer POS would send it.
pub fn person(family: &str, given: &str, phone: &str) -> pb::Customer {
    pb::Customer {
        kind: pb::CustomerKind::Person as i32,
        person_name: Some(pb::PersonName {
            family_name: family.into(),
            given_name: given.into(),
        }),
        phones: vec![pb::Phone {
            number: phone.into(),
            kind: 0,
        }],
        address: Some(types::PostalAddress {
            province: "广东省".into(),
            city: "深圳市".into(),
            district: "南山区".into(),
            street: "科技园路1号".into(),
            postal_code: "518057".into(),
            region_code: "CN".into(),
        }),
        source_channel: pb::SourceChannel::DealerPos as i32,
        ..Default::default()
    }
}

/// The outlets the vehicle and hotline tests act at, created in the dealer network (by
/// request id, so calling this again changes nothing): 4S dealers D1001 and D1002,
/// service stations S2001, S2002, S3001 and S3002.
pub async fn network(platform: &dealernet_tests::TestPlatform) {
    use dealernet_proto::dealers::v1 as dpb;
    let mut hq = platform.dealers("HQ", dealernet_kit::auth::Role::Hq);
    let station = [dpb::Capability::Service, dpb::Capability::Parts];
    let outlets = [
        ("D1001", 0.0, &[][..]),
        ("D1002", 4.0, &[][..]),
        ("S2001", 8.0, &station[..]),
        ("S2002", 12.0, &station[..]),
        ("S3001", 16.0, &station[..]),
        ("S3002", 20.0, &station[..]),
    ];
    for (code, km_east, capabilities) in outlets {
        hq.create_outlet(dpb::CreateOutletRequest {
            outlet: Some(dealers::outlet_at(code, km_east, capabilities)),
            request_id: format!("network-{code}"),
        })
        .await
        .expect("create outlet");
    }
}
