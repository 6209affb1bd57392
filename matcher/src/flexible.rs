//! Flexible matching: alternative slot shapes.
//!
//! Two readings of a jobspec with alternatives, one per binary:
//!
//! - resource-query `-T flexible` reads it as Fluxion does. Sibling
//!   `xor_slot`s are alternatives for the whole job: [`xor_variants`]
//!   expands them into plain jobspecs, which the traverser tries in order
//!   at each start time it considers. Sibling `slot`s stay in the jobspec
//!   as *or-slots*: the traverser chooses among them vertex by vertex,
//!   as many slots as the vertex can form (see the traverser's
//!   `or_slot`).
//! - The daemon's `--traverser flexible` reads sibling `slot`s (and
//!   `xor_slot`s) as alternatives for the whole job, in order of
//!   preference, e.g. "8 cores and a GPU, or else 16 cores":
//!   [`alternatives`] expands a jobspec into the plain jobspecs to try,
//!   preference order first.
use crate::jobspec::{Jobspec, Resource};

/// At most this many alternatives are tried (alternatives at several
/// levels multiply).
pub const MAX_ALTERNATIVES: usize = 256;

/// At most this many variants come of a jobspec's `xor_slot`s (Fluxion's
/// limit).
pub const MAX_XOR_VARIANTS: usize = 1000;

/// The plain jobspecs a jobspec's `xor_slot`s stand for, as Fluxion
/// expands them: at each level the other siblings (each with every
/// reading of what is below it) combine in order, and each xor choice is
/// put after them, turned into a `slot`; the variants of the siblings
/// vary slowest. Sibling `slot`s stay as they are (or-slots). A jobspec
/// without `xor_slot`s is its only variant.
pub fn xor_variants(js: &Jobspec) -> Result<Vec<Jobspec>, String> {
    Ok(split_xor(&js.resources)?
        .into_iter()
        .map(|resources| Jobspec {
            resources,
            ..js.clone()
        })
        .collect())
}

fn too_many_variants(n: usize) -> Result<(), String> {
    if n > MAX_XOR_VARIANTS {
        return Err(format!(
            "the xor slots make more than {MAX_XOR_VARIANTS} jobspecs"
        ));
    }
    Ok(())
}

/// Every reading of a sibling list under [`xor_variants`]' rule.
fn split_xor(list: &[Resource]) -> Result<Vec<Vec<Resource>>, String> {
    let mut base: Vec<Vec<Resource>> = vec![Vec::new()];
    let mut options: Vec<Resource> = Vec::new();
    for r in list {
        let below = split_xor(&r.with)?;
        let one = |with: &Vec<Resource>| Resource {
            typ: r.typ.clone(),
            count: r.count,
            unit: r.unit.clone(),
            label: r.label.clone(),
            exclusive: r.exclusive,
            with: with.clone(),
        };
        if r.typ == "xor_slot" {
            for with in &below {
                options.push(Resource {
                    typ: "slot".into(),
                    ..one(with)
                });
                too_many_variants(options.len())?;
            }
            continue;
        }
        let mut next = Vec::with_capacity(base.len() * below.len());
        for v in &base {
            for with in &below {
                let mut n = v.clone();
                n.push(one(with));
                next.push(n);
                too_many_variants(next.len())?;
            }
        }
        base = next;
    }
    if options.is_empty() {
        return Ok(base);
    }
    let mut out = Vec::with_capacity(base.len() * options.len());
    for v in &base {
        for o in &options {
            let mut n = v.clone();
            n.push(o.clone());
            out.push(n);
            too_many_variants(out.len())?;
        }
    }
    Ok(out)
}

/// The plain jobspecs a flexible jobspec stands for, in order of
/// preference: a jobspec without alternative slots stands for itself.
pub fn alternatives(js: &Jobspec) -> Result<Vec<Jobspec>, String> {
    let lists = expand_list(&js.resources)?;
    Ok(lists
        .into_iter()
        .map(|resources| Jobspec {
            resources,
            ..js.clone()
        })
        .collect())
}

fn is_slot(r: &Resource) -> bool {
    r.typ == "slot" || r.typ == "xor_slot"
}

/// Every way to read one resource: itself with each reading of its `with`.
fn expand_resource(r: &Resource) -> Result<Vec<Resource>, String> {
    let mut r = r.clone();
    if r.typ == "xor_slot" {
        r.typ = "slot".into();
    }
    Ok(expand_list(&r.with)?
        .into_iter()
        .map(|with| Resource { with, ..r.clone() })
        .collect())
}

