//! Generate the tonic/prost code of `proto/quiver/sched/v1/scheduler.proto`
//! `proto/quiver/lease/v1/lease.proto` and
//! `proto/quiver/hier/v1/hier.proto` and `proto/quiver/burst/v1/burst.proto` with the vendored protoc, and
//! their file descriptor set (for the server reflection service).
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // Build scripts run before any thread of ours starts.
    std::env::set_var("PROTOC", protoc);
    println!("cargo:rerun-if-changed=proto/quiver/sched/v1/scheduler.proto");
    println!("cargo:rerun-if-changed=proto/quiver/lease/v1/lease.proto");
    println!("cargo:rerun-if-changed=proto/quiver/hier/v1/hier.proto");
    println!("cargo:rerun-if-changed=proto/quiver/burst/v1/burst.proto");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .file_descriptor_set_path(out.join("quiver_descriptor.bin"))
        .compile_protos(
            &[
                "proto/quiver/sched/v1/scheduler.proto",
                "proto/quiver/lease/v1/lease.proto",
                "proto/quiver/hier/v1/hier.proto",
                "proto/quiver/burst/v1/burst.proto",
            ],
            &["proto"],
        )?;
    Ok(())
}
