//! The standard gRPC services schedd serves beside the Scheduler, so that
//! the tools of the field work with it unchanged: health checking
//! (`grpc.health.v1.Health`, what a Kubernetes gRPC probe or a systemd
//! watchdog script asks) and server reflection (`grpc.reflection.v1` and
//! `v1alpha`, what `grpcurl list` and `grpcurl describe` read).
//!
//! [`Health`] reports SERVING for the server as a whole (service `""`) and
//! for `quiver.sched.v1.Scheduler` while the instance thread runs; the
//! daemon turns both to NOT_SERVING when it stops, whether it was asked
//! to or the instance failed (fail-stop), before its listeners close.
use sched_proto::SchedulerServer;
use tonic_health::pb::health_server::{Health as HealthApi, HealthServer};
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;
use tonic_reflection::server::{v1, v1alpha, Builder, Error as ReflectionError};

use crate::service::Service;

/// The service name of the scheduler, as health checks and reflection
/// know it.
pub const SCHEDULER: &str = <SchedulerServer<Service> as tonic::server::NamedService>::NAME;

/// What the health service says about this daemon.
#[derive(Clone, Debug)]
pub struct Health {
    reporter: HealthReporter,
}

impl Health {
    /// A health service that says NOT_SERVING until [`Health::serving`].
    pub async fn new() -> (Health, HealthServer<impl HealthApi>) {
        let (reporter, server) = tonic_health::server::health_reporter();
        let h = Health { reporter };
        h.set(ServingStatus::NotServing).await;
        (h, server)
    }

    /// The instance serves: SERVING for `""` and the scheduler.
    pub async fn serving(&self) {
        self.set(ServingStatus::Serving).await;
    }

    /// The instance is stopping or has stopped: NOT_SERVING for both.
    pub async fn not_serving(&self) {
        self.set(ServingStatus::NotServing).await;
    }

    async fn set(&self, status: ServingStatus) {
        for name in ["", SCHEDULER] {
            self.reporter.set_service_status(name, status).await;
        }
    }
}

/// The reflection services, both versions (grpcurl asks for v1 and falls
/// back to v1alpha; older tools know only v1alpha).
pub struct Reflection<A, B> {
    /// `grpc.reflection.v1.ServerReflection`.
    pub v1: v1::ServerReflectionServer<A>,
    /// `grpc.reflection.v1alpha.ServerReflection`.
    pub v1alpha: v1alpha::ServerReflectionServer<B>,
}

/// The services every schedd serves, as reflection lists them; a child
/// instance serves [`ELASTIC`] too.
pub const SERVED: [&str; 7] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "quiver.burst.v1.Burst",
    "quiver.hier.v1.Hierarchy",
    "quiver.lease.v1.Leases",
    "quiver.sched.v1.Scheduler",
];

/// The service a child instance (`schedd --parent`) serves besides.
pub const ELASTIC: &str = "quiver.lease.v1.Elastic";

/// Reflection over the scheduler's and the lease protocol, the health
/// service's and reflection's own: each version lists every service
/// served (the Elastic service only when `child`), both reflection
/// versions included.
pub fn reflection(
    child: bool,
) -> Result<Reflection<impl v1::ServerReflection, impl v1alpha::ServerReflection>, ReflectionError>
{
    let builder = || {
        let mut b = Builder::configure();
        for name in SERVED.iter().chain(child.then_some(&ELASTIC)) {
            b = b.with_service_name(*name);
        }
        b.include_reflection_service(false)
            .register_encoded_file_descriptor_set(sched_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
    };
    Ok(Reflection {
        v1: builder().build_v1()?,
        v1alpha: builder().build_v1alpha()?,
    })
}
