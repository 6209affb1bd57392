//! The executors against real processes: exit codes, task copies, the
//! environment and CPU affinity a task sees, kills, and spawn failures.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use schedd::executor::{Executor, Exit, Launch, LocalExecutor, SimExecutor, TaskLaunch};

/// How long a test waits for a job that should end promptly.
const PATIENCE: Duration = Duration::from_secs(20);

/// A fresh output directory for one test, removed when dropped.
struct OutDir(PathBuf);

impl std::ops::Deref for OutDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh output directory (not created yet) for one test.
fn out_dir(test: &str) -> OutDir {
    let dir = std::env::temp_dir().join(format!(
        "quiver-executor-test-{}-{test}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    OutDir(dir)
}

/// A local executor whose exits arrive on the returned channel.
fn local() -> (LocalExecutor, Receiver<Exit>) {
    let (tx, rx) = channel();
    let exec = LocalExecutor::new(Box::new(move |e| {
        let _ = tx.send(e);
    }));
    (exec, rx)
}

/// A task running `sh -c script`, `count` times.
fn sh(script: &str, count: u32) -> TaskLaunch {
    TaskLaunch {
        command: vec!["sh".into(), "-c".into(), script.into()],
        count,
    }
}

fn launch(job_id: u64, tasks: Vec<TaskLaunch>, dir: &Path) -> Launch {
    Launch {
        job_id,
        owner: schedd::auth::effective_uid(),
        tasks,
        cores: vec![],
        gpus: vec![],
        duration: 60,
        output_dir: dir.to_path_buf(),
        stdout: None,
        stderr: None,
        env: vec![],
    }
}

fn read(dir: &Path, job: u64, ext: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{job}.{ext}"))).unwrap_or_default()
}

#[test]
fn sim_executor_starts_nothing_and_ends_by_duration() {
    let mut sim = SimExecutor;
    assert_eq!(sim.name(), "sim");
    assert!(sim.ends_by_duration());
    let dir = out_dir("sim");
    assert!(sim.start(launch(1, vec![sh("exit 1", 1)], &dir)).is_ok());
    sim.kill(1);
    sim.kill(99);
    assert!(!dir.exists(), "the sim executor wrote output");
}

#[test]
fn exit_code_is_reported() {
    let (mut exec, rx) = local();
    assert_eq!(exec.name(), "local");
    assert!(!exec.ends_by_duration());
    let dir = out_dir("exit3");
    exec.start(launch(7, vec![sh("exit 3", 1)], &dir))
        .expect("start");
    let exit = rx.recv_timeout(PATIENCE).expect("an exit");
    assert_eq!(exit.job_id, 7);
    assert_eq!(exit.code, 3, "{exit:?}");
    assert!(exit.detail.contains('3'), "{exit:?}");
    // Once per job.
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
}

#[test]
fn highest_status_of_all_tasks_wins() {
    let (mut exec, rx) = local();
    let dir = out_dir("highest");
    exec.start(launch(
        2,
        vec![sh("exit 1", 2), sh("exit 4", 1), sh("exit 0", 1)],
        &dir,
    ))
    .expect("start");
    let exit = rx.recv_timeout(PATIENCE).expect("an exit");
    assert_eq!((exit.job_id, exit.code), (2, 4), "{exit:?}");
}

#[test]
fn every_copy_of_a_task_runs_with_its_rank() {
    let (mut exec, rx) = local();
    let dir = out_dir("copies");
    exec.start(launch(
        3,
        vec![sh("echo rank=$QUIVER_TASK_RANK job=$QUIVER_JOB_ID", 2)],
        &dir,
    ))
    .expect("start");
    let exit = rx.recv_timeout(PATIENCE).expect("an exit");
    assert_eq!(exit.code, 0, "{exit:?}");
    let mut lines: Vec<String> = read(&dir, 3, "out").lines().map(String::from).collect();
    lines.sort();
    assert_eq!(lines, ["rank=0 job=3", "rank=1 job=3"]);
    // Output is appended: a second job of the same id adds to the file.
    exec.start(launch(3, vec![sh("echo again; echo oops >&2", 1)], &dir))
        .expect("start again");
    rx.recv_timeout(PATIENCE).expect("an exit");
    assert_eq!(read(&dir, 3, "out").lines().count(), 3);
    assert_eq!(read(&dir, 3, "err"), "oops\n");
}

/// The lowest CPU this test process may run on.
fn first_allowed_cpu() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list");
    let first = list.trim().split([',', '-']).next().unwrap_or("0");
    first.parse().expect("a cpu id")
}

#[test]
fn gpus_and_affinity_are_what_was_allocated() {
    let (mut exec, rx) = local();
    let dir = out_dir("affinity");
    let cpu = first_allowed_cpu();
    let mut l = launch(
        4,
        vec![sh(
            "echo \"gpus=$CUDA_VISIBLE_DEVICES\"; grep Cpus_allowed_list /proc/self/status",
            1,
        )],
        &dir,
    );
    l.cores = vec![cpu];
    l.gpus = vec![1, 3];
    exec.start(l).expect("start");
    let exit = rx.recv_timeout(PATIENCE).expect("an exit");
    assert_eq!(exit.code, 0, "{exit:?}");
    let out = read(&dir, 4, "out");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("gpus=1,3"), "{out}");
    let aff = lines.next().unwrap_or_default();
    assert_eq!(
        aff.split_whitespace().collect::<Vec<_>>(),
        ["Cpus_allowed_list:", cpu.to_string().as_str()],
        "{out}"
    );
}

