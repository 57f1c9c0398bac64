//! A private PostgreSQL started from the installed server binaries, for `dev` mode and the
//! test harness.
//!
//! PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system
//! user (created if missing) through `setpriv`. The server is a child process that dies with
//! its parent (`setpriv --pdeathsig`), so a crashed or killed `dealernet` never leaves a
//! server behind. The parent-death signal fires when the *thread* that spawned the child
//! ends, so a dedicated supervisor thread spawns it and lives exactly as long as it does.

use std::{
    fs,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// Where Debian and most Linux packages install the server binaries.
const SEARCH_ROOTS: &[&str] = &["/usr/lib/postgresql", "/usr/local/pgsql", "/opt/postgresql"];
/// The role name of the private cluster's superuser.
pub const SUPERUSER: &str = "postgres";

/// Why the private PostgreSQL could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LocalPgError {
    #[error(
        "PostgreSQL server binaries (initdb, postgres) not found in {searched}: install them \
         (Debian/Ubuntu: apt-get install postgresql) or give a database with --database-url"
    )]
    NotInstalled { searched: String },
    #[error("{step} failed: {detail}")]
    Step { step: &'static str, detail: String },
}

fn step(step: &'static str, detail: impl ToString) -> LocalPgError {
    LocalPgError::Step {
        step,
        detail: detail.to_string(),
    }
}

/// How to start the cluster.
#[derive(Debug, Clone)]
pub struct Options {
    /// The data directory; created and initialised when empty, reused otherwise.
    pub data_dir: PathBuf,
    /// Trade durability for speed (fsync off). For throw-away test clusters only.
    pub ephemeral: bool,
    /// Server settings passed as `-c name=value`.
    pub settings: Vec<(String, String)>,
}

/// A running private PostgreSQL; stopped (fast shutdown) on [`LocalPostgres::stop`] or drop.
#[derive(Debug)]
pub struct LocalPostgres {
    pid: u32,
    port: u16,
    bin: PathBuf,
    data_dir: PathBuf,
    exited: mpsc::Receiver<()>,
    stopped: bool,
}

/// Finds a directory holding `initdb` and `postgres`: `DEALERNET_PG_BIN`, then the newest
/// version under the standard install roots, then `PATH`.
pub fn find_binaries() -> Result<PathBuf, LocalPgError> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("DEALERNET_PG_BIN").map(PathBuf::from) {
        return if has_both(&dir) {
            Ok(dir)
        } else {
            Err(LocalPgError::NotInstalled {
                searched: dir.display().to_string(),
            })
        };
    }
    for root in SEARCH_ROOTS {
        let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_str()?.split('.').next()?.parse().ok()?;
                Some((version, e.path().join("bin")))
            })
            .filter(|(_, bin)| has_both(bin))
            .collect();
        versions.sort();
        if let Some((_, bin)) = versions.pop() {
            return Ok(bin);
        }
        let bin = Path::new(root).join("bin");
        if has_both(&bin) {
            return Ok(bin);
        }
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if has_both(&dir) {
            return Ok(dir);
        }
    }
    Err(LocalPgError::NotInstalled {
        searched: format!("$DEALERNET_PG_BIN, {}, $PATH", SEARCH_ROOTS.join(", ")),
    })
}

/// The user the server runs as: ourselves, or `postgres` when we are root.
struct RunAs {
    /// `Some((uid, gid))` when we must drop privileges.
    ids: Option<(u32, u32)>,
}

impl RunAs {
    fn detect() -> Result<RunAs, LocalPgError> {
        if current_uid()? != 0 {
            return Ok(RunAs { ids: None });
        }
        if id_of("-u").is_err() {
            let out = Command::new("useradd")
                .args([
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    SUPERUSER,
                ])
                .output()
                .map_err(|e| step("useradd postgres", e))?;
            if !out.status.success() {
                return Err(step(
                    "useradd postgres",
                    String::from_utf8_lossy(&out.stderr),
                ));
            }
        }
        Ok(RunAs {
            ids: Some((id_of("-u")?, id_of("-g")?)),
        })
    }

    /// A command that runs `program` as this user and dies with its parent thread.
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new("setpriv");
        if let Some((uid, gid)) = self.ids {
            cmd.arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--init-groups");
        }
        cmd.args(["--pdeathsig", "SIGINT", "--"]).arg(program);
        cmd
    }

    fn own(&self, path: &Path) -> Result<(), LocalPgError> {
        if let Some((uid, gid)) = self.ids {
            let out = Command::new("chown")
                .arg("-R")
                .arg(format!("{uid}:{gid}"))
                .arg(path)
                .output()
                .map_err(|e| step("chown data directory", e))?;
            if !out.status.success() {
                return Err(step(
                    "chown data directory",
                    String::from_utf8_lossy(&out.stderr),
                ));
            }
        }
        Ok(())
    }
}

fn current_uid() -> Result<u32, LocalPgError> {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| step("id -u", e))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|e| step("id -u", e))
}

