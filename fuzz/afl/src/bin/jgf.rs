//! AFL++ binary for the `jgf` target (see quiver-fuzz-targets).
fn main() {
    afl::fuzz!(|data: &[u8]| quiver_fuzz_targets::jgf(data));
}
