//! Job output through a real schedd and schedctl: `schedctl output ID`
//! prints what a job wrote (stdout to stdout, stderr to stderr), `--follow`
//! streams it while the job runs and ends with the job, `submit --output
//! / --error` put it in files of the user's choosing (`{{id}}` expanded,
//! relative paths taken from schedctl's directory), and a root daemon
//! opens those files with the job owner's permissions only.
mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// The unprivileged user of the root tests.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn local(dir: &TempDir, extra: &[&str]) -> Daemon {
    let recipe = four_nodes();
    let mut args = vec!["--grug", recipe.to_str().unwrap(), "--executor", "local"];
    args.extend_from_slice(extra);
    start(&dir.0, &args)
}

fn submit(d: &Daemon, args: &[&str]) -> String {
    d.ok(args).trim().to_owned()
}

fn wait(d: &Daemon, id: &str) {
    let _ = d.ctl(&["wait", id]);
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn output_prints_stdout_and_stderr_apart_and_follow_streams_until_the_end() {
    let dir = TempDir::new("output");
    let d = local(&dir, &[]);
    let id = submit(
        &d,
        &[
            "submit",
            "-t",
            "1m",
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2",
        ],
    );
    wait(&d, &id);
    let o = d.ctl(&["output", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "out\n");
    assert_eq!(text(&o.stderr), "err\n");

    // --follow on a job that has not started yet: it waits, streams what
    // the job writes while it runs, and ends when the job ends.
    let blocker = submit(
        &d,
        &["submit", "-N", "4", "-x", "-t", "1m", "--", "sleep", "1"],
    );
    let late = submit(
        &d,
        &[
            "submit",
            "-t",
            "1m",
            "--",
            "sh",
            "-c",
            "echo one; sleep 1; echo two",
        ],
    );
    let pending = d.ctl(&["output", &late]);
    assert_eq!(pending.status.code(), Some(1));
    assert!(
        text(&pending.stderr).contains("has not started"),
        "{}",
        text(&pending.stderr)
    );
    let t0 = Instant::now();
    let f = d.ctl(&["output", "--follow", &late]);
    assert!(f.status.success(), "{}", text(&f.stderr));
    assert_eq!(text(&f.stdout), "one\ntwo\n");
    assert!(
        t0.elapsed() >= Duration::from_millis(1000),
        "it followed the blocker (1 s) and the job (1 s)"
    );
    let info = d.ok(&["info", &late, "--json"]);
    assert!(info.contains("FINISHED"), "{info}");
    wait(&d, &blocker);

    let missing = d.ctl(&["output", "999"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("no job 999"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn submit_output_and_error_name_files_with_the_job_id() {
    let dir = TempDir::new("output-files");
    let d = local(&dir, &[]);
    let work = dir.0.join("work");
    std::fs::create_dir_all(&work).unwrap();
    // A relative path: schedctl makes it absolute from where it runs.
    let out = Command::new(env!("CARGO_BIN_EXE_schedctl"))
        .current_dir(&work)
        .args([
            "--uri",
            &d.uri(),
            "submit",
            "-t",
            "1m",
            "--output",
            "job-{{id}}.log",
        ])
        .args(["--", "sh", "-c", "echo to-out; echo to-err >&2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_owned();
    wait(&d, &id);
    let log = work.join(format!("job-{id}.log"));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "to-out\nto-err\n");
    // schedctl output reads the named file: both streams went to stdout's.
    let o = d.ctl(&["output", &id]);
    assert_eq!(text(&o.stdout), "to-out\nto-err\n");
    assert!(!d.state.join("jobs").join(format!("{id}.out")).exists());

    // --output and --error apart.
    let (o_t, e_t) = (
        format!("{}/o.{{{{id}}}}", work.display()),
        format!("{}/e.{{{{jobid}}}}", work.display()),
    );
    let id = submit(
        &d,
        &[
            "submit",
            "-t",
            "1m",
            "--output",
            &o_t,
            "--error",
            &e_t,
            "--",
            "sh",
            "-c",
            "echo a; echo b >&2",
        ],
    );
    wait(&d, &id);
    assert_eq!(
        std::fs::read_to_string(work.join(format!("o.{id}"))).unwrap(),
        "a\n"
    );
    assert_eq!(
        std::fs::read_to_string(work.join(format!("e.{id}"))).unwrap(),
        "b\n"
    );
    let o = d.ctl(&["output", &id]);
    assert_eq!(
        (text(&o.stdout), text(&o.stderr)),
        ("a\n".into(), "b\n".into())
    );

    // A directory that is not there: the job fails and says why.
    let id = submit(
        &d,
        &[
            "submit",
            "-t",
            "1m",
            "--output",
            "/nonexistent-dir/x.log",
            "--",
            "true",
        ],
    );
    wait(&d, &id);
    let info = d.ok(&["info", &id, "--json"]);
    assert!(
        info.contains("FAILED")
            && info.contains("cannot open its output file /nonexistent-dir/x.log"),
        "{info}"
    );

    // A tag that does not exist is refused before anything is queued.
    let before = d.ok(&["jobs"]);
    let bad = d.ctl(&["submit", "--output", "/tmp/{{name}}.log", "--", "true"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains("unknown tag {{name}}"),
        "{}",
        text(&bad.stderr)
    );
    // A jobspec file naming a relative path is refused by the daemon.
    let js = dir.0.join("rel.yaml");
    std::fs::write(
        &js,
        "version: 1\nresources: [{type: slot, count: 1, label: t, with: [{type: core, count: 1}]}]\ntasks: [{command: [true], slot: t, count: {per_slot: 1}}]\nattributes: {system: {duration: 60, shell: {options: {output: {stdout: {type: file, path: rel.log}}}}}}\n",
    )
    .unwrap();
    let bad = d.ctl(&["submit", js.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("attributes.system.shell.options.output.stdout.path")
            && text(&bad.stderr).contains("INVALID_ARGUMENT"),
        "{}",
        text(&bad.stderr)
    );
    assert_eq!(d.ok(&["jobs"]), before);
}

#[test]
fn a_sim_instance_has_no_output_to_show() {
    let dir = TempDir::new("output-sim");
    let recipe = four_nodes();
    let d = start(
        &dir.0,
        &[
            "--grug",
            recipe.to_str().unwrap(),
            "--executor",
            "sim",
            "--clock",
            "sim",
        ],
    );
    let id = submit(&d, &["submit", "-t", "1m", "--", "true"]);
    let o = d.ctl(&["output", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("runs no processes"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        text(&o.stderr).contains("FAILED_PRECONDITION"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_root_daemon_opens_named_files_as_the_jobs_owner() {
    if !is_root() {
        eprintln!("skipped: running jobs as another user needs a root schedd");
        return;
    }
    let dir = TempDir::new("output-owner");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = local(&dir, &["--socket-mode", "666"]);
    // Root's file: nobody's job may not append to it through --output.
    let secret = dir.0.join("root-only");
    std::fs::write(&secret, "root's\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let sub = |args: &[&str]| {
        let o = d.ctl_as(NOBODY, NOBODY, args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout).trim().to_owned()
    };
    let id = sub(&[
        "submit",
        "-t",
        "1m",
        "--output",
        secret.to_str().unwrap(),
        "--",
        "echo",
        "pwned",
    ]);
    wait(&d, &id);
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "root's\n");
    let info = d.ok(&["info", &id, "--json"]);
    assert!(info.contains("Permission denied"), "{info}");

    // A directory nobody may write: the file is created as nobody's.
    let public = dir.0.join("public");
    std::fs::create_dir(&public).unwrap();
    std::fs::set_permissions(&public, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let t = format!("{}/{{{{id}}}}.log", public.display());
    let id = sub(&["submit", "-t", "1m", "--output", &t, "--", "id", "-u"]);
    wait(&d, &id);
    let log = public.join(format!("{id}.log"));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().trim(),
        NOBODY.to_string()
    );
    assert_eq!(std::fs::metadata(&log).unwrap().uid(), NOBODY);
    // Its owner reads it back; a symlink swapped in later to root's file
    // is read with nobody's permissions, so it shows nothing of root's.
    let o = d.ctl_as(NOBODY, NOBODY, &["output", &id]);
    assert_eq!(
        text(&o.stdout).trim(),
        NOBODY.to_string(),
        "{}",
        text(&o.stderr)
    );
    let private = dir.0.join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(private.join("s"), "secret\n").unwrap();
    std::fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink(private.join("s"), &log).unwrap();
    let o = d.ctl_as(NOBODY, NOBODY, &["output", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!text(&o.stdout).contains("secret"));
    assert!(
        text(&o.stderr).contains("Permission denied"),
        "{}",
        text(&o.stderr)
    );

    // Another user may not read a job's output; the instance owner may.
    let mine = submit(&d, &["submit", "-t", "1m", "--", "echo", "root-job"]);
    wait(&d, &mine);
    let o = d.ctl_as(NOBODY, NOBODY, &["output", &mine]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("may not read its output"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(d.ok(&["output", &mine]), "root-job\n");
}
