//! Jobs run as their owner, and nothing a job starts outlives it: a real
//! schedd running as root, the local executor, and schedctl as a second
//! user (`nobody`, whom every Debian system has).

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::{Duration, Instant};

use common::*;

/// The unprivileged user the tests submit as.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A root schedd on the four-node recipe with the local executor and a
/// socket every user may use.
fn open_daemon(dir: &TempDir) -> Daemon {
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let recipe = four_nodes();
    start(
        &dir.0,
        &[
            "--grug",
            recipe.to_str().unwrap(),
            "--executor",
            "local",
            "--socket-mode",
            "666",
        ],
    )
}

/// Wait for job `id` to end; its final state.
fn wait_end(d: &Daemon, id: &str) -> String {
    let _ = d.ctl(&["wait", id]);
    let info: serde_json::Value = serde_json::from_str(&d.ok(&["info", id, "--json"])).unwrap();
    info["state"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_job_runs_with_its_owners_uid_groups_and_files() {
    if !is_root() {
        eprintln!("skipped: running jobs as another user needs a root schedd");
        return;
    }
    let dir = TempDir::new("owner");
    let d = open_daemon(&dir);
    let out = d.ctl_as(
        NOBODY,
        NOBODY,
        &[
            "submit",
            "-n",
            "1",
            "-t",
            "1m",
            "--",
            "sh",
            "-c",
            "id -u; id -g; id -G; echo $HOME; cat /etc/shadow",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    // `cat /etc/shadow` fails for nobody, so the job fails.
    assert_eq!(wait_end(&d, &id), "FAILED");
    let out_file = d.state.join("jobs").join(format!("{id}.out"));
    let text = std::fs::read_to_string(&out_file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], NOBODY.to_string(), "uid: {text}");
    let nobody = schedd::credentials::Credentials::of_uid(NOBODY).unwrap();
    assert_eq!(lines[1], nobody.gid.to_string(), "primary gid: {text}");
    let groups: Vec<u32> = lines[2]
        .split_whitespace()
        .map(|g| g.parse().unwrap())
        .collect();
    assert!(!groups.contains(&0), "root's groups were dropped: {text}");
    assert_eq!(lines[3], nobody.home.display().to_string(), "HOME: {text}");
    let err = std::fs::read_to_string(d.state.join("jobs").join(format!("{id}.err"))).unwrap();
    assert!(
        err.contains("Permission denied"),
        "nobody may not read /etc/shadow: {err}"
    );
    for f in [&out_file, &d.state.join("jobs").join(format!("{id}.err"))] {
        let m = std::fs::metadata(f).unwrap();
        assert_eq!(
            (m.uid(), m.gid()),
            (NOBODY, nobody.gid),
            "{} is the owner's",
            f.display()
        );
        assert_eq!(
            m.mode() & 0o077,
            0,
            "{} is not readable by others",
            f.display()
        );
    }
    // The listing names the owner the job ran as.
    let info: serde_json::Value = serde_json::from_str(&d.ok(&["info", &id, "--json"])).unwrap();
    assert_eq!(info["owner_uid"], NOBODY);
    // Root's own jobs still run as root.
    let id = d.ok(&["submit", "-n", "1", "-t", "1m", "--", "sh", "-c", "id -u"]);
    let id = id.trim();
    assert_eq!(wait_end(&d, id), "FINISHED");
    let text = std::fs::read_to_string(d.state.join("jobs").join(format!("{id}.out"))).unwrap();
    assert_eq!(text.trim(), "0");
    d.stop();
}

/// The pid a job wrote to `file`, once it is there (up to 10 s).
fn pid_in(file: &std::path::Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = std::fs::read_to_string(file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "the job never wrote {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn gone_soon(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_setsid_child_ends_with_its_job() {
    if !is_root() || schedd::cgroup::CgroupRoot::create().is_err() {
        eprintln!(
            "skipped: job cgroups cannot be made here ({}); process groups cannot hold a setsid child",
            schedd::cgroup::CgroupRoot::create()
                .err()
                .map_or_else(|| "not root".into(), |e| e.to_string())
        );
        return;
    }
    let dir = TempDir::new("setsid");
    let d = open_daemon(&dir);
    // Ended by cancel: the escapee goes with the job.
    let pidfile = dir.0.join("cancel.pid");
    let script = format!(
        "setsid sleep 300 & echo $! > {}; sleep 300",
        pidfile.display()
    );
    let id = d.ok(&["submit", "-n", "1", "-t", "10m", "--", "sh", "-c", &script]);
    let pid = pid_in(&pidfile);
    assert!(alive(pid));
    d.ok(&["cancel", id.trim()]);
    assert!(gone_soon(pid), "the setsid child of a canceled job is gone");
    // Ended on its own: what it left behind is killed too.
    let pidfile = dir.0.join("end.pid");
    let script = format!("setsid sleep 300 & echo $! > {}", pidfile.display());
    let id = d.ok(&["submit", "-n", "1", "-t", "10m", "--", "sh", "-c", &script]);
    let pid = pid_in(&pidfile);
    assert_eq!(wait_end(&d, id.trim()), "FINISHED");
    assert!(gone_soon(pid), "what a finished job left running is gone");
    d.stop();
}
