//! Support for the end-to-end tests: start a real `schedd` process on a
//! Unix socket in a fresh directory, talk to it with `schedctl` or a
//! tonic client, and stop it (gracefully or with kill -9).
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sched_proto::v1 as pb;
use sched_proto::SchedulerClient;
use tonic::transport::Channel;

pub const SCHEDD: &str = env!("CARGO_BIN_EXE_schedd");
pub const SCHEDCTL: &str = env!("CARGO_BIN_EXE_schedctl");

/// The fixture recipe of four 8-core nodes.
pub fn four_nodes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/four-nodes.yaml")
}

/// A directory of its own for one test, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!(
            "quiver-e2e-{tag}-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running schedd.
pub struct Daemon {
    pub child: Child,
    pub socket: PathBuf,
    pub state: PathBuf,
    pub log: PathBuf,
}

/// Start schedd with `args` (plus the socket and state dir in `dir`) and
/// wait until it answers.
pub fn start(dir: &Path, args: &[&str]) -> Daemon {
    start_in(dir, &[], args)
}

/// [`start`], with schedd run by `wrapper` (a command that ends by
/// executing its arguments, such as `ip netns exec NS`).
pub fn start_in(dir: &Path, wrapper: &[&str], args: &[&str]) -> Daemon {
    let socket = dir.join("schedd.sock");
    let state = dir.join("state");
    let log = dir.join(format!(
        "schedd-{}.log",
        Instant::now().elapsed().as_nanos()
    ));
    let mut cmd = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(SCHEDD);
            c
        }
        None => Command::new(SCHEDD),
    };
    let child = cmd
        .arg("--socket")
        .arg(&socket)
        .arg("--state-dir")
        .arg(&state)
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("schedd starts");
    let mut d = Daemon {
        child,
        socket,
        state,
        log,
    };
    d.wait_ready();
    d
}

impl Daemon {
    pub fn uri(&self) -> String {
        format!("unix:{}", self.socket.display())
    }

