//! AFL++ binary for the `grug_graphml` target (see quiver-fuzz-targets).
fn main() {
    afl::fuzz!(|data: &[u8]| quiver_fuzz_targets::grug_graphml(data));
}