fn id_of(flag: &str) -> Result<u32, LocalPgError> {
    let out = Command::new("id")
        .args([flag, SUPERUSER])
        .output()
        .map_err(|e| step("id postgres", e))?;
    if !out.status.success() {
        return Err(step("id postgres", "no postgres user"));
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|e| step("id postgres", e))
}

/// A port that was free a moment ago.
fn free_port() -> Result<u16, LocalPgError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| step("pick a port", e))?;
    Ok(listener
        .local_addr()
        .map_err(|e| step("pick a port", e))?
        .port())
}

impl LocalPostgres {
    /// Initialises `options.data_dir` if needed and starts the server on a free port.
    pub fn start(options: &Options) -> Result<LocalPostgres, LocalPgError> {
        let bin = find_binaries()?;
        let run_as = RunAs::detect()?;
        let data_dir = absolute(&options.data_dir)?;
        let log_path = data_dir.with_extension("log");
        if !data_dir.join("PG_VERSION").is_file() {
            fs::create_dir_all(&data_dir).map_err(|e| step("create data directory", e))?;
            run_as.own(&data_dir)?;
            let out = run_as
                .command(&bin.join("initdb"))
                .arg("-D")
                .arg(&data_dir)
                .args([
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-instructions",
                ])
                .args(if options.ephemeral {
                    &["--no-sync"][..]
                } else {
                    &[][..]
                })
                .stdin(Stdio::null())
                .output()
                .map_err(|e| step("initdb", e))?;
            if !out.status.success() {
                return Err(step(
                    "initdb",
                    format!(
                        "{}{} (data directory {}; as root it must be reachable by the postgres user)",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr),
                        data_dir.display()
                    ),
                ));
            }
        }
        if let Some(pid) = running_postmaster(&data_dir) {
            return Err(step(
                "postgres start",
                format!(
                    "{} is in use by a running PostgreSQL (pid {pid}): is another `dealernet dev` running here?",
                    data_dir.display()
                ),
            ));
        }
        let port = free_port()?;
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| step("open server log", e))?;
        let log_err = log.try_clone().map_err(|e| step("open server log", e))?;

        let mut cmd = run_as.command(&bin.join("postgres"));
        cmd.arg("-D")
            .arg(&data_dir)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&data_dir)
            .args(["-c", "listen_addresses=127.0.0.1"]);
        let mut settings = options.settings.clone();
        if options.ephemeral {
            for (k, v) in [
                ("fsync", "off"),
                ("synchronous_commit", "off"),
                ("full_page_writes", "off"),
            ] {
                settings.push((k.into(), v.into()));
            }
        }
        for (k, v) in &settings {
            cmd.arg("-c").arg(format!("{k}={v}"));
        }
        cmd.stdin(Stdio::null()).stdout(log).stderr(log_err);

        let (pid_tx, pid_rx) = mpsc::channel();
        let (exit_tx, exit_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("postgres-supervisor".into())
            .spawn(move || match cmd.spawn() {
                Ok(mut child) => {
                    let _ = pid_tx.send(Ok(child.id()));
                    let _ = child.wait();
                    let _ = exit_tx.send(());
                }
                Err(e) => {
                    let _ = pid_tx.send(Err(e));
                }
            })
            .map_err(|e| step("spawn supervisor thread", e))?;
        let pid = pid_rx
            .recv()
            .map_err(|e| step("start postgres", e))?
            .map_err(|e| step("start postgres", e))?;
        let mut server = LocalPostgres {
            pid,
            port,
            bin,
            data_dir,
            exited: exit_rx,
            stopped: false,
        };
        server.wait_ready(&log_path)?;
        Ok(server)
    }

    /// Waits until the server accepts TCP connections, or reports its log if it died.
    fn wait_ready(&mut self, log_path: &Path) -> Result<(), LocalPgError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.exited.try_recv().is_ok() {
                self.stopped = true;
                let log = fs::read_to_string(log_path).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(8).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Err(step("postgres start", tail.join("\n")));
            }
            // pg_isready succeeds only once startup (and crash recovery) is over.
            let ready = Command::new(self.bin.join("pg_isready"))
                .args([
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    SUPERUSER,
                    "-p",
                    &self.port.to_string(),
                ])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(step("postgres start", "not ready after 60 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A connection URL for `database` as the superuser.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Fast shutdown: rolls back open transactions, checkpoints, exits.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let _ = Command::new("kill")
            .args(["-s", "INT", &self.pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if self.exited.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = Command::new("kill")
                .args(["-s", "QUIT", &self.pid.to_string()])
                .status();
        }
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The pid of a live server that owns `data_dir`, from its `postmaster.pid`.
fn running_postmaster(data_dir: &Path) -> Option<u32> {
    let text = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let pid: u32 = text.lines().next()?.trim().parse().ok()?;
    Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
}

fn absolute(path: &Path) -> Result<PathBuf, LocalPgError> {
    if path.is_absolute() {
        Ok(path.to_path_buf())
    } else {
        Ok(std::env::current_dir()
            .map_err(|e| step("resolve data directory", e))?
            .join(path))
    }
}
