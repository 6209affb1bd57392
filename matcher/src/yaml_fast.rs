//! A fast path for block-style YAML jobspecs, the way people write them
//! (`examples/jobspec-1core.yaml`): nested block mappings and sequences of
//! plain words, unsigned integers and simple quoted strings, flow lists of
//! such scalars, and whole-line comments.
//!
//! libyaml is thorough and slow (its scanner alone is most of a one-core
//! match in resource-query); this reader builds the same document for that
//! subset (booleans spelt `true` and `false` too) in a single pass, and
//! gives up (`None`) on anything else: tabs,
//! carriage returns or other bytes outside printable ASCII, document
//! markers and directives, anchors, tags, flow mappings, trailing
//! comments, escapes, multi-line scalars, duplicate keys, and any plain
//! scalar that YAML might read as other than a string or an unsigned
//! integer (`true`, `null`, `0x1f`, `1e3`, `.inf`, `-1`, `yes`, ...). Text
//! it gives up on goes to the YAML reader, whose answer stands; where it
//! answers, it answers as that reader does (a test holds it to that on
//! every jobspec of the fixtures, and the `jobspec_yaml` fuzz target on
//! whatever the fuzzer makes).
//!
//! It reads into [`Node`], a tree that borrows its strings from the text
//! (no allocation per scalar, no hashing per key): the common jobspec is
//! read straight from it (`jobspec_fast`), anything else from the YAML
//! document it converts to.
use serde_yaml::{Mapping, Value};

/// A block-YAML node as this reader reads it: scalars are typed as YAML
/// types them, strings borrowed from the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node<'a> {
    Null,
    Bool(bool),
    Int(u64),
    Str(&'a str),
    Seq(Vec<Node<'a>>),
    /// Entries in the text's order; keys are plain words, each once.
    Map(Vec<(&'a str, Node<'a>)>),
}

impl<'a> Node<'a> {
    /// The YAML document this node is (what serde_yaml reads the same
    /// text to).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(n) => Value::Number((*n).into()),
            Node::Str(s) => Value::String((*s).to_owned()),
            Node::Seq(items) => Value::Sequence(items.iter().map(Node::to_value).collect()),
            Node::Map(entries) => {
                let mut m = Mapping::with_capacity(entries.len());
                for (k, v) in entries {
                    m.insert(Value::String((*k).to_owned()), v.to_value());
                }
                Value::Mapping(m)
            }
        }
    }

    /// The value of `key` in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node<'a>> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// The document `text` holds, as a [`Node`] borrowing from it, when it
/// is in the subset (see the module documentation); `None` sends it to
/// the YAML reader.
pub(crate) fn block_nodes(text: &str) -> Option<Node<'_>> {
    let ok = text
        .bytes()
        .all(|b| b == b'\n' || (b' '..=b'~').contains(&b));
    if !ok {
        return None;
    }
    let mut lines = Vec::with_capacity(text.bytes().filter(|&b| b == b'\n').count() + 1);
    for raw in text.split('\n') {
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        let body = raw[indent..].trim_end_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        if body.contains('#') || body.starts_with(['%', '&', '*', '!', '?', '|', '>', '@', '`']) {
            return None;
        }
        if body.starts_with("---") || body.starts_with("...") {
            return None;
        }
        lines.push(Line { indent, body });
    }
    let mut p = Parser { lines, at: 0 };
    if p.lines.first()?.indent != 0 {
        return None;
    }
    let doc = p.node(0)?;
    (p.at == p.lines.len() && matches!(doc, Node::Map(_))).then_some(doc)
}

/// One line that holds something: its indentation and what follows it.
struct Line<'a> {
    indent: usize,
    body: &'a str,
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    at: usize,
}

