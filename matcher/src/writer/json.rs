//! JSON text as Fluxion's writers print it, for the JSON writers.
//!
//! The layout is jansson's `json_dumps(o, JSON_INDENT(0))`: one line,
//! `", "` and `": "` separators, keys in insertion order, control
//! characters as `\u00XX` with upper-case hex, nothing else escaped.
use std::fmt::Write as _;

/// Append `s` as a JSON string, escaped as jansson escapes it.
pub(super) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                // Writing into a String cannot fail.
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes one JSON object member by member, in the order given.
pub(super) struct Obj<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Obj<'a> {
    pub(super) fn open(out: &'a mut String) -> Self {
        out.push('{');
        Obj { out, empty: true }
    }

    /// Start member `key`; its value is written into the returned buffer.
    pub(super) fn key(&mut self, key: &str) -> &mut String {
        if !self.empty {
            self.out.push_str(", ");
        }
        self.empty = false;
        push_json_str(self.out, key);
        self.out.push_str(": ");
        self.out
    }

    pub(super) fn str(&mut self, key: &str, value: &str) {
        push_json_str(self.key(key), value);
    }

    pub(super) fn int(&mut self, key: &str, value: i64) {
        let _ = write!(self.key(key), "{value}");
    }

    /// A member whose value is JSON text already.
    pub(super) fn raw(&mut self, key: &str, json: &str) {
        self.key(key).push_str(json);
    }

    /// A member holding an object of strings, in the order given.
    pub(super) fn strings<'k>(
        &mut self,
        key: &str,
        kv: impl IntoIterator<Item = (&'k str, &'k str)>,
    ) {
        let mut o = Obj::open(self.key(key));
        for (k, v) in kv {
            o.str(k, v);
        }
        o.close();
    }

    pub(super) fn close(self) {
        self.out.push('}');
    }
}

/// Append `item` to a comma-separated list of JSON values.
pub(super) fn push_item(list: &mut String, item: impl FnOnce(&mut String)) {
    if !list.is_empty() {
        list.push_str(", ");
    }
    item(list);
}
