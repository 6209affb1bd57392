//! Match policies: how the traverser ranks candidates.
//!
//! A policy is a small implementation of [`MatchPolicy`]; the traverser
//! never branches on a policy's name. Most named policies are a
//! [`Ranking`] with their own [`RankingOptions`]: a direction (prefer high
//! or low ids), optional node-centric scoring (rank a resource by its node
//! first), node exclusivity, and first fit. `locality` and `variation`
//! score in their own ways. [`POLICIES`] names them all: a new policy is
//! its file, its `mod` line and one row there; [`create`] and
//! [`POLICY_NAMES`] follow.
mod first;
mod firstnodex;
mod high;
mod hinode;
mod hinodex;
mod locality;
mod lonode;
mod lonodex;
mod low;
mod ranking;
mod variation;

pub use ranking::{RankBound, Ranking, RankingOptions};

use resource_graph::{ResourceGraph, Vertex};

/// The hooks the traverser calls while it walks.
pub trait MatchPolicy: Send {
    /// The policy's name as the user gave it.
    fn name(&self) -> &str;
    /// Whether candidate score `a` is better than `b` (sort order).
    fn better(&self, a: i64, b: i64) -> bool;
    /// Stop exploring children once enough are found (first-fit).
    fn stop_on_first_match(&self) -> bool {
        false
    }
    /// Resource types always allocated whole (e.g. `node` for *nodex).
    fn exclusive_types(&self) -> &[&'static str] {
        &[]
    }
    /// Pre-order hook of a vertex the walk enters (`typ` is its type name).
    fn discover(&mut self, _v: &Vertex, _typ: &str) {}
    /// Post-order hook: the vertex's score should the walk below match.
    fn finish(&mut self, v: &Vertex, typ: &str) -> i64;
    /// A traversal finished at the root.
    fn reset(&mut self) {}
    /// For a policy that scores with [`RankBound`]'s formula (the ranking
    /// family, without first fit): the formula. The traverser then walks
    /// bounded: it bounds the best score a subtree can offer with it and
    /// skips subtrees that cannot beat what it already found.
    fn ranking(&self) -> Option<RankBound> {
        None
    }
    /// What the enclosing vertices currently add to a candidate's score.
    fn level_score(&self) -> i64 {
        0
    }
    /// How the root orders the candidates of a top-level request: `None`
    /// (the default), by [`MatchPolicy::better`] as every level below; or
    /// a key per score, higher first, computed from all the candidates'
    /// scores (`scores` gathers them when called).
    fn root_order(&self, _scores: &mut dyn FnMut() -> Vec<i64>) -> Option<RootOrder> {
        None
    }
}

/// A policy's order of the root's candidates: a key per candidate score
/// (see [`MatchPolicy::root_order`]); a score without a key comes last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootOrder(std::collections::HashMap<i64, i64>);

impl RootOrder {
    /// The order giving each score its key.
    pub fn new(keys: std::collections::HashMap<i64, i64>) -> RootOrder {
        RootOrder(keys)
    }

    /// The key of a candidate's score.
    pub fn key(&self, score: i64) -> i64 {
        self.0.get(&score).copied().unwrap_or(i64::MIN)
    }
}

/// What a node adds to the score of everything inside it under a
/// node-centric policy: its id first, then a tie-break by unique id, so
/// every resource of a better node outranks every resource of a worse one.
/// An id too big for that (a hostname's digits can be) saturates: such
/// nodes tie, and no score overflows.
pub fn node_factor(v: &Vertex) -> i64 {
    let tie = (v.uniq_id % 10_000 - 1).saturating_abs();
    v.id.saturating_add(2)
        .saturating_mul(10_000)
        .saturating_add(tie)
}

/// A policy users can name: a row of [`POLICIES`].
pub struct Entry {
    /// The name resource-query's `-P` and schedd's policy setting take.
    pub name: &'static str,
    build: Build,
}

/// How an [`Entry`] builds its policy.
enum Build {
    /// A [`Ranking`] with these options.
    Ranking(RankingOptions),
    /// A policy of its own type.
    Own(fn() -> Box<dyn MatchPolicy>),
}

impl Entry {
    const fn ranking(name: &'static str, options: RankingOptions) -> Entry {
        Entry {
            name,
            build: Build::Ranking(options),
        }
    }

    const fn own(name: &'static str, make: fn() -> Box<dyn MatchPolicy>) -> Entry {
        Entry {
            name,
            build: Build::Own(make),
        }
    }

    /// A fresh policy of this kind.
    pub fn create(&self) -> Box<dyn MatchPolicy> {
        match self.build {
            Build::Ranking(options) => Box::new(Ranking::new(self.name, options)),
            Build::Own(make) => make(),
        }
    }
}

/// Every named policy, in the order users are shown them.
pub const POLICIES: &[Entry] = &[
    Entry::ranking("first", first::OPTIONS),
    Entry::ranking("firstnodex", firstnodex::OPTIONS),
    Entry::ranking("high", high::OPTIONS),
    Entry::ranking("low", low::OPTIONS),
    Entry::ranking("lonode", lonode::OPTIONS),
    Entry::ranking("hinode", hinode::OPTIONS),
    Entry::ranking("lonodex", lonodex::OPTIONS),
    Entry::ranking("hinodex", hinodex::OPTIONS),
    Entry::own("locality", || Box::new(locality::Locality)),
    Entry::own("variation", || Box::new(variation::Variation)),
];

