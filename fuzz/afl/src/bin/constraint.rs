//! AFL++ binary for the `constraint` target (see quiver-fuzz-targets).
fn main() {
    afl::fuzz!(|data: &[u8]| quiver_fuzz_targets::constraint(data));
}