impl<'a> Parser<'a> {
    /// The block node that starts at the current line, whose indentation
    /// is `indent`.
    fn node(&mut self, indent: usize) -> Option<Node<'a>> {
        let line = self.lines.get(self.at)?;
        if line.indent != indent {
            return None;
        }
        if is_item(line.body) {
            self.sequence(indent)
        } else {
            let body = line.body;
            self.at += 1;
            self.mapping(indent, body)
        }
    }

    /// A block sequence of items at `indent`.
    fn sequence(&mut self, indent: usize) -> Option<Node<'a>> {
        let mut items = Vec::new();
        while let Some(line) = self.lines.get(self.at) {
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return None;
            }
            if !is_item(line.body) {
                // The sequence was a value at its key's indentation; what
                // follows is the mapping's next key (or an error, which
                // the caller finds).
                break;
            }
            let rest = line.body[1..].trim_start_matches(' ');
            let inner = indent + (line.body.len() - rest.len());
            self.at += 1;
            let item = if rest.is_empty() {
                // The item is the block below.
                match self.lines.get(self.at) {
                    Some(next) if next.indent > indent => self.node(next.indent)?,
                    _ => Node::Null,
                }
            } else if is_item(rest) {
                // A sequence in a sequence on one line.
                return None;
            } else if entry(rest).is_some() {
                // `- key: value`: a mapping whose first entry is here and
                // whose others line up with it.
                self.mapping(inner, rest)?
            } else {
                scalar_or_flow(rest)?
            };
            items.push(item);
        }
        Some(Node::Seq(items))
    }

    /// A block mapping at `indent` whose first entry is `first` (its line
    /// already taken); the others follow on lines at `indent`.
    fn mapping(&mut self, indent: usize, first: &'a str) -> Option<Node<'a>> {
        let mut m: Vec<(&'a str, Node<'a>)> = Vec::new();
        let mut body = first;
        loop {
            let (key, rest) = entry(body)?;
            let value = if rest.is_empty() {
                match self.lines.get(self.at) {
                    Some(next) if next.indent > indent => self.node(next.indent)?,
                    // `key:` then `- item` at the key's own indentation.
                    Some(next) if next.indent == indent && is_item(next.body) => {
                        self.sequence(indent)?
                    }
                    _ => Node::Null,
                }
            } else {
                scalar_or_flow(rest)?
            };
            // A key given twice is the YAML reader's to refuse.
            if m.iter().any(|(k, _)| *k == key) {
                return None;
            }
            m.push((key, value));
            match self.lines.get(self.at) {
                Some(next) if next.indent == indent && !is_item(next.body) => {
                    body = next.body;
                    self.at += 1;
                }
                Some(next) if next.indent > indent => return None,
                _ => break,
            }
        }
        Some(Node::Map(m))
    }
}

/// Whether `body` starts a sequence item (`- x` or a lone `-`).
fn is_item(body: &str) -> bool {
    body == "-" || body.starts_with("- ")
}

/// `key: rest` or `key:`, with a plain word for a key.
fn entry(body: &str) -> Option<(&str, &str)> {
    let colon = body.bytes().position(|b| b == b':')?;
    let (key, after) = (&body[..colon], &body[colon + 1..]);
    if !(after.is_empty() || after.starts_with(' ')) || !plain_word(key) {
        return None;
    }
    Some((key, after.trim_start_matches(' ')))
}

/// A scalar or a flow list of scalars.
fn scalar_or_flow(text: &str) -> Option<Node<'_>> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner.strip_suffix(']')?.trim_matches(' ');
        if inner.is_empty() {
            return Some(Node::Seq(Vec::new()));
        }
        if inner.contains(['[', ']', '{', '}']) {
            return None;
        }
        return inner
            .split(',')
            .map(|s| scalar(s.trim_matches(' ')))
            .collect::<Option<Vec<_>>>()
            .map(Node::Seq);
    }
    scalar(text)
}

/// A quoted string without escapes, `true` or `false`, an unsigned
/// integer, or a plain word.
fn scalar(text: &str) -> Option<Node<'_>> {
    for q in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(q) {
            let inner = inner.strip_suffix(q)?;
            if inner.contains(['"', '\'', '\\']) {
                return None;
            }
            return Some(Node::Str(inner));
        }
    }
    match text {
        "true" => return Some(Node::Bool(true)),
        "false" => return Some(Node::Bool(false)),
        _ => {}
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        if text.is_empty() || (text.len() > 1 && text.starts_with('0')) {
            return None;
        }
        return text.parse::<u64>().ok().map(Node::Int);
    }
    plain_word(text).then_some(Node::Str(text))
}

