//! The id-based ranking that every built-in policy but `locality` and
//! `variation` is made of.
//!
//! A vertex scores `1 + id + 1` plus, when node-centric, a factor of its
//! enclosing node `(node id + 2) * 10000 + tie-break`, so every resource
//! of a better node outranks every resource of a worse one. [`RankBound`]
//! is that formula, once: the policies score with it and the traverser's
//! bounded walk bounds subtrees with it.
use resource_graph::Vertex;

use super::{MatchPolicy, PolicyError};

/// What a [`Ranking`] prefers; each named policy is one set of these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RankingOptions {
    /// Higher ids win (`policy=high`); otherwise lower ids do.
    pub high_ids: bool,
    /// A resource ranks by its enclosing node first (`node_centric`).
    pub node_centric: bool,
    /// Nodes are always allocated whole (`node_exclusive`).
    pub node_exclusive: bool,
    /// Take the first children that satisfy a request instead of ranking
    /// them all (first fit; `stop_on_1_matches`).
    pub first_fit: bool,
}

/// The ranking family's score formula. A policy whose candidates score
/// `candidate(level, own(v))`, where `level` sums `enclosing` over the
/// vertices above `v`, returns one from [`MatchPolicy::ranking`]; the
/// traverser then bounds the best score a subtree can offer with the same
/// functions and skips subtrees that cannot beat what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankBound {
    /// Higher scores win; otherwise lower ones do.
    pub high: bool,
    /// Enclosing nodes add their [`node_factor`](super::node_factor).
    pub node_centric: bool,
}

impl RankBound {
    /// What a vertex scores of its own: its id.
    #[inline]
    pub fn own(self, v: &Vertex) -> i64 {
        v.id
    }

    /// What a vertex adds to the score of everything below it (`is_node`:
    /// it is of type `node`).
    #[inline]
    pub fn enclosing(self, v: &Vertex, is_node: bool) -> i64 {
        if self.node_centric && is_node {
            super::node_factor(v)
        } else {
            0
        }
    }

    /// A candidate's score from what encloses it and its own score.
    #[inline]
    pub fn candidate(self, level: i64, own: i64) -> i64 {
        level
            .saturating_add(1)
            .saturating_add(own)
            .saturating_add(1)
    }
}

/// Id-based ranking with optional node-centric scoring.
#[derive(Debug, Clone)]
pub struct Ranking {
    /// The policy's name as the user gave it.
    pub name: String,
    /// What it prefers.
    pub options: RankingOptions,
    level_scores: i64,
    node_factor: i64,
}

impl Ranking {
    /// A ranking named `name` with the given options.
    pub fn new(name: &str, options: RankingOptions) -> Self {
        Ranking {
            name: name.to_owned(),
            options,
            level_scores: 0,
            node_factor: 0,
        }
    }

    /// The score formula for these options.
    fn bound(&self) -> RankBound {
        RankBound {
            high: self.options.high_ids,
            node_centric: self.options.node_centric,
        }
    }

    /// Parse the custom policy form: space-separated `key=value` pairs with
    /// keys policy (low|high, required), node_centric, node_exclusive and
    /// stop_on_1_matches (true|false).
    pub fn parse_custom(s: &str) -> Result<Ranking, PolicyError> {
        let mut options = RankingOptions::default();
        let mut saw_policy = false;
        for opt in s.split_whitespace() {
            let (k, v) = opt
                .split_once('=')
                .ok_or_else(|| PolicyError::Unknown { name: s.to_owned() })?;
            let flag = |v: &str| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(PolicyError::NotABool {
                    key: k.to_owned(),
                    value: v.to_owned(),
                }),
            };
            match k {
                "policy" => {
                    saw_policy = true;
                    options.high_ids = match v {
                        "high" => true,
                        "low" => false,
                        _ => {
                            return Err(PolicyError::BadDirection {
                                value: v.to_owned(),
                            })
                        }
                    }
                }
                "node_centric" => options.node_centric = flag(v)?,
                "node_exclusive" => options.node_exclusive = flag(v)?,
                "stop_on_1_matches" => options.first_fit = flag(v)?,
                _ => return Err(PolicyError::UnknownOption { key: k.to_owned() }),
            }
        }
        if !saw_policy {
            return Err(PolicyError::NoDirection {
                policy: s.to_owned(),
            });
        }
        Ok(Ranking::new(s, options))
    }
}

impl MatchPolicy for Ranking {
    fn name(&self) -> &str {
        &self.name
    }

    fn better(&self, a: i64, b: i64) -> bool {
        if self.options.high_ids {
            a > b
        } else {
            a < b
        }
    }

    fn stop_on_first_match(&self) -> bool {
        self.options.first_fit
    }

    fn exclusive_types(&self) -> &[&'static str] {
        if self.options.node_exclusive {
            &["node"]
        } else {
            &[]
        }
    }

    fn discover(&mut self, v: &Vertex, typ: &str) {
        let f = self.bound().enclosing(v, typ == "node");
        if f != 0 {
            self.node_factor = f;
            // Wrapping, so that the subtraction in finish undoes it exactly.
            self.level_scores = self.level_scores.wrapping_add(f);
        }
    }

    fn finish(&mut self, v: &Vertex, typ: &str) -> i64 {
        let b = self.bound();
        if b.enclosing(v, typ == "node") != 0 {
            self.level_scores = self.level_scores.wrapping_sub(self.node_factor);
        }
        b.candidate(self.level_scores, b.own(v))
    }

    fn reset(&mut self) {
        self.level_scores = 0;
        self.node_factor = 0;
    }

    fn ranking(&self) -> Option<RankBound> {
        (!self.options.first_fit).then_some(self.bound())
    }

    fn level_score(&self) -> i64 {
        self.level_scores
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(s: &str) -> Result<RankingOptions, String> {
        Ranking::parse_custom(s)
            .map(|r| r.options)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_custom_form_sets_each_option_by_its_key() {
        assert_eq!(
            custom("policy=high node_centric=true node_exclusive=true stop_on_1_matches=true"),
            Ok(RankingOptions {
                high_ids: true,
                node_centric: true,
                node_exclusive: true,
                first_fit: true,
            })
        );
        assert_eq!(custom("policy=low"), Ok(RankingOptions::default()));
        assert_eq!(
            custom("node_exclusive=true  policy=low"),
            Ok(RankingOptions {
                node_exclusive: true,
                ..RankingOptions::default()
            })
        );
        let r = Ranking::parse_custom("policy=low node_centric=false").expect("valid");
        assert_eq!(r.name(), "policy=low node_centric=false");
    }

    #[test]
    fn custom_form_errors_read_as_before() {
        for (s, want) in [
            (
                "policy=medium",
                "policy key within custom policy accepts only low or high, got 'medium'",
            ),
            (
                "policy=low node_centric=yes",
                "policy option node_centric requires true or false, got 'yes'",
            ),
            ("policy=low foo=bar", "invalid policy option: foo"),
            (
                "node_centric=true",
                "custom match policy 'node_centric=true' needs policy=low or policy=high",
            ),
            ("", "custom match policy '' needs policy=low or policy=high"),
        ] {
            assert_eq!(custom(s), Err(want.to_owned()), "{s:?}");
        }
    }
}
