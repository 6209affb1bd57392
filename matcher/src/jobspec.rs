//! Jobspec parsing and validation (RFC 14 canonical and RFC 25 V1).
//!
//! A jobspec is YAML (JSON is YAML too) with `version`, `resources`,
//! `tasks` and `attributes`. Parsing checks every key and reports the path
//! of the bad one, e.g. `resources[0].with[1].count: must be >= 1`.
use serde_yaml::Value;

/// A count request: `min`, at most `max`, stepping by `operator operand`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub min: u32,
    pub max: u32,
    pub oper: char,
    pub operand: u32,
}

impl Count {
    /// Exactly `n`.
    pub fn fixed(n: u32) -> Self {
        Count {
            min: n,
            max: n,
            oper: '+',
            operand: 1,
        }
    }

    /// Largest count reachable from `min` by the operator without
    /// exceeding `max`.
    pub fn effective_max(&self) -> u32 {
        self.calc(u32::MAX)
    }

    /// The count to take when `qualified` units are available: the largest
    /// reachable value not above `qualified` or `max`; 0 when `min` cannot
    /// be met.
    pub fn calc(&self, qualified: u32) -> u32 {
        if self.min > self.max || self.min > qualified {
            return 0;
        }
        let mut count = 0;
        let mut cur = self.min as u64;
        let lim = (qualified.min(self.max)) as u64;
        match self.oper {
            '+' => {
                while cur <= lim {
                    count = cur;
                    if self.operand == 0 {
                        break;
                    }
                    cur += self.operand as u64;
                }
            }
            '*' => {
                while cur <= lim {
                    count = cur;
                    if self.operand < 2 {
                        break;
                    }
                    cur *= self.operand as u64;
                }
            }
            '^' => {
                if self.operand < 2 {
                    count = cur;
                } else {
                    while cur <= lim {
                        count = cur;
                        let base = cur;
                        for _ in 1..self.operand {
                            cur = cur.saturating_mul(base);
                        }
                        if cur == base {
                            break;
                        }
                    }
                }
            }
            _ => {}
        }
        count as u32
    }
}

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

/// A task of the jobspec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub command: Vec<String>,
    pub slot: String,
}

/// A parsed, validated jobspec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jobspec {
    pub version: u64,
    pub resources: Vec<Resource>,
    pub tasks: Vec<Task>,
    /// attributes.system.duration in seconds; 0 when not given.
    pub duration: u64,
}

/// A jobspec error: the path of the offending key and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {what}")]
pub struct JobspecError {
    pub key: String,
    pub what: String,
}

fn err(key: &str, what: impl Into<String>) -> JobspecError {
    JobspecError {
        key: key.to_owned(),
        what: what.into(),
    }
}

fn uint(v: &Value, key: &str) -> Result<u64, JobspecError> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                    .map(|f| f as u64)
            })
            .ok_or_else(|| err(key, format!("must be a non-negative integer, got {n}"))),
        other => Err(err(
            key,
            format!("must be a non-negative integer, got {}", show(other)),
        )),
    }
}

