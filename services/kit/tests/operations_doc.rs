//! The settings table of docs/operations.md against the configuration code: the table
//! must name exactly the environment variables `Layer::from_lookup` reads (plus the few
//! read elsewhere), pair each with its toml key, and quote the defaults and bounds the code
//! uses. A setting added to the code without a row, or a row left behind, fails here.

use std::{
    cell::RefCell,
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
};

use dealernet_kit::config::{self, Config, Layer, ServiceKind};
use secrecy::SecretString;

/// Variables in the table that `Layer::from_lookup` does not read, and who does.
const READ_ELSEWHERE: &[(&str, &str)] = &[
    ("DEALERNET_CONFIG", "clap, for --config (src/main.rs)"),
    ("RUST_LOG", "telemetry::init, over `log`"),
];

const BEGIN: &str = "<!-- settings:begin -->";
const END: &str = "<!-- settings:end -->";

/// One row of the settings table, by column name.
struct Row {
    line: usize,
    cells: BTreeMap<String, String>,
}

impl Row {
    fn cell(&self, column: &str) -> &str {
        self.cells
            .get(column)
            .map(String::as_str)
            .unwrap_or_else(|| {
                panic!(
                    "docs/operations.md line {}: no column '{column}'",
                    self.line
                )
            })
    }

    fn text(&self) -> String {
        self.cells.values().cloned().collect::<Vec<_>>().join(" ")
    }
}

/// The `code` spans of a cell, in order.
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

fn is_env_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn settings_table() -> Vec<Row> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/operations.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let start = text
        .find(BEGIN)
        .unwrap_or_else(|| panic!("docs/operations.md: no {BEGIN} marker"));
    let end = text
        .find(END)
        .unwrap_or_else(|| panic!("docs/operations.md: no {END} marker"));
    let first_line = text[..start].lines().count() + 1;
    let split = |line: &str| -> Vec<String> {
        let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
        inner.split('|').map(|c| c.trim().to_owned()).collect()
    };
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for (n, line) in text[start..end].lines().enumerate() {
        if !line.trim_start().starts_with('|') {
            continue;
        }
        let cells = split(line);
        if cells.iter().all(|c| c.chars().all(|ch| "-: ".contains(ch))) {
            continue; // the separator line
        }
        match &header {
            None => header = Some(cells),
            Some(names) => {
                assert_eq!(
                    cells.len(),
                    names.len(),
                    "docs/operations.md line {}: {} cells, the header has {}",
                    first_line + n,
                    cells.len(),
                    names.len()
                );
                rows.push(Row {
                    line: first_line + n,
                    cells: names.iter().cloned().zip(cells).collect(),
                });
            }
        }
    }
    assert!(
        !rows.is_empty(),
        "docs/operations.md: the settings table is empty"
    );
    rows
}

/// Every key `Layer::from_lookup` asks its lookup for: the variables the code reads.
fn variables_the_code_reads() -> BTreeSet<String> {
    let asked = RefCell::new(BTreeSet::new());
    Layer::from_lookup(|key| {
        asked.borrow_mut().insert(key.to_owned());
        None
    })
    .expect("an empty environment is a valid layer");
    asked.into_inner()
}

/// The environment variable of each row (at most one), with the row.
fn rows_by_variable(rows: &[Row]) -> BTreeMap<String, &Row> {
    let mut by_variable = BTreeMap::new();
    for row in rows {
        let names: Vec<&str> = code_spans(row.cell("environment variable"))
            .into_iter()
            .filter(|s| is_env_name(s))
            .collect();
        assert!(
            names.len() <= 1,
            "docs/operations.md line {}: one environment variable per row, found {names:?}",
            row.line
        );
        if let Some(name) = names.first() {
            let earlier = by_variable.insert((*name).to_owned(), row);
            assert!(earlier.is_none(), "docs/operations.md: {name} has two rows");
        }
    }
    by_variable
}

