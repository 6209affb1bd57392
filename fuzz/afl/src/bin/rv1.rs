//! AFL++ binary for the `rv1` target (see quiver-fuzz-targets).
fn main() {
    afl::fuzz!(|data: &[u8]| quiver_fuzz_targets::rv1(data));
}
