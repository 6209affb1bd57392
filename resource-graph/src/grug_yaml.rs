//! Reader of GRUG recipes in Quiver's YAML format.
//!
//! A recipe is a tree of resource kinds, nested like a jobspec: each entry
//! says what one parent holds. It parses into the same [`Recipe`] as a
//! GraphML file, so one generator expands both.
//!
//! ```yaml
//! name: tiny                     # optional; defaults to the file stem
//! root:                          # the containment root
//!   type: cluster
//!   basename: tiny               # defaults to the type
//!   with:
//!     - type: node
//!       count: 2                 # MULTIPLY scale (default 1)
//!       id_scope: 1              # GRUG id scheme: id_scope/id_start/id_stride
//!       with:
//!         - { type: core, count: 4, id_scope: 1 }
//!         - { type: memory, count: 2, size: 16, unit: GB }
//!         - { type: pdu, id_scope: 1 }
//! subsystems:                    # further subsystems, each with its own root
//!   - subsystem: power
//!     relation: supplies_to      # edge defaults for this tree
//!     rrelation: draws_from      #   (else contains / in)
//!     root:
//!       type: powerpanel
//!       with:
//!         - type: pdu
//!           associate: in        # ASSOCIATE_IN: link every existing pdu
//!           with:
//!             - type: node
//!               associate: by_path   # ASSOCIATE_BY_PATH_IN
//!               tgt_uplvl: 1
//!               src_uplvl: 1
//!         - { type: power, count: 200, size: 10, unit: KW }
//! ```
//!
//! Keys of an entry:
//!
//! - `type` (required), `basename` (default: the type), `size` (default 1),
//!   `unit`: the resource kind.
//! - `with`: the kinds each resource of this one holds, in order.
//! - `properties`: a map of strings every resource of this kind gets as
//!   its properties (RFC 31 constraints match them; a burst shape's
//!   `cost-per-hour` is read from its root's).
//! - `count`, `id_scope`, `id_start`, `id_stride`: the MULTIPLY edge from
//!   the parent (GraphML `multi_scale` and the id scheme).
//! - `relation`, `rrelation`: the edge from the parent, overriding the
//!   subsystem's defaults.
//! - `associate: in | by_path`: instead of making resources, link every
//!   existing resource of `type` (ASSOCIATE_IN), or those whose paths in
//!   `tgt_subsystem` agree with the parent's once `tgt_uplvl` / `src_uplvl`
//!   trailing components are dropped (ASSOCIATE_BY_PATH_IN).
//!   `tgt_subsystem` defaults to containment, the up-levels to 1.
//!
//! Order is meaningful: GRUG expands depth first, children in the order
//! written, and subsystems in the order listed, so the recipe's ids and
//! vertex order follow the file. Every entry becomes one recipe vertex and
//! one edge from its parent; since the generator ignores edges to kinds it
//! has already expanded, a tree expresses every GraphML recipe.
//!
//! Unknown keys are errors, as are keys that have no effect where written
//! (a `count` on a root or on an associate entry). Errors name the file,
//! the entry (`root.with[0].with[1]`) and, for malformed values, the line.
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::error::GraphError;
use crate::grug::{GenMethod, Recipe, RecipeEdge, RecipeVertex};

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    name: Option<String>,
    root: Entry,
    #[serde(default)]
    subsystems: Vec<SubsystemDoc>,
}

/// A further subsystem: its name, edge defaults and root.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubsystemDoc {
    subsystem: String,
    relation: Option<String>,
    rrelation: Option<String>,
    root: Entry,
}

/// How an associate entry picks the resources it links.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Associate {
    In,
    ByPath,
}

/// One resource kind and the edge from its parent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(rename = "type")]
    typ: String,
    basename: Option<String>,
    size: Option<NonNeg>,
    unit: Option<String>,
    count: Option<NonNeg>,
    id_scope: Option<NonNeg>,
    id_start: Option<Int>,
    id_stride: Option<Int>,
    relation: Option<String>,
    rrelation: Option<String>,
    associate: Option<Associate>,
    tgt_subsystem: Option<String>,
    tgt_uplvl: Option<NonNeg>,
    src_uplvl: Option<NonNeg>,
    #[serde(default)]
    properties: std::collections::BTreeMap<String, Scalar>,
    #[serde(default)]
    with: Vec<Entry>,
}

/// A property's value: a string, number or boolean, kept as written.
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = String;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
                Ok(v.to_string())
            }
        }
        d.deserialize_any(V).map(Scalar)
    }
}

/// An integer, with a message that says so when it is not.
struct Int(i64);

/// A non-negative integer, with a message that says so when it is not.
struct NonNeg(i64);

/// Accepts YAML integers only; `min` bounds them from below.
struct IntVisitor {
    min: i64,
}

