//! AFL++ binary for the `find_expr` target (see quiver-fuzz-targets).
fn main() {
    afl::fuzz!(|data: &[u8]| quiver_fuzz_targets::find_expr(data));
}
