//! Who may do what: owners on the Unix socket, and TCP that serves only
//! callers with the token or a certificate.
mod common;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::*;
use sched_proto::v1 as pb;
use sched_proto::SchedulerClient;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

fn sim(recipe: &str) -> Vec<String> {
    ["--grug", recipe, "--executor", "sim", "--clock", "sim"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn another_uid_cannot_cancel_a_job_it_does_not_own() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: switching uids needs root");
        return;
    }
    let dir = TempDir::new("uids");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let recipe = four_nodes();
    let js = dir.0.join("job.yaml");
    std::fs::write(&js, jobspec(1, 0, 100)).unwrap();
    std::fs::set_permissions(&js, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut args = sim(recipe.to_str().unwrap());
    args.extend(["--socket-mode".to_string(), "666".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let d = start(&dir.0, &args);

    let alice = 64001;
    let mallory = 64002;
    let out = d.ctl_as(alice, alice, &["submit", js.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let info = d.ok(&["info", &id, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(v["owner_uid"], alice, "the peer's uid is the owner: {info}");

    let out = d.ctl_as(mallory, mallory, &["cancel", &id]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PERMISSION_DENIED"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&d.ok(&["info", &id, "--json"])).unwrap();
    assert_eq!(v["state"], "RUNNING", "still running");
    // Its owner may.
    let out = d.ctl_as(alice, alice, &["cancel", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A non-owner cannot mark vertices down either.
    let out = d.ctl_as(mallory, mallory, &["set-status", "/four0/node0", "down"]);
    assert!(!out.status.success());
    d.stop();
}

#[test]
fn the_socket_is_owner_only_by_default() {
    let dir = TempDir::new("mode");
    let recipe = four_nodes();
    let args = sim(recipe.to_str().unwrap());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let d = start(&dir.0, &args);
    let mode = std::fs::metadata(&d.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    d.stop();
}

#[test]
fn tcp_needs_the_token() {
    let dir = TempDir::new("token");
    let recipe = four_nodes();
    let token = dir.0.join("token");
    std::fs::write(&token, "s3cret-token-of-enough-length\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut args = sim(recipe.to_str().unwrap());
    args.extend([
        "--listen".into(),
        addr.clone(),
        "--token-file".into(),
        token.to_str().unwrap().into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let d = start(&dir.0, &args);
    let uri = format!("http://{addr}");
    rt().block_on(async {
        let mut c = SchedulerClient::connect(uri.clone()).await.unwrap();
        let e = c.status(pb::StatusRequest {}).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        let mut req = tonic::Request::new(pb::StatusRequest {});
        req.metadata_mut().insert(
            "authorization",
            "Bearer wrong-token-wrong-token".parse().unwrap(),
        );
        let e = c.status(req).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        let mut req = tonic::Request::new(pb::StatusRequest {});
        req.metadata_mut().insert(
            "authorization",
            "Bearer s3cret-token-of-enough-length".parse().unwrap(),
        );
        assert!(c.status(req).await.is_ok());
    });
    // schedctl with the token file works; without it, it is refused.
    let out = Command::new(SCHEDCTL)
        .args(["--uri", &uri, "status"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = Command::new(SCHEDCTL)
        .args([
            "--uri",
            &uri,
            "--token-file",
            token.to_str().unwrap(),
            "status",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d.stop();
}

#[test]
fn tcp_without_tls_or_token_is_refused_unless_insecure_loopback() {
    let dir = TempDir::new("insecure");
    let recipe = four_nodes();
    let st = Command::new(SCHEDD)
        .args([
            "--grug",
            recipe.to_str().unwrap(),
            "--listen",
            "127.0.0.1:1",
        ])
        .arg("--socket")
        .arg(dir.0.join("s.sock"))
        .arg("--state-dir")
        .arg(dir.0.join("state"))
        .output()
        .unwrap();
    assert!(!st.status.success());
    assert!(String::from_utf8_lossy(&st.stderr).contains("--token-file"));
    let st = Command::new(SCHEDD)
        .args([
            "--grug",
            recipe.to_str().unwrap(),
            "--listen",
            "0.0.0.0:1",
            "--insecure",
        ])
        .arg("--socket")
        .arg(dir.0.join("s.sock"))
        .arg("--state-dir")
        .arg(dir.0.join("state"))
        .output()
        .unwrap();
    assert!(!st.status.success());
    assert!(String::from_utf8_lossy(&st.stderr).contains("loopback"));
}

#[test]
fn tcp_with_mutual_tls_refuses_clients_without_a_certificate() {
    let dir = TempDir::new("tls");
    if make_certs(&dir.0, &["client"]).is_none() {
        eprintln!("skipped: the openssl command is not available");
        return;
    }
    let p = |f: &str| dir.0.join(f).to_str().unwrap().to_owned();
    let recipe = four_nodes();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut args = sim(recipe.to_str().unwrap());
    args.extend([
        "--listen".into(),
        addr.clone(),
        "--tls-cert".into(),
        p("server.pem"),
        "--tls-key".into(),
        p("server.key"),
        "--tls-client-ca".into(),
        p("ca.pem"),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let d = start(&dir.0, &args);
    let read = |f: &str| std::fs::read(dir.0.join(f)).unwrap();
    rt().block_on(async {
        // Plain text: refused.
        let plain = SchedulerClient::connect(format!("http://{addr}")).await;
        if let Ok(mut c) = plain {
            assert!(c.status(pb::StatusRequest {}).await.is_err());
        }
        // TLS without a client certificate: refused.
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read("ca.pem")))
            .domain_name("localhost");
        let ep = Endpoint::from_shared(format!("https://{addr}"))
            .unwrap()
            .tls_config(tls.clone())
            .unwrap();
        // Refused at the handshake, or at the first call.
        if let Ok(ch) = ep.connect().await {
            let mut c = SchedulerClient::new(ch);
            assert!(c.status(pb::StatusRequest {}).await.is_err());
        }
        // With one: served.
        let ep = Endpoint::from_shared(format!("https://{addr}"))
            .unwrap()
            .tls_config(tls.identity(tonic::transport::Identity::from_pem(
                read("client.pem"),
                read("client.key"),
            )))
            .unwrap();
        let mut c = SchedulerClient::new(ep.connect().await.unwrap());
        let st = c.status(pb::StatusRequest {}).await.unwrap().into_inner();
        assert_eq!(st.nodes, 4);
    });
    // Without --tls-ca, schedctl trusts the system's roots, which did not
    // sign this certificate.
    let out = Command::new(SCHEDCTL)
        .args(["--uri", &format!("https://{addr}"), "status"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // schedctl speaks TLS too.
    let out = Command::new(SCHEDCTL)
        .args([
            "--uri",
            &format!("https://{addr}"),
            "--tls-ca",
            &p("ca.pem"),
            "--tls-cert",
            &p("client.pem"),
            "--tls-key",
            &p("client.key"),
            "status",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d.stop();
}

#[test]
fn watch_mine_sees_only_the_callers_jobs() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: switching uids needs root");
        return;
    }
    let dir = TempDir::new("mine");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let recipe = four_nodes();
    let js = dir.0.join("job.yaml");
    std::fs::write(&js, jobspec(0, 1, 100)).unwrap();
    std::fs::set_permissions(&js, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut args = sim(recipe.to_str().unwrap());
    args.extend(["--socket-mode".to_string(), "666".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let d = start(&dir.0, &args);
    rt().block_on(async {
        let mut c = d.client().await;
        let e = c
            .watch(pb::WatchRequest {
                job_id: 1,
                kinds: vec![],
                max_events: 0,
                mine: true,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e}");
        let mut mine = c
            .watch(pb::WatchRequest {
                job_id: 0,
                kinds: vec![pb::EventKind::Submit as i32],
                max_events: 1,
                mine: true,
            })
            .await
            .unwrap()
            .into_inner();
        let alice = 64001;
        let out = d.ctl_as(alice, alice, &["submit", js.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let ours = submit(&mut c, &jobspec(0, 1, 100)).await;
        assert_ne!(theirs, ours);
        let first = mine.message().await.unwrap().expect("our submit");
        assert_eq!(first.job_id, ours, "alice's job {theirs} was not ours");
        assert!(mine.message().await.unwrap().is_none(), "max_events 1");
    });
    d.stop();
}
