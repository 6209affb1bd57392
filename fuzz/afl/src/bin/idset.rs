//! AFL++ binary for the `idset` target (see quiver-fuzz-targets).
fn main() {
    afl::fuzz!(|data: &[u8]| quiver_fuzz_targets::idset(data));
}
