//! What a child remembers of its lease, in its state directory:
//! `lease.json` (the parent's URI, the request id of the open, the lease
//! id once known, the epoch last seen) and `lease.jgf` (the lease's
//! subgraph when last read, so a child whose parent is down can still
//! start on what it holds).
//!
//! The request id is written before the open is sent: a child killed
//! between the parent's answer and writing the lease id opens again with
//! the same request id and gets the same lease, never a second one.
//! Files are replaced atomically (write, fsync, rename).
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// The remembered lease.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaseFile {
    pub parent: String,
    pub request_id: String,
    /// 0 until the parent answered the open.
    pub lease_id: u64,
    pub epoch: u64,
}

/// Why the lease file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LeaseFileError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {what}", path.display())]
    Bad { path: PathBuf, what: String },
}

const FILE: &str = "lease.json";
const GRAPH: &str = "lease.jgf";

impl LeaseFile {
    /// The lease file in `dir`, if there is one.
    pub fn load(dir: &Path) -> Result<Option<LeaseFile>, LeaseFileError> {
        let path = dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(LeaseFileError::Io { path, source }),
        };
        let bad = |what: String| LeaseFileError::Bad {
            path: path.clone(),
            what,
        };
        let v: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        Ok(Some(LeaseFile {
            parent: s("parent").ok_or_else(|| bad("no \"parent\"".into()))?,
            request_id: s("request_id").ok_or_else(|| bad("no \"request_id\"".into()))?,
            lease_id: n("lease_id"),
            epoch: n("epoch"),
        }))
    }

    /// Write it to `dir`, replacing what was there.
    pub fn save(&self, dir: &Path) -> Result<(), LeaseFileError> {
        let text = json!({
            "parent": self.parent,
            "request_id": self.request_id,
            "lease_id": self.lease_id,
            "epoch": self.epoch,
        })
        .to_string();
        replace(&dir.join(FILE), text.as_bytes())
    }

    /// The lease's subgraph as last read, if kept.
    pub fn load_graph(dir: &Path) -> Option<String> {
        std::fs::read_to_string(dir.join(GRAPH)).ok()
    }

    /// Keep the lease's subgraph.
    pub fn save_graph(dir: &Path, jgf: &str) -> Result<(), LeaseFileError> {
        replace(&dir.join(GRAPH), jgf.as_bytes())
    }
}

/// Replace `path` with `bytes` atomically.
fn replace(path: &Path, bytes: &[u8]) -> Result<(), LeaseFileError> {
    let io = |source| LeaseFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// A request id no other request of this host has: time, process id and
/// a counter.
pub fn request_id(tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{tag}-{t:x}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_file_round_trips_and_is_absent_at_first() {
        let dir = std::env::temp_dir().join(request_id("lease-file-test"));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(LeaseFile::load(&dir).unwrap(), None);
        let f = LeaseFile {
            parent: "unix:/run/p.sock".into(),
            request_id: request_id("open"),
            lease_id: 7,
            epoch: 3,
        };
        f.save(&dir).unwrap();
        assert_eq!(LeaseFile::load(&dir).unwrap(), Some(f));
        LeaseFile::save_graph(&dir, "{}").unwrap();
        assert_eq!(LeaseFile::load_graph(&dir).as_deref(), Some("{}"));
        std::fs::write(dir.join(FILE), "{\"parent\": 3}").unwrap();
        assert!(LeaseFile::load(&dir)
            .unwrap_err()
            .to_string()
            .contains("parent"));
        assert_ne!(request_id("x"), request_id("x"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
