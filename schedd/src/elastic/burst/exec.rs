//! The exec provider (`--burst-provider exec`): site commands bring burst
//! nodes up and give them back, as Slurm's ResumeProgram and
//! SuspendProgram do, so a site can burst to any cloud with its own
//! script.
//!
//! Each command runs as `sh -c CMD sh HOSTLIST`: the nodes as an RFC 29
//! hostlist in `$1` and in `QUIVER_BURST_NODES`, with `QUIVER_BURST_POOL`
//! and `QUIVER_BURST_COUNT` beside. The up command exits 0 once nodes are
//! ready and prints which: their host names (one or more per line, or
//! hostlists such as `cloud[3-4]`), or a JGF whose node vertices are
//! named so. A name it was not asked for, or nothing at all, is garbage:
//! the whole request fails and the nodes leave the graph. A non-zero exit
//! fails the request with the command's last lines of stderr. What a
//! command prints is read up to 1 MiB.
use std::process::Stdio;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::pool::ExecConfig;
use super::provider::{Fut, Provider};

/// Most bytes of a command's output read.
const MAX_OUTPUT: u64 = 1 << 20;

/// Site commands (see the module documentation).
pub struct Exec {
    pool: String,
    up: String,
    down: Option<String>,
}

impl Exec {
    /// The commands of pool `pool`; Err without an up command.
    pub fn new(pool: &str, cfg: &ExecConfig) -> Result<Exec, String> {
        let up = cfg
            .up
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                format!("pool '{pool}': the exec provider needs an up command (--burst-up)")
            })?;
        Ok(Exec {
            pool: pool.to_owned(),
            up,
            down: cfg.down.clone().filter(|c| !c.trim().is_empty()),
        })
    }

    /// Run `cmd` for `nodes`: its stdout, or why it failed.
    async fn run(&self, cmd: &str, nodes: &[String]) -> Result<String, String> {
        let list = resource_graph::hostlist::encode(nodes).map_err(|e| e.to_string())?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .arg("sh")
            .arg(&list)
            .env("QUIVER_BURST_POOL", &self.pool)
            .env("QUIVER_BURST_NODES", &list)
            .env("QUIVER_BURST_COUNT", nodes.len().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("could not start `{cmd}`: {e}"))?;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let read_out = async {
            if let Some(s) = stdout {
                let _ = s.take(MAX_OUTPUT).read_to_end(&mut out).await;
            }
        };
        let read_err = async {
            if let Some(s) = stderr {
                let _ = s.take(MAX_OUTPUT).read_to_end(&mut err).await;
            }
        };
        tokio::join!(read_out, read_err);
        let status = child.wait().await.map_err(|e| format!("`{cmd}`: {e}"))?;
        if !status.success() {
            let err = String::from_utf8_lossy(&err);
            let tail: Vec<&str> = err.lines().rev().take(3).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "`{cmd}` failed ({status}){}",
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", tail.join(" / "))
                }
            ));
        }
        String::from_utf8(out).map_err(|_| format!("`{cmd}` printed text that is not UTF-8"))
    }
}

/// The node names the up command's output says came up, each one of
/// `asked`; Err when it names another or none.
pub fn nodes_up(output: &str, asked: &[String]) -> Result<Vec<String>, String> {
    let text = output.trim();
    let names: Vec<String> = if text.starts_with('{') {
        let g = resource_graph::jgf::read(text, "the up command's JGF")
            .map_err(|e| format!("printed a JGF that does not read: {e}"))?;
        g.of_type("node").iter().map(|&v| g.name(v)).collect()
    } else {
        let mut names = Vec::new();
        for word in text.split_whitespace() {
            let more = resource_graph::hostlist::decode(word).map_err(|e| {
                format!("printed {word:?}, which is not a host name or hostlist: {e}")
            })?;
            names.extend(more);
        }
        names
    };
    if names.is_empty() {
        return Err("printed no node names (it must print the nodes that came up)".into());
    }
    let mut up = Vec::new();
    for n in names {
        if !asked.contains(&n) {
            return Err(format!(
                "printed {n:?}, which is not one of the nodes it was asked for ({})",
                resource_graph::hostlist::encode(asked).unwrap_or_default()
            ));
        }
        if !up.contains(&n) {
            up.push(n);
        }
    }
    Ok(up)
}

impl Provider for Exec {
    fn up<'a>(&'a self, nodes: &'a [String]) -> Fut<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            let out = self.run(&self.up, nodes).await?;
            nodes_up(&out, nodes).map_err(|e| format!("`{}` {e}", self.up))
        })
    }

    fn down<'a>(&'a self, nodes: &'a [String]) -> Fut<'a, Result<(), String>> {
        Box::pin(async move {
            match &self.down {
                Some(cmd) => self.run(cmd, nodes).await.map(|_| ()),
                None => Ok(()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn output_names_nodes_by_line_hostlist_or_jgf() {
        let asked = names(&["cloud3", "cloud4", "cloud5"]);
        assert_eq!(
            nodes_up("cloud3\ncloud5\n", &asked).unwrap(),
            names(&["cloud3", "cloud5"])
        );
        assert_eq!(nodes_up("cloud[3-5]", &asked).unwrap(), asked);
        let jgf = r#"{"graph":{"nodes":[
            {"id":"0","metadata":{"type":"cluster","basename":"c","name":"c0","id":0,"uniq_id":0,"rank":-1,"exclusive":false,"unit":"","size":1,"paths":{"containment":"/c0"}}},
            {"id":"1","metadata":{"type":"node","basename":"cloud","name":"cloud4","id":4,"uniq_id":1,"rank":-1,"exclusive":false,"unit":"","size":1,"paths":{"containment":"/c0/cloud4"}}}],
            "edges":[{"source":"0","target":"1","metadata":{"name":{"containment":"contains"}}}]}}"#;
        assert_eq!(nodes_up(jgf, &asked).unwrap(), names(&["cloud4"]));
    }

    #[test]
    fn garbage_is_refused_naming_what_was_wrong() {
        let asked = names(&["cloud3"]);
        let e = nodes_up("hello world", &asked).unwrap_err();
        assert!(e.contains("\"hello\"") && e.contains("cloud3"), "{e}");
        let e = nodes_up("", &asked).unwrap_err();
        assert!(e.contains("no node names"), "{e}");
        let e = nodes_up("{not json", &asked).unwrap_err();
        assert!(e.contains("JGF"), "{e}");
        let e = nodes_up("cloud[", &asked).unwrap_err();
        assert!(e.contains("not a host name"), "{e}");
    }

    #[tokio::test]
    async fn commands_get_the_nodes_and_their_failures_are_reported() {
        let cfg = ExecConfig {
            up: Some(r#"test "$1" = "$QUIVER_BURST_NODES" && test "$QUIVER_BURST_COUNT" = 2 && echo "$1""#.into()),
            down: Some("echo going >&2; exit 3".into()),
        };
        let p = Exec::new("cloud", &cfg).unwrap();
        let asked = names(&["cloud3", "cloud4"]);
        assert_eq!(p.up(&asked).await.unwrap(), asked);
        let e = p.down(&asked).await.unwrap_err();
        assert!(e.contains("exit status: 3") && e.contains("going"), "{e}");
        assert!(Exec::new("cloud", &ExecConfig::default()).is_err());
    }
}