#[test]
fn no_gpu_is_an_empty_list_and_unknown_cores_are_skipped() {
    let (mut exec, rx) = local();
    let dir = out_dir("nogpu");
    let mut l = launch(
        5,
        vec![sh(
            "echo \"gpus=${CUDA_VISIBLE_DEVICES-unset}\"; grep -c Cpus_allowed_list /proc/self/status",
            1,
        )],
        &dir,
    );
    // Far beyond any host: skipped, so the task runs without affinity.
    l.cores = vec![1_000_000, -1];
    exec.start(l).expect("start");
    let exit = rx.recv_timeout(PATIENCE).expect("an exit");
    assert_eq!(exit.code, 0, "{exit:?}");
    assert_eq!(read(&dir, 5, "out"), "gpus=\n1\n");
}

#[test]
fn kill_ends_a_job_quickly_and_reports_it() {
    let (mut exec, rx) = local();
    let dir = out_dir("kill");
    exec.start(launch(
        6,
        vec![TaskLaunch {
            command: vec!["sleep".into(), "60".into()],
            count: 2,
        }],
        &dir,
    ))
    .expect("start");
    let t = Instant::now();
    exec.kill(6);
    assert!(t.elapsed() < Duration::from_secs(1), "kill blocked");
    let exit = rx.recv_timeout(PATIENCE).expect("an exit after kill");
    assert_eq!(exit.job_id, 6);
    assert_eq!(exit.code, 128 + libc::SIGTERM, "{exit:?}");
    assert!(t.elapsed() < Duration::from_secs(10));
    // Killing an ended or unknown job is a no-op.
    exec.kill(6);
    exec.kill(12345);
}

#[test]
fn kill_reaches_the_whole_group_and_escalates_to_sigkill() {
    let (mut exec, rx) = local();
    let dir = out_dir("sigkill");
    // The shell and its child ignore SIGTERM; only SIGKILL ends them.
    exec.start(launch(
        8,
        vec![sh("trap '' TERM; echo ready; sleep 60; echo survived", 1)],
        &dir,
    ))
    .expect("start");
    // Kill only once the trap is set.
    let deadline = Instant::now() + PATIENCE;
    while !read(&dir, 8, "out").contains("ready") {
        assert!(Instant::now() < deadline, "the task never got ready");
        std::thread::sleep(Duration::from_millis(5));
    }
    let t = Instant::now();
    exec.kill(8);
    assert!(t.elapsed() < Duration::from_secs(1), "kill blocked");
    let exit = rx.recv_timeout(PATIENCE).expect("an exit after SIGKILL");
    assert_eq!(exit.code, 128 + libc::SIGKILL, "{exit:?}");
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "SIGKILL too early"
    );
    assert!(!read(&dir, 8, "out").contains("survived"));
}

