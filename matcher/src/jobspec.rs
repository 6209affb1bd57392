//! Jobspec parsing and validation (RFC 14 canonical and RFC 25 V1, with
//! RFC 31 constraints).
//!
//! A jobspec is YAML (JSON is YAML too) with `version`, `resources`,
//! `tasks` and `attributes`. Parsing checks every key and reports the path
//! of the bad one, e.g. `resources[0].with[1].count: must be >= 1`.
use serde_yaml::Value;

use crate::constraint::Constraint;
use crate::count::count;
pub use crate::count::Count;
use crate::dependency::{self, Dependency};
use crate::output::{self, OutputPaths};
pub use crate::spec_error::JobspecError;
use crate::spec_error::{err, field, only_keys, show, uint};

/// Whether a resource was explicitly requested exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tristate {
    Unspecified,
    True,
    False,
}

/// One resource request of the jobspec tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub typ: String,
    pub count: Count,
    pub unit: String,
    pub label: String,
    pub exclusive: Tristate,
    pub with: Vec<Resource>,
}

/// How many copies of a task run (RFC 14 `tasks[].count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskCount {
    /// This many in each slot allocated.
    PerSlot(u32),
    /// This many in all, spread over the slots.
    Total(u32),
}

impl TaskCount {
    /// Copies to run on `slots` allocated slots.
    pub fn copies(self, slots: u64) -> u64 {
        match self {
            TaskCount::PerSlot(n) => u64::from(n) * slots,
            TaskCount::Total(n) => u64::from(n),
        }
    }
}

/// A task of the jobspec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub command: Vec<String>,
    pub slot: String,
    /// One per slot when the jobspec does not say.
    pub count: TaskCount,
}

/// A parsed, validated jobspec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jobspec {
    pub version: u64,
    pub resources: Vec<Resource>,
    pub tasks: Vec<Task>,
    /// attributes.system.duration in seconds; 0 when not given.
    pub duration: u64,
    /// attributes.system.constraints (RFC 31): the nodes the job may use;
    /// `None` when not given (`{}` parses to `Some(Constraint::Any)`).
    pub constraint: Option<Constraint>,
    /// attributes.system.instance: the job's task is a child instance
    /// (a schedd holding the job's resources as a lease of the parent).
    pub instance: bool,
    /// attributes.system.dependencies (RFC 26): what must happen before
    /// the job may start; empty when not given.
    pub dependencies: Vec<Dependency>,
    /// attributes.system.shell.options.output: the files the job's
    /// standard output and error go to; empty when not given.
    pub output: OutputPaths,
}

/// A JSON jobspec read by serde_json, much faster than libyaml reads
/// it; `None` when the text is not one JSON object (YAML, or JSON with a
/// fault: the YAML reader then says what is wrong, as for any text).
/// JSON is YAML, and both read the same JSON to the same document.
fn json_document(text: &str) -> Option<Value> {
    if !text.trim_start().starts_with('{') || !reads_alike(text) {
        return None;
    }
    let doc: Value = serde_json::from_str(text).ok()?;
    doc.is_mapping().then_some(doc)
}