/// A plain scalar YAML can only read as a string: a letter, `_` or `/`
/// first, then letters, digits and `_./-`, and no word YAML or its
/// number parser gives another meaning.
fn plain_word(s: &str) -> bool {
    let mut bytes = s.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'_' || first == b'/') {
        return false;
    }
    if !bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-')) {
        return false;
    }
    const MEANINGFUL: &[&str] = &[
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "inf", "infinity", "nan",
    ];
    // Every such word starts with one of these letters and is short.
    if s.len() > 8
        || !matches!(
            first.to_ascii_lowercase(),
            b't' | b'f' | b'n' | b'y' | b'o' | b'i'
        )
    {
        return true;
    }
    !MEANINGFUL.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// (path, text) of every jobspec the fixtures hold: the examples, the
/// fuzz corpus, and Fluxion's test jobspecs where ../shared is beside the
/// clone. The fast paths are held to the YAML reader on them.
#[cfg(test)]
pub(crate) fn fixture_jobspecs() -> Vec<(String, String)> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut dirs = vec![
        std::path::PathBuf::from(root).join("examples"),
        std::path::PathBuf::from(root).join("fuzz/corpus/jobspec_yaml"),
        std::path::PathBuf::from(root).join("../shared/fluxion-t/data/resource/jobspecs"),
    ];
    let mut texts = Vec::new();
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if let Ok(t) = std::fs::read_to_string(&p) {
                texts.push((p.display().to_string(), t));
            }
        }
    }
    texts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document the fast path reads.
    fn block_document(text: &str) -> Option<Value> {
        block_nodes(text).map(|n| n.to_value())
    }

    fn slow(text: &str) -> Option<Value> {
        serde_yaml::from_str(text).ok()
    }

    /// Every jobspec of the fixtures the fast path reads, it reads as
    /// serde_yaml does; the common ones it does read.
    #[test]
    fn reads_what_serde_yaml_reads_or_gives_up() {
        let texts = fixture_jobspecs();
        // The fuzz corpus is odd on purpose: it is held to serde_yaml, but
        // the share read counts over the jobspecs people write (examples,
        // and Fluxion's test jobspecs where ../shared is beside the clone).
        let (mut read, mut common, mut common_read) = (0, 0, 0);
        for (name, t) in &texts {
            let usual = !name.contains("fuzz/corpus");
            common += usize::from(usual);
            if let Some(v) = block_document(t) {
                read += 1;
                common_read += usize::from(usual);
                assert_eq!(Some(v), slow(t), "{name}");
            }
        }
        assert!(texts.len() >= 10, "{} texts", texts.len());
        assert!(read > 0);
        assert!(
            common_read * 2 >= common,
            "read {common_read} of {common} usual jobspecs"
        );
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let one = std::fs::read_to_string(format!("{root}/examples/jobspec-1core.yaml")).unwrap();
        assert!(block_document(&one).is_some());
    }

    #[test]
    fn odd_texts_are_left_to_the_yaml_reader() {
        let base = "version: 9999\nresources:\n  - type: slot\n    count: 1\n";
        assert_eq!(block_document(base), slow(base));
        for odd in [
            "version: 9999\n\tresources: []\n",
            "version: 9999\r\nresources: []\n",
            "---\nversion: 1\n",
            "version: 1 # trailing\n",
            "version: 1\nversion: 2\n",
            "a: True\n",
            "a: Null\n",
            "a: 0x1f\n",
            "a: 1e3\n",
            "a: 01\n",
            "a: -1\n",
            "a: .inf\n",
            "a: yes\n",
            "a: \"x\\ty\"\n",
            "a: {b: 1}\n",
            "a: b c\n",
            "a: b\n  c\n",
            "a: &x 1\n",
            "a: 18446744073709551616\n",
            "- 1\n",
            "a:\n  - - 1\n",
            "é: 1\n",
        ] {
            assert_eq!(block_document(odd), None, "{odd:?}");
        }
        // What it reads, as YAML reads it.
        for fine in [
            "a:\n- 1\n- x\n",
            "a:\n  -\n    b: 1\n",
            "a: [ \"x y\", 'z', 3 ]\n",
            "a: []\nb:\nc: /bin/true\nd: true\ne: [false]\n",
            "# a comment\na:\n  b:\n    c: 0\n\n",
        ] {
            let v = block_document(fine);
            assert!(v.is_some(), "{fine:?}");
            assert_eq!(v, slow(fine), "{fine:?}");
        }
    }
}