#[test]
fn an_unknown_command_is_an_error_naming_it() {
    let (mut exec, rx) = local();
    let dir = out_dir("unknown");
    let l = launch(
        9,
        vec![
            sh("sleep 60", 1),
            TaskLaunch {
                command: vec!["/nonexistent/quiver-no-such-command".into(), "x".into()],
                count: 1,
            },
        ],
        &dir,
    );
    let err = exec.start(l).expect_err("spawn must fail");
    assert!(err.to_string().contains("quiver-no-such-command"), "{err}");
    assert!(rx.try_recv().is_err(), "a failed start reported an exit");
    // The job is not registered: it can be started again.
    exec.start(launch(9, vec![sh("exit 0", 1)], &dir))
        .expect("start after failure");
    assert_eq!(rx.recv_timeout(PATIENCE).expect("an exit").code, 0);
}

#[test]
fn empty_and_taskless_jobs_are_errors() {
    let (mut exec, _rx) = local();
    let dir = out_dir("empty");
    assert!(exec.start(launch(10, vec![], &dir)).is_err());
    let empty = TaskLaunch {
        command: vec![],
        count: 1,
    };
    assert!(exec.start(launch(11, vec![empty], &dir)).is_err());
}

#[test]
fn a_running_job_cannot_start_twice() {
    let (mut exec, rx) = local();
    let dir = out_dir("twice");
    exec.start(launch(12, vec![sh("sleep 60", 1)], &dir))
        .expect("start");
    let err = exec
        .start(launch(12, vec![sh("exit 0", 1)], &dir))
        .expect_err("second start");
    assert_eq!(err.to_string(), "job 12 is already running");
    exec.kill(12);
    rx.recv_timeout(PATIENCE).expect("an exit");
}

/// A fake /sys/devices/system/cpu: `cpus[i] = (package, siblings list)`.
fn fake_sysfs(tag: &str, cpus: &[(i64, &str)]) -> std::path::PathBuf {
    let root = std::env::temp_dir().join(format!("quiver-sysfs-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for (n, (pkg, sib)) in cpus.iter().enumerate() {
        let t = root.join(format!("cpu{n}/topology"));
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("physical_package_id"), format!("{pkg}\n")).unwrap();
        std::fs::write(t.join("core_cpus_list"), format!("{sib}\n")).unwrap();
    }
    std::fs::create_dir_all(root.join("cpufreq")).unwrap();
    root
}

#[test]
fn core_ids_map_to_their_hardware_threads_in_hwloc_order() {
    // Two packages numbered alternately, two threads per core whose
    // siblings are 4 apart: cpu0 (pkg 0) and cpu4 share a core, etc.
    let root = fake_sysfs(
        "smt",
        &[
            (0, "0,4"),
            (1, "1,5"),
            (0, "2,6"),
            (1, "3,7"),
            (0, "0,4"),
            (1, "1,5"),
            (0, "2,6"),
            (1, "3,7"),
        ],
    );
    let map = schedd::executor::core_cpus(&root).unwrap();
    // Logical cores: package 0's first (cores at cpu0, cpu2), then package 1's.
    assert_eq!(map, vec![vec![0, 4], vec![2, 6], vec![1, 5], vec![3, 7]]);
    let _ = std::fs::remove_dir_all(&root);
    assert!(schedd::executor::core_cpus(std::path::Path::new("/nonexistent")).is_none());
}
