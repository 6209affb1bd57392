//! The common jobspec read straight from the block-YAML reader's tree
//! ([`crate::yaml_fast::Node`]), without building a YAML document first:
//! plain integer counts, resources with type, count, label, unit,
//! exclusive and with, tasks, and `attributes.system.duration` and
//! `instance`. It answers only for a valid jobspec of that shape, and
//! then exactly as `Jobspec::from_document` would; anything else (any
//! error, a count range, constraints, dependencies, shell options, keys
//! it does not read) is `None`, and the YAML document path reads it and
//! says what is wrong. A test holds it to that path on every fixture
//! jobspec, and the `jobspec_yaml` fuzz target on whatever the fuzzer
//! makes.
use crate::count::Count;
use crate::jobspec::{Jobspec, Resource, Task, TaskCount, Tristate};
use crate::output::OutputPaths;
use crate::yaml_fast::Node;

/// The jobspec `doc` holds, when it is of the common shape and valid.
pub(crate) fn read(doc: &Node) -> Option<Jobspec> {
    let Node::Map(top) = doc else {
        return None;
    };
    let (mut version, mut resources, mut tasks, mut attributes) = (None, None, None, None);
    for (k, v) in top {
        match *k {
            "version" => version = Some(v),
            "resources" => resources = Some(v),
            "tasks" => tasks = Some(v),
            "attributes" => attributes = Some(v),
            _ => return None,
        }
    }
    let version = match version? {
        Node::Int(n @ (1 | 9999)) => *n,
        _ => return None,
    };
    let resources = match resources? {
        Node::Seq(items) if !items.is_empty() => {
            items.iter().map(resource).collect::<Option<Vec<_>>>()?
        }
        _ => return None,
    };
    let tasks = match tasks {
        None => Vec::new(),
        Some(Node::Seq(items)) => items.iter().map(task).collect::<Option<Vec<_>>>()?,
        Some(_) => return None,
    };
    let (mut duration, mut instance) = (0, false);
    if let Some(a) = attributes {
        if !matches!(a, Node::Map(_)) {
            return None;
        }
        // Other attributes than system's are not read.
        if let Some(sys) = a.get("system") {
            let Node::Map(sm) = sys else {
                return None;
            };
            for (k, v) in sm {
                match (*k, v) {
                    ("duration", Node::Int(n)) => duration = (*n as f64).ceil() as u64,
                    ("instance", Node::Bool(b)) => instance = *b,
                    // Read by the document path: constraints, shell,
                    // dependencies, or a bad duration or instance.
                    ("duration" | "instance" | "constraints" | "shell" | "dependencies", _) => {
                        return None
                    }
                    _ => {}
                }
            }
        }
    }
    Some(Jobspec {
        version,
        resources,
        tasks,
        duration,
        constraint: None,
        instance,
        dependencies: Vec::new(),
        output: OutputPaths::default(),
    })
}

/// A resource with a plain count and known keys only.
fn resource(n: &Node) -> Option<Resource> {
    let Node::Map(m) = n else {
        return None;
    };
    let mut r = Resource {
        typ: String::new(),
        count: Count::fixed(1),
        unit: String::new(),
        label: String::new(),
        exclusive: Tristate::Unspecified,
        with: Vec::new(),
    };
    let mut counted = false;
    for (k, v) in m {
        match (*k, v) {
            ("type", Node::Str(s)) if !s.is_empty() => r.typ = (*s).to_owned(),
            ("count", Node::Int(c)) if *c >= 1 => {
                r.count = Count::fixed(u32::try_from(*c).ok()?);
                counted = true;
            }
            ("unit", Node::Str(s)) => r.unit = (*s).to_owned(),
            ("label", Node::Str(s)) => r.label = (*s).to_owned(),
            ("exclusive", Node::Bool(b)) => {
                r.exclusive = if *b { Tristate::True } else { Tristate::False }
            }
            ("with", Node::Seq(items)) if !items.is_empty() => {
                r.with = items.iter().map(resource).collect::<Option<Vec<_>>>()?;
            }
            _ => return None,
        }
    }
    let slot_ok = r.typ != "slot" || (!r.label.is_empty() && !r.with.is_empty());
    (!r.typ.is_empty() && counted && slot_ok).then_some(r)
}

/// A task: its command, slot and count (other keys are not read).
fn task(n: &Node) -> Option<Task> {
    let command = match n.get("command")? {
        Node::Seq(items) => items
            .iter()
            .map(|x| match x {
                Node::Str(s) => (*s).to_owned(),
                _ => String::new(),
            })
            .collect(),
        Node::Str(s) => vec![(*s).to_owned()],
        _ => return None,
    };
    let slot = match n.get("slot")? {
        Node::Str(s) => (*s).to_owned(),
        _ => return None,
    };
    let count = match n.get("count") {
        None => TaskCount::PerSlot(1),
        Some(Node::Map(c)) => match c.as_slice() {
            [("per_slot", Node::Int(k))] if *k >= 1 => TaskCount::PerSlot(u32::try_from(*k).ok()?),
            [("total", Node::Int(k))] if *k >= 1 => TaskCount::Total(u32::try_from(*k).ok()?),
            _ => return None,
        },
        Some(_) => return None,
    };
    Some(Task {
        command,
        slot,
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml_fast::{block_nodes, fixture_jobspecs};

    /// Every fixture jobspec it reads, it reads as the document path
    /// does; and it reads most of the usual ones.
    #[test]
    fn reads_as_the_document_path_or_gives_up() {
        let (mut usual, mut usual_read, mut n_read) = (0, 0, 0);
        for (name, text) in fixture_jobspecs() {
            let is_usual = !name.contains("fuzz/corpus");
            usual += usize::from(is_usual);
            let Some(js) = block_nodes(&text).as_ref().and_then(read) else {
                continue;
            };
            n_read += 1;
            usual_read += usize::from(is_usual);
            assert_eq!(Ok(js), Jobspec::parse_as_yaml(&text), "{name}");
        }
        assert!(n_read > 0);
        assert!(usual_read * 2 >= usual, "read {usual_read} of {usual}");
    }

    #[test]
    fn anything_unusual_goes_to_the_document_path() {
        let base = |resources: &str, system: &str| {
            format!(
                "version: 9999\nresources:\n{resources}\nattributes:\n  system:\n{system}\n\
                 tasks:\n  - command: [app]\n    slot: default\n    count:\n      per_slot: 1\n"
            )
        };
        let slot = "  - type: slot\n    count: 1\n    label: default\n    with:\n      - type: core\n        count: 1";
        let fine = base(slot, "    duration: 60");
        let js = block_nodes(&fine)
            .as_ref()
            .and_then(read)
            .expect("common shape");
        assert_eq!(Ok(js), Jobspec::parse_as_yaml(&fine));
        for odd in [
            base(
                &slot.replace("count: 1\n    label", "count: 0\n    label"),
                "    duration: 60",
            ),
            base(
                &slot.replace("\n    label: default", ""),
                "    duration: 60",
            ),
            base(
                &slot.replace("type: core", "type: core\n        id: 3"),
                "    duration: 60",
            ),
            base(slot, "    duration: soon"),
            base(slot, "    constraints:\n      properties: [fast]"),
            base(slot, "    instance: 1"),
            fine.replace("version: 9999", "version: 2"),
            fine.replace("per_slot: 1", "per_slot: 1\n      total: 2"),
            fine.replace("slot: default", "slot: 3"),
        ] {
            let node = block_nodes(&odd).unwrap_or_else(|| panic!("block YAML: {odd}"));
            assert_eq!(read(&node), None, "{odd}");
        }
    }
}