#[test]
fn the_table_names_exactly_the_variables_the_code_reads() {
    let rows = settings_table();
    let documented: BTreeSet<String> = rows_by_variable(&rows).into_keys().collect();
    let read = variables_the_code_reads();
    let elsewhere: BTreeSet<String> = READ_ELSEWHERE.iter().map(|(v, _)| (*v).into()).collect();
    for name in &elsewhere {
        assert!(
            !read.contains(name),
            "{name} is read by Layer::from_lookup now; drop it from READ_ELSEWHERE"
        );
    }
    let expected: BTreeSet<String> = read.union(&elsewhere).cloned().collect();
    let missing: Vec<_> = expected.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "docs/operations.md settings table is out of step with the configuration code:\n  \
         read by the code but not in the table: {missing:?}\n  \
         in the table but not read by the code: {extra:?}"
    );
}

#[test]
fn each_variable_sits_beside_its_toml_key() {
    let rows = settings_table();
    let read = variables_the_code_reads();
    for (name, row) in rows_by_variable(&rows) {
        let key_cell = row.cell("toml key");
        let key = key_cell
            .starts_with('`')
            .then(|| code_spans(key_cell).first().copied())
            .flatten();
        match name.strip_prefix("DEALERNET_") {
            Some(rest) if read.contains(&name) => {
                let want = rest.to_ascii_lowercase();
                assert_eq!(
                    key,
                    Some(want.as_str()),
                    "docs/operations.md line {}: {name} is the variable of toml key `{want}`",
                    row.line
                );
                // Layer denies unknown fields: a wrongly typed value is another error.
                let probe = toml::from_str::<Layer>(&format!("{want} = 0"));
                if let Err(e) = probe {
                    assert!(
                        !e.to_string().contains("unknown field"),
                        "`{want}` is not a key of dealernet.toml: {e}"
                    );
                }
            }
            _ => assert!(
                key.is_none(),
                "docs/operations.md line {}: {name} has no toml key; start the cell with —",
                row.line
            ),
        }
    }
}

/// A layer with the three required keys and nothing else: every other value is a default.
fn defaults() -> Config {
    let key = || Some(SecretString::from("k".repeat(config::MIN_SECRET_LEN)));
    Config::from_layer(Layer {
        jwt_secret: key(),
        id_hash_key: key(),
        page_token_key: key(),
        ..Layer::default()
    })
    .expect("the defaults are valid")
}

