//! Job constraints (RFC 31): which nodes a job may be placed on.
//!
//! A constraint is an object holding one operator and its list of values,
//! `{"properties": ["ssd", "^slowgpu"]}`, nested through `and`, `or` and
//! `not`; `{}` matches every node. It is evaluated on a node vertex: the
//! traverser skips the nodes it does not match.
//!
//! Semantics follow RFC 31 and Fluxion (`resource/libjobspec`):
//! - `properties`: the node has every listed property; `^name` means it
//!   must not have `name`. A property is present when its key is set,
//!   whatever its value.
//! - `hostlist`: the node's name is in one of the RFC 29 hostlists.
//! - `ranks`: the node's broker rank is in one of the RFC 22 idsets.
//! - `and`: every value matches; `or`: some value matches; `not`: not every
//!   value matches (so `{"not": [c]}` negates `c`). With no values `and`
//!   and `or` match everything and `not` matches nothing, as RFC 31 defines
//!   (Fluxion's `or` matches nothing there; flux-core follows the RFC).
//!
//! Parsing is as strict as Fluxion's: one operator per object, unknown
//! operators, malformed hostlists or idsets and property names holding one
//! of `` !&'"^`|() `` are errors naming the key path of the bad value.
use resource_graph::hostlist::Hostlist;
use resource_graph::{IdSet, ResourceGraph, VertexIdx};
use serde_yaml::Value;

use crate::spec_error::{err, show, JobspecError};

/// Deepest nesting of `and`/`or`/`not` accepted: evaluation recurses, and
/// a hostile document must not exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Characters a property name may not hold (after its leading `^`), as in
/// Fluxion: they are operators of the constraint query syntax (RFC 35).
const PROPERTY_RESERVED: &[char] = &['!', '&', '\'', '"', '^', '`', '|', '(', ')'];

/// A parsed RFC 31 constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// `{}`: matches every node.
    Any,
    /// `properties`: every entry holds for the node.
    Properties(Vec<Property>),
    /// `hostlist`: the node's name is in one of these (asked of their
    /// ranges: `node[0-9999999]` is never expanded).
    Hostlist(Vec<Hostlist>),
    /// `ranks`: the node's rank is in one of these sets.
    Ranks(Vec<IdSet>),
    /// `and`: every constraint matches (true when empty).
    And(Vec<Constraint>),
    /// `or`: some constraint matches (true when empty, per RFC 31).
    Or(Vec<Constraint>),
    /// `not`: not every constraint matches (false when empty).
    Not(Vec<Constraint>),
}

/// One entry of a `properties` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The property name, without the `^`.
    pub name: String,
    /// `false` for `^name`: the node must not have it.
    pub present: bool,
}

impl Constraint {
    /// Parse a constraint object; `key` is its path in the document
    /// (e.g. `attributes.system.constraints`), used to name bad values.
    pub fn parse(v: &Value, key: &str) -> Result<Constraint, JobspecError> {
        Parser.constraint(v, key, 0)
    }

    /// Parse a constraint given as JSON (as the job manager passes it).
    pub fn parse_json(v: &serde_json::Value, key: &str) -> Result<Constraint, JobspecError> {
        let yaml = serde_yaml::to_value(v).map_err(|e| err(key, format!("unreadable: {e}")))?;
        Constraint::parse(&yaml, key)
    }

    /// Whether node `v` satisfies the constraint.
    pub fn matches(&self, g: &ResourceGraph, v: VertexIdx) -> bool {
        match self {
            Constraint::Any => true,
            Constraint::Properties(props) => props
                .iter()
                .all(|p| g.properties(v).any(|(k, _)| k == p.name) == p.present),
            Constraint::Hostlist(lists) => {
                let name = g.name(v);
                lists.iter().any(|l| l.contains(&name))
            }
            Constraint::Ranks(sets) => {
                u32::try_from(g.g[v].rank).is_ok_and(|r| sets.iter().any(|s| s.contains(r)))
            }
            Constraint::And(cs) => cs.iter().all(|c| c.matches(g, v)),
            Constraint::Or(cs) => cs.is_empty() || cs.iter().any(|c| c.matches(g, v)),
            Constraint::Not(cs) => !cs.iter().all(|c| c.matches(g, v)),
        }
    }
}