    /// Wait (up to 20 s) until `schedctl status` answers.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("schedd exited ({st}): {}", self.log_text());
            }
            if self.socket.exists() && self.ctl(&["status"]).status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "schedd not ready: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Run schedctl against this daemon.
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(SCHEDCTL)
            .arg("--uri")
            .arg(self.uri())
            .args(args)
            .output()
            .expect("schedctl runs")
    }

    /// Run schedctl as user `uid` (group `gid`). The binary is copied
    /// beside the daemon's socket first (tests make that directory
    /// enterable): the checkout it was built in may sit where other users
    /// may not go, such as root's home.
    pub fn ctl_as(&self, uid: u32, gid: u32, args: &[&str]) -> Output {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        let dir = self.socket.parent().expect("the socket is in a directory");
        let ctl = dir.join("schedctl");
        if !ctl.exists() {
            std::fs::copy(SCHEDCTL, &ctl).unwrap();
            std::fs::set_permissions(&ctl, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // Another thread forking while the copy was open for writing may
        // hold it a moment longer (ETXTBSY): try again.
        let mut tries = 0;
        loop {
            match Command::new(&ctl)
                .arg("--uri")
                .arg(self.uri())
                .args(args)
                .uid(uid)
                .gid(gid)
                .output()
            {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other.expect("schedctl runs"),
            }
        }
    }

    /// Run schedctl, expect success, return its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        assert!(
            out.status.success(),
            "schedctl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log_text()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A tonic client over the Unix socket.
    pub async fn client(&self) -> SchedulerClient<Channel> {
        unix_client(&self.socket).await
    }

    /// kill -9, then reap.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::forget(self);
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let st = self.child.wait().unwrap();
        assert!(st.success(), "schedd exit {st}: {}", self.log_text());
        std::mem::forget(self);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tonic client over a Unix socket.
pub async fn unix_client(path: &Path) -> SchedulerClient<Channel> {
    SchedulerClient::new(
        schedd::client::connect_unix(path)
            .await
            .expect("connect to schedd"),
    )
}

/// A jobspec of `nodes` exclusive nodes (or `cores` cores when nodes is
/// 0) for `duration` seconds. (A slot lies within one socket, as in
/// Fluxion, so a node's slot asks for one core; the node is exclusive.)
pub fn jobspec(nodes: u32, cores: u32, duration: u64) -> String {
    let inner = format!(
        "- type: slot\n  count: {c}\n  label: task\n  with:\n    - type: core\n      count: 1\n",
        c = cores.max(1)
    );
    let res = if nodes > 0 {
        format!(
            "- type: node\n  count: {nodes}\n  exclusive: true\n  with:\n    - type: slot\n      count: 1\n      label: task\n      with:\n        - type: core\n          count: 1\n"
        )
    } else {
        inner
    };
    format!(
        "version: 9999\nresources:\n{}attributes:\n  system:\n    duration: {duration}\ntasks:\n  - command: [\"app\"]\n    slot: task\n    count:\n      per_slot: 1\n",
        indent(&res)
    )
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

/// Submit a jobspec through the client; the job id.
pub async fn submit(c: &mut SchedulerClient<Channel>, js: &str) -> u64 {
    c.submit(pb::SubmitRequest {
        jobspec: js.to_owned(),
        name: String::new(),
        jobs: Vec::new(),
    })
    .await
    .expect("submit")
    .into_inner()
    .job_id
}

/// The job's info.
pub async fn info(c: &mut SchedulerClient<Channel>, id: u64) -> pb::JobInfo {
    c.info(pb::InfoRequest { job_id: id })
        .await
        .expect("info")
        .into_inner()
}

/// Move the simulated clock.
pub async fn advance(c: &mut SchedulerClient<Channel>, secs: i64) -> i64 {
    c.advance(pb::AdvanceRequest { seconds: secs })
        .await
        .expect("advance")
        .into_inner()
        .now
}

pub fn state(j: &pb::JobInfo) -> pb::JobState {
    pb::JobState::try_from(j.state).unwrap()
}

/// Whether process `pid` is alive (not gone, not a zombie).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.split_whitespace().next() != Some("Z")),
        Err(_) => false,
    }
}

/// Make the daemon's next commit fail: another writer takes job id 1,
/// the daemon's next, so the submit's journal write fails, and with it
/// the batch's commit (the daemon must then stop).
pub fn take_the_next_job_id(d: &Daemon) {
    let taken = schedd::journal::JobRecord {
        id: 1,
        name: String::new(),
        owner: 1,
        submit_time: 0,
        jobspec: jobspec(0, 1, 100).into(),
        duration: 100,
        by_match: false,
        state: "pending".into(),
        start_time: 0,
        end_time: 0,
        reason: String::new(),
        exit_code: 0,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // The daemon may hold the database for a moment: try again.
        let written = schedd::journal::Journal::open(&d.state).and_then(|mut j| j.submit(&taken));
        match written {
            Ok(()) => break,
            Err(e) if Instant::now() > deadline => panic!("journal: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate
/// for each of `clients` (CLIENT.pem, CLIENT.key), made with the openssl
/// command; None when it is missing.
pub fn make_certs(dir: &std::path::Path, clients: &[&str]) -> Option<()> {
    make_certs_for(dir, clients, &["127.0.0.1"])
}

/// [`make_certs`] with a server certificate for each address of `ips`.
pub fn make_certs_for(dir: &std::path::Path, clients: &[&str], ips: &[&str]) -> Option<()> {
    let run = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| ())
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=quiver-test-ca",
    ])?;
    std::fs::write(
        dir.join("ext.cnf"),
        format!(
            "subjectAltName={},DNS:localhost\nbasicConstraints=CA:FALSE\n",
            ips.iter()
                .map(|ip| format!("IP:{ip}"))
                .collect::<Vec<_>>()
                .join(",")
        ),
    )
    .ok()?;
    for who in std::iter::once(&"server").chain(clients) {
        run(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{who}.key"),
            "-out",
            &format!("{who}.csr"),
            "-subj",
            &format!("/CN={who}"),
        ])?;
        run(&[
            "x509",
            "-req",
            "-in",
            &format!("{who}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &format!("{who}.pem"),
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ])?;
    }
    Some(())
}
