//! The standard gRPC services of a real schedd: the health check answers
//! SERVING while the instance runs and NOT_SERVING once it stops (asked
//! to, or fail-stop), on the Unix socket and on TCP (where probes need no
//! token); reflection lists and describes every service, as grpcurl
//! reads them.
mod common;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;

use common::*;
use prost::Message;
use tokio_stream::StreamExt;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_reflection::pb::v1 as refl;
use tonic_reflection::pb::v1alpha as refl_alpha;

const SCHEDULER: &str = "quiver.sched.v1.Scheduler";

fn sim_args(recipe: &str) -> Vec<String> {
    ["--grug", recipe, "--executor", "sim", "--clock", "sim"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn start_sim(dir: &TempDir, extra: &[String]) -> Daemon {
    let recipe = four_nodes();
    let mut args = sim_args(recipe.to_str().unwrap());
    args.extend_from_slice(extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    start(&dir.0, &args)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn unix_channel(d: &Daemon) -> Channel {
    schedd::client::connect_unix(&d.socket)
        .await
        .expect("connect to schedd")
}

/// The status the health service gives `service`.
async fn check(ch: Channel, service: &str) -> Result<ServingStatus, tonic::Status> {
    let r = HealthClient::new(ch)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await?;
    Ok(r.into_inner().status())
}

/// The services reflection v1 lists, sorted.
async fn listed(ch: Channel, token: Option<&str>) -> Result<Vec<String>, tonic::Status> {
    let req = refl::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            refl::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut call = tonic::Request::new(tokio_stream::iter([req]));
    if let Some(t) = token {
        call.metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    let mut answers = refl::server_reflection_client::ServerReflectionClient::new(ch)
        .server_reflection_info(call)
        .await?
        .into_inner();
    let answer = answers.next().await.expect("an answer")?;
    match answer.message_response {
        Some(refl::server_reflection_response::MessageResponse::ListServicesResponse(l)) => {
            let mut names: Vec<String> = l.service.into_iter().map(|s| s.name).collect();
            names.sort();
            Ok(names)
        }
        other => panic!("not a service list: {other:?}"),
    }
}

#[test]
fn health_answers_serving_and_reflection_lists_every_service() {
    let dir = TempDir::new("standard");
    let d = start_sim(&dir, &[]);
    rt().block_on(async {
        let ch = unix_channel(&d).await;
        assert_eq!(check(ch.clone(), "").await.unwrap(), ServingStatus::Serving);
        assert_eq!(
            check(ch.clone(), SCHEDULER).await.unwrap(),
            ServingStatus::Serving
        );
        let e = check(ch.clone(), "no.such.Service").await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound);

        let names = listed(ch.clone(), None).await.unwrap();
        assert_eq!(
            names,
            [
                "grpc.health.v1.Health",
                "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
                "quiver.burst.v1.Burst",
                "quiver.hier.v1.Hierarchy",
                "quiver.lease.v1.Leases",
                SCHEDULER,
            ]
        );

        // What `grpcurl describe quiver.sched.v1.Scheduler` reads, through
        // the older v1alpha service that tools fall back to.
        let req = refl_alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                refl_alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                    SCHEDULER.into(),
                ),
            ),
        };
        let mut answers =
            refl_alpha::server_reflection_client::ServerReflectionClient::new(ch.clone())
                .server_reflection_info(tokio_stream::iter([req]))
                .await
                .unwrap()
                .into_inner();
        let answer = answers.next().await.unwrap().unwrap();
        let Some(refl_alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(
            files,
        )) = answer.message_response
        else {
            panic!("no file descriptor: {answer:?}")
        };
        let file = prost_types::FileDescriptorProto::decode(&files.file_descriptor_proto[0][..])
            .expect("a file descriptor");
        assert_eq!(file.name(), "quiver/sched/v1/scheduler.proto");
        let methods: Vec<&str> = file.service[0].method.iter().map(|m| m.name()).collect();
        for m in ["Submit", "Cancel", "Info", "List", "Watch", "Advance"] {
            assert!(methods.contains(&m), "{m} missing from {methods:?}");
        }
    });
    d.stop();
}

#[test]
fn on_tcp_health_needs_no_token_and_reflection_does() {
    let dir = TempDir::new("standard-tcp");
    let token = dir.0.join("token");
    std::fs::write(&token, "health-check-token-0123456789\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let d = start_sim(
        &dir,
        &[
            "--listen".into(),
            addr.clone(),
            "--token-file".into(),
            token.to_str().unwrap().into(),
        ],
    );
    rt().block_on(async {
        let ch = Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        // A Kubernetes gRPC probe sends no metadata.
        assert_eq!(check(ch.clone(), "").await.unwrap(), ServingStatus::Serving);
        let e = listed(ch.clone(), None).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        let names = listed(ch, Some("health-check-token-0123456789"))
            .await
            .unwrap();
        assert!(names.contains(&SCHEDULER.to_owned()), "{names:?}");
    });
    d.stop();
}

/// Watch the overall health: SERVING first; `stop` stops the daemon; the
/// watcher then hears NOT_SERVING before the stream ends.
fn health_turns_not_serving(tag: &str, stop: impl FnOnce(&mut Daemon)) {
    let dir = TempDir::new(tag);
    let mut d = start_sim(&dir, &[]);
    let rt = rt();
    let mut updates = rt.block_on(async {
        let ch = unix_channel(&d).await;
        let mut s = HealthClient::new(ch)
            .watch(HealthCheckRequest {
                service: SCHEDULER.into(),
            })
            .await
            .unwrap()
            .into_inner();
        let first = s.message().await.unwrap().unwrap();
        assert_eq!(first.status(), ServingStatus::Serving);
        s
    });
    stop(&mut d);
    rt.block_on(async {
        let next = updates.message().await.expect("NOT_SERVING before the end");
        assert_eq!(
            next.map(|m| m.status()),
            Some(ServingStatus::NotServing),
            "{}",
            d.log_text()
        );
    });
    let _ = d.child.wait();
}

#[test]
fn health_turns_not_serving_when_schedd_is_stopped() {
    health_turns_not_serving("standard-stop", |d| {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(d.child.id() as i32, libc::SIGTERM);
        }
    });
}

#[test]
fn health_turns_not_serving_when_the_instance_fails() {
    health_turns_not_serving("standard-failstop", |d| {
        take_the_next_job_id(d);
        let js = d.state.with_file_name("job.yaml");
        std::fs::write(&js, jobspec(0, 1, 100)).unwrap();
        let out = d.ctl(&["submit", js.to_str().unwrap()]);
        assert!(!out.status.success(), "the failed submit was acknowledged");
    });
}