/// The parser of one constraint's nested objects.
struct Parser;

impl Parser {
    fn constraint(
        &mut self,
        v: &Value,
        key: &str,
        depth: usize,
    ) -> Result<Constraint, JobspecError> {
        if depth > MAX_DEPTH {
            return Err(err(key, format!("nested deeper than {MAX_DEPTH}")));
        }
        let m = v
            .as_mapping()
            .ok_or_else(|| err(key, format!("must be a mapping, got {}", show(v))))?;
        let mut ops = m.iter();
        let Some((op, values)) = ops.next() else {
            return Ok(Constraint::Any);
        };
        if ops.next().is_some() {
            let names: Vec<String> = m.keys().map(show).collect();
            return Err(err(
                key,
                format!(
                    "must hold exactly one operator, got {} ({})",
                    m.len(),
                    names.join(", ")
                ),
            ));
        }
        let Value::String(op) = op else {
            return Err(err(
                key,
                format!("unknown constraint operator {}", show(op)),
            ));
        };
        let key = format!("{key}.{op}");
        if !["properties", "hostlist", "ranks", "and", "or", "not"].contains(&op.as_str()) {
            return Err(err(
                &key,
                "unknown constraint operator (expected properties, hostlist, ranks, and, or or not)",
            ));
        }
        let Value::Sequence(values) = values else {
            return Err(err(&key, format!("must be a list, got {}", show(values))));
        };
        let each = values
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("{key}[{i}]"), x));
        Ok(match op.as_str() {
            "properties" => Constraint::Properties(
                each.map(|(k, x)| property(x, &k))
                    .collect::<Result<_, _>>()?,
            ),
            "hostlist" => Constraint::Hostlist(
                each.map(|(k, x)| hostlist(x, &k))
                    .collect::<Result<_, _>>()?,
            ),
            "ranks" => {
                Constraint::Ranks(each.map(|(k, x)| ranks(x, &k)).collect::<Result<_, _>>()?)
            }
            conditional => {
                let cs = each
                    .map(|(k, x)| self.constraint(x, &k, depth + 1))
                    .collect::<Result<_, _>>()?;
                match conditional {
                    "and" => Constraint::And(cs),
                    "or" => Constraint::Or(cs),
                    _ => Constraint::Not(cs),
                }
            }
        })
    }
}

/// One hostlist of a `hostlist` operator, parsed but not expanded.
fn hostlist(v: &Value, key: &str) -> Result<Hostlist, JobspecError> {
    let Value::String(s) = v else {
        return Err(err(
            key,
            format!("must be a hostlist string, got {}", show(v)),
        ));
    };
    Hostlist::parse(s).map_err(|e| err(key, e.to_string()))
}

fn property(v: &Value, key: &str) -> Result<Property, JobspecError> {
    let Value::String(s) = v else {
        return Err(err(key, format!("must be a string, got {}", show(v))));
    };
    let (name, present) = match s.strip_prefix('^') {
        Some(rest) => (rest, false),
        None => (s.as_str(), true),
    };
    if name.is_empty() {
        return Err(err(key, "empty property name"));
    }
    if let Some(c) = name.chars().find(|c| PROPERTY_RESERVED.contains(c)) {
        return Err(err(
            key,
            format!("invalid character '{c}' in property \"{s}\""),
        ));
    }
    Ok(Property {
        name: name.to_owned(),
        present,
    })
}