fn show(v: &Value) -> String {
    serde_yaml::to_string(v)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn count(v: &Value, key: &str) -> Result<Count, JobspecError> {
    let c = match v {
        Value::Mapping(m) => {
            for k in m.keys() {
                let ks = k.as_str().unwrap_or("");
                if !["min", "max", "operator", "operand"].contains(&ks) {
                    return Err(err(&format!("{key}.{ks}"), "unknown key"));
                }
            }
            let min = m
                .get("min")
                .ok_or_else(|| err(&format!("{key}.min"), "required"))
                .and_then(|v| uint(v, &format!("{key}.min")))?;
            let max = match m.get("max") {
                Some(v) => uint(v, &format!("{key}.max"))?,
                None => u32::MAX as u64,
            };
            let oper = match m.get("operator") {
                None => '+',
                Some(Value::String(s)) if ["+", "*", "^"].contains(&s.as_str()) => {
                    s.chars().next().unwrap_or('+')
                }
                Some(o) => {
                    return Err(err(
                        &format!("{key}.operator"),
                        format!("must be one of + * ^, got {}", show(o)),
                    ))
                }
            };
            let operand = match m.get("operand") {
                Some(v) => uint(v, &format!("{key}.operand"))?,
                None => 1,
            };
            if min > u32::MAX as u64 || max > u32::MAX as u64 || operand > u32::MAX as u64 {
                return Err(err(key, "count too large"));
            }
            if max < min {
                return Err(err(key, format!("max {max} is below min {min}")));
            }
            if (oper == '*' || oper == '^') && operand < 2 && max > min {
                return Err(err(&format!("{key}.operand"), "must be >= 2 for * and ^"));
            }
            Count {
                min: min as u32,
                max: max as u32,
                oper,
                operand: operand as u32,
            }
        }
        other => {
            let n = uint(other, key)?;
            if n > u32::MAX as u64 {
                return Err(err(key, "count too large"));
            }
            Count::fixed(n as u32)
        }
    };
    if c.min < 1 {
        return Err(err(key, "must be >= 1"));
    }
    Ok(c)
}

fn resource(v: &Value, key: &str) -> Result<Resource, JobspecError> {
    let m = v
        .as_mapping()
        .ok_or_else(|| err(key, "must be a mapping"))?;
    for k in m.keys() {
        let ks = k.as_str().unwrap_or("");
        if ![
            "type",
            "count",
            "unit",
            "label",
            "exclusive",
            "with",
            "id",
            "requires",
        ]
        .contains(&ks)
        {
            return Err(err(&format!("{key}.{ks}"), "unknown key"));
        }
    }
    let typ = match m.get("type") {
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
        m.get("count")
            .ok_or_else(|| err(&format!("{key}.count"), "required"))?,
        &format!("{key}.count"),
    )?;
    let label = match m.get("label") {
        Some(Value::String(s)) => s.clone(),
        Some(o) => {
            return Err(err(
                &format!("{key}.label"),
                format!("must be a string, got {}", show(o)),
            ))
        }
        None => String::new(),
    };
    if typ == "slot" && label.is_empty() {
        return Err(err(&format!("{key}.label"), "required on a slot"));
    }
    let unit = match m.get("unit") {
        Some(Value::String(s)) => s.clone(),
        Some(o) => {
            return Err(err(
                &format!("{key}.unit"),
                format!("must be a string, got {}", show(o)),
            ))
        }
        None => String::new(),
    };
    let exclusive = match m.get("exclusive") {
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
    let with = match m.get("with") {
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
        let doc: Value = serde_yaml::from_str(text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!("line {} column {}", l.line(), l.column()))
                .unwrap_or_default();
            err(
                if at.is_empty() { "(document)" } else { &at },
                format!("malformed YAML/JSON: {e}"),
            )
        })?;
        let m = doc
            .as_mapping()
            .ok_or_else(|| err("(document)", "must be a mapping"))?;
        for k in m.keys() {
            let ks = k.as_str().unwrap_or("");
            if !["version", "resources", "tasks", "attributes"].contains(&ks) {
                return Err(err(ks, "unknown key"));
            }
        }
        let version = uint(
            m.get("version").ok_or_else(|| err("version", "required"))?,
            "version",
        )?;
        if version != 1 && version != 9999 {
            return Err(err(
                "version",
                format!("unsupported version {version} (expected 1 or 9999)"),
            ));
        }
        let resources = match m.get("resources") {
            Some(Value::Sequence(s)) if !s.is_empty() => s
                .iter()
                .enumerate()
                .map(|(i, r)| resource(r, &format!("resources[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(err("resources", "must be a non-empty list")),
            None => return Err(err("resources", "required")),
        };
        let mut tasks = Vec::new();
        match m.get("tasks") {
            Some(Value::Sequence(s)) => {
                for (i, t) in s.iter().enumerate() {
                    let key = format!("tasks[{i}]");
                    let tm = t
                        .as_mapping()
                        .ok_or_else(|| err(&key, "must be a mapping"))?;
                    let command = match tm.get("command") {
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
                    let slot = match tm.get("slot") {
                        Some(Value::String(s)) => s.clone(),
                        _ => return Err(err(&format!("{key}.slot"), "required (a slot label)")),
                    };
                    tasks.push(Task { command, slot });
                }
            }
            Some(_) => return Err(err("tasks", "must be a list")),
            None => {}
        }
        let mut duration = 0;
        if let Some(a) = m.get("attributes") {
            let am = a
                .as_mapping()
                .ok_or_else(|| err("attributes", "must be a mapping"))?;
            if let Some(sys) = am.get("system") {
                let sm = sys
                    .as_mapping()
                    .ok_or_else(|| err("attributes.system", "must be a mapping"))?;
                if let Some(d) = sm.get("duration") {
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
