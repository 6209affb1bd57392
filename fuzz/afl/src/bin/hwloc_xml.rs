//! AFL++ binary for the `hwloc_xml` target (see quiver-fuzz-targets).
//!
//! The fuzz build turns on debug assertions, and with them hwlocality
//! runs hwloc's own `hwloc_topology_check` after every load, which
//! aborts on any XML whose sets do not add up. hwloc trusts its XML and
//! a release build never runs that check, so here it is a no-op: what
//! is fuzzed is what users run, hwloc's loader followed by our walk.
use std::ffi::c_void;

/// Takes the place of libhwloc's symbol at link time (objects before
/// shared libraries); see the module doc.
#[no_mangle]
pub extern "C" fn hwloc_topology_check(_topology: *const c_void) {}

fn main() {
    afl::fuzz!(|data: &[u8]| quiver_fuzz_targets::hwloc_xml(data));
}
