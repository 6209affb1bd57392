//! The Quiver gRPC protocol (`quiver.sched.v1`). Not built yet: the schedd
//! issue adds the .proto files and the tonic/prost code generation.