impl IntVisitor {
    fn what(&self) -> &'static str {
        if self.min == 0 {
            "must be a non-negative integer"
        } else {
            "must be an integer"
        }
    }

    fn bad<E: de::Error>(&self, got: impl std::fmt::Display) -> E {
        E::custom(format!("{}, got {got}", self.what()))
    }
}

impl Visitor<'_> for IntVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.what())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        if v < self.min {
            return Err(self.bad(v));
        }
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| self.bad(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        Err(self.bad(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<i64, E> {
        Err(self.bad(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        Err(self.bad(format_args!("'{v}'")))
    }

    fn visit_unit<E: de::Error>(self) -> Result<i64, E> {
        Err(self.bad("nothing"))
    }
}

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntVisitor { min: i64::MIN }).map(Int)
    }
}

impl<'de> Deserialize<'de> for NonNeg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntVisitor { min: 0 }).map(NonNeg)
    }
}

/// Parse a YAML recipe; `origin` names the file in errors.
pub fn parse(text: &str, origin: &str) -> Result<Recipe, GraphError> {
    // libyaml takes time in the square of flow nesting: measure it first.
    crate::limits::check_yaml_nesting(text, crate::limits::MAX_FLOW_NESTING).map_err(|d| {
        GraphError::Yaml {
            path: origin.to_owned(),
            msg: d.to_string(),
        }
    })?;
    // Syntax first, so "malformed YAML" means exactly that; then the shape,
    // from the text again so serde_yaml can report lines as well as keys.
    serde_yaml::from_str::<serde_yaml::Value>(text).map_err(|e| GraphError::Yaml {
        path: origin.to_owned(),
        msg: e.to_string(),
    })?;
    let doc: Doc = serde_yaml::from_str(text).map_err(|e| GraphError::Recipe {
        path: origin.to_owned(),
        what: e.to_string(),
    })?;
    let name = doc.name.clone().unwrap_or_else(|| {
        std::path::Path::new(origin)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let mut b = Builder {
        recipe: Recipe {
            name,
            origin: origin.to_owned(),
            vertices: Vec::new(),
            edges: Vec::new(),
        },
    };
    let containment = Subsystem {
        name: "containment",
        relation: "contains",
        rrelation: "in",
    };
    b.root(&doc.root, "root", &containment)?;
    let mut seen = vec!["containment"];
    for (i, s) in doc.subsystems.iter().enumerate() {
        let at = format!("subsystems[{i}]");
        if s.subsystem.is_empty() {
            return Err(b.err(&at, "subsystem must not be empty"));
        }
        if seen.contains(&s.subsystem.as_str()) {
            return Err(b.err(
                &at,
                format!("subsystem '{}' already has a root", s.subsystem),
            ));
        }
        seen.push(&s.subsystem);
        let sub = Subsystem {
            name: &s.subsystem,
            relation: s.relation.as_deref().unwrap_or("contains"),
            rrelation: s.rrelation.as_deref().unwrap_or("in"),
        };
        b.root(&s.root, &format!("{at}.root"), &sub)?;
    }
    Ok(b.recipe)
}

/// The subsystem a tree of entries lives in, with its edge defaults.
struct Subsystem<'a> {
    name: &'a str,
    relation: &'a str,
    rrelation: &'a str,
}

/// Flattens entry trees into recipe vertices (pre-order) and edges.
struct Builder {
    recipe: Recipe,
}

impl Builder {
    fn err(&self, at: &str, what: impl std::fmt::Display) -> GraphError {
        GraphError::Recipe {
            path: self.recipe.origin.clone(),
            what: format!("{at}: {what}"),
        }
    }

    /// Reject keys that would silently do nothing where they are written.
    fn forbid(&self, at: &str, keys: &[(&str, bool)], why: &str) -> Result<(), GraphError> {
        match keys.iter().find(|(_, set)| *set) {
            Some((k, _)) => Err(self.err(at, format!("{k} has no effect {why}"))),
            None => Ok(()),
        }
    }

    fn root(&mut self, e: &Entry, at: &str, sub: &Subsystem) -> Result<(), GraphError> {
        self.forbid(
            at,
            &[
                ("count", e.count.is_some()),
                ("id_scope", e.id_scope.is_some()),
                ("id_start", e.id_start.is_some()),
                ("id_stride", e.id_stride.is_some()),
                ("relation", e.relation.is_some()),
                ("rrelation", e.rrelation.is_some()),
                ("associate", e.associate.is_some()),
                ("tgt_subsystem", e.tgt_subsystem.is_some()),
                ("tgt_uplvl", e.tgt_uplvl.is_some()),
                ("src_uplvl", e.src_uplvl.is_some()),
            ],
            "on a root (it has no parent)",
        )?;
        let v = self.vertex(e, at, sub, true)?;
        self.children(v, e, at, sub)
    }

    fn vertex(
        &mut self,
        e: &Entry,
        at: &str,
        sub: &Subsystem,
        root: bool,
    ) -> Result<usize, GraphError> {
        if e.typ.is_empty() {
            return Err(self.err(at, "type must not be empty"));
        }
        let idx = self.recipe.vertices.len();
        self.recipe.vertices.push(RecipeVertex {
            key: at.to_owned(),
            root,
            typ: e.typ.clone(),
            basename: e.basename.clone().unwrap_or_else(|| e.typ.clone()),
            size: e.size.as_ref().map_or(1, |n| n.0),
            unit: e.unit.clone().unwrap_or_default(),
            subsystem: sub.name.to_owned(),
            properties: e
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect(),
        });
        Ok(idx)
    }

    fn children(
        &mut self,
        parent: usize,
        e: &Entry,
        at: &str,
        sub: &Subsystem,
    ) -> Result<(), GraphError> {
        for (i, c) in e.with.iter().enumerate() {
            let cat = format!("{at}.with[{i}]");
            self.child(parent, c, &cat, sub)?;
        }
        Ok(())
    }

    fn child(
        &mut self,
        parent: usize,
        e: &Entry,
        at: &str,
        sub: &Subsystem,
    ) -> Result<(), GraphError> {
        let v = self.vertex(e, at, sub, false)?;
        let mut edge = RecipeEdge::new(parent, v);
        edge.e_subsystem = sub.name.to_owned();
        edge.relation = e
            .relation
            .clone()
            .unwrap_or_else(|| sub.relation.to_owned());
        edge.rrelation = e
            .rrelation
            .clone()
            .unwrap_or_else(|| sub.rrelation.to_owned());
        match e.associate {
            None => {
                self.forbid(
                    at,
                    &[
                        ("tgt_subsystem", e.tgt_subsystem.is_some()),
                        ("tgt_uplvl", e.tgt_uplvl.is_some()),
                        ("src_uplvl", e.src_uplvl.is_some()),
                    ],
                    "without associate",
                )?;
                edge.multi_scale = e.count.as_ref().map_or(1, |n| n.0);
                edge.id_scope = e.id_scope.as_ref().map_or(0, |n| n.0);
                edge.id_start = e.id_start.as_ref().map_or(0, |n| n.0);
                edge.id_stride = e.id_stride.as_ref().map_or(1, |n| n.0);
            }
            Some(how) => {
                self.forbid(
                    at,
                    &[
                        ("count", e.count.is_some()),
                        ("id_scope", e.id_scope.is_some()),
                        ("id_start", e.id_start.is_some()),
                        ("id_stride", e.id_stride.is_some()),
                        ("basename", e.basename.is_some()),
                        ("size", e.size.is_some()),
                        ("unit", e.unit.is_some()),
                    ],
                    "with associate (it links existing resources)",
                )?;
                edge.gen_method = match how {
                    Associate::In => {
                        self.forbid(
                            at,
                            &[
                                ("tgt_uplvl", e.tgt_uplvl.is_some()),
                                ("src_uplvl", e.src_uplvl.is_some()),
                            ],
                            "with associate: in (use by_path)",
                        )?;
                        GenMethod::AssociateIn
                    }
                    Associate::ByPath => GenMethod::AssociateByPathIn,
                };
                if let Some(t) = &e.tgt_subsystem {
                    if t.is_empty() {
                        return Err(self.err(at, "tgt_subsystem must not be empty"));
                    }
                    edge.as_tgt_subsystem = t.clone();
                }
                edge.as_tgt_uplvl = e.tgt_uplvl.as_ref().map_or(1, |n| n.0);
                edge.as_src_uplvl = e.src_uplvl.as_ref().map_or(1, |n| n.0);
            }
        }
        // The edge goes in before the child's own edges, so each kind's
        // out-edges keep the order its `with` list gives.
        self.recipe.edges.push(edge);
        self.children(v, e, at, sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Recipe {
        parse(text, "t.yaml").unwrap_or_else(|e| panic!("{e}"))
    }

    fn parse_err(text: &str) -> String {
        match parse(text, "t.yaml") {
            Ok(_) => panic!("expected an error for:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn flattens_in_pre_order_with_defaults() {
        let r = parse_ok(
            "root:\n  type: cluster\n  with:\n    - type: node\n      count: 2\n      id_scope: 1\n      with:\n        - { type: core, count: 4 }\n    - { type: switch, basename: sw, size: 3, unit: port }\n",
        );
        assert_eq!(r.name, "t");
        let kinds: Vec<_> = r
            .vertices
            .iter()
            .map(|v| (v.typ.as_str(), v.basename.as_str(), v.root))
            .collect();
        assert_eq!(
            kinds,
            [
                ("cluster", "cluster", true),
                ("node", "node", false),
                ("core", "core", false),
                ("switch", "sw", false)
            ]
        );
        let edges: Vec<_> = r
            .edges
            .iter()
            .map(|e| (e.source, e.target, e.multi_scale, e.id_scope))
            .collect();
        assert_eq!(edges, [(0, 1, 2, 1), (1, 2, 4, 0), (0, 3, 1, 0)]);
        assert_eq!(
            (r.vertices[3].size, r.vertices[3].unit.as_str()),
            (3, "port")
        );
    }

    #[test]
    fn subsystem_trees_carry_their_name_and_relations() {
        let r = parse_ok(
            "root: { type: cluster, with: [ { type: pdu } ] }\nsubsystems:\n  - subsystem: power\n    relation: supplies_to\n    root:\n      type: panel\n      with:\n        - type: pdu\n          associate: by_path\n          tgt_uplvl: 2\n        - { type: power, relation: feeds }\n",
        );
        assert_eq!(r.vertices[2].subsystem, "power");
        assert!(r.vertices[2].root);
        let e = &r.edges[1];
        assert_eq!(
            (
                e.e_subsystem.as_str(),
                e.relation.as_str(),
                e.rrelation.as_str()
            ),
            ("power", "supplies_to", "in")
        );
        assert_eq!(
            (e.gen_method, e.as_tgt_uplvl, e.as_src_uplvl),
            (GenMethod::AssociateByPathIn, 2, 1)
        );
        assert_eq!(r.edges[2].relation, "feeds");
    }

    #[test]
    fn properties_are_strings_every_resource_of_the_kind_gets() {
        let r = parse_ok(
            "root:\n  type: node\n  properties: { cost-per-hour: 0.5, zone: a, spot: true, n: 3 }\n  with:\n    - { type: core, count: 2 }\n",
        );
        let want: Vec<(String, String)> = [
            ("cost-per-hour", "0.5"),
            ("n", "3"),
            ("spot", "true"),
            ("zone", "a"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(r.vertices[0].properties, want);
        assert!(r.vertices[1].properties.is_empty());
        let g = r.generate().unwrap();
        let node = g.of_type("node")[0];
        assert_eq!(
            g.properties(node).find(|(k, _)| *k == "zone"),
            Some(("zone", "a"))
        );
        let e = parse_err("root:\n  type: node\n  properties: { zone: [a, b] }\n");
        assert!(e.contains("a string, number or boolean"), "{e}");
    }

    #[test]
    fn ineffective_keys_are_rejected() {
        assert!(parse_err("root: { type: c, count: 2 }")
            .contains("root: count has no effect on a root"));
        let m = parse_err("root: { type: c, with: [ { type: pdu, associate: in, count: 2 } ] }");
        assert!(
            m.contains("root.with[0]: count has no effect with associate"),
            "{m}"
        );
        let m = parse_err("root: { type: c, with: [ { type: pdu, tgt_uplvl: 2 } ] }");
        assert!(
            m.contains("root.with[0]: tgt_uplvl has no effect without associate"),
            "{m}"
        );
        let m = parse_err(
            "root: { type: c }\nsubsystems: [ { subsystem: containment, root: { type: d } } ]",
        );
        assert!(
            m.contains("subsystems[0]: subsystem 'containment' already has a root"),
            "{m}"
        );
    }

    #[test]
    fn bad_values_name_the_key_and_line() {
        let m = parse_err("root:\n  type: c\n  with:\n    - { type: n, count: 2.5 }\n");
        assert!(
            m.contains("root.with[0].count: must be a non-negative integer, got 2.5"),
            "{m}"
        );
        assert!(m.contains("line 4"), "{m}");
        let m = parse_err("root:\n  type: c\n  with:\n    - { type: n, associate: sideways }\n");
        assert!(
            m.contains("root.with[0].associate: unknown variant `sideways`"),
            "{m}"
        );
        let m = parse_err("root: { type: '' }");
        assert!(m.contains("root: type must not be empty"), "{m}");
    }

    #[test]
    fn odd_documents_are_errors_not_panics() {
        let deep = format!(
            "root: {}{{ type: x }}{}",
            "{ type: x, with: [ ".repeat(200),
            " ] }".repeat(200)
        );
        for text in [
            "",
            "42",
            "[]",
            "root: []",
            "root: { type: c, with: 5 }",
            "root: { type: c, with: [ 7 ] }",
            "root: { type: c, with: [ { type: n, count: 99999999999999999999 } ] }",
            "root: { type: c, with: [ { type: n, count: 1e30 } ] }",
            "root: { type: c, size: true }",
            "root: { type: [a] }",
            "root: { type: c }\n---\nroot: { type: d }",
            "root: &a { type: c, with: [ *a ] }",
            deep.as_str(),
        ] {
            parse_err(text);
        }
    }
}