/// An idset string, or a bare rank as Fluxion also accepts; `""` is the
/// empty set, as Flux decodes it.
fn ranks(v: &Value, key: &str) -> Result<IdSet, JobspecError> {
    match v {
        Value::String(s) if s.is_empty() => Ok(IdSet::new()),
        Value::String(s) => IdSet::parse(s).map_err(|e| err(key, e.to_string())),
        Value::Number(n) => n
            .as_u64()
            .and_then(|r| u32::try_from(r).ok())
            .filter(|&r| r < u32::MAX)
            .map(|r| IdSet::from_ids([r]))
            .ok_or_else(|| err(key, format!("invalid rank {n}"))),
        other => Err(err(
            key,
            format!("must be an idset string, got {}", show(other)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resource_graph::graph::NewVertex;

    fn parse(text: &str) -> Result<Constraint, JobspecError> {
        let v: Value = serde_yaml::from_str(text).expect("test input is YAML");
        Constraint::parse(&v, "c")
    }

    /// Nodes foo0 (rank 0; properties xx, yy), foo1 (rank 1; property
    /// xx=0) and foo2 (no rank, no properties).
    fn nodes() -> (ResourceGraph, [VertexIdx; 3]) {
        let mut g = ResourceGraph::default();
        let mut add = |id, rank| {
            g.add_vertex(NewVertex {
                typ: "node",
                basename: "foo",
                id,
                rank,
                size: 1,
                unit: "",
            })
        };
        let v = [add(0, 0), add(1, 1), add(2, -1)];
        g.set_property(v[0], "xx", "t");
        g.set_property(v[0], "yy", "t");
        g.set_property(v[1], "xx", "0");
        (g, v)
    }

    /// Which of the three nodes match.
    fn matched(text: &str) -> [bool; 3] {
        let (g, v) = nodes();
        let c = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        v.map(|n| c.matches(&g, n))
    }

    #[test]
    fn properties_need_every_entry_and_caret_negates() {
        assert_eq!(matched("{}"), [true; 3]);
        assert_eq!(matched("{properties: []}"), [true; 3]);
        assert_eq!(matched("{properties: [xx]}"), [true, true, false]);
        assert_eq!(matched("{properties: [xx, yy]}"), [true, false, false]);
        assert_eq!(matched("{properties: [xx, zz]}"), [false; 3]);
        assert_eq!(matched("{properties: ['^xx']}"), [false, false, true]);
        assert_eq!(matched("{properties: [xx, '^yy']}"), [false, true, false]);
        assert_eq!(matched("{properties: ['^zz']}"), [true; 3]);
    }

    #[test]
    fn hostlists_and_ranks() {
        assert_eq!(
            matched(r#"{"hostlist": ["foo[0-1]"]}"#),
            [true, true, false]
        );
        assert_eq!(
            matched(r#"{"hostlist": ["foo2", "bar0"]}"#),
            [false, false, true]
        );
        assert_eq!(matched(r#"{"hostlist": [""]}"#), [false; 3]);
        assert_eq!(matched(r#"{"ranks": ["1-3"]}"#), [false, true, false]);
        assert_eq!(matched(r#"{"ranks": ["0", "[1]"]}"#), [true, true, false]);
        assert_eq!(matched(r#"{"ranks": [0]}"#), [true, false, false]);
        assert_eq!(matched(r#"{"ranks": [""]}"#), [false; 3]);
    }

    #[test]
    fn conditionals_follow_rfc31() {
        let (xx, yy) = ("{properties: [xx]}", "{properties: [yy]}");
        assert_eq!(
            matched(&format!("{{and: [{xx}, {yy}]}}")),
            [true, false, false]
        );
        assert_eq!(
            matched(&format!("{{or: [{yy}, {{ranks: ['1']}}]}}")),
            [true, true, false]
        );
        assert_eq!(matched(&format!("{{not: [{xx}]}}")), [false, false, true]);
        // `not` of several negates their conjunction, as Fluxion does.
        assert_eq!(
            matched(&format!("{{not: [{xx}, {yy}]}}")),
            [false, true, true]
        );
        assert_eq!(
            matched(&format!("{{not: [{{or: [{yy}, {{ranks: ['1']}}]}}]}}")),
            [false, false, true]
        );
        assert_eq!(matched("{and: []}"), [true; 3]);
        assert_eq!(matched("{or: []}"), [true; 3]);
        assert_eq!(matched("{not: []}"), [false; 3]);
        assert_eq!(matched("{not: [{}]}"), [false; 3]);
    }

    #[test]
    fn errors_name_the_bad_value() {
        let e = |t: &str| parse(t).expect_err(t).to_string();
        assert_eq!(e("[]"), "c: must be a mapping, got []");
        assert_eq!(
            e("{foo: []}"),
            "c.foo: unknown constraint operator (expected properties, hostlist, ranks, and, or or not)"
        );
        assert_eq!(
            e("{properties: [xx], hostlist: [foo]}"),
            "c: must hold exactly one operator, got 2 (properties, hostlist)"
        );
        assert_eq!(e("{and: foo}"), "c.and: must be a list, got foo");
        assert_eq!(
            e("{properties: foo}"),
            "c.properties: must be a list, got foo"
        );
        assert_eq!(
            e("{properties: [foo, 42]}"),
            "c.properties[1]: must be a string, got 42"
        );
        assert_eq!(
            e("{properties: [foo, 'bar&']}"),
            "c.properties[1]: invalid character '&' in property \"bar&\""
        );
        assert_eq!(
            e("{properties: ['^^x']}"),
            "c.properties[0]: invalid character '^' in property \"^^x\""
        );
        assert_eq!(
            e("{properties: ['^']}"),
            "c.properties[0]: empty property name"
        );
        assert!(e(r#"{"hostlist": ["foo0-10]"]}"#).starts_with("c.hostlist[0]: invalid hostlist"));
        assert!(e(r#"{"ranks": ["5,1-3"]}"#).starts_with("c.ranks[0]: invalid idset"));
        assert_eq!(e(r#"{"ranks": [-1]}"#), "c.ranks[0]: invalid rank -1");
        assert_eq!(
            parse("{or: [{properties: [a]}, {not: [{ranks: [x]}]}]}")
                .unwrap_err()
                .key,
            "c.or[1].not[0].ranks[0]"
        );
        // YAML and JSON readers stop near this depth already; a value built
        // in code need not.
        let mut deep = Value::Mapping(Default::default());
        for _ in 0..=MAX_DEPTH {
            let mut m = serde_yaml::Mapping::new();
            m.insert("not".into(), Value::Sequence(vec![deep]));
            deep = Value::Mapping(m);
        }
        let e = Constraint::parse(&deep, "c").unwrap_err();
        assert_eq!(e.what, format!("nested deeper than {MAX_DEPTH}"));
        assert_eq!(e.key.matches(".not[0]").count(), MAX_DEPTH + 1);
    }

    #[test]
    fn huge_hostlists_are_asked_not_expanded() {
        let c = parse("{hostlist: ['n[0-15999999]', login1]}").expect("valid constraint");
        let Constraint::Hostlist(lists) = &c else {
            panic!("expected hostlist, got {c:?}")
        };
        assert_eq!(lists[0].len(), 16_000_000);
        assert!(lists[0].contains("n15999999") && !lists[0].contains("n16000000"));
        assert!(lists[1].contains("login1"));
        let e = parse("{hostlist: ['n[1-]']}").unwrap_err();
        assert_eq!(e.key, "c.hostlist[0]");
        assert!(e.what.contains("empty id"), "{}", e.what);
    }

    #[test]
    fn json_and_yaml_parse_alike() {
        let j: serde_json::Value = serde_json::from_str(
            r#"{"and": [{"properties": ["ssd", "^slowgpu"]}, {"not": [{"hostlist": ["host[0-1]"]}]}]}"#,
        )
        .expect("valid JSON");
        let c = Constraint::parse_json(&j, "c").expect("valid constraint");
        assert_eq!(
            c,
            parse("{and: [{properties: [ssd, '^slowgpu']}, {not: [{hostlist: ['host[0-1]']}]}]}")
                .expect("valid constraint")
        );
        let Constraint::And(cs) = &c else {
            panic!("expected and, got {c:?}")
        };
        assert_eq!(
            cs[0],
            Constraint::Properties(vec![
                Property {
                    name: "ssd".into(),
                    present: true
                },
                Property {
                    name: "slowgpu".into(),
                    present: false
                },
            ])
        );
    }
}
