//! Bounds on the work a document may ask of a reader, checked before the
//! work is done: how deeply it nests, and how many vertices it expands to.
//!
//! A scheduler reads documents from anyone allowed to submit. A small one
//! must not be able to stall it or exhaust its memory: YAML's flow style
//! (`[[[[...` or `{"a":{"a":...`, JSON included) costs libyaml time in the
//! square of its depth, so its depth is checked by a linear scan before
//! the YAML parser sees it; and a recipe or R that names millions of
//! resources in a few bytes is measured before anything is allocated.

use crate::error::GraphError;

/// The deepest flow-style nesting (`[`, `{`) a YAML or JSON document may
/// have. Real jobspecs and recipes stay far below it.
pub const MAX_FLOW_NESTING: usize = 64;

/// The most vertices a graph read from a document may have unless the
/// user says otherwise (`--max-vertices`): 4 Mi, about 55,000 nodes of
/// 72 cores (a 16,384-node `gen-grug` recipe is 1.2 Mi), under 1 GB of
/// graph.
pub const DEFAULT_MAX_VERTICES: u64 = 4 * 1024 * 1024;

/// How much a document may expand to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most vertices a recipe or R may expand to.
    pub max_vertices: u64,
}

impl Limits {
    /// Refuse a document from `origin` that would make `vertices`
    /// vertices, before any is made.
    pub fn check_vertices(&self, origin: &str, vertices: u64) -> Result<(), GraphError> {
        if vertices > self.max_vertices {
            return Err(GraphError::TooManyVertices {
                path: origin.to_owned(),
                vertices,
                max: self.max_vertices,
            });
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_vertices: DEFAULT_MAX_VERTICES,
        }
    }
}

/// Where a YAML document nests too deeply (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep {
    pub line: usize,
    pub column: usize,
    pub max: usize,
}

impl TooDeep {
    /// Where: "line L column C".
    pub fn at(&self) -> String {
        format!("line {} column {}", self.line, self.column)
    }

    /// What: "nested deeper than N levels of [ ] and { }".
    pub fn what(&self) -> String {
        format!("nested deeper than {} levels of [ ] and {{ }}", self.max)
    }
}

impl std::fmt::Display for TooDeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at(), self.what())
    }
}

