//! The id-based ranking every built-in policy is made of.
//!
//! A vertex scores `1 + id + 1` plus, when node-centric, a factor of its
//! enclosing node `(node id + 2) * 10000 + tie-break`, so every resource
//! of a better node outranks every resource of a worse one.
use resource_graph::Vertex;

use super::MatchPolicy;

/// Id-based ranking with optional node-centric scoring.
#[derive(Debug, Clone)]
pub struct Ranking {
    pub name: String,
    pub high: bool,
    pub node_centric: bool,
    pub node_exclusive: bool,
    pub stop_on_first: bool,
    level_scores: i64,
    node_factor: i64,
}

impl Ranking {
    /// A ranking with the given options.
    pub fn new(
        name: &str,
        high: bool,
        node_centric: bool,
        node_exclusive: bool,
        stop_on_first: bool,
    ) -> Self {
        Ranking {
            name: name.to_owned(),
            high,
            node_centric,
            node_exclusive,
            stop_on_first,
            level_scores: 0,
            node_factor: 0,
        }
    }

    /// Parse the custom policy form: space-separated `key=value` pairs with
    /// keys policy (low|high), node_centric, node_exclusive and
    /// stop_on_1_matches (true|false).
    pub fn parse_custom(s: &str) -> Result<Ranking, String> {
        let mut r = Ranking::new(s, true, false, false, false);
        let mut saw_policy = false;
        for opt in s.split_whitespace() {
            let (k, v) = opt.split_once('=').ok_or_else(|| {
                format!(
                    "unknown match policy '{s}' (expected one of {} or key=value options)",
                    super::POLICY_NAMES.join(", ")
                )
            })?;
            let flag = |v: &str| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(format!(
                    "policy option {k} requires true or false, got '{v}'"
                )),
            };
            match k {
                "policy" => {
                    saw_policy = true;
                    r.high = match v {
                        "high" => true,
                        "low" => false,
                        _ => {
                            return Err(format!(
                            "policy key within custom policy accepts only low or high, got '{v}'"
                        ))
                        }
                    }
                }
                "node_centric" => r.node_centric = flag(v)?,
                "node_exclusive" => r.node_exclusive = flag(v)?,
                "stop_on_1_matches" => r.stop_on_first = flag(v)?,
                _ => return Err(format!("invalid policy option: {k}")),
            }
        }
        if !saw_policy {
            return Err(format!(
                "custom match policy '{s}' needs policy=low or policy=high"
            ));
        }
        Ok(r)
    }
}

impl MatchPolicy for Ranking {
    fn name(&self) -> &str {
        &self.name
    }

    fn better(&self, a: i64, b: i64) -> bool {
        if self.high {
            a > b
        } else {
            a < b
        }
    }

    fn stop_on_first_match(&self) -> bool {
        self.stop_on_first
    }

    fn exclusive_types(&self) -> &[&'static str] {
        if self.node_exclusive {
            &["node"]
        } else {
            &[]
        }
    }

    fn discover(&mut self, v: &Vertex, typ: &str) {
        if self.node_centric && typ == "node" {
            self.node_factor = super::node_factor(v);
            self.level_scores += self.node_factor;
        }
    }

    fn finish(&mut self, v: &Vertex, typ: &str) -> i64 {
        if self.node_centric && typ == "node" {
            self.level_scores -= self.node_factor;
        }
        1 + self.level_scores + v.id + 1
    }

    fn reset(&mut self) {
        self.level_scores = 0;
        self.node_factor = 0;
    }

    fn ranking(&self) -> Option<(bool, bool)> {
        (!self.stop_on_first).then_some((self.high, self.node_centric))
    }

    fn level_score(&self) -> i64 {
        self.level_scores
    }
}

/// Implement [`MatchPolicy`] for a newtype over [`Ranking`] by delegation,
/// so each named policy file states only its options.
macro_rules! ranking_policy {
    ($ty:ident) => {
        impl $crate::policy::MatchPolicy for $ty {
            fn name(&self) -> &str {
                self.0.name()
            }
            fn better(&self, a: i64, b: i64) -> bool {
                self.0.better(a, b)
            }
            fn stop_on_first_match(&self) -> bool {
                self.0.stop_on_first_match()
            }
            fn exclusive_types(&self) -> &[&'static str] {
                self.0.exclusive_types()
            }
            fn discover(&mut self, v: &resource_graph::Vertex, typ: &str) {
                self.0.discover(v, typ)
            }
            fn finish(&mut self, v: &resource_graph::Vertex, typ: &str) -> i64 {
                self.0.finish(v, typ)
            }
            fn reset(&mut self) {
                self.0.reset()
            }
            fn ranking(&self) -> Option<(bool, bool)> {
                self.0.ranking()
            }
            fn level_score(&self) -> i64 {
                self.0.level_score()
            }
        }
    };
}
pub(crate) use ranking_policy;
