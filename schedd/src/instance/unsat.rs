//! Satisfiability: whether the graph can ever meet a jobspec (checked at
//! submit, the answer cached per request shape until the graph changes)
//! and, when it cannot, why: a type the graph lacks, more units than it
//! has, or more per enclosing resource than any such resource holds.
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use matcher::jobspec::{Jobspec, Resource};
use matcher::traverser::{Errno, MatchOp};
use resource_graph::{ResourceGraph, Sym};

use super::spec::Spec;
use super::writers::Discard;
use super::{Instance, InstanceError};

impl Instance {
    /// Err(Unsatisfiable) with the reason when no resource of the graph
    /// can ever meet `js`.
    /// A flexible job is satisfiable when one of its shapes is.
    pub(super) fn check_satisfiable(&mut self, spec: &Spec) -> Result<(), InstanceError> {
        let mut first_err = None;
        for js in spec.shapes() {
            match self.check_shape(js) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or_else(|| InstanceError::BadRequest("jobspec: no resources".into())))
    }

    fn check_shape(&mut self, js: &Jobspec) -> Result<(), InstanceError> {
        // Satisfiability ignores time, status and what jobs hold: it only
        // changes when the graph's shape does.
        let key = format!("{:?}|{:?}", js.resources, js.constraint);
        if self.satisfiable.0 != self.m.graph().version() {
            self.satisfiable = (self.m.graph().version(), HashSet::new());
        }
        if self.satisfiable.1.contains(&key) {
            return Ok(());
        }
        self.m.set_now(self.clock.now());
        let t0 = Instant::now();
        let r = self
            .m
            .run(js, MatchOp::Satisfiability, self.next_id, &mut Discard);
        self.note_latency(t0);
        match r {
            Ok(_) => {
                if self.satisfiable.1.len() < 4096 {
                    self.satisfiable.1.insert(key);
                }
                Ok(())
            }
            Err(Errno::NoDev) | Err(Errno::Busy) => Err(InstanceError::Unsatisfiable(
                unsat_reason(self.m.graph(), self.dom, js),
            )),
            Err(Errno::Inval) => Err(InstanceError::BadRequest(
                "jobspec: cannot be matched against this graph".into(),
            )),
        }
    }
}

/// Why `js` can never be met on `g`: a type the graph lacks, more units of
/// a type than the graph has, or more per enclosing resource than any
/// such resource holds.
pub(super) fn unsat_reason(g: &ResourceGraph, dom: Sym, js: &Jobspec) -> String {
    // Units of each type needed in all (counts multiply down the tree).
    fn demand(rs: &[Resource], mult: u64, out: &mut BTreeMap<String, u64>) {
        for r in rs {
            let n = mult.saturating_mul(u64::from(r.count.min));
            if r.typ != "slot" {
                *out.entry(r.typ.clone()).or_default() += n;
            }
            demand(&r.with, n, out);
        }
    }
    let mut total = BTreeMap::new();
    demand(&js.resources, 1, &mut total);
    for (typ, need) in &total {
        let vs = g.of_type(typ);
        if vs.is_empty() {
            return format!("this instance has no resource of type '{typ}'");
        }
        let have: u64 = vs.iter().map(|&v| g.g[v].size).sum();
        if *need > have {
            return format!("needs {need} {typ} in all; this instance has {have}");
        }
    }
    // Per enclosing resource: the most any one of its type holds.
    fn per_parent(g: &ResourceGraph, dom: Sym, rs: &[Resource]) -> Option<String> {
        for r in rs {
            if r.typ != "slot" && !r.with.is_empty() {
                let mut need = BTreeMap::new();
                demand(&r.with, 1, &mut need);
                let mut most: BTreeMap<&str, u64> = BTreeMap::new();
                for &v in g.of_type(&r.typ) {
                    let mut here: BTreeMap<&str, u64> = BTreeMap::new();
                    for w in g.subtree(v, dom).into_iter().skip(1) {
                        *here.entry(g.name_of(g.g[w].typ)).or_default() += g.g[w].size;
                    }
                    for (t, n) in here {
                        let m = most.entry(t).or_default();
                        *m = (*m).max(n);
                    }
                }
                for (typ, n) in &need {
                    let m = most.get(typ.as_str()).copied().unwrap_or(0);
                    if *n > m {
                        return Some(format!(
                            "needs {n} {typ} in one {}; the most any {} holds is {m}",
                            r.typ, r.typ
                        ));
                    }
                }
            }
            if let Some(why) = per_parent(g, dom, &r.with) {
                return Some(why);
            }
        }
        None
    }
    if let Some(why) = per_parent(g, dom, &js.resources) {
        return why;
    }
    if js.constraint.is_some() {
        return "too few resources satisfy its constraints".into();
    }
    "no arrangement of this instance's resources meets it".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Jobspec {
        Jobspec::parse(text).unwrap()
    }

    #[test]
    fn unsatisfiable_reasons_name_what_cannot_be_met() {
        let mut g = ResourceGraph::new();
        let dom = g.sym("containment");
        let contains = g.sym("contains");
        let vtx = |typ: &'static str, id: i64| resource_graph::graph::NewVertex {
            typ,
            basename: typ,
            id,
            rank: -1,
            size: 1,
            unit: "",
        };
        let root = g.add_vertex(vtx("cluster", 0));
        g.roots.insert(dom, root);
        for n in 0..2 {
            let node = g.add_vertex(vtx("node", n));
            g.add_edge(root, node, dom, contains);
            for c in 0..4 {
                let core = g.add_vertex(vtx("core", c));
                g.add_edge(node, core, dom, contains);
            }
        }
        let js = |res: &str| spec(&format!("version: 9999\nresources:\n{res}tasks: []\n"));
        let gpu = unsat_reason(&g, dom, &js("  - {type: gpu, count: 1}\n"));
        assert!(gpu.contains("'gpu'"), "{gpu}");
        let many = unsat_reason(&g, dom, &js("  - {type: core, count: 9}\n"));
        assert!(many.contains("9 core") && many.contains('8'), "{many}");
        let per = unsat_reason(
            &g,
            dom,
            &js("  - type: node\n    count: 1\n    with:\n      - {type: core, count: 5}\n"),
        );
        assert!(
            per.contains("5 core in one node") && per.contains('4'),
            "{per}"
        );
    }
}
