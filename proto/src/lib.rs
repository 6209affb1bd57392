//! Quiver's gRPC protocol: the `quiver.sched.v1.Scheduler` service that
//! every schedd serves and schedctl (or any tonic client) calls, and the
//! elastic `quiver.lease.v1` services (`Leases` at a parent, `Elastic` at a
//! child), `quiver.hier.v1.Hierarchy` (a parent hands jobs to the
//! children that pull them) and `quiver.burst.v1.Burst` (cloud burst
//! nodes as a level of the graph). The code is generated at build time from
//! `proto/quiver/sched/v1/scheduler.proto` and
//! `proto/quiver/lease/v1/lease.proto`, `proto/quiver/hier/v1/hier.proto` and
//! `proto/quiver/burst/v1/burst.proto`, which document every call and field.

/// Version 1 of the scheduler protocol.
pub mod v1 {
    tonic::include_proto!("quiver.sched.v1");
}

/// Version 1 of the lease protocol between parent and child instances.
pub mod lease_v1 {
    tonic::include_proto!("quiver.lease.v1");
}

/// Version 1 of the hierarchy protocol: children pull jobs from their parent.
pub mod hier_v1 {
    tonic::include_proto!("quiver.hier.v1");
}

/// Version 1 of the cloud burst protocol.
pub mod burst_v1 {
    tonic::include_proto!("quiver.burst.v1");
}

/// The encoded `FileDescriptorSet` of `quiver.sched.v1`, `quiver.lease.v1`,
/// `quiver.hier.v1` and `quiver.burst.v1`, for a server
/// reflection service (what `grpcurl list` reads).
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("quiver_descriptor");

pub use v1::scheduler_client::SchedulerClient;
pub use v1::scheduler_server::{Scheduler, SchedulerServer};
