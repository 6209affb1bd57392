//! The jobspec of a grant from a shape: `-N` whole nodes, or `-c` cores
//! wherever they are free, or `-c` cores with `-g` GPUs together. A lease holds what it is
//! granted for the lease's time, so the jobspec names no duration (the
//! parent gives a grant its `--max-duration`).
use serde_json::{json, Value};

/// What a child asks its parent for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Whole nodes (0: none; then cores and GPUs anywhere).
    pub nodes: u64,
    /// Cores (without nodes: this many cores).
    pub cores: u64,
    /// GPUs (without nodes: beside the cores).
    pub gpus: u64,
}

impl Shape {
    /// Whether it asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.nodes == 0 && self.cores == 0 && self.gpus == 0
    }

    /// The RFC 14 jobspec (JSON) of this shape.
    pub fn jobspec(&self) -> String {
        // Cores alone are slots of one core each, wherever they are free;
        // with GPUs, one slot holds them all (so they sit together).
        let slot = if self.nodes == 0 && self.gpus == 0 {
            json!({"type": "slot", "count": self.cores.max(1), "label": "lease",
                   "with": [{"type": "core", "count": 1}]})
        } else {
            let mut inner = vec![json!({"type": "core", "count": self.cores.max(1)})];
            if self.gpus > 0 && self.nodes == 0 {
                inner.push(json!({"type": "gpu", "count": self.gpus}));
            }
            json!({"type": "slot", "count": 1, "label": "lease", "with": inner})
        };
        let resources: Value = if self.nodes > 0 {
            // A node held exclusively is granted whole, every core and
            // GPU in it.
            json!([{"type": "node", "count": self.nodes, "exclusive": true, "with": [slot]}])
        } else {
            json!([slot])
        };
        json!({
            "version": 1,
            "resources": resources,
            "tasks": [{"command": ["quiver-lease"], "slot": "lease", "count": {"per_slot": 1}}],
            "attributes": {"system": {}}
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use matcher::jobspec::{Jobspec, Tristate};

    #[test]
    fn shapes_make_valid_jobspecs() {
        let nodes = Jobspec::parse(
            &Shape {
                nodes: 2,
                ..Shape::default()
            }
            .jobspec(),
        )
        .unwrap();
        assert_eq!(nodes.resources[0].typ, "node");
        assert_eq!(nodes.resources[0].exclusive, Tristate::True);
        let cores = Jobspec::parse(
            &Shape {
                cores: 3,
                gpus: 1,
                ..Shape::default()
            }
            .jobspec(),
        )
        .unwrap();
        assert_eq!(cores.resources[0].typ, "slot");
        assert!(Shape::default().is_empty());
    }
}
