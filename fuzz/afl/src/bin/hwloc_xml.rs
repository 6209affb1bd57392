//! AFL++ binary for the `hwloc_xml` target (see quiver-fuzz-targets).
fn main() {
    afl::fuzz!(|data: &[u8]| quiver_fuzz_targets::hwloc_xml(data));
}
