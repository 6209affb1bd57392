//! The JGF reader's fast path: the text scanned straight into the
//! reader's nodes and edges ([`NodeIn`], [`EdgeIn`]), strings borrowed
//! from the text, with no JSON tree in between. A lease's subgraph is
//! read on every grow; building a `serde_json::Value` for it (an ordered
//! map per object) cost more than everything else the child does, and
//! serde's generic visitors still cost half of a grow's read.
//!
//! Only documents of the expected shape come through: any key of the
//! wrong kind, a key given twice, anything that is not plain JSON (a
//! trailing comma, text after the document, a number with a fraction
//! where an integer belongs) makes [`parse`] answer `None`, and the
//! caller reads the text as a tree instead, whose reader says what is
//! wrong. Unknown keys are skipped (checked to be JSON), as there.
use std::borrow::Cow;

use serde_json::Value;

use crate::graph::Status;
use crate::jgf::{edge_links, EdgeIn, Links, NodeIn};

/// The nodes and edges of `text`, or `None` when it is not plainly a
/// JGF document (see the module doc).
pub(crate) fn parse(text: &str) -> Option<(Vec<NodeIn<'_>>, Vec<EdgeIn<'_>>)> {
    let mut s = Scan {
        s: text,
        i: 0,
        depth: 0,
    };
    let (mut nodes, mut edges) = (None, None);
    s.object(|s, key| match key.as_ref() {
        "graph" if nodes.is_none() => {
            let (n, e) = s.graph()?;
            nodes = Some(n);
            edges = Some(e);
            Some(())
        }
        "graph" => None,
        _ => s.skip(),
    })?;
    s.ws();
    if s.i != text.len() {
        return None;
    }
    Some((nodes?, edges?))
}

/// Objects and arrays may nest below this depth (serde_json's limit, so
/// that both readers refuse the same documents).
const MAX_DEPTH: u32 = 128;

/// A cursor over the text. Every method skips the whitespace before
/// what it reads and answers `None` for anything unexpected.
struct Scan<'a> {
    s: &'a str,
    i: usize,
    /// Objects and arrays open around the cursor.
    depth: u32,
}

/// The bits of [`Scan::meta`]'s keys, to refuse one given twice.
const TYPE: u16 = 1;
const BASENAME: u16 = 1 << 1;
const NAME: u16 = 1 << 2;
const ID: u16 = 1 << 3;
const UNIQ_ID: u16 = 1 << 4;
const RANK: u16 = 1 << 5;
const SIZE: u16 = 1 << 6;
const UNIT: u16 = 1 << 7;
const EXCLUSIVE: u16 = 1 << 8;
const STATUS: u16 = 1 << 9;
const PROPERTIES: u16 = 1 << 10;
const PATHS: u16 = 1 << 11;

/// Mark `bit` seen; `None` when it was already.
fn once(seen: &mut u16, bit: u16) -> Option<()> {
    if *seen & bit != 0 {
        return None;
    }
    *seen |= bit;
    Some(())
}

type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// An edge without metadata: one containment link.
fn containment<'a>() -> Links<'a> {
    vec![(Cow::Borrowed("containment"), None)]
}

/// The index of the first byte at or after `j` that ends a plain run of
/// a JSON string: a quote, a backslash or a control character (`b.len()`
/// when none does). Eight bytes at a time: names and paths are most of a
/// document, and a byte-by-byte loop was the scanner's largest cost.
fn plain_run_end(b: &[u8], mut j: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(j..j + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        let quote = w ^ (ONES * u64::from(b'"'));
        let slash = w ^ (ONES * u64::from(b'\\'));
        // A byte's high bit is set where it is zero in `quote` or `slash`,
        // or below 0x20 in `w`; the lowest such bit is exact (borrows only
        // make false hits above a true one).
        let hit = ((quote.wrapping_sub(ONES) & !quote)
            | (slash.wrapping_sub(ONES) & !slash)
            | (w.wrapping_sub(ONES * 0x20) & !w))
            & HIGHS;
        if hit != 0 {
            return j + (hit.trailing_zeros() / 8) as usize;
        }
        j += 8;
    }
    while j < b.len() && !matches!(b[j], b'"' | b'\\' | 0..=0x1f) {
        j += 1;
    }
    j
}

