//! Parent and child as two hosts: each schedd in a network namespace of
//! its own, joined by a veth pair the test makes, so the child reaches
//! its parent only over TCP on the pair's addresses, with mutual TLS. The
//! child's loopback is not the parent's and their state directories are
//! apart: what crosses is the gRPC lease protocol alone.
//!
//! Skipped, saying why, where the namespaces cannot be made (not root, no
//! `ip` command, a kernel or container that refuses network namespaces,
//! no `openssl`).
mod common;

use std::process::Command;

use common::{four_nodes, start_in, TempDir};
use serde_json::Value;

const FREE: &str = "status=up and sched-now=free";

/// Two network namespaces joined by a veth pair, removed on drop.
struct Hosts {
    parent_ns: String,
    child_ns: String,
    parent_ip: String,
}

/// Run `ip ARGS`; the error names the command and what it said.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("the ip command: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Hosts {
    fn new() -> Result<Hosts, String> {
        let pid = std::process::id();
        let net = pid % 250 + 1;
        let h = Hosts {
            parent_ns: format!("qv-p-{pid}"),
            child_ns: format!("qv-c-{pid}"),
            parent_ip: format!("10.231.{net}.1"),
        };
        let (pv, cv) = (format!("qvp{pid}"), format!("qvc{pid}"));
        let child_ip = format!("10.231.{net}.2");
        ip(&["netns", "add", &h.parent_ns])?;
        ip(&["netns", "add", &h.child_ns])?;
        ip(&["link", "add", &pv, "type", "veth", "peer", "name", &cv])?;
        for (ns, dev, addr) in [
            (&h.parent_ns, &pv, &h.parent_ip),
            (&h.child_ns, &cv, &child_ip),
        ] {
            ip(&["link", "set", dev, "netns", ns])?;
            let cidr = format!("{addr}/24");
            ip(&["-n", ns, "addr", "add", &cidr, "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(h)
    }

    fn exec(ns: &str) -> [&str; 4] {
        ["ip", "netns", "exec", ns]
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end in it, and its peer.
        let _ = ip(&["netns", "del", &self.parent_ns]);
        let _ = ip(&["netns", "del", &self.child_ns]);
    }
}

fn json(d: &common::Daemon, args: &[&str]) -> Value {
    serde_json::from_str(&d.ok(args)).unwrap()
}

#[test]
fn a_child_on_another_host_leases_over_mutual_tls() {
    let hosts = match Hosts::new() {
        Ok(h) => h,
        Err(why) => {
            eprintln!("skipped: cannot make two network namespaces here ({why})");
            return;
        }
    };
    let (pd, cd) = (TempDir::new("netns-parent"), TempDir::new("netns-child"));
    if common::make_certs_for(&pd.0, &["child"], &[&hosts.parent_ip]).is_none() {
        eprintln!("skipped: the openssl command is not available");
        return;
    }
    // The child gets copies of what its host would hold: the CA and its
    // own certificate, in its own directory.
    for f in ["ca.pem", "child.pem", "child.key"] {
        std::fs::copy(pd.0.join(f), cd.0.join(f)).unwrap();
    }
    let (pf, cf) = (
        |n: &str| pd.0.join(n).to_str().unwrap().to_owned(),
        |n: &str| cd.0.join(n).to_str().unwrap().to_owned(),
    );
    let listen = format!("{}:7443", hosts.parent_ip);
    let grug = four_nodes();
    let p = start_in(
        &pd.0,
        &Hosts::exec(&hosts.parent_ns),
        &[
            "--grug",
            grug.to_str().unwrap(),
            "--executor",
            "sim",
            "--listen",
            &listen,
            "--tls-cert",
            &pf("server.pem"),
            "--tls-key",
            &pf("server.key"),
            "--tls-client-ca",
            &pf("ca.pem"),
        ],
    );
    let uri = format!("https://{listen}");
    // On its own host the parent's address is remote: nothing listens on
    // the child's loopback.
    let c = start_in(
        &cd.0,
        &Hosts::exec(&hosts.child_ns),
        &[
            "--parent",
            &uri,
            "--parent-tls-ca",
            &cf("ca.pem"),
            "--parent-tls-cert",
            &cf("child.pem"),
            "--parent-tls-key",
            &cf("child.key"),
            "-N",
            "1",
            "--executor",
            "sim",
            "--lease-check",
            "1",
        ],
    );
    assert!(c.ok(&["status"]).contains("nodes:        1"));
    let before = p.ok(&["find", FREE]);
    let grew = c.ok(&["grow", "-N", "1"]);
    assert!(grew.contains("(epoch 2)"), "{grew}");
    let leases = json(&p, &["leases", "--json"]);
    assert_eq!(leases[0]["epoch"], 2, "{leases}");
    // A job across both nodes, one of them granted over the veth.
    let id = c.ok(&["submit", "-N", "2", "-t", "2", "--", "true"]);
    let id = id.trim();
    c.ok(&["wait", id]);
    assert_eq!(json(&c, &["info", id, "--json"])["state"], "FINISHED");
    let shrunk = c.ok(&["shrink", "--idle", "1"]);
    assert!(shrunk.contains("(epoch 3)"), "{shrunk}");
    assert_eq!(json(&p, &["leases", "--json"])[0]["epoch"], 3);
    assert_eq!(p.ok(&["find", FREE]), before, "the parent is as before");
    drop(c);
    drop(p);
    drop(hosts);
}