/// Every way to read a list of sibling resources: when it holds several
/// slots, one slot at a time (in order), each with every reading of the
/// other siblings.
fn expand_list(list: &[Resource]) -> Result<Vec<Vec<Resource>>, String> {
    let slots: Vec<usize> = (0..list.len()).filter(|&i| is_slot(&list[i])).collect();
    let choices: Vec<Vec<usize>> = if slots.len() >= 2 {
        slots
            .iter()
            .map(|&keep| {
                (0..list.len())
                    .filter(|i| !slots.contains(i) || *i == keep)
                    .collect()
            })
            .collect()
    } else {
        vec![(0..list.len()).collect()]
    };
    let mut out: Vec<Vec<Resource>> = Vec::new();
    for members in choices {
        let mut partial: Vec<Vec<Resource>> = vec![Vec::new()];
        for i in members {
            let readings = expand_resource(&list[i])?;
            let mut next = Vec::with_capacity(partial.len() * readings.len());
            for p in &partial {
                for r in &readings {
                    let mut q = p.clone();
                    q.push(r.clone());
                    next.push(q);
                }
            }
            if next.len() > MAX_ALTERNATIVES {
                return Err(format!(
                    "the alternative slots make more than {MAX_ALTERNATIVES} jobspecs"
                ));
            }
            partial = next;
        }
        out.extend(partial);
        if out.len() > MAX_ALTERNATIVES {
            return Err(format!(
                "the alternative slots make more than {MAX_ALTERNATIVES} jobspecs"
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(resources: &str) -> Jobspec {
        Jobspec::parse(&format!(
            "version: 9999\nresources: {resources}\nattributes: {{system: {{duration: 60}}}}\n\
             tasks: [{{command: [app], slot: default, count: {{per_slot: 1}}}}]\n"
        ))
        .expect("jobspec")
    }

    fn shape(js: &Jobspec) -> String {
        fn one(r: &Resource) -> String {
            let with: Vec<String> = r.with.iter().map(one).collect();
            if with.is_empty() {
                format!("{}{}", r.typ, r.count.min)
            } else {
                format!("{}{}[{}]", r.typ, r.count.min, with.join(","))
            }
        }
        js.resources.iter().map(one).collect::<Vec<_>>().join(",")
    }

    #[test]
    fn sibling_slots_are_alternatives_in_order() {
        let js = parse(
            "[{type: node, count: 1, with: [\
               {type: slot, count: 1, label: default, with: [{type: core, count: 8}, {type: gpu, count: 1}]},\
               {type: slot, count: 1, label: default, with: [{type: core, count: 16}]}]}]",
        );
        let alts: Vec<String> = alternatives(&js).unwrap().iter().map(shape).collect();
        assert_eq!(
            alts,
            vec!["node1[slot1[core8,gpu1]]", "node1[slot1[core16]]"]
        );
    }

    #[test]
    fn xor_slots_vary_after_their_siblings_and_or_slots_stay() {
        let js = parse(
            "[{type: rack, count: 1, with: [{type: node, count: 1, with: [\
               {type: xor_slot, count: 1, label: default, with: [{type: core, count: 2}]},\
               {type: xor_slot, count: 1, label: default, with: [{type: gpu, count: 1}]}]}]},\
              {type: xor_slot, count: 1, label: b, with: [{type: memory, count: 1}]},\
              {type: xor_slot, count: 1, label: b, with: [{type: memory, count: 2}]},\
              {type: slot, count: 1, label: c, with: [{type: core, count: 1}]},\
              {type: slot, count: 1, label: c, with: [{type: gpu, count: 1}]}]",
        );
        let alts: Vec<String> = xor_variants(&js).unwrap().iter().map(shape).collect();
        assert_eq!(
            alts,
            vec![
                "rack1[node1[slot1[core2]]],slot1[core1],slot1[gpu1],slot1[memory1]",
                "rack1[node1[slot1[core2]]],slot1[core1],slot1[gpu1],slot1[memory2]",
                "rack1[node1[slot1[gpu1]]],slot1[core1],slot1[gpu1],slot1[memory1]",
                "rack1[node1[slot1[gpu1]]],slot1[core1],slot1[gpu1],slot1[memory2]",
            ]
        );
    }

    #[test]
    fn too_many_xor_variants_is_an_error() {
        let xor = "{type: xor_slot, count: 1, label: a, with: [{type: core, count: 1}]}";
        let level = |inner: &str| {
            format!(
                "{{type: node, count: 1, with: [{inner}{}]}}",
                format!(", {xor}").repeat(10)
            )
        };
        // Ten choices at each of three levels make 1000 variants; a fourth
        // level would make 10,000.
        let three = level(&level(&level("{type: core, count: 1}")));
        assert_eq!(
            xor_variants(&parse(&format!("[{three}]"))).unwrap().len(),
            1000
        );
        let four = level(&three);
        let err = xor_variants(&parse(&format!("[{four}]"))).unwrap_err();
        assert!(err.contains("more than 1000"), "{err}");
    }

    #[test]
    fn a_plain_jobspec_is_its_own_only_alternative() {
        let js = parse("[{type: slot, count: 2, label: default, with: [{type: core, count: 1}]}]");
        let alts = alternatives(&js).unwrap();
        assert_eq!(alts.len(), 1);
        assert_eq!(alts[0], js);
    }

    #[test]
    fn xor_slots_become_slots_and_levels_multiply() {
        let js = parse(
            "[{type: rack, count: 1, with: [{type: node, count: 1, with: [\
               {type: xor_slot, count: 1, label: default, with: [{type: core, count: 2}]},\
               {type: xor_slot, count: 1, label: default, with: [{type: gpu, count: 1}]}]}]},\
              {type: slot, count: 1, label: b, with: [{type: core, count: 1}]},\
              {type: slot, count: 1, label: b, with: [{type: memory, count: 1}]}]",
        );
        let alts: Vec<String> = alternatives(&js).unwrap().iter().map(shape).collect();
        assert_eq!(
            alts,
            vec![
                "rack1[node1[slot1[core2]]],slot1[core1]",
                "rack1[node1[slot1[gpu1]]],slot1[core1]",
                "rack1[node1[slot1[core2]]],slot1[memory1]",
                "rack1[node1[slot1[gpu1]]],slot1[memory1]",
            ]
        );
    }
}
