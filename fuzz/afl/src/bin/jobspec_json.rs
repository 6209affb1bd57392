//! AFL++ binary for the `jobspec_json` target (see quiver-fuzz-targets).
fn main() {
    afl::fuzz!(|data: &[u8]| quiver_fuzz_targets::jobspec_json(data));
}
