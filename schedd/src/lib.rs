//! The Quiver scheduler daemon. Not built yet: the schedd issue fills this
//! crate (gRPC service, queue policies, journal, schedctl). Until then it
//! only re-exports the matcher it will drive.
pub use matcher;