/// Whether serde_json reads `text` as the YAML reader would. The fast
/// path takes one-line JSON, as clients send it, and leaves to the YAML
/// reader (whose answer stands) what YAML reads apart from JSON:
/// - a line break (NEL, LS and PS too) or tab before the end (YAML wants
///   an implicit key and its `:` on one line, and no tab starting a line);
/// - a character outside YAML's printable set (DEL, C1 controls), which
///   JSON strings do not restrict;
/// - a surrogate `\u` escape (YAML refuses them; JSON pairs them);
/// - a key of 1,000 bytes or more up to its `:` (YAML's implicit keys
///   stop at 1,024);
/// - an integer literal past 64 bits (a float to serde_json, an error to
///   serde_yaml).
fn reads_alike(text: &str) -> bool {
    let printable = |c: char| {
        // NEL, LS and PS are line breaks to YAML 1.1, as \n is.
        matches!(c, '\u{20}'..='\u{7e}')
            || (('\u{a0}'..='\u{d7ff}').contains(&c) && !matches!(c, '\u{2028}' | '\u{2029}'))
            || ('\u{e000}'..='\u{fffd}').contains(&c)
            || c >= '\u{10000}'
    };
    if !text
        .trim_end_matches([' ', '\n', '\r'])
        .chars()
        .all(printable)
    {
        return false;
    }
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    let esc = &b[i + 1..b.len().min(i + 4)];
                    let surrogate = esc.len() == 3
                        && esc[0] == b'u'
                        && matches!(esc[1], b'd' | b'D')
                        && matches!(esc[2], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F');
                    if surrogate {
                        return false;
                    }
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            let after = text.get(i..).unwrap_or("");
            let rest = after.trim_start_matches(' ');
            // libyaml measures an implicit key up to its `:`, spaces
            // before the `:` included.
            let span = i - start + (after.len() - rest.len());
            if rest.starts_with(':') && span >= 1000 {
                return false;
            }
            continue;
        }
        if c == b'-' || c.is_ascii_digit() {
            // At most 19 digits always fit; a 20-digit literal fits when it
            // is at most u64::MAX (i64::MIN when negative).
            let start = i;
            i += 1;
            while i < b.len()
                && (b[i].is_ascii_digit() || matches!(b[i], b'.' | b'e' | b'E' | b'+' | b'-'))
            {
                i += 1;
            }
            let token = &text[start..i];
            let integer = !token.contains(['.', 'e', 'E']);
            if integer && token.parse::<u64>().is_err() && token.parse::<i64>().is_err() {
                return false;
            }
            if !integer && !exact_float(token) {
                return false;
            }
            continue;
        }
        i += 1;
    }
    true
}

/// Whether serde_json's float reading is exact for `token` (it is not
/// correctly rounded past 15 significant digits or a power of ten past
/// 22, where serde_yaml's is): at most 15 mantissa digits and an
/// exponent of at most 22 either way.
fn exact_float(token: &str) -> bool {
    let (mantissa, exp) = match token.find(['e', 'E']) {
        Some(k) => (
            &token[..k],
            token[k + 1..].parse::<i64>().unwrap_or(i64::MAX),
        ),
        None => (token, 0),
    };
    let digits = mantissa.bytes().filter(u8::is_ascii_digit).count();
    digits <= 15 && exp.abs() <= 22
}

/// The document of a YAML (or JSON) text; a malformed one is an error
/// with its line and column.
fn yaml_document(text: &str) -> Result<Value, JobspecError> {
    serde_yaml::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!("line {} column {}", l.line(), l.column()))
            .unwrap_or_default();
        err(
            if at.is_empty() { "(document)" } else { &at },
            format!("malformed YAML/JSON: {e}"),
        )
    })
}

/// The string at `m[field]` (`key.field` in errors); "" when absent.
fn opt_str(m: &serde_yaml::Mapping, key: &str, name: &str) -> Result<String, JobspecError> {
    match field(m, name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(o) => Err(err(
            &format!("{key}.{name}"),
            format!("must be a string, got {}", show(o)),
        )),
        None => Ok(String::new()),
    }
}

