//! `simple`: one `name[count:x|s]` line per allocated vertex, indented by
//! depth, in the order emitted (leaves first).
use resource_graph::{ResourceGraph, VertexIdx};

use super::{Emit, Writer};

/// Append one `<indent>name[needs:mode]` line to `out`, allocating
/// nothing beyond `out`'s own growth.
pub(super) fn line(
    out: &mut String,
    level: usize,
    g: &ResourceGraph,
    v: VertexIdx,
    needs: u32,
    mode: &str,
) {
    out.push_str("      ");
    for _ in 0..level {
        out.push_str("---");
    }
    // Writing into a String cannot fail.
    let _ = g.write_name(v, out);
    out.push('[');
    let _ = resource_graph::graph::write_u64(out, u64::from(needs));
    out.push(':');
    out.push_str(mode);
    out.push_str("]\n");
}

/// `name[count:x|s]` lines, leaves first.
#[derive(Default)]
pub struct Simple {
    out: String,
}

impl Writer for Simple {
    fn emit(&mut self, item: Emit<'_>) {
        if let Emit::Vertex {
            level,
            g,
            v,
            needs,
            exclusive,
            ..
        } = item
        {
            let mode = if exclusive { "x" } else { "s" };
            line(&mut self.out, level, g, v, needs, mode);
        }
    }
    fn take(&mut self) -> String {
        std::mem::take(&mut self.out)
    }
}
