//! `pretty_simple`: the `simple` lines with `exclusive|shared` spelt out,
//! root first.
use super::simple::vertex_line;
use super::{Emit, Writer};

/// `name[count:exclusive|shared]` lines, root first.
#[derive(Default)]
pub struct PrettySimple {
    lines: Vec<String>,
}

impl Writer for PrettySimple {
    fn emit(&mut self, item: Emit<'_>) {
        // An empty String holds no memory until the line is written.
        let mut line = String::new();
        if vertex_line(&mut line, item, "exclusive", "shared") {
            self.lines.push(line);
        }
    }
    fn take(&mut self) -> String {
        let lines = std::mem::take(&mut self.lines);
        lines.into_iter().rev().collect()
    }
}