/// Check that `text`'s flow collections (`[...]`, `{...}`) nest at most
/// `max` deep, in one pass. Brackets inside quoted scalars and comments do
/// not count; a quote opens a scalar only where one may start (after
/// white space, an indicator or a line start), as in YAML, so an
/// apostrophe inside a plain word (`don't`) cannot hide what follows.
pub fn check_yaml_nesting(text: &str, max: usize) -> Result<(), TooDeep> {
    #[derive(Clone, Copy, PartialEq)]
    enum In {
        Plain,
        Single,
        Double,
        Comment,
    }
    let mut state = In::Plain;
    let mut depth = 0usize;
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    // Every jobspec passes here: runs of bytes that cannot change the
    // state are skipped through a table (the byte before a special one is
    // all the state needs), and the line and column are counted only for
    // an error.
    while i < n {
        let stop = match state {
            In::Plain => &PLAIN_STOPS,
            In::Single => &SINGLE_STOPS,
            In::Double => &DOUBLE_STOPS,
            In::Comment => &COMMENT_STOPS,
        };
        while i < n && !stop[bytes[i] as usize] {
            i += 1;
        }
        if i == n {
            break;
        }
        let b = bytes[i];
        let prev = if i == 0 { b'\n' } else { bytes[i - 1] };
        i += 1;
        match state {
            In::Plain => match b {
                b'[' | b'{' => {
                    depth += 1;
                    if depth > max {
                        let (line, column) = line_and_column(bytes, i - 1);
                        return Err(TooDeep { line, column, max });
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                b'#' if prev.is_ascii_whitespace() => state = In::Comment,
                b'\'' | b'"' if may_start_scalar(prev) => {
                    state = if b == b'\'' { In::Single } else { In::Double };
                }
                _ => {}
            },
            In::Single => {
                if bytes.get(i) == Some(&b'\'') {
                    // '' is a quote inside the scalar.
                    i += 1;
                } else {
                    state = In::Plain;
                }
            }
            In::Double => {
                if b == b'\\' {
                    // The escaped byte, whatever it is.
                    i += 1;
                } else {
                    state = In::Plain;
                }
            }
            In::Comment => {
                // libyaml ends a comment at any line break: LF, CR, and
                // the Unicode NEL, LS and PS (so `# \u{2028}{{{` is
                // three brackets, not a comment).
                let unicode_break = (b == 0xC2 && bytes.get(i) == Some(&0x85))
                    || (b == 0xE2
                        && bytes.get(i) == Some(&0x80)
                        && matches!(bytes.get(i + 1), Some(0xA8 | 0xA9)));
                if b == b'\n' || b == b'\r' || unicode_break {
                    state = In::Plain;
                }
            }
        }
    }
    Ok(())
}

/// A table of the bytes in `stops`.
const fn stops(stops: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut k = 0;
    while k < stops.len() {
        t[stops[k] as usize] = true;
        k += 1;
    }
    t
}

/// The bytes that may change the scanner's state, per state.
static PLAIN_STOPS: [bool; 256] = stops(b"[]{}#'\"");
static SINGLE_STOPS: [bool; 256] = stops(b"'");
static DOUBLE_STOPS: [bool; 256] = stops(b"\\\"");
static COMMENT_STOPS: [bool; 256] = stops(b"\n\r\xC2\xE2");

/// The 1-based line and column (in bytes) of byte `at`.
fn line_and_column(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = &bytes[..at];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    (line, at - start + 1)
}

/// Whether a quoted scalar may begin after byte `prev`.
fn may_start_scalar(prev: u8) -> bool {
    prev.is_ascii_whitespace()
        || matches!(
            prev,
            b'[' | b'{' | b',' | b':' | b'-' | b'?' | b'!' | b'&' | b'*' | b'|' | b'>'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scanner before it skipped runs of bytes: one byte at a time,
    /// counting lines and columns as it went.
    fn reference(text: &str, max: usize) -> Result<(), TooDeep> {
        #[derive(Clone, Copy, PartialEq)]
        enum In {
            Plain,
            Single,
            Double,
            Comment,
        }
        let mut state = In::Plain;
        let mut depth = 0usize;
        let (mut line, mut col) = (1usize, 0usize);
        let mut prev = b'\n';
        let mut escaped = false;
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            col += 1;
            if b == b'\n' {
                line += 1;
                col = 0;
            }
            match state {
                In::Plain => match b {
                    b'[' | b'{' => {
                        depth += 1;
                        if depth > max {
                            return Err(TooDeep {
                                line,
                                column: col,
                                max,
                            });
                        }
                    }
                    b']' | b'}' => depth = depth.saturating_sub(1),
                    b'#' if prev.is_ascii_whitespace() => state = In::Comment,
                    b'\'' | b'"' if may_start_scalar(prev) => {
                        state = if b == b'\'' { In::Single } else { In::Double };
                    }
                    _ => {}
                },
                In::Single => {
                    if b == b'\'' {
                        if bytes.get(i) == Some(&b'\'') {
                            // '' is a quote inside the scalar.
                            i += 1;
                            col += 1;
                        } else {
                            state = In::Plain;
                        }
                    }
                }
                In::Double => {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        state = In::Plain;
                    }
                }
                In::Comment => {
                    // libyaml ends a comment at any line break: LF, CR, and
                    // the Unicode NEL, LS and PS (so `# \u{2028}{{{` is
                    // three brackets, not a comment).
                    let unicode_break = (b == 0xC2 && bytes.get(i) == Some(&0x85))
                        || (b == 0xE2
                            && bytes.get(i) == Some(&0x80)
                            && matches!(bytes.get(i + 1), Some(0xA8 | 0xA9)));
                    if b == b'\n' || b == b'\r' || unicode_break {
                        state = In::Plain;
                    }
                }
            }
            prev = b;
        }
        Ok(())
    }

    #[test]
    fn skipping_runs_finds_what_the_byte_by_byte_scan_finds() {
        // Random texts over the bytes that matter and some that do not.
        let alphabet: &[u8] = b"[]{}#'\"\\ \n\ra:-,\xC2\x85\xE2\x80\xA8";
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 40) as usize;
            let mut bytes = Vec::with_capacity(len);
            let mut y = x;
            for _ in 0..len {
                y ^= y << 13;
                y ^= y >> 7;
                y ^= y << 17;
                bytes.push(alphabet[(y % alphabet.len() as u64) as usize]);
            }
            let text = String::from_utf8_lossy(&bytes);
            for max in [0, 1, 3] {
                assert_eq!(
                    check_yaml_nesting(&text, max),
                    reference(&text, max),
                    "{text:?} at {max}"
                );
            }
        }
    }

    #[test]
    fn ordinary_documents_pass() {
        let ok = [
            "version: 1\nresources: [{type: node, count: 1, with: [{type: core, count: 2}]}]\n",
            r#"{"a": [1, {"b": "[[[[[[[["}], "c": "}}}"}"#,
            "name: don't [[[[ worry\n",
            "a: 'it''s [[[[[['\n# [[[[[[[[[[[[[[[[\nb: \"\\\" [[[[[[\"\n",
        ];
        for t in ok {
            assert_eq!(check_yaml_nesting(t, 4), Ok(()), "{t}");
        }
    }

    #[test]
    fn vertex_counts_over_the_cap_are_refused_naming_both() {
        let small = Limits { max_vertices: 10 };
        assert!(small.check_vertices("r.yaml", 10).is_ok());
        assert_eq!(
            small.check_vertices("r.yaml", 11).unwrap_err().to_string(),
            "r.yaml: would make 11 vertices, more than the cap of 10 (--max-vertices)"
        );
        assert_eq!(Limits::default().max_vertices, 4 << 20);
    }

    #[test]
    fn a_comment_ends_at_every_break_libyaml_knows() {
        for brk in ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"] {
            let text = format!("a: 1 # c{brk}{}\n", "{".repeat(65));
            assert!(check_yaml_nesting(&text, 64).is_err(), "{brk:?}");
        }
        let comment = format!("a: 1 # {}\n", "{".repeat(65));
        assert!(check_yaml_nesting(&comment, 64).is_ok());
    }

    #[test]
    fn deep_flow_nesting_is_found_where_it_goes_too_deep() {
        let deep = format!("a: {}1{}\n", "[".repeat(65), "]".repeat(65));
        assert_eq!(
            check_yaml_nesting(&deep, 64),
            Err(TooDeep {
                line: 1,
                column: 68,
                max: 64
            })
        );
        let json = format!("{}1{}", r#"{"a":"#.repeat(100), "}".repeat(100));
        let e = check_yaml_nesting(&json, 64).unwrap_err();
        assert!(e.to_string().contains("deeper than 64"), "{e}");
        // An apostrophe in a word does not hide the rest.
        let sneaky = format!("x: don't\ny: {}\n", "[".repeat(70));
        assert!(check_yaml_nesting(&sneaky, 64).is_err());
    }
}
