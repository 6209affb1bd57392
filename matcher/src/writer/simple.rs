//! `simple`: one `name[count:x|s]` line per allocated vertex, indented by
//! depth, in the order emitted (leaves first).
use super::{Emit, Writer};

/// If `item` is a vertex, append its `<indent>name[needs:mode]` line to
/// `out`, the mode `exclusive` or `shared` as it is held, and say so.
/// Allocates nothing beyond `out`'s own growth.
pub(super) fn vertex_line(out: &mut String, item: Emit<'_>, exclusive: &str, shared: &str) -> bool {
    let Emit::Vertex {
        level,
        g,
        v,
        needs,
        exclusive: held_whole,
        ..
    } = item
    else {
        return false;
    };
    out.push_str("      ");
    for _ in 0..level {
        out.push_str("---");
    }
    // Writing into a String cannot fail.
    let _ = g.write_name(v, out);
    out.push('[');
    let _ = resource_graph::graph::write_u64(out, u64::from(needs));
    out.push(':');
    out.push_str(if held_whole { exclusive } else { shared });
    out.push_str("]\n");
    true
}

/// `name[count:x|s]` lines, leaves first.
#[derive(Default)]
pub struct Simple {
    out: String,
}

impl Writer for Simple {
    fn emit(&mut self, item: Emit<'_>) {
        vertex_line(&mut self.out, item, "x", "s");
    }
    fn take(&mut self) -> String {
        // The next match likely writes as much: start it at this size
        // (one allocation) rather than growing from nothing again.
        let cap = self.out.len();
        std::mem::replace(&mut self.out, String::with_capacity(cap))
    }
}
