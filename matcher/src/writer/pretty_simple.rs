//! `pretty_simple`: the `simple` lines with `exclusive|shared` spelt out,
//! root first.
use super::simple::line;
use super::{Emit, Writer};

/// `name[count:exclusive|shared]` lines, root first.
#[derive(Default)]
pub struct PrettySimple {
    lines: Vec<String>,
}

impl Writer for PrettySimple {
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
            let mode = if exclusive { "exclusive" } else { "shared" };
            let mut s = String::new();
            line(&mut s, level, g, v, needs, mode);
            self.lines.push(s);
        }
    }
    fn take(&mut self) -> String {
        let lines = std::mem::take(&mut self.lines);
        lines.into_iter().rev().collect()
    }
}
