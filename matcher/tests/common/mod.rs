//! What resource-query's end-to-end tests share: running the binary on a
//! script, scratch folders, and small jobspec files.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A recipe of grugs/ by file name.
pub fn grug(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../grugs")
        .join(name)
        .display()
        .to_string()
}

/// A scratch folder for one test, named by `tag` and this process.
pub fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("quiver-rq-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run resource-query with `args`, `script` on its input: (exit ok,
/// stdout, stderr).
pub fn run_rq(args: &[&str], script: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_resource-query"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(script.as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Write a one-task jobspec of these `resources` (flow YAML) to `d/name`;
/// its path.
pub fn jobspec(d: &Path, name: &str, resources: &str) -> String {
    let p = d.join(name);
    std::fs::write(
        &p,
        format!(
            "version: 9999\nresources: {resources}\nattributes: {{system: {{duration: 3600}}}}\n\
             tasks: [{{command: [app], slot: default, count: {{per_slot: 1}}}}]\n"
        ),
    )
    .unwrap();
    p.display().to_string()
}