fn resource(v: &Value, key: &str) -> Result<Resource, JobspecError> {
    let m = v
        .as_mapping()
        .ok_or_else(|| err(key, "must be a mapping"))?;
    only_keys(
        m,
        &[
            "type",
            "count",
            "unit",
            "label",
            "exclusive",
            "with",
            "id",
            "requires",
        ],
        key,
        "unknown key",
    )?;
    let typ = match field(m, "type") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(o) => {
            return Err(err(
                &format!("{key}.type"),
                format!("must be a non-empty string, got {}", show(o)),
            ))
        }
        None => return Err(err(&format!("{key}.type"), "required")),
    };
    let count = count(
        field(m, "count").ok_or_else(|| err(&format!("{key}.count"), "required"))?,
        &format!("{key}.count"),
    )?;
    let label = opt_str(m, key, "label")?;
    if typ == "slot" && label.is_empty() {
        return Err(err(&format!("{key}.label"), "required on a slot"));
    }
    let unit = opt_str(m, key, "unit")?;
    let exclusive = match field(m, "exclusive") {
        None => Tristate::Unspecified,
        Some(Value::Bool(true)) => Tristate::True,
        Some(Value::Bool(false)) => Tristate::False,
        Some(o) => {
            return Err(err(
                &format!("{key}.exclusive"),
                format!("must be true or false, got {}", show(o)),
            ))
        }
    };
    let with = match field(m, "with") {
        None => Vec::new(),
        Some(Value::Sequence(s)) if !s.is_empty() => s
            .iter()
            .enumerate()
            .map(|(i, r)| resource(r, &format!("{key}.with[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(err(&format!("{key}.with"), "must be a non-empty list")),
    };
    if typ == "slot" && with.is_empty() {
        return Err(err(&format!("{key}.with"), "a slot must contain resources"));
    }
    Ok(Resource {
        typ,
        count,
        unit,
        label,
        exclusive,
        with,
    })
}

impl Jobspec {
    /// Parse YAML or JSON jobspec text.
    pub fn parse(text: &str) -> Result<Jobspec, JobspecError> {
        // libyaml takes time in the square of flow nesting: measure it first.
        resource_graph::limits::check_yaml_nesting(text, resource_graph::limits::MAX_FLOW_NESTING)
            .map_err(|d| err(&d.at(), d.what()))?;
        let doc = match json_document(text) {
            Some(doc) => doc,
            None => match crate::yaml_fast::block_nodes(text) {
                // The usual jobspec straight from the block-YAML tree;
                // the rest through its YAML document.
                Some(nodes) => match crate::jobspec_fast::read(&nodes) {
                    Some(js) => return Ok(js),
                    None => nodes.to_value(),
                },
                None => yaml_document(text)?,
            },
        };
        Self::from_document(&doc)
    }

    /// [`Jobspec::parse`] by the YAML reader alone, whatever the text:
    /// what the JSON fast path must agree with (tests and fuzzing).
    #[doc(hidden)]
    pub fn parse_as_yaml(text: &str) -> Result<Jobspec, JobspecError> {
        resource_graph::limits::check_yaml_nesting(text, resource_graph::limits::MAX_FLOW_NESTING)
            .map_err(|d| err(&d.at(), d.what()))?;
        Self::from_document(&yaml_document(text)?)
    }

    /// A jobspec from its document, parsed already.
    fn from_document(doc: &Value) -> Result<Jobspec, JobspecError> {
        let m = doc
            .as_mapping()
            .ok_or_else(|| err("(document)", "must be a mapping"))?;
        Self::from_mapping(m)
    }

    fn from_mapping(m: &serde_yaml::Mapping) -> Result<Jobspec, JobspecError> {
        only_keys(
            m,
            &["version", "resources", "tasks", "attributes"],
            "",
            "unknown key",
        )?;
        let version = uint(
            field(m, "version").ok_or_else(|| err("version", "required"))?,
            "version",
        )?;
        if version != 1 && version != 9999 {
            return Err(err(
                "version",
                format!("unsupported version {version} (expected 1 or 9999)"),
            ));
        }
        let resources = match field(m, "resources") {
            Some(Value::Sequence(s)) if !s.is_empty() => s
                .iter()
                .enumerate()
                .map(|(i, r)| resource(r, &format!("resources[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(err("resources", "must be a non-empty list")),
            None => return Err(err("resources", "required")),
        };
        let mut tasks = Vec::new();
        match field(m, "tasks") {
            Some(Value::Sequence(s)) => {
                for (i, t) in s.iter().enumerate() {
                    let key = format!("tasks[{i}]");
                    let tm = t
                        .as_mapping()
                        .ok_or_else(|| err(&key, "must be a mapping"))?;
                    let command = match field(tm, "command") {
                        Some(Value::Sequence(c)) => c
                            .iter()
                            .map(|x| x.as_str().unwrap_or_default().to_owned())
                            .collect(),
                        Some(Value::String(s)) => vec![s.clone()],
                        _ => {
                            return Err(err(
                                &format!("{key}.command"),
                                "required (a list of strings)",
                            ))
                        }
                    };
                    let slot = match field(tm, "slot") {
                        Some(Value::String(s)) => s.clone(),
                        _ => return Err(err(&format!("{key}.slot"), "required (a slot label)")),
                    };
                    let count = match field(tm, "count") {
                        None => TaskCount::PerSlot(1),
                        Some(c) => task_count(c, &format!("{key}.count"))?,
                    };
                    tasks.push(Task {
                        command,
                        slot,
                        count,
                    });
                }
            }
            Some(_) => return Err(err("tasks", "must be a list")),
            None => {}
        }
        let mut duration = 0;
        let mut constraint = None;
        let mut instance = false;
        let mut dependencies = Vec::new();
        let mut output = OutputPaths::default();
        if let Some(a) = field(m, "attributes") {
            let am = a
                .as_mapping()
                .ok_or_else(|| err("attributes", "must be a mapping"))?;
            if let Some(sys) = field(am, "system") {
                let sm = sys
                    .as_mapping()
                    .ok_or_else(|| err("attributes.system", "must be a mapping"))?;
                if let Some(c) = field(sm, "constraints") {
                    constraint = Some(Constraint::parse(c, "attributes.system.constraints")?);
                }
                if let Some(sh) = field(sm, "shell") {
                    output = output::parse_shell(sh, "attributes.system.shell")?;
                }
                if let Some(d) = field(sm, "dependencies") {
                    dependencies = dependency::parse_list(d, "attributes.system.dependencies")?;
                }
                match field(sm, "instance") {
                    None => {}
                    Some(Value::Bool(b)) => instance = *b,
                    Some(o) => {
                        return Err(err(
                            "attributes.system.instance",
                            format!("must be true or false, got {}", show(o)),
                        ))
                    }
                }
                if let Some(d) = field(sm, "duration") {
                    duration = match d {
                        Value::Number(n) if n.as_f64().is_some_and(|f| f >= 0.0) => {
                            n.as_f64().unwrap_or(0.0).ceil() as u64
                        }
                        o => {
                            return Err(err(
                                "attributes.system.duration",
                                format!("must be a non-negative number, got {}", show(o)),
                            ))
                        }
                    };
                }
            }
        }
        Ok(Jobspec {
            version,
            resources,
            tasks,
            duration,
            constraint,
            instance,
            dependencies,
            output,
        })
    }
}

/// `tasks[i].count`: exactly one of `per_slot` or `total`, a positive
/// integer.
fn task_count(v: &Value, key: &str) -> Result<TaskCount, JobspecError> {
    let m = v
        .as_mapping()
        .ok_or_else(|| err(key, "must be a mapping with per_slot or total"))?;
    let num = |k: &str| -> Result<Option<u32>, JobspecError> {
        match field(m, k) {
            None => Ok(None),
            Some(x) => match x.as_u64() {
                Some(n) if n >= 1 && n <= u64::from(u32::MAX) => Ok(Some(n as u32)),
                _ => Err(err(&format!("{key}.{k}"), "must be an integer >= 1")),
            },
        }
    };
    only_keys(
        m,
        &["per_slot", "total"],
        key,
        "unknown key (per_slot or total)",
    )?;
    match (num("per_slot")?, num("total")?) {
        (Some(n), None) => Ok(TaskCount::PerSlot(n)),
        (None, Some(n)) => Ok(TaskCount::Total(n)),
        (Some(_), Some(_)) => Err(err(key, "give per_slot or total, not both")),
        (None, None) => Err(err(key, "must give per_slot or total")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON fast path reads what the YAML reader reads, and refuses
    /// what it refuses: the JSON corpus of the fuzzer, and texts where
    /// JSON and YAML could part.
    #[test]
    fn json_fast_path_reads_as_the_yaml_reader_does() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/jobspec_json");
        let mut texts: Vec<String> = std::fs::read_dir(dir)
            .expect("the fuzz corpus")
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        assert!(texts.len() > 10);
        let one = |extra: &str, count: &str| {
            format!(
                r#"{{"version": 1, "resources": [{{"type": "slot", "count": {count}, "label": "t", "with": [{{"type": "core", "count": 1}}]}}], "tasks": [{{"command": ["a\/b", "\u00e9"], "slot": "t", "count": {{"per_slot": 1}}}}]{extra}}}"#
            )
        };
        for count in ["1", "1.0", "1e0", "18446744073709551616", "-1", "\"1\""] {
            texts.push(one("", count));
        }
        texts.push(one(r#", "attributes": {"system": {"duration": 60}}"#, "2"));
        texts.push(one(r#", "version": 1"#, "1")); // a duplicate key
        texts.push(one("", "1") + " trailing");
        texts.push(one("", "1") + "\n\t\n");
        texts.push(one("", "1").replace("\"tasks\"", "\"tasks\"\r\r"));
        texts.push(one("", "1").replace("\\u00e9", "\\ud83d\\ude00"));
        for sep in ['\u{85}', '\u{2028}', '\u{2029}'] {
            texts.push(one("", "1").replace("\"slot\": \"t\"", &format!("\"sl{sep}ot\": \"t\"")));
        }
        texts.push(one(&format!(r#", "{}": 1"#, "k".repeat(1100)), "1"));
        // Spaces before the `:` count toward YAML's implicit key length.
        texts.push(one(&format!(r#", "k"{}: 1"#, " ".repeat(1100)), "1"));
        for d in ["10000000000.000001000000000", "1e23", "0.5", "2.5e3"] {
            texts.push(one(
                &format!(r#", "attributes": {{"system": {{"duration": {d}}}}}"#),
                "1",
            ));
        }
        // Where the two parted before (fuzz finds): a DEL in a string, an
        // integer past 64 bits where a float is welcome.
        texts.push(one("", "1").replace("a\\/b", "a\u{7f}b"));
        texts.push(one("", "1").replace("\"t\", \"with", "\"t\u{9f}\", \"with"));
        for d in [
            "100000000000000000000000000",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
            "1e26",
        ] {
            texts.push(one(
                &format!(r#", "attributes": {{"system": {{"duration": {d}}}}}"#),
                "1",
            ));
        }
        let mut read = 0;
        for t in &texts {
            // Refusals may be worded apart (a number past u64 is a float
            // to serde_json, an error to serde_yaml); what is read is one.
            match (Jobspec::parse(t), Jobspec::parse_as_yaml(t)) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "{t}");
                    read += 1;
                }
                (Err(_), Err(_)) => {}
                (a, b) => panic!("{t}: {a:?} / {b:?}"),
            }
        }
        assert!(read > 5, "only {read} of the texts were jobspecs");
    }

    fn with_task_count(count: &str) -> Result<Jobspec, JobspecError> {
        Jobspec::parse(&format!(
            "version: 9999\nresources:\n  - {{type: slot, count: 2, label: d, with: [{{type: core, count: 1}}]}}\ntasks: [{{command: [a], slot: d{count}}}]\n"
        ))
    }

    #[test]
    fn task_counts_per_slot_or_total() {
        let t = |c: &str| with_task_count(c).map(|j| j.tasks[0].count);
        assert_eq!(t(", count: {per_slot: 2}"), Ok(TaskCount::PerSlot(2)));
        assert_eq!(t(", count: {total: 3}"), Ok(TaskCount::Total(3)));
        assert_eq!(t(""), Ok(TaskCount::PerSlot(1)));
        assert_eq!(TaskCount::PerSlot(2).copies(3), 6);
        assert_eq!(TaskCount::Total(5).copies(3), 5);
        let e = t(", count: {per_slot: 0}").unwrap_err();
        assert_eq!(e.key, "tasks[0].count.per_slot");
        let e = t(", count: {per_slot: 1, total: 2}").unwrap_err();
        assert_eq!(e.key, "tasks[0].count");
        let e = t(", count: {each: 2}").unwrap_err();
        assert_eq!(e.key, "tasks[0].count.each");
        assert!(t(", count: 3").is_err());
    }

    #[test]
    fn parses_a_slot_jobspec() {
        let js = Jobspec::parse(
            "version: 9999\nresources:\n  - type: slot\n    count: 2\n    label: d\n    with:\n      - {type: core, count: 4}\nattributes: {system: {duration: 60}}\ntasks: [{command: [a], slot: d, count: {per_slot: 1}}]\n",
        )
        .unwrap();
        assert_eq!(js.resources[0].count, Count::fixed(2));
        assert_eq!(js.resources[0].with[0].typ, "core");
        assert_eq!(js.duration, 60);
    }

    #[test]
    fn names_the_bad_key() {
        let e = Jobspec::parse("version: 9999\nresources:\n  - type: node\n    count: 0\n")
            .unwrap_err();
        assert_eq!(e.key, "resources[0].count");
        let e = Jobspec::parse("version: 9999\nresources:\n  - type: node\n    count: 1\n    with:\n      - {count: 2}\n").unwrap_err();
        assert_eq!(e.key, "resources[0].with[0].type");
        let e = Jobspec::parse("version: 9999\nresources:\n  - {type: slot, count: 1, with: [{type: core, count: 1}]}\n").unwrap_err();
        assert_eq!(e.key, "resources[0].label");
        let e = Jobspec::parse("resources: [{type: core, count: 1}]\n").unwrap_err();
        assert_eq!(e.key, "version");
        assert!(Jobspec::parse("version: [").is_err());
    }

    #[test]
    fn count_ranges() {
        let c = Count {
            min: 2,
            max: 10,
            oper: '*',
            operand: 2,
        };
        assert_eq!(c.calc(9), 8);
        assert_eq!(c.calc(1), 0);
        assert_eq!(Count::fixed(3).calc(5), 3);
        assert_eq!(
            Count {
                min: 1,
                max: u32::MAX,
                oper: '+',
                operand: 1
            }
            .calc(7),
            7
        );
    }

    const NODE: &str = "version: 9999\nresources: [{type: node, count: 1}]\n";

    #[test]
    fn an_instance_attribute_is_a_boolean() {
        let js = Jobspec::parse(&format!(
            "{NODE}attributes: {{system: {{instance: true}}}}\n"
        ))
        .unwrap();
        assert!(js.instance);
        assert!(!Jobspec::parse(NODE).unwrap().instance);
        let e = Jobspec::parse(&format!("{NODE}attributes: {{system: {{instance: 1}}}}\n"))
            .unwrap_err();
        assert!(e
            .to_string()
            .contains("attributes.system.instance: must be true or false"));
    }

    #[test]
    fn parses_constraints() {
        let js = Jobspec::parse(&format!(
            "{NODE}attributes:\n  system:\n    duration: 10\n    constraints: {{and: [{{properties: [ssd, '^slow']}}, {{not: [{{hostlist: ['n[0-1]']}}]}}]}}\n"
        ))
        .unwrap();
        let Some(Constraint::And(cs)) = &js.constraint else {
            panic!("expected an and constraint, got {:?}", js.constraint)
        };
        assert_eq!(cs.len(), 2);
        assert!(matches!(&cs[1], Constraint::Not(n) if n.len() == 1));
        assert_eq!(js.duration, 10);

        let none =
            Jobspec::parse(&format!("{NODE}attributes: {{system: {{duration: 1}}}}\n")).unwrap();
        assert_eq!(none.constraint, None);
        let any = Jobspec::parse(&format!(
            "{NODE}attributes: {{system: {{constraints: {{}}}}}}\n"
        ))
        .unwrap();
        assert_eq!(any.constraint, Some(Constraint::Any));

        // JSON, as flux submit writes it.
        let js = Jobspec::parse(
            r#"{"version": 1, "resources": [{"type": "node", "count": 1}], "tasks": [],
                "attributes": {"system": {"constraints": {"ranks": ["0-3"]}}}}"#,
        )
        .unwrap();
        assert!(matches!(js.constraint, Some(Constraint::Ranks(_))));
    }

    #[test]
    fn deep_flow_nesting_is_refused_before_yaml_parses_it() {
        // 40,000 levels cost libyaml seconds; the scan refuses them at once.
        let deep = format!("{}1{}", r#"{"a":"#.repeat(40_000), "}".repeat(40_000));
        let e = Jobspec::parse(&deep).unwrap_err();
        assert_eq!(e.key, "line 1 column 321");
        assert!(e.what.contains("nested deeper than 64"), "{e}");
        let not = format!(
            "{NODE}attributes: {{system: {{constraints: {}{{properties: [a]}}{}}}}}\n",
            "{not: [".repeat(40),
            "]}".repeat(40)
        );
        assert!(Jobspec::parse(&not)
            .unwrap_err()
            .what
            .contains("nested deeper"));
    }

    #[test]
    fn bad_constraints_name_their_key() {
        let e = |c: &str| {
            Jobspec::parse(&format!(
                "{NODE}attributes: {{system: {{constraints: {c}}}}}\n"
            ))
            .unwrap_err()
            .to_string()
        };
        assert_eq!(
            e("{properties: [a, 1]}"),
            "attributes.system.constraints.properties[1]: must be a string, got 1"
        );
        assert_eq!(
            e("{nodes: [a]}"),
            "attributes.system.constraints.nodes: unknown constraint operator (expected properties, hostlist, ranks, and, or or not)"
        );
        assert!(e("{or: [{}, {hostlist: ['n[1-']}]}")
            .starts_with("attributes.system.constraints.or[1].hostlist[0]: invalid hostlist"));
        assert_eq!(
            e("[a]"),
            "attributes.system.constraints: must be a mapping, got - a"
        );
    }

    fn count_of(c: &str) -> Result<Count, JobspecError> {
        Jobspec::parse(&format!(
            "version: 9999\nresources: [{{type: node, count: {c}}}]\n"
        ))
        .map(|js| js.resources[0].count)
    }

    #[test]
    fn count_forms_and_defaults() {
        assert_eq!(count_of("3").unwrap(), Count::fixed(3));
        assert_eq!(
            count_of("{min: 2}").unwrap(),
            Count {
                min: 2,
                max: u32::MAX,
                oper: '+',
                operand: 1
            }
        );
        assert_eq!(
            count_of("{min: 2, max: 32, operator: '*', operand: 2}").unwrap(),
            Count {
                min: 2,
                max: 32,
                oper: '*',
                operand: 2
            }
        );
        assert_eq!(
            count_of("{min: 2, max: 100, operator: '^', operand: 2}")
                .unwrap()
                .effective_max(),
            16
        );
        assert_eq!(
            count_of("{min: 1, max: 10, operator: '+', operand: 3}")
                .unwrap()
                .calc(9),
            7
        );
    }

    #[test]
    fn bad_counts_name_their_key() {
        let e = |c: &str| count_of(c).unwrap_err().to_string();
        let k = "resources[0].count";
        assert_eq!(e("0"), format!("{k}: must be >= 1"));
        assert_eq!(
            e("'4'"),
            format!("{k}: must be a non-negative integer, got '4'")
        );
        assert_eq!(
            e("-2"),
            format!("{k}: must be a non-negative integer, got -2")
        );
        assert_eq!(
            e("4294967296"),
            format!("{k}: count too large (4294967296 > 4294967295)")
        );
        assert_eq!(e("{max: 3}"), format!("{k}.min: required"));
        assert_eq!(e("{min: 0}"), format!("{k}.min: must be >= 1"));
        assert_eq!(e("{min: 4, max: 3}"), format!("{k}.max: 3 is below min 4"));
        assert_eq!(e("{min: 1, step: 3}"), format!("{k}.step: unknown key"));
        assert_eq!(
            e("{min: 1, operator: '-'}"),
            format!("{k}.operator: must be one of + * ^, got '-'")
        );
        assert_eq!(
            e("{min: 1, max: 4, operator: '+', operand: 0}"),
            format!("{k}.operand: must be >= 1 for +")
        );
        assert_eq!(
            e("{min: 2, max: 2, operator: '*', operand: 1}"),
            format!("{k}.operand: must be >= 2 for *, got 1")
        );
        assert_eq!(
            e("{min: 2, max: 8, operator: '*'}"),
            format!("{k}.operand: must be >= 2 for *, got 1")
        );
        assert_eq!(
            e("{min: 2, max: 8, operator: '^', operand: 0}"),
            format!("{k}.operand: must be >= 2 for ^, got 0")
        );
        assert_eq!(
            e("{min: 1, max: 8, operator: '^', operand: 2}"),
            format!("{k}.min: must be >= 2 for ^")
        );
    }

    /// Fluxion's `calc_count` as a loop (resource/policies/base/matcher.cpp).
    fn calc_by_steps(c: &Count, qc: u32) -> u32 {
        if c.min > c.max || c.min > qc {
            return 0;
        }
        let (mut cur, lim, mut count) = (c.min as u64, qc.min(c.max) as u64, 0);
        while cur <= lim {
            count = cur;
            let next = match c.oper {
                '+' => cur + c.operand as u64,
                '*' => cur * c.operand as u64,
                _ => cur.saturating_pow(c.operand),
            };
            if next == cur {
                break;
            }
            cur = next;
        }
        count as u32
    }

    #[test]
    fn calc_agrees_with_stepping() {
        for oper in ['+', '*', '^'] {
            let lo = if oper == '+' { 1 } else { 2 };
            for operand in lo..6 {
                for min in lo..20 {
                    for max in [min, min + 1, min + 7, 50, u32::MAX] {
                        let c = Count {
                            min,
                            max,
                            oper,
                            operand,
                        };
                        for qc in 0..70 {
                            assert_eq!(c.calc(qc), calc_by_steps(&c, qc), "{c:?} qc={qc}");
                        }
                        if max < u32::MAX {
                            assert_eq!(c.effective_max(), calc_by_steps(&c, max), "{c:?}");
                        }
                    }
                }
            }
        }
        let huge = Count {
            min: 2,
            max: u32::MAX,
            oper: '^',
            operand: u32::MAX,
        };
        assert_eq!(
            huge.effective_max(),
            2,
            "a huge exponent stops at the first step past max"
        );
        // Stepping to u32::MAX one by one would take seconds.
        let open = Count {
            min: 1,
            max: u32::MAX,
            oper: '+',
            operand: 1,
        };
        assert_eq!(open.effective_max(), u32::MAX);
        let by3 = Count { operand: 3, ..open };
        assert_eq!(by3.effective_max(), u32::MAX - 2);
    }
}
