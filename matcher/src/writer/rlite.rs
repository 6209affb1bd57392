//! `rlite`: RFC 20's `R_lite` array, and the execution section of R that
//! `rv1` builds on it.
//!
//! R is built from the `node` vertices: the `core` and `gpu` ids emitted
//! before a node are its children; a node with neither is left out. Ranks
//! that tie (rank-less graphs have rank -1 everywhere) end in the order
//! libstdc++'s `std::sort` leaves them, which decides `nodelist`. Idsets
//! and hostlists are encoded as Fluxion encodes them
//! (`idset::encode_fluxion`, `hostlist::encode_fluxion`). Without a node
//! nothing is printed, and the ids held stay for the next `take`.
use std::collections::BTreeMap;

use resource_graph::{hostlist, idset, ResourceGraph, VertexIdx};

use super::json::{push_json_str, Obj};
use super::{Emit, Writer};
use crate::cxx_sort::cxx_sort;

/// `-F rlite`: RFC 20's `R_lite` array, one entry per set of ranks whose
/// nodes hold the same cores and GPUs.
#[derive(Default)]
pub struct Rlite {
    /// Core ids emitted since the last node.
    cores: Vec<i64>,
    /// GPU ids emitted since the last node.
    gpus: Vec<i64>,
    /// Children text (`{"core": "0-3"}`) -> (rank, host name) of each node
    /// holding exactly those children, in emission order.
    groups: BTreeMap<String, Vec<(i64, String)>>,
    /// `key` or `key=value` of a node property -> ranks of the nodes.
    props: BTreeMap<String, Vec<i64>>,
}

/// One R's execution section, drawn from an [`Rlite`].
pub(super) struct Execution {
    /// The `R_lite` array.
    pub(super) r_lite: String,
    /// The `nodelist` array.
    pub(super) nodelist: String,
    /// The `properties` object, when some node had properties.
    pub(super) properties: Option<String>,
}

impl Rlite {
    /// Note a core's or GPU's id, or file a node under those noted.
    pub(super) fn add(&mut self, g: &ResourceGraph, v: VertexIdx) {
        let x = &g.g[v];
        match g.name_of(x.typ) {
            "core" => self.cores.push(x.id),
            "gpu" => self.gpus.push(x.id),
            "node" => self.gather(g, v),
            _ => {}
        }
    }

    /// File node `v` under the cores and GPUs emitted since the last node.
    fn gather(&mut self, g: &ResourceGraph, v: VertexIdx) {
        if self.cores.is_empty() && self.gpus.is_empty() {
            return;
        }
        let mut children = String::new();
        let mut o = Obj::open(&mut children);
        for (typ, ids) in [("core", &mut self.cores), ("gpu", &mut self.gpus)] {
            if ids.is_empty() {
                continue;
            }
            ids.sort_unstable();
            o.str(typ, &idset::encode_fluxion(ids));
            ids.clear();
        }
        o.close();
        let rank = g.g[v].rank;
        self.groups
            .entry(children)
            .or_default()
            .push((rank, g.name(v)));
        for (k, val) in g.properties(v) {
            let prop = if val.is_empty() {
                k.to_owned()
            } else {
                format!("{k}={val}")
            };
            self.props.entry(prop).or_default().push(rank);
        }
    }

