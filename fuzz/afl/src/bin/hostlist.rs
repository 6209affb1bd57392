//! AFL++ binary for the `hostlist` target (see quiver-fuzz-targets).
fn main() {
    afl::fuzz!(|data: &[u8]| quiver_fuzz_targets::hostlist(data));
}