#[test]
fn the_defaults_and_bounds_are_the_code_s() {
    let backends: Vec<&str> = ServiceKind::BACKENDS.iter().map(|s| s.name()).collect();
    let defaults_in_code: BTreeMap<&str, String> = [
        (
            "DEALERNET_LISTEN_ADDR",
            config::DEFAULT_LISTEN_ADDR.to_owned(),
        ),
        (
            "DEALERNET_DATABASE_MAX_CONNECTIONS",
            config::DEFAULT_DATABASE_MAX_CONNECTIONS.to_string(),
        ),
        ("DEALERNET_SERVICES", backends.join(",")),
        (
            "DEALERNET_CONCURRENCY_LIMIT",
            config::DEFAULT_CONCURRENCY_LIMIT.to_string(),
        ),
        (
            "DEALERNET_IDEMPOTENCY_RETENTION_HOURS",
            config::DEFAULT_IDEMPOTENCY_RETENTION_HOURS.to_string(),
        ),
        (
            "DEALERNET_EVENTS_POLL_INTERVAL_MS",
            config::DEFAULT_EVENTS_POLL_INTERVAL_MS.to_string(),
        ),
        (
            "DEALERNET_EVENTS_RETENTION_HOURS",
            config::DEFAULT_EVENTS_RETENTION_HOURS.to_string(),
        ),
        ("DEALERNET_LOG", config::DEFAULT_LOG.to_owned()),
        ("DEALERNET_LOG_FORMAT", "json".to_owned()),
        (
            "DEALERNET_LEAD_SWEEP_INTERVAL_SECS",
            config::DEFAULT_LEAD_SWEEP_INTERVAL_SECS.to_string(),
        ),
        (
            "DEALERNET_RATE_LIMIT_PER_ORG_RPS",
            config::DEFAULT_RATE_PER_ORG.to_string(),
        ),
        (
            "DEALERNET_RATE_LIMIT_BURST",
            config::DEFAULT_BURST.to_string(),
        ),
        (
            "DEALERNET_MAX_DEADLINE_MS",
            config::DEFAULT_MAX_DEADLINE_MS.to_string(),
        ),
        (
            "DEALERNET_API_KEY_CACHE_TTL_SECS",
            config::DEFAULT_API_KEY_CACHE_TTL_SECS.to_string(),
        ),
        (
            "DEALERNET_VALUE_KEY_ACCOUNT_MIN_MINOR",
            config::DEFAULT_VALUE_KEY_ACCOUNT_MIN_MINOR.to_string(),
        ),
        (
            "DEALERNET_VALUE_RELATIONSHIP_MIN_PURCHASES",
            config::DEFAULT_VALUE_RELATIONSHIP_MIN_PURCHASES.to_string(),
        ),
        (
            "DEALERNET_VALUE_RELATIONSHIP_MIN_VISITS",
            config::DEFAULT_VALUE_RELATIONSHIP_MIN_VISITS.to_string(),
        ),
        (
            "DEALERNET_VALUE_RELATIONSHIP_MIN_TENURE_DAYS",
            config::DEFAULT_VALUE_RELATIONSHIP_MIN_TENURE_DAYS.to_string(),
        ),
        (
            "DEALERNET_VALUE_RECENT_SURVEYS",
            config::DEFAULT_VALUE_RECENT_SURVEYS.to_string(),
        ),
    ]
    .into_iter()
    .collect();

    // The constants are what `Config::from_layer` falls back to.
    let config = defaults();
    let gateway = &config.gateway;
    assert_eq!(
        config.listen_addr.to_string(),
        defaults_in_code["DEALERNET_LISTEN_ADDR"]
    );
    assert_eq!(
        config.database_max_connections,
        config::DEFAULT_DATABASE_MAX_CONNECTIONS
    );
    assert_eq!(config.services, ServiceKind::BACKENDS);
    assert_eq!(config.concurrency_limit, config::DEFAULT_CONCURRENCY_LIMIT);
    assert_eq!(
        config.idempotency_retention_hours,
        config::DEFAULT_IDEMPOTENCY_RETENTION_HOURS
    );
    assert_eq!(
        config.events_poll_interval_ms,
        config::DEFAULT_EVENTS_POLL_INTERVAL_MS
    );
    assert_eq!(
        config.events_retention_hours,
        config::DEFAULT_EVENTS_RETENTION_HOURS
    );
    assert_eq!(
        config.value,
        config::ValueSettings {
            key_account_min_minor: config::DEFAULT_VALUE_KEY_ACCOUNT_MIN_MINOR,
            relationship_min_purchases: config::DEFAULT_VALUE_RELATIONSHIP_MIN_PURCHASES,
            relationship_min_visits: config::DEFAULT_VALUE_RELATIONSHIP_MIN_VISITS,
            relationship_min_tenure_days: config::DEFAULT_VALUE_RELATIONSHIP_MIN_TENURE_DAYS,
            recent_surveys: config::DEFAULT_VALUE_RECENT_SURVEYS,
        }
    );
    assert_eq!(config.log, config::DEFAULT_LOG);
    assert_eq!(config.log_format, config::LogFormat::Json);
    assert_eq!(config.metrics_addr, None);
    assert_eq!(
        config.lead_sweep_interval_secs,
        config::DEFAULT_LEAD_SWEEP_INTERVAL_SECS
    );
    assert_eq!(
        gateway.rate_limits.per_org_rps,
        config::DEFAULT_RATE_PER_ORG
    );
    assert_eq!(gateway.rate_limits.burst, config::DEFAULT_BURST);
    assert_eq!(
        gateway.max_deadline.as_millis(),
        u128::from(config::DEFAULT_MAX_DEADLINE_MS)
    );
    assert_eq!(
        gateway.api_key_cache_ttl.as_secs(),
        config::DEFAULT_API_KEY_CACHE_TTL_SECS
    );

    // The table quotes them: the default column's first `code` span is the default; a
    // setting without one in the code has no `code` span there.
    let rows = settings_table();
    let by_variable = rows_by_variable(&rows);
    for (name, row) in &by_variable {
        let spans = code_spans(row.cell("default"));
        match defaults_in_code.get(name.as_str()) {
            Some(want) => assert_eq!(
                spans.first().copied(),
                Some(want.as_str()),
                "docs/operations.md line {}: the default of {name} is `{want}`",
                row.line
            ),
            None if variables_the_code_reads().contains(name) => assert!(
                spans.is_empty(),
                "docs/operations.md line {}: {name} has no default in the code, yet the table quotes {spans:?}",
                row.line
            ),
            None => {}
        }
    }
    for name in defaults_in_code.keys() {
        assert!(
            by_variable.contains_key(*name),
            "docs/operations.md: no row for {name}"
        );
    }

    // And the bounds validation enforces appear in the row, as `code`.
    let secret_len = config::MIN_SECRET_LEN.to_string();
    let bounds: &[(&str, String)] = &[
        ("DEALERNET_JWT_SECRET", secret_len.clone()),
        ("DEALERNET_ID_HASH_KEY", secret_len.clone()),
        ("DEALERNET_PAGE_TOKEN_KEY", secret_len),
        (
            "DEALERNET_IDEMPOTENCY_RETENTION_HOURS",
            config::MIN_IDEMPOTENCY_RETENTION_HOURS.to_string(),
        ),
        (
            "DEALERNET_LEAD_SWEEP_INTERVAL_SECS",
            config::MAX_LEAD_SWEEP_INTERVAL_SECS.to_string(),
        ),
        (
            "DEALERNET_EVENTS_POLL_INTERVAL_MS",
            config::MIN_EVENTS_POLL_INTERVAL_MS.to_string(),
        ),
        (
            "DEALERNET_EVENTS_POLL_INTERVAL_MS",
            config::MAX_EVENTS_POLL_INTERVAL_MS.to_string(),
        ),
        (
            "DEALERNET_EVENTS_RETENTION_HOURS",
            config::MIN_EVENTS_RETENTION_HOURS.to_string(),
        ),
        (
            "DEALERNET_MAX_DEADLINE_MS",
            config::MAX_DEADLINE_MS_BOUNDS.start().to_string(),
        ),
        (
            "DEALERNET_MAX_DEADLINE_MS",
            config::MAX_DEADLINE_MS_BOUNDS.end().to_string(),
        ),
        (
            "DEALERNET_API_KEY_CACHE_TTL_SECS",
            config::MAX_API_KEY_CACHE_TTL_SECS.to_string(),
        ),
        (
            "DEALERNET_VALUE_RECENT_SURVEYS",
            config::MAX_VALUE_RECENT_SURVEYS.to_string(),
        ),
        (
            "DEALERNET_VALUE_RELATIONSHIP_MIN_VISITS",
            config::MAX_VALUE_THRESHOLD.to_string(),
        ),
        (
            "DEALERNET_VALUE_RELATIONSHIP_MIN_PURCHASES",
            config::MAX_VALUE_THRESHOLD.to_string(),
        ),
        (
            "DEALERNET_VALUE_RELATIONSHIP_MIN_TENURE_DAYS",
            config::MAX_VALUE_THRESHOLD.to_string(),
        ),
    ];
    for (name, bound) in bounds {
        let row = by_variable
            .get(*name)
            .unwrap_or_else(|| panic!("docs/operations.md: no row for {name}"));
        let text = row.text();
        assert!(
            code_spans(&text).contains(&bound.as_str()),
            "docs/operations.md line {}: the row of {name} must quote its bound `{bound}`",
            row.line
        );
    }
}
