//! What the traverser's fallible operations (`Traverser::new`, `book`,
//! `release`, `find`, `PruneFilters::parse`) report: the input or the
//! state that refused them. resource-query prints these messages and the
//! Fluxion-conformance cases compare its output byte for byte, so the
//! text of each stays as it is.
use thiserror::Error;

/// Why a traverser operation other than a match failed (a match says
/// why with an [`Errno`](super::Errno)).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TraverserError {
    /// `Traverser::new` was given no subsystem to match in.
    #[error("no subsystem to match in")]
    NoSubsystem,
    /// The graph has no root in this subsystem.
    #[error("the graph has no '{0}' subsystem")]
    NoSuchSubsystem(String),
    /// A prune filter that is not `ANCHOR:TYPE`.
    #[error("malformed prune filter '{0}' (expected ANCHOR:TYPE, e.g. ALL:core)")]
    MalformedPruneFilter(String),
    /// The dominant subsystem lost its root (it was detached).
    #[error("no root")]
    NoRoot,
    /// The same, as `find` words it.
    #[error("the graph has no root in the dominant subsystem")]
    NoRootToSearch,
    /// `book` under a job id the traverser holds already.
    #[error("existing job id {0}")]
    JobExists(u64),
    /// `release` of a job the traverser does not hold.
    #[error("nonexistent job {0}")]
    NoSuchJob(u64),
    /// `book` with an empty list of resources.
    #[error("no resources to book")]
    NothingToBook,
    /// `book` asked for more units of a vertex than it has free.
    #[error("{vertex} has {free} of {units} units free at {at}")]
    NotFree {
        vertex: String,
        free: i64,
        units: u32,
        at: i64,
    },
    /// The update walk found nothing marked to book.
    #[error("the match books nothing")]
    BooksNothing,
    /// A vertex's planner refused the job's span.
    #[error("cannot book {units} of {vertex} at {at}")]
    CannotBook { vertex: String, units: u32, at: i64 },
    /// An auxiliary-subsystem neighbour's planner refused the job's span.
    #[error("cannot book {units} of {vertex}")]
    CannotBookNeighbour { vertex: String, units: u32 },
}

#[cfg(test)]
mod tests {
    use resource_graph::ResourceGraph;

    use super::TraverserError;
    use crate::traverser::{PruneFilters, Traverser};

    #[test]
    fn messages_are_the_ones_resource_query_prints() {
        let cases = [
            (TraverserError::NoSubsystem, "no subsystem to match in"),
            (
                TraverserError::NoSuchSubsystem("power".into()),
                "the graph has no 'power' subsystem",
            ),
            (
                TraverserError::MalformedPruneFilter("ALL".into()),
                "malformed prune filter 'ALL' (expected ANCHOR:TYPE, e.g. ALL:core)",
            ),
            (TraverserError::NoRoot, "no root"),
            (
                TraverserError::NoRootToSearch,
                "the graph has no root in the dominant subsystem",
            ),
            (TraverserError::JobExists(7), "existing job id 7"),
            (TraverserError::NoSuchJob(7), "nonexistent job 7"),
            (TraverserError::NothingToBook, "no resources to book"),
            (
                TraverserError::NotFree {
                    vertex: "core3".into(),
                    free: 0,
                    units: 1,
                    at: 10,
                },
                "core3 has 0 of 1 units free at 10",
            ),
            (TraverserError::BooksNothing, "the match books nothing"),
            (
                TraverserError::CannotBook {
                    vertex: "node0".into(),
                    units: 2,
                    at: 0,
                },
                "cannot book 2 of node0 at 0",
            ),
            (
                TraverserError::CannotBookNeighbour {
                    vertex: "pdu1".into(),
                    units: 1,
                },
                "cannot book 1 of pdu1",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
        }
    }

    #[test]
    fn bad_setup_names_what_was_wrong() {
        let mut g = ResourceGraph::new();
        let parse = |g: &mut ResourceGraph, spec: &str| PruneFilters::parse(spec, g);
        assert!(parse(&mut g, " ALL:core , rack:node ,").is_ok());
        for bad in ["ALL", "ALL:", ":core"] {
            let want = TraverserError::MalformedPruneFilter(bad.into());
            assert_eq!(parse(&mut g, &format!("ALL:node, {bad}")), Err(want));
        }
        let policy = || crate::policy::create("first", &ResourceGraph::new()).expect("policy");
        let new = |g: &mut ResourceGraph, subsystems: &[&str]| {
            Traverser::new(g, policy(), subsystems, "ALL:core").err()
        };
        assert_eq!(new(&mut g, &[]), Some(TraverserError::NoSubsystem));
        let missing = TraverserError::NoSuchSubsystem("containment".into());
        assert_eq!(new(&mut g, &["containment"]), Some(missing));
    }
}