impl<'a> Scan<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    fn ws(&mut self) {
        let b = self.bytes();
        while self.i < b.len() && matches!(b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    /// The next byte after whitespace, not taken.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes().get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// Enter an object or array opened by `open`.
    fn enter(&mut self, open: u8) -> Option<()> {
        self.eat(open)?;
        self.depth += 1;
        (self.depth < MAX_DEPTH).then_some(())
    }

    /// After an element: a comma (true), or `close` (false: done).
    fn next(&mut self, close: u8) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.i += 1;
                Some(true)
            }
            c if c == close => {
                self.i += 1;
                self.depth -= 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// `{ "key": value, ... }`, each value read by `f` given its key.
    fn object(&mut self, mut f: impl FnMut(&mut Self, Cow<'a, str>) -> Option<()>) -> Option<()> {
        self.enter(b'{')?;
        if self.peek()? == b'}' {
            return self.next(b'}').map(drop);
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            f(self, key)?;
            if !self.next(b'}')? {
                return Some(());
            }
        }
    }

    /// `[ value, ... ]`, each value read by `f`.
    fn array(&mut self, mut f: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.enter(b'[')?;
        if self.peek()? == b']' {
            return self.next(b']').map(drop);
        }
        loop {
            f(self)?;
            if !self.next(b']')? {
                return Some(());
            }
        }
    }

    /// A string, borrowed unless it has escapes (decoded by serde_json,
    /// which checks them).
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let (b, start) = (self.bytes(), self.i);
        let mut j = start;
        let mut escaped = false;
        loop {
            j = plain_run_end(b, j);
            match *b.get(j)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    j += 2;
                }
                _ => return None,
            }
        }
        self.i = j + 1;
        if escaped {
            serde_json::from_str::<String>(&self.s[start - 1..=j])
                .ok()
                .map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(&self.s[start..j]))
        }
    }

    /// A literal (`true`, `false`, `null`).
    fn word(&mut self, w: &str) -> Option<()> {
        self.ws();
        self.s[self.i..].starts_with(w).then(|| self.i += w.len())
    }

    /// `null`, taken, or else leave the value for the caller.
    fn null(&mut self) -> Option<bool> {
        if self.peek()? == b'n' {
            self.word("null")?;
            return Some(true);
        }
        Some(false)
    }

    /// An integer (no fraction, no exponent), as its sign and magnitude.
    fn integer(&mut self) -> Option<(bool, u64)> {
        self.ws();
        let b = self.bytes();
        let neg = b.get(self.i) == Some(&b'-');
        if neg {
            self.i += 1;
        }
        let start = self.i;
        let mut n: u64 = 0;
        while let Some(d) = b.get(self.i).filter(|d| d.is_ascii_digit()) {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            self.i += 1;
        }
        let digits = self.i - start;
        // None, a leading zero, "-0", or a fraction or exponent next.
        if digits == 0
            || (digits > 1 && b[start] == b'0')
            || (neg && n == 0)
            || matches!(b.get(self.i), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        Some((neg, n))
    }

    fn int(&mut self) -> Option<i64> {
        let (neg, n) = self.integer()?;
        if neg {
            0i64.checked_sub_unsigned(n)
        } else {
            i64::try_from(n).ok()
        }
    }

    /// `null` or an integer.
    fn opt_int(&mut self) -> Option<Option<i64>> {
        if self.null()? {
            return Some(None);
        }
        self.int().map(Some)
    }

    /// `null` or a string.
    fn opt_string(&mut self) -> Option<Option<Cow<'a, str>>> {
        if self.null()? {
            return Some(None);
        }
        self.string().map(Some)
    }

    /// A node id or edge end: a string, or an integer taken as its digits.
    fn id(&mut self) -> Option<Cow<'a, str>> {
        if self.peek()? == b'"' {
            return self.string();
        }
        let (neg, n) = self.integer()?;
        Some(Cow::Owned(if neg {
            format!("-{n}")
        } else {
            n.to_string()
        }))
    }

    /// An object of strings, in text order; a key given twice is refused
    /// (the tree reader keeps the last value in the first place).
    fn pairs(&mut self) -> Option<Pairs<'a>> {
        let mut out: Pairs<'a> = Vec::new();
        self.object(|s, k| {
            if out.iter().any(|(seen, _)| *seen == k) {
                return None;
            }
            let v = s.string()?;
            out.push((k, v));
            Some(())
        })?;
        Some(out)
    }

    /// A status as Fluxion writes it (0 up, 1 down), or the words.
    fn status(&mut self) -> Option<Status> {
        if self.peek()? == b'"' {
            let w = self.string()?;
            return if w.eq_ignore_ascii_case("up") {
                Some(Status::Up)
            } else if w.eq_ignore_ascii_case("down") {
                Some(Status::Down)
            } else {
                None
            };
        }
        match self.integer()? {
            (false, 0) => Some(Status::Up),
            (false, 1) => Some(Status::Down),
            _ => None,
        }
    }

    /// Any JSON value, checked and passed over.
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.object(|s, _| s.skip()),
            b'[' => self.array(|s| s.skip()),
            b't' => self.word("true"),
            b'f' => self.word("false"),
            b'n' => self.word("null"),
            _ => self.number(),
        }
    }

    /// A number of any form, checked and passed over.
    fn number(&mut self) -> Option<()> {
        let b = self.bytes();
        let digits = |s: &mut Self| {
            let start = s.i;
            while b.get(s.i).is_some_and(u8::is_ascii_digit) {
                s.i += 1;
            }
            (s.i > start).then_some(())
        };
        if b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let start = self.i;
        digits(self)?;
        if self.i - start > 1 && b[start] == b'0' {
            return None;
        }
        if b.get(self.i) == Some(&b'.') {
            self.i += 1;
            digits(self)?;
        }
        if matches!(b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            digits(self)?;
        }
        Some(())
    }

    /// Any JSON value as a tree (the older edge `name` spelling, rare).
    fn value(&mut self) -> Option<Value> {
        self.ws();
        let start = self.i;
        self.skip()?;
        serde_json::from_str(&self.s[start..self.i]).ok()
    }

    /// The `graph` object: its nodes and edges.
    fn graph(&mut self) -> Option<(Vec<NodeIn<'a>>, Vec<EdgeIn<'a>>)> {
        let (mut nodes, mut edges) = (None, None);
        // A guess from the text's size, so the vectors seldom move; capped,
        // so a text of mostly other keys cannot make it reserve much.
        let room = (self.s.len() / 256).min(1 << 16);
        self.object(|s, key| match key.as_ref() {
            "nodes" if nodes.is_none() => {
                let mut out = Vec::with_capacity(room);
                s.array(|s| {
                    out.push(s.node()?);
                    Some(())
                })?;
                nodes = Some(out);
                Some(())
            }
            "edges" if edges.is_none() => {
                let mut out = Vec::with_capacity(room);
                if !s.null()? {
                    s.array(|s| {
                        out.push(s.edge()?);
                        Some(())
                    })?;
                }
                edges = Some(out);
                Some(())
            }
            "nodes" | "edges" => None,
            _ => s.skip(),
        })?;
        Some((nodes?, edges.unwrap_or_default()))
    }

    fn node(&mut self) -> Option<NodeIn<'a>> {
        let (mut vid, mut meta) = (None, None);
        self.object(|s, key| match key.as_ref() {
            "id" if vid.is_none() => {
                vid = Some(s.id()?);
                Some(())
            }
            "metadata" if meta.is_none() => {
                meta = Some(s.meta()?);
                Some(())
            }
            "id" | "metadata" => None,
            _ => s.skip(),
        })?;
        let mut n = meta?;
        n.vid = vid?;
        Some(n)
    }

    /// A node's `metadata` (its `vid` left empty for [`node`] to set).
    fn meta(&mut self) -> Option<NodeIn<'a>> {
        let mut n = NodeIn {
            vid: Cow::Borrowed(""),
            typ: Cow::Borrowed(""),
            basename: None,
            name: None,
            uniq_id: None,
            id: None,
            rank: None,
            size: None,
            unit: None,
            status: Status::Up,
            properties: Vec::new(),
            paths: Vec::new(),
        };
        let mut seen = 0u16;
        self.object(|s, key| {
            match key.as_ref() {
                "type" => {
                    once(&mut seen, TYPE)?;
                    n.typ = s.string()?;
                }
                "basename" => {
                    once(&mut seen, BASENAME)?;
                    n.basename = s.opt_string()?;
                }
                "name" => {
                    once(&mut seen, NAME)?;
                    n.name = s.opt_string()?;
                }
                "id" => {
                    once(&mut seen, ID)?;
                    n.id = s.opt_int()?;
                }
                "uniq_id" => {
                    once(&mut seen, UNIQ_ID)?;
                    n.uniq_id = s.opt_int()?;
                }
                "rank" => {
                    once(&mut seen, RANK)?;
                    n.rank = s.opt_int()?;
                }
                "size" => {
                    once(&mut seen, SIZE)?;
                    n.size = s.opt_int()?;
                }
                "unit" => {
                    once(&mut seen, UNIT)?;
                    n.unit = s.opt_string()?;
                }
                "exclusive" => {
                    once(&mut seen, EXCLUSIVE)?;
                    // Checked for kind only, as the tree reader does.
                    if !s.null()? && s.word("true").is_none() {
                        s.word("false")?;
                    }
                }
                "status" => {
                    once(&mut seen, STATUS)?;
                    if !s.null()? {
                        n.status = s.status()?;
                    }
                }
                "properties" => {
                    once(&mut seen, PROPERTIES)?;
                    if !s.null()? {
                        n.properties = s.pairs()?;
                    }
                }
                "paths" => {
                    once(&mut seen, PATHS)?;
                    n.paths = s.pairs()?;
                }
                _ => s.skip()?,
            }
            Some(())
        })?;
        (seen & TYPE != 0 && seen & PATHS != 0).then_some(n)
    }

    fn edge(&mut self) -> Option<EdgeIn<'a>> {
        let (mut source, mut target, mut links) = (None, None, None);
        self.object(|s, key| match key.as_ref() {
            "source" if source.is_none() => {
                source = Some(s.id()?);
                Some(())
            }
            "target" if target.is_none() => {
                target = Some(s.id()?);
                Some(())
            }
            "metadata" if links.is_none() => {
                links = Some(if s.null()? {
                    containment()
                } else {
                    s.edge_meta()?
                });
                Some(())
            }
            "source" | "target" | "metadata" => None,
            _ => s.skip(),
        })?;
        Some(EdgeIn {
            source: source?,
            target: target?,
            links: links.unwrap_or_else(containment),
        })
    }

    /// An edge's `metadata`: its `subsystem` and `relation`, or else the
    /// older `name` object of subsystem -> relation.
    fn edge_meta(&mut self) -> Option<Links<'a>> {
        let (mut ss, mut rel, mut name) = (None, None, None);
        self.object(|s, key| match key.as_ref() {
            "subsystem" if ss.is_none() => {
                ss = Some(s.opt_string()?);
                Some(())
            }
            "relation" if rel.is_none() => {
                rel = Some(s.opt_string()?);
                Some(())
            }
            "name" if name.is_none() => {
                name = Some(if s.null()? { None } else { Some(s.value()?) });
                Some(())
            }
            "subsystem" | "relation" | "name" => None,
            _ => s.skip(),
        })?;
        let (ss, rel, name) = (ss.flatten(), rel.flatten(), name.flatten());
        if let (None, Some(Value::Object(_))) = (&ss, &name) {
            // Pairs that borrow from the tree are made owned.
            return Some(
                edge_links(None, None, name.as_ref())
                    .ok()?
                    .into_iter()
                    .map(|(s, r)| {
                        (
                            Cow::Owned(s.into_owned()),
                            r.map(|r| Cow::Owned(r.into_owned())),
                        )
                    })
                    .collect(),
            );
        }
        Some(vec![(ss.unwrap_or(Cow::Borrowed("containment")), rel)])
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::jgf;

    const DOC: &str = r#"{"graph":{"nodes":[
        {"id":1,"metadata":{"type":"cluster","paths":{"containment":"/c\u0030"}}},
        {"id":"2","metadata":{"type":"node","name":"n7","rank":3,"status":"down",
         "properties":{"k":"v"},"paths":{"containment":"/c0/n7"}}}],
      "edges":[{"source":1,"target":"2","metadata":{"name":{"containment":"contains"}}}]}}"#;

    fn tree_read(text: &str) -> Result<String, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        jgf::read_value(&doc, "t")
            .map(|g| crate::jgf_write::write_text(&g))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_fast_path_reads_what_the_tree_reader_reads() {
        let (nodes, edges) = parse(DOC).expect("a plain document");
        assert_eq!((nodes.len(), edges.len()), (2, 1));
        assert_eq!(nodes[0].paths[0].1, "/c0", "an escape is decoded");
        assert_eq!(nodes[1].status, Status::Down);
        let fast = jgf::read(DOC, "t").map(|g| crate::jgf_write::write_text(&g));
        assert_eq!(fast.map_err(|e| e.to_string()), tree_read(DOC));
    }

    #[test]
    fn plain_runs_end_where_a_byte_by_byte_scan_ends_them() {
        let naive = |b: &[u8], j: usize| {
            (j..b.len())
                .find(|&k| matches!(b[k], b'"' | b'\\' | 0..=0x1f))
                .unwrap_or(b.len())
        };
        // Every byte value at every offset of a 19-byte run, from every start.
        for special in 0..=255u8 {
            for at in 0..19 {
                let mut b: Vec<u8> = (0..19).map(|k| b'a' + (k % 26) as u8).collect();
                b[at] = special;
                b[(at + 5) % 19] = 0xC3;
                for j in 0..b.len() {
                    assert_eq!(plain_run_end(&b, j), naive(&b, j), "{b:?} from {j}");
                }
            }
        }
    }

    #[test]
    fn plain_variants_take_the_fast_path() {
        for plain in [
            DOC.to_owned(),
            // Whitespace, nulls, escapes in keys and values, unknown keys
            // of every kind, integer and string ids.
            DOC.replace(',', " ,\n\t"),
            DOC.replace(r#""rank":3"#, r#""rank":null,"unit":null,"size":null"#),
            DOC.replace(r#""status":"down""#, r#""status":null,"exclusive":true"#),
            DOC.replace(r#""status":"down""#, r#""st\u0061tus":1"#),
            DOC.replace(r#""name":"n7""#, r#""name":"n\u0037""#),
            DOC.replace(
                r#""rank":3"#,
                r#""rank":-3,"x":{"y":[1,-2.5e+3,true,false,null,"s\"",{}]}"#,
            ),
            DOC.replace(r#""properties":{"k":"v"}"#, r#""properties":null"#),
            DOC.replace(r#""id":"2""#, r#""id":2"#),
            DOC.replace(r#""edges":["#, r#""x":0,"edges":["#),
            DOC.replace(
                r#"{"name":{"containment":"contains"}}"#,
                r#"{"subsystem":"containment","relation":null}"#,
            ),
            DOC.replace(
                r#"{"name":{"containment":"contains"}}"#,
                r#"{"subsystem":null,"name":null}"#,
            ),
            DOC.replace(
                r#""metadata":{"name":{"containment":"contains"}}"#,
                r#""metadata":null"#,
            ),
            // Nested deep, within serde_json's limit.
            DOC.replace(
                r#""rank":3"#,
                &format!(r#""rank":3,"x":{}{}"#, "[".repeat(120), "]".repeat(120)),
            ),
        ] {
            assert!(parse(&plain).is_some(), "{plain}");
            let fast = jgf::read(&plain, "t").map(|g| crate::jgf_write::write_text(&g));
            assert_eq!(
                fast.map_err(|e| e.to_string()),
                tree_read(&plain),
                "{plain}"
            );
        }
        let negative = DOC.replace(r#""id":"2""#, r#""id":-7"#);
        let (nodes, edges) = parse(&negative).unwrap();
        assert_eq!(nodes[1].vid, "-7");
        assert_eq!(edges[0].links.len(), 1);
        let none = parse(r#"{"graph":{"nodes":[],"edges":null}}"#).unwrap();
        assert!(none.0.is_empty() && none.1.is_empty());
    }

    #[test]
    fn odd_documents_go_to_the_tree_reader() {
        for odd in [
            DOC.replace(r#""rank":3"#, r#""rank":3.5"#),
            DOC.replace(
                r#""properties":{"k":"v"}"#,
                r#""properties":{"k":"v","k":"w"}"#,
            ),
            DOC.replace(r#""status":"down""#, r#""status":2"#),
            DOC.replace(r#""name":"n7""#, r#""name":"n7","name":"n8""#),
            // Not plain JSON, or of the wrong kind.
            DOC.replace(r#""rank":3"#, r#""rank":3,"#),
            format!("{DOC} x"),
            DOC.replace(r#""rank":3"#, r#""rank":03"#),
            DOC.replace(r#""rank":3"#, r#""rank":-0"#),
            DOC.replace(r#""rank":3"#, r#""rank":1e2"#),
            DOC.replace(r#""rank":3"#, r#""rank":9223372036854775808"#),
            DOC.replace(r#""id":1,"#, r#""id":99999999999999999999,"#),
            DOC.replace(r#""id":1,"#, r#""id":true,"#),
            DOC.replace(r#""status":"down""#, r#""status":-1"#),
            DOC.replace(r#""status":"down""#, r#""status":"sideways""#),
            DOC.replace(r#""type":"node""#, r#""type":null"#),
            DOC.replace(r#""k":"v""#, r#""k":1"#),
            DOC.replace("/c0/n7", "/c0/n\u{1}7"),
            DOC.replace("/c0/n7", r"/c0/n\ud800"),
            DOC.replace(r#""rank":3"#, r#""rank":3,"x":[1,}"#),
            DOC.replace(r#""rank":3"#, r#""rank":3,"x":tru"#),
            DOC.replace(r#""graph":{"#, r#""graph":{"edges":[],"#),
            DOC.replace(r#"{"graph""#, r#"{"graph":1,"graph""#),
            // Nested past serde_json's limit of 128.
            DOC.replace(
                r#""rank":3"#,
                &format!(r#""rank":3,"x":{}{}"#, "[".repeat(125), "]".repeat(125)),
            ),
        ] {
            assert!(parse(&odd).is_none(), "{odd}");
            let read = jgf::read(&odd, "t").map(|g| crate::jgf_write::write_text(&g));
            match tree_read(&odd) {
                // Not JSON at all: the reader says so, with serde's words.
                Err(e) if serde_json::from_str::<Value>(&odd).is_err() => {
                    let got = read.expect_err(&odd).to_string();
                    assert!(got.contains("invalid JSON") && got.contains(&e), "{got}");
                }
                tree => assert_eq!(read.map_err(|e| e.to_string()), tree, "{odd}"),
            }
        }
    }
}
