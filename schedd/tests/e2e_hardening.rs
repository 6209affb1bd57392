//! A daemon that survives hostile users and input: real schedd processes
//! refusing what they must (other users' jobs when not root, untrusted
//! socket directories, clear-text tokens, over-long durations, floods of
//! jobs and connections), keeping their files to themselves, stopping
//! cleanly on SIGHUP, and answering others while a pathological jobspec
//! is refused.
mod common;

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The unprivileged user the tests use as a second uid.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn sim_args(recipe: &std::path::Path) -> Vec<String> {
    let r = recipe.to_str().unwrap();
    ["--grug", r, "--executor", "sim", "--clock", "sim"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Run schedd with `args` expecting it to refuse to start; its stderr.
fn refused(args: &[&str]) -> String {
    let out = Command::new(SCHEDD)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("schedd runs");
    assert!(
        !out.status.success(),
        "schedd {args:?} started: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_schedd_that_is_not_root_refuses_other_users_jobs_at_submit() {
    if !is_root() {
        eprintln!("skipped: needs root to run schedd as a second user");
        return;
    }
    let dir = TempDir::new("nonroot");
    std::os::unix::fs::chown(&dir.0, Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The binary may sit where nobody may not go: copy it in.
    let schedd = dir.0.join("schedd");
    std::fs::copy(SCHEDD, &schedd).unwrap();
    std::fs::set_permissions(&schedd, std::fs::Permissions::from_mode(0o755)).unwrap();
    let recipe = dir.0.join("four-nodes.yaml");
    std::fs::copy(four_nodes(), &recipe).unwrap();
    std::fs::set_permissions(&recipe, std::fs::Permissions::from_mode(0o644)).unwrap();
    let socket = dir.0.join("schedd.sock");
    let log = dir.0.join("schedd.log");
    let child = Command::new(&schedd)
        .args(["--grug", recipe.to_str().unwrap(), "--executor", "local"])
        .args(["--socket-mode", "666"])
        .arg("--socket")
        .arg(&socket)
        .arg("--state-dir")
        .arg(dir.0.join("state"))
        .env("HOME", &dir.0)
        .uid(NOBODY)
        .gid(NOBODY)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut d = Daemon {
        child,
        socket,
        state: dir.0.join("state"),
        log,
    };
    d.wait_ready();
    // Root is another uid to this daemon: refused at submit, saying why.
    let out = d.ctl(&["submit", "-n", "1", "--", "true"]);
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(e.contains("PERMISSION_DENIED"), "{e}");
    assert!(
        e.contains("this schedd runs as uid 65534 (not root) and runs only its own user's jobs; uid 0 may not submit here"),
        "{e}"
    );
    // Nothing was queued.
    assert_eq!(d.ok(&["jobs", "--json"]).trim(), "[]");
    // Its own user's job runs, as that user.
    let out = d.ctl_as(NOBODY, NOBODY, &["submit", "-n", "1", "--", "id", "-u"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let _ = d.ctl(&["wait", &id]);
    let info: serde_json::Value = serde_json::from_str(&d.ok(&["info", &id, "--json"])).unwrap();
    assert_eq!(info["state"], "FINISHED", "{info}");
    assert_eq!(info["owner_uid"], NOBODY, "{info}");
    d.stop();
}

#[test]
fn untrusted_socket_directories_and_paths_are_refused() {
    let dir = TempDir::new("sockdir");
    let recipe = four_nodes();
    let open = dir.0.join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let state = dir.0.join("state");
    let mut args = sim_args(&recipe);
    args.extend(["--state-dir".into(), state.to_str().unwrap().into()]);
    let sock = open.join("s.sock");
    let mut a = args.clone();
    a.extend(["--socket".into(), sock.to_str().unwrap().into()]);
    let e = refused(&strs(&a));
    assert!(
        e.contains(&format!(
            "{}: other users may write in it (mode 777)",
            open.display()
        )),
        "{e}"
    );
    assert!(!sock.exists());
    // A link at the socket's path: refused, its target left alone.
    let target = dir.0.join("precious");
    std::fs::write(&target, "x").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.0.join("s.sock");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let mut a = args.clone();
    a.extend(["--socket".into(), link.to_str().unwrap().into()]);
    a.extend(["--socket-mode".into(), "666".into()]);
    let e = refused(&strs(&a));
    assert!(e.contains("exists and is not a socket"), "{e}");
    assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o777, 0o600);
    // Another user's directory (as root, make one for nobody).
    if is_root() {
        let theirs = dir.0.join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::os::unix::fs::chown(&theirs, Some(NOBODY), Some(NOBODY)).unwrap();
        let mut a = args.clone();
        a.extend([
            "--socket".into(),
            theirs.join("s.sock").to_str().unwrap().into(),
        ]);
        let e = refused(&strs(&a));
        assert!(
            e.contains("belongs to uid 65534, not to this schedd's uid 0"),
            "{e}"
        );
    }
}

#[test]
fn the_state_directory_journal_and_output_are_owner_only() {
    let dir = TempDir::new("modes");
    let state = dir.0.join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    let recipe = four_nodes();
    let d = start(
        &dir.0,
        &["--grug", recipe.to_str().unwrap(), "--executor", "local"],
    );
    let id = d.ok(&["submit", "-n", "1", "--", "echo", "hello"]);
    let id = id.trim();
    let _ = d.ctl(&["wait", id]);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("journal.db")), 0o600);
    let mut outputs = 0;
    for e in walk(&state.join("jobs")) {
        if e.is_file() {
            outputs += 1;
            assert_eq!(mode(&e), 0o600, "{}", e.display());
        }
    }
    assert!(outputs > 0, "the job wrote output files");
    d.stop();
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn sighup_is_a_clean_stop() {
    let dir = TempDir::new("hup");
    let recipe = four_nodes();
    let mut d = start(
        &dir.0,
        &["--grug", recipe.to_str().unwrap(), "--executor", "local"],
    );
    // A duration no other process on the host sleeps: other tests leave
    // sleeps behind (a daemon killed with -9 leaves its jobs running),
    // and pgrep below sees the whole host.
    let secs = format!("300.{}", std::process::id());
    let id = d.ok(&["submit", "-n", "1", "--", "sleep", &secs]);
    let id = id.trim().to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d.ok(&["info", &id, "--json"]).contains("\"RUNNING\"") {
        assert!(Instant::now() < deadline, "job {id} never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(d.child.id() as i32, libc::SIGHUP) };
    let st = d.child.wait().unwrap();
    assert!(st.success(), "schedd after SIGHUP: {st}: {}", d.log_text());
    let log = d.log_text();
    assert!(
        log.contains("stop requested") && log.contains("SIGHUP"),
        "{log}"
    );
    assert!(!d.socket.exists(), "the socket is removed");
    // Nothing of the job runs on.
    let sleepers = Command::new("pgrep")
        .args(["-f", &format!("^sleep {}$", secs.replace('.', "\\."))])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    for pid in sleepers.lines() {
        let pid: i32 = pid.parse().unwrap();
        assert!(!alive(pid), "the job's sleep {pid} outlived the stop");
    }
    std::mem::forget(d);
}

#[test]
fn a_clear_text_token_off_loopback_needs_insecure_token() {
    let dir = TempDir::new("cleartoken");
    let token = dir.0.join("token");
    std::fs::write(&token, "0123456789abcdef0123456789\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let recipe = four_nodes();
    let mut args = sim_args(&recipe);
    args.extend([
        "--socket".into(),
        dir.0.join("s.sock").to_str().unwrap().into(),
        "--state-dir".into(),
        dir.0.join("state").to_str().unwrap().into(),
        "--listen".into(),
        "0.0.0.0:0".into(),
        "--token-file".into(),
        token.to_str().unwrap().into(),
    ]);
    let e = refused(&strs(&args));
    assert!(
        e.contains("--token-file without TLS would send the token in clear text"),
        "{e}"
    );
    assert!(
        !dir.0.join("state").exists(),
        "refused before doing anything"
    );
}

#[test]
fn durations_and_pending_jobs_have_limits() {
    let dir = TempDir::new("limits");
    let recipe = four_nodes();
    let mut args = sim_args(&recipe);
    args.extend(
        [
            "--max-duration",
            "1h",
            "--max-pending-per-user",
            "2",
            "--socket-mode",
            "666",
        ]
        .map(String::from),
    );
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = start(&dir.0, &strs(&args));
    let out = d.ctl(&["submit", "-N", "4", "-t", "2h", "--", "app"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("INVALID_ARGUMENT"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out)
            .contains("7200 s is longer than the 1h (3600 s) a job may run here (--max-duration)"),
        "{}",
        stderr(&out)
    );
    // Four nodes, each job wants them all: one runs, the rest pend.
    let whole = ["submit", "-N", "4", "-x", "-t", "10m", "--", "app"];
    for _ in 0..3 {
        d.ok(&whole);
    }
    let out = d.ctl(&whole);
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains(
            "uid 0 has 2 jobs pending, the most one user may queue (--max-pending-per-user)"
        ) || e.contains("has 2 jobs pending, the most one user may queue"),
        "{e}"
    );
    assert!(e.contains("RESOURCE_EXHAUSTED"), "{e}");
    // Another user still may.
    if is_root() {
        let out = d.ctl_as(NOBODY, NOBODY, &whole);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    d.stop();
}

/// A free TCP port on loopback.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_flood_of_connections_leaves_the_owners_socket_answering() {
    let dir = TempDir::new("flood");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let recipe = four_nodes();
    let mut args = sim_args(&recipe);
    args.extend(
        [
            "--listen",
            &listen,
            "--insecure",
            "--max-connections",
            "8",
            "--handshake-timeout",
            "1",
        ]
        .map(String::from),
    );
    let d = start(&dir.0, &strs(&args));
    // Twenty silent TCP connections: eight are held, the rest closed.
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(std::net::TcpStream::connect(&listen).unwrap());
    }
    let t = Instant::now();
    d.ok(&["status"]);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "status took {:?} during the flood",
        t.elapsed()
    );
    // Past the cap, closed at once; within the cap, closed once the
    // handshake timeout passes. Every one ends within a few seconds.
    let mut closed_soon = 0;
    for s in held.iter_mut() {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let t = Instant::now();
        let mut b = [0u8; 64];
        // The server may send its settings first; read to the end.
        let ended = loop {
            match s.read(&mut b) {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
                Err(_) => break true,
            }
        };
        assert!(ended, "a silent connection stayed open");
        if t.elapsed() < Duration::from_millis(500) {
            closed_soon += 1;
        }
    }
    assert!(closed_soon >= 12, "{closed_soon} of 20 closed at once");
    // A silent connection to the Unix socket goes too.
    let mut u = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    u.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    let mut b = [0u8; 64];
    while matches!(u.read(&mut b), Ok(n) if n > 0) {}
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    d.ok(&["status"]);
    d.stop();
}

#[test]
fn a_pathological_jobspec_is_refused_fast_while_others_are_served() {
    let dir = TempDir::new("patho");
    let recipe = four_nodes();
    let args = sim_args(&recipe);
    let d = start(&dir.0, &strs(&args));
    // 900 KB of nested JSON arrays and objects: under the size limit,
    // far past any nesting a jobspec has.
    let depth = 300_000;
    let mut text = String::with_capacity(depth * 3);
    for i in 0..depth {
        text.push_str(if i % 2 == 0 { "[" } else { "{\"a\":" });
    }
    let path = dir.0.join("deep.json");
    std::fs::write(&path, &text).unwrap();
    let uri = d.uri();
    let submitter = std::thread::spawn(move || {
        let t = Instant::now();
        let out = Command::new(SCHEDCTL)
            .args(["--uri", &uri, "submit"])
            .arg(&path)
            .output()
            .unwrap();
        (t.elapsed(), out)
    });
    let mut slowest = Duration::ZERO;
    while !submitter.is_finished() {
        let t = Instant::now();
        d.ok(&["status"]);
        slowest = slowest.max(t.elapsed());
    }
    let (took, out) = submitter.join().unwrap();
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(e.contains("nest"), "the error names the nesting: {e}");
    assert!(took < Duration::from_secs(1), "refused after {took:?}");
    assert!(slowest < Duration::from_secs(1), "status took {slowest:?}");
    d.stop();
}

#[test]
fn a_graph_past_max_vertices_is_refused_at_start() {
    let recipe = four_nodes();
    let r = recipe.to_str().unwrap();
    let e = refused(&["--grug", r, "--executor", "sim", "--max-vertices", "5"]);
    assert!(
        e.contains("--max-vertices") && e.contains("cap of 5"),
        "{e}"
    );
}
