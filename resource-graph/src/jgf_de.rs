//! The JGF reader's fast path: the text deserialized straight into the
//! reader's nodes and edges ([`NodeIn`], [`EdgeIn`]), strings borrowed
//! from the text, with no JSON tree in between. A lease's subgraph is
//! read on every grow; building a `serde_json::Value` for it (an ordered
//! map per object) cost more than everything else the child does.
//!
//! Only documents of the expected shape come through: any key of the
//! wrong kind, a key given twice, or anything else serde refuses makes
//! [`parse`] answer `None`, and the caller reads the text as a tree
//! instead, whose reader says what is wrong. Unknown keys are ignored,
//! as there.
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::graph::Status;
use crate::jgf::{edge_links, EdgeIn, NodeIn};

/// The nodes and edges of `text`, or `None` when it is not plainly a
/// JGF document (see the module doc).
pub(crate) fn parse(text: &str) -> Option<(Vec<NodeIn<'_>>, Vec<EdgeIn<'_>>)> {
    let doc: Doc<'_> = serde_json::from_str(text).ok()?;
    let nodes = doc.graph.nodes.into_iter().map(Node::into_in).collect();
    let edges = doc
        .graph
        .edges
        .unwrap_or_default()
        .into_iter()
        .map(Edge::into_in)
        .collect::<Option<Vec<_>>>()?;
    Some((nodes, edges))
}

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow)]
    graph: Graph<'a>,
}

#[derive(Deserialize)]
struct Graph<'a> {
    #[serde(borrow)]
    nodes: Vec<Node<'a>>,
    #[serde(borrow)]
    edges: Option<Vec<Edge<'a>>>,
}

#[derive(Deserialize)]
struct Node<'a> {
    #[serde(borrow)]
    id: Id<'a>,
    #[serde(borrow)]
    metadata: Meta<'a>,
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(borrow, rename = "type")]
    typ: Str<'a>,
    #[serde(borrow)]
    basename: Option<Str<'a>>,
    #[serde(borrow)]
    name: Option<Str<'a>>,
    id: Option<i64>,
    uniq_id: Option<i64>,
    rank: Option<i64>,
    size: Option<i64>,
    #[serde(borrow)]
    unit: Option<Str<'a>>,
    #[allow(dead_code)] // checked for kind only, as the tree reader does
    exclusive: Option<bool>,
    status: Option<StatusIn>,
    #[serde(borrow)]
    properties: Option<Pairs<'a>>,
    #[serde(borrow)]
    paths: Pairs<'a>,
}

impl<'a> Node<'a> {
    fn into_in(self) -> NodeIn<'a> {
        let m = self.metadata;
        NodeIn {
            vid: self.id.0,
            typ: m.typ.0,
            basename: m.basename.map(|s| s.0),
            name: m.name.map(|s| s.0),
            uniq_id: m.uniq_id,
            id: m.id,
            rank: m.rank,
            size: m.size,
            unit: m.unit.map(|s| s.0),
            status: m.status.map_or(Status::Up, |s| s.0),
            properties: m.properties.map(|p| p.0).unwrap_or_default(),
            paths: m.paths.0,
        }
    }
}

#[derive(Deserialize)]
struct Edge<'a> {
    #[serde(borrow)]
    source: Id<'a>,
    #[serde(borrow)]
    target: Id<'a>,
    #[serde(borrow)]
    metadata: Option<EdgeMeta<'a>>,
}

#[derive(Deserialize)]
struct EdgeMeta<'a> {
    #[serde(borrow)]
    subsystem: Option<Str<'a>>,
    #[serde(borrow)]
    relation: Option<Str<'a>>,
    /// The older spelling (subsystem -> relation); rare, so a tree.
    name: Option<Value>,
}

impl<'a> Edge<'a> {
    /// `None` when the older `name` spelling is malformed (the tree
    /// reader names it).
    fn into_in(self) -> Option<EdgeIn<'a>> {
        let links = match self.metadata {
            None => vec![(Cow::Borrowed("containment"), None)],
            Some(m) => {
                let (ss, rel) = (m.subsystem.map(|s| s.0), m.relation.map(|s| s.0));
                match (&ss, &m.name) {
                    // Pairs that borrow from the tree are made owned.
                    (None, Some(Value::Object(_))) => edge_links(None, None, m.name.as_ref())
                        .ok()?
                        .into_iter()
                        .map(|(s, r)| {
                            (
                                Cow::Owned(s.into_owned()),
                                r.map(|r| Cow::Owned(r.into_owned())),
                            )
                        })
                        .collect(),
                    _ => vec![(ss.unwrap_or(Cow::Borrowed("containment")), rel)],
                }
            }
        };
        Some(EdgeIn {
            source: self.source.0,
            target: self.target.0,
            links,
        })
    }
}

/// A JSON string, borrowed from the text unless it has escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// A node id or edge end: a string, or an integer taken as its digits.
struct Id<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Id<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Id<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Id<'a>, E> {
                Ok(Id(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Id<'a>, E> {
                Ok(Id(Cow::Owned(s.to_owned())))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Id<'a>, E> {
                Ok(Id(Cow::Owned(n.to_string())))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Id<'a>, E> {
                Ok(Id(Cow::Owned(n.to_string())))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// An object of string values, in file order; a key given twice is
/// refused (the tree reader keeps the last value in the first place).
struct Pairs<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Pairs<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Pairs<'a>, M::Error> {
                let mut out: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
                while let Some((Str(k), Str(v))) = m.next_entry::<Str<'a>, Str<'a>>()? {
                    if out.iter().any(|(seen, _)| *seen == k) {
                        return Err(de::Error::custom("a key given twice"));
                    }
                    out.push((k, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// A status as Fluxion writes it (0 up, 1 down), or the words.
struct StatusIn(Status);

impl<'de> Deserialize<'de> for StatusIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StatusIn;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("0, 1, \"up\" or \"down\"")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<StatusIn, E> {
                match n {
                    0 => Ok(StatusIn(Status::Up)),
                    1 => Ok(StatusIn(Status::Down)),
                    _ => Err(E::custom("not a status")),
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<StatusIn, E> {
                self.visit_u64(u64::try_from(n).map_err(|_| E::custom("not a status"))?)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<StatusIn, E> {
                if s.eq_ignore_ascii_case("up") {
                    Ok(StatusIn(Status::Up))
                } else if s.eq_ignore_ascii_case("down") {
                    Ok(StatusIn(Status::Down))
                } else {
                    Err(E::custom("not a status"))
                }
            }
        }
        d.deserialize_any(V)
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
    fn odd_documents_go_to_the_tree_reader() {
        for odd in [
            DOC.replace(r#""rank":3"#, r#""rank":3.5"#),
            DOC.replace(
                r#""properties":{"k":"v"}"#,
                r#""properties":{"k":"v","k":"w"}"#,
            ),
            DOC.replace(r#""status":"down""#, r#""status":2"#),
            DOC.replace(r#""name":"n7""#, r#""name":"n7","name":"n8""#),
        ] {
            assert!(parse(&odd).is_none(), "{odd}");
            let read = jgf::read(&odd, "t").map(|g| crate::jgf_write::write_text(&g));
            assert_eq!(read.map_err(|e| e.to_string()), tree_read(&odd), "{odd}");
        }
    }
}