    /// The execution section for every node held, which is then dropped
    /// (the cores and GPUs of no node yet stay); `None` without a node.
    pub(super) fn execution(&mut self) -> Option<Execution> {
        if self.groups.is_empty() {
            return None;
        }
        let by_rank = |a: &(i64, usize), b: &(i64, usize)| a.0 < b.0;
        let mut r_lite = String::from("[");
        let mut first = true;
        let mut hosts: Vec<(i64, &str)> = Vec::new();
        for (children, nodes) in &self.groups {
            let mut order: Vec<(i64, usize)> =
                nodes.iter().enumerate().map(|(i, n)| (n.0, i)).collect();
            cxx_sort(&mut order, &by_rank);
            let ranks: Vec<i64> = order.iter().map(|&(r, _)| r).collect();
            hosts.extend(order.iter().map(|&(r, i)| (r, nodes[i].1.as_str())));
            if !first {
                r_lite.push_str(", ");
            }
            first = false;
            let mut o = Obj::open(&mut r_lite);
            o.str("rank", &idset::encode_fluxion(&ranks));
            o.raw("children", children);
            o.close();
        }
        r_lite.push(']');

        let mut order: Vec<(i64, usize)> =
            hosts.iter().enumerate().map(|(i, h)| (h.0, i)).collect();
        cxx_sort(&mut order, &by_rank);
        let hostlist = hostlist::encode_fluxion(order.iter().map(|&(_, i)| hosts[i].1));
        let mut nodelist = String::from("[");
        push_json_str(&mut nodelist, &hostlist);
        nodelist.push(']');

        let properties = (!self.props.is_empty()).then(|| {
            let mut out = String::new();
            let mut o = Obj::open(&mut out);
            for (prop, ranks) in &mut self.props {
                ranks.sort_unstable();
                o.str(prop, &idset::encode_fluxion(ranks));
            }
            o.close();
            out
        });
        self.groups.clear();
        self.props.clear();
        Some(Execution {
            r_lite,
            nodelist,
            properties,
        })
    }
}

impl Writer for Rlite {
    fn emit(&mut self, item: Emit<'_>) {
        if let Emit::Vertex { g, v, .. } = item {
            self.add(g, v);
        }
    }

    fn take(&mut self) -> String {
        match self.execution() {
            Some(x) => x.r_lite + "\n",
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{make, Fixture};
    use super::*;

    #[test]
    fn rlite_groups_ranks_by_children() {
        let f = Fixture::new();
        let mut w = make("rlite");
        f.allocate(w.as_mut(), &f.both_nodes());
        // `{"core": "0-3", "gpu": "0"}` sorts before `{"core": "0-3"}`.
        assert_eq!(
            w.take(),
            concat!(
                r#"[{"rank": "0", "children": {"core": "0-3", "gpu": "0"}}, "#,
                r#"{"rank": "1", "children": {"core": "0-3"}}]"#,
                "\n"
            )
        );
        // Same children on both nodes: one entry.
        let picks: Vec<Vec<_>> = (0..2)
            .map(|n| vec![(f.cores[n][1], 1, true), (f.cores[n][3], 1, true)])
            .collect();
        f.allocate(w.as_mut(), &picks);
        assert_eq!(
            w.take(),
            "[{\"rank\": \"0-1\", \"children\": {\"core\": \"1,3\"}}]\n"
        );
    }

    #[test]
    fn rlite_keeps_cores_without_a_node_for_the_next_node() {
        let f = Fixture::new();
        let mut w = make("rlite");
        f.vertex(w.as_mut(), 3, f.cores[0][2], 1, true);
        assert_eq!(w.take(), "");
        f.vertex(w.as_mut(), 3, f.cores[1][0], 1, true);
        f.vertex(w.as_mut(), 2, f.nodes[1], 1, false);
        assert_eq!(
            w.take(),
            "[{\"rank\": \"1\", \"children\": {\"core\": \"0,2\"}}]\n"
        );
    }

    /// Permutations libstdc++ 12's `std::sort` gives (checked against
    /// g++), sorting (key, index) pairs by key only.
    #[test]
    fn ties_sort_as_libstdcxx_sorts_them() {
        let sorted = |keys: &[i64]| {
            let mut v: Vec<(i64, usize)> = keys.iter().copied().zip(0..).collect();
            cxx_sort(&mut v, &|a: &(i64, usize), b: &(i64, usize)| a.0 < b.0);
            v.into_iter().map(|(_, i)| i).collect::<Vec<_>>()
        };
        // Short slices are insertion sorted: stable.
        assert_eq!(sorted(&[1, 0, 1, 0]), vec![1, 3, 0, 2]);
        // Past 16 elements, ties move.
        assert_eq!(sorted(&[-1; 20]), CXX_TIES_20.to_vec());
    }

    /// `std::sort` of 20 equal keys tagged 0..20.
    const CXX_TIES_20: [usize; 20] = [
        10, 19, 18, 17, 16, 15, 14, 13, 12, 11, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1,
    ];
}