/// Names accepted by `-P`, besides the custom `key=value` form: those of
/// [`POLICIES`], in order.
pub const POLICY_NAMES: &[&str] = &names::<{ POLICIES.len() }>();

/// The name of each row of [`POLICIES`].
const fn names<const N: usize>() -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = POLICIES[i].name;
        i += 1;
    }
    out
}

/// Why a policy name or custom form was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Neither a name in [`POLICIES`] nor `key=value` options.
    #[error(
        "unknown match policy '{name}' (expected one of {} or key=value options)",
        POLICY_NAMES.join(", ")
    )]
    Unknown {
        /// What was given.
        name: String,
    },
    /// A custom form without `policy=low` or `policy=high`.
    #[error("custom match policy '{policy}' needs policy=low or policy=high")]
    NoDirection {
        /// The whole custom form.
        policy: String,
    },
    /// `policy=` with a value other than `low` or `high`.
    #[error("policy key within custom policy accepts only low or high, got '{value}'")]
    BadDirection {
        /// The value given.
        value: String,
    },
    /// A flag option with a value other than `true` or `false`.
    #[error("policy option {key} requires true or false, got '{value}'")]
    NotABool {
        /// The option.
        key: String,
        /// The value given.
        value: String,
    },
    /// An option the custom form does not have.
    #[error("invalid policy option: {key}")]
    UnknownOption {
        /// The option given.
        key: String,
    },
}

/// Build a policy from its name (see [`POLICIES`]) or from the custom form
/// `policy=low node_centric=true node_exclusive=true stop_on_1_matches=true`.
pub fn create(name: &str, _g: &ResourceGraph) -> Result<Box<dyn MatchPolicy>, PolicyError> {
    match POLICIES.iter().find(|p| p.name == name) {
        Some(p) => Ok(p.create()),
        None => Ok(Box::new(Ranking::parse_custom(name)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_factors_of_huge_ids_saturate_instead_of_wrapping() {
        let mut g = ResourceGraph::new();
        let mut node = |id| {
            let v = g.add_vertex(resource_graph::graph::NewVertex {
                typ: "node",
                basename: "login",
                id,
                rank: -1,
                size: 1,
                unit: "",
            });
            node_factor(&g.g[v])
        };
        assert_eq!(node(3) / 10_000, 5);
        // A hostname's digits: login2222222222222222222.
        assert_eq!(node(2_222_222_222_222_222_222), i64::MAX);
        assert_eq!(node(i64::MAX), i64::MAX);
    }

    #[test]
    fn every_name_creates_its_policy() {
        assert_eq!(
            POLICY_NAMES,
            [
                "first",
                "firstnodex",
                "high",
                "low",
                "lonode",
                "hinode",
                "lonodex",
                "hinodex",
                "locality",
                "variation"
            ]
        );
        let g = ResourceGraph::new();
        for &name in POLICY_NAMES {
            let p = create(name, &g).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.name(), name);
        }
    }

    /// The options each id-based policy had as `Ranking::new`'s bools:
    /// (high, node-centric, node-exclusive, first fit).
    #[test]
    fn ranking_policies_keep_their_options() {
        let want = [
            ("first", (true, true, false, true)),
            ("firstnodex", (true, true, true, true)),
            ("high", (true, false, false, false)),
            ("low", (false, false, false, false)),
            ("lonode", (false, true, false, false)),
            ("hinode", (true, true, false, false)),
            ("lonodex", (false, true, true, false)),
            ("hinodex", (true, true, true, false)),
        ];
        let got: Vec<_> = POLICIES
            .iter()
            .filter_map(|p| match p.build {
                Build::Ranking(o) => Some((
                    p.name,
                    (o.high_ids, o.node_centric, o.node_exclusive, o.first_fit),
                )),
                Build::Own(_) => None,
            })
            .collect();
        assert_eq!(got, want);
        // What the traverser sees of them.
        let g = ResourceGraph::new();
        let hinodex = create("hinodex", &g).expect("hinodex");
        assert!(hinodex.better(2, 1));
        assert_eq!(hinodex.exclusive_types(), ["node"]);
        assert!(!hinodex.stop_on_first_match());
        assert_eq!(
            hinodex.ranking(),
            Some(RankBound {
                high: true,
                node_centric: true
            })
        );
        let first = create("first", &g).expect("first");
        assert!(first.stop_on_first_match());
        assert_eq!(first.ranking(), None);
        assert!(create("low", &g).expect("low").better(1, 2));
        // Locality orders the root's candidates by their run of ids.
        let loc = create("locality", &g).expect("locality");
        let order = loc
            .root_order(&mut || vec![9, 3, 4, 5, 8])
            .expect("an order");
        assert_eq!((order.key(8), order.key(9)), (8, 8));
        assert!(order.key(9) > order.key(4));
        assert_eq!((order.key(3), order.key(5)), (3, 3));
        assert!(create("high", &g)
            .unwrap()
            .root_order(&mut Vec::new)
            .is_none());
    }

    #[test]
    fn an_unknown_name_reads_as_before() {
        let g = ResourceGraph::new();
        let err = create("bogus", &g).err().expect("refused");
        assert_eq!(
            err.to_string(),
            "unknown match policy 'bogus' (expected one of first, firstnodex, high, low, \
             lonode, hinode, lonodex, hinodex, locality, variation or key=value options)"
        );
        assert_eq!(
            err,
            PolicyError::Unknown {
                name: "bogus".into()
            }
        );
    }
}
