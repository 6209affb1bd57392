//! AFL++ binary for the `jobspec_yaml` target (see quiver-fuzz-targets).
fn main() {
    afl::fuzz!(|data: &[u8]| quiver_fuzz_targets::jobspec_yaml(data));
}
