//! What the benches share: finding `gen-grug` and writing its recipe,
//! finding the schedd binary and stopping the daemons it starts.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// `shared/bench/gen-grug`, looked up beside the project.
pub fn gen_grug_script() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        manifest.join("../shared/bench/gen-grug"),
        manifest.join("shared/bench/gen-grug"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Write the recipe for `racks` racks into a fresh temp dir.
pub fn write_recipe(script: &Path, racks: u32) -> Result<(PathBuf, PathBuf), String> {
    let dir = std::env::temp_dir().join(format!("quiver-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("cluster-{racks}r.graphml"));
    let out = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let status = Command::new("python3")
        .arg(script)
        .arg("--racks")
        .arg(racks.to_string())
        .stdout(out)
        .status()
        .map_err(|e| format!("python3 {}: {e}", script.display()))?;
    if !status.success() {
        return Err(format!(
            "python3 {} --racks {racks}: {status}",
            script.display()
        ));
    }
    Ok((dir, path))
}

/// Racks of the generated recipe: `QUIVER_BENCH_RACKS`, default 4 (1,024
/// nodes); 64 gives the 16,384-node recipe.
pub fn racks() -> u32 {
    match std::env::var("QUIVER_BENCH_RACKS") {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("QUIVER_BENCH_RACKS={s:?}: not a number")),
        Err(_) => 4,
    }
}

/// The schedd to start: `QUIVER_SCHEDD`, else the checkout's release build.
pub fn schedd_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("QUIVER_SCHEDD") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target.join("release/schedd")
}

/// A daemon a bench started, killed when dropped.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
