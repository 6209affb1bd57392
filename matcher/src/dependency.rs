//! Job dependencies (RFC 26): `attributes.system.dependencies` is a list
//! of `{scheme, value}` objects; a job starts only once every one is met.
//!
//! The schemes are Flux's: `afterstart` (alias `after`) waits for job
//! `value` to start, `afterany` for it to end, `afterok` for it to end
//! successfully, `afternotok` for it to end otherwise (failed or
//! canceled), and `singleton` until no other job of the same owner and
//! name is active. The command-line form is the RFC 26 URI
//! `SCHEME:VALUE` (`afterok:12`, `singleton`), read by
//! [`Dependency::parse_uri`]. What a dependency waits for is the
//! instance's business; this file only reads and writes them.
use serde_yaml::Value;

use crate::jobspec_edit;
use crate::spec_error::{err, only_keys, show, JobspecError};

/// Dependencies one jobspec may carry.
pub const MAX_DEPENDENCIES: usize = 1024;

/// What a dependency waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// The job started.
    AfterStart,
    /// The job ended, however it ended.
    AfterAny,
    /// The job ended successfully.
    AfterOk,
    /// The job failed or was canceled.
    AfterNotOk,
    /// No other active job of the same owner and name.
    Singleton,
}

impl Scheme {
    /// Every scheme, as [`Scheme::as_str`] names it.
    pub const ALL: [Scheme; 5] = [
        Scheme::AfterStart,
        Scheme::AfterAny,
        Scheme::AfterOk,
        Scheme::AfterNotOk,
        Scheme::Singleton,
    ];

    /// The scheme's name in a jobspec.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::AfterStart => "afterstart",
            Scheme::AfterAny => "afterany",
            Scheme::AfterOk => "afterok",
            Scheme::AfterNotOk => "afternotok",
            Scheme::Singleton => "singleton",
        }
    }

    /// The scheme `name` names (`after` is `afterstart`, as in Flux).
    pub fn parse(name: &str) -> Option<Scheme> {
        if name == "after" {
            return Some(Scheme::AfterStart);
        }
        Scheme::ALL.into_iter().find(|s| s.as_str() == name)
    }

    fn known() -> String {
        let names: Vec<&str> = Scheme::ALL.iter().map(|s| s.as_str()).collect();
        names.join(", ")
    }
}

/// One dependency of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dependency {
    /// What it waits for.
    pub scheme: Scheme,
    /// The job it waits on; 0 for `singleton`.
    pub job: u64,
}

impl std::fmt::Display for Dependency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.scheme {
            Scheme::Singleton => f.write_str("singleton"),
            s => write!(f, "{}:{}", s.as_str(), self.job),
        }
    }
}

impl Dependency {
    /// A dependency in RFC 26's URI form, `SCHEME:VALUE` (`afterok:12`,
    /// `singleton`); the error says what is wrong.
    pub fn parse_uri(uri: &str) -> Result<Dependency, String> {
        let (name, value) = uri.split_once(':').unwrap_or((uri, ""));
        if value.contains('?') {
            return Err(format!(
                "dependency '{uri}': options after '?' are not supported"
            ));
        }
        let scheme = Scheme::parse(name).ok_or_else(|| {
            format!(
                "dependency '{uri}': unknown scheme '{name}' (expected one of {})",
                Scheme::known()
            )
        })?;
        Dependency::new(scheme, value).map_err(|what| format!("dependency '{uri}': {what}"))
    }

    fn new(scheme: Scheme, value: &str) -> Result<Dependency, String> {
        if scheme == Scheme::Singleton {
            return Ok(Dependency { scheme, job: 0 });
        }
        match value.trim().parse::<u64>() {
            Ok(job) if job > 0 => Ok(Dependency { scheme, job }),
            _ => Err(format!(
                "{} needs a job id (a positive integer), got '{value}'",
                scheme.as_str()
            )),
        }
    }

    /// The RFC 26 `value`: the job id ("" for `singleton`).
    pub fn value(&self) -> String {
        match self.scheme {
            Scheme::Singleton => String::new(),
            _ => self.job.to_string(),
        }
    }

    /// The RFC 26 object: `{"scheme": ..., "value": ...}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"scheme": self.scheme.as_str(), "value": self.value()})
    }
}

/// The jobspec `text` (YAML or JSON) with `deps` added to its
/// `attributes.system.dependencies`, written as JSON; what `schedctl
/// submit --dependency` sends. The error says what is in the way.
pub fn add_to_jobspec(text: &str, deps: &[Dependency]) -> Result<String, String> {
    let mut doc = jobspec_edit::read(text)?;
    let system = jobspec_edit::mapping_at(&mut doc, &["attributes", "system"])?;
    let list = system
        .entry(Value::from("dependencies"))
        .or_insert_with(|| Value::Sequence(Vec::new()))
        .as_sequence_mut()
        .ok_or_else(|| "attributes.system.dependencies is not a list".to_owned())?;
    for d in deps {
        let mut o = serde_yaml::Mapping::new();
        o.insert("scheme".into(), d.scheme.as_str().into());
        o.insert("value".into(), d.value().into());
        list.push(Value::Mapping(o));
    }
    jobspec_edit::write(&doc)
}

/// `attributes.system.dependencies` (at `key`): a list of `{scheme,
/// value}` mappings, the value a job id as a string or an integer.
pub(crate) fn parse_list(v: &Value, key: &str) -> Result<Vec<Dependency>, JobspecError> {
    let list = v
        .as_sequence()
        .ok_or_else(|| err(key, format!("must be a list, got {}", show(v))))?;
    if list.len() > MAX_DEPENDENCIES {
        return Err(err(
            key,
            format!("{} dependencies; at most {MAX_DEPENDENCIES}", list.len()),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, d)| one(d, &format!("{key}[{i}]")))
        .collect()
}

fn one(v: &Value, key: &str) -> Result<Dependency, JobspecError> {
    let m = v
        .as_mapping()
        .ok_or_else(|| err(key, "must be a mapping with scheme and value"))?;
    only_keys(m, &["scheme", "value"], key, "unknown key")?;
    let name = match m.get("scheme") {
        Some(Value::String(s)) => s.as_str(),
        Some(o) => {
            return Err(err(
                &format!("{key}.scheme"),
                format!("must be a string, got {}", show(o)),
            ))
        }
        None => return Err(err(&format!("{key}.scheme"), "required")),
    };
    let scheme = Scheme::parse(name).ok_or_else(|| {
        err(
            &format!("{key}.scheme"),
            format!(
                "unknown scheme '{name}' (expected one of {})",
                Scheme::known()
            ),
        )
    })?;
    let value = match m.get("value") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        None if scheme == Scheme::Singleton => String::new(),
        Some(o) => {
            return Err(err(
                &format!("{key}.value"),
                format!("must be a string, got {}", show(o)),
            ))
        }
        None => return Err(err(&format!("{key}.value"), "required")),
    };
    Dependency::new(scheme, &value).map_err(|what| err(&format!("{key}.value"), what))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(yaml: &str) -> Result<Vec<Dependency>, JobspecError> {
        parse_list(&serde_yaml::from_str(yaml).unwrap(), "deps")
    }

    #[test]
    fn uris_read_as_flux_writes_them() {
        let d = Dependency::parse_uri("afterok:12").unwrap();
        assert_eq!((d.scheme, d.job), (Scheme::AfterOk, 12));
        assert_eq!(
            Dependency::parse_uri("after:3").unwrap().scheme,
            Scheme::AfterStart
        );
        assert_eq!(
            Dependency::parse_uri("singleton").unwrap().scheme,
            Scheme::Singleton
        );
        assert_eq!(d.to_string(), "afterok:12");
        let e = Dependency::parse_uri("afterall:1").unwrap_err();
        assert!(e.contains("unknown scheme 'afterall'"), "{e}");
        let e = Dependency::parse_uri("afterok:x").unwrap_err();
        assert!(e.contains("needs a job id"), "{e}");
        assert!(Dependency::parse_uri("afterok:0").is_err());
        assert!(Dependency::parse_uri("afterok:1?x=y")
            .unwrap_err()
            .contains("not supported"));
    }

    #[test]
    fn the_json_form_reads_back() {
        for uri in ["afterany:7", "afternotok:9", "afterstart:1", "singleton"] {
            let d = Dependency::parse_uri(uri).unwrap();
            let v: Value = serde_yaml::from_str(&format!("[{}]", d.to_json())).unwrap();
            assert_eq!(parse_list(&v, "d").unwrap(), vec![d]);
        }
    }

    #[test]
    fn dependencies_join_a_jobspec_file() {
        let text = "version: 1\nresources: [{type: core, count: 1}]\nattributes:\n  system:\n    duration: 5\n    dependencies: [{scheme: afterany, value: '1'}]\n";
        let d = Dependency::parse_uri("afterok:2").unwrap();
        let out = add_to_jobspec(text, &[d]).unwrap();
        let v: Value = serde_yaml::from_str(&out).unwrap();
        let got = parse_list(&v["attributes"]["system"]["dependencies"], "d").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], d);
        assert_eq!(v["attributes"]["system"]["duration"], Value::from(5));
        let bare = add_to_jobspec("version: 1\n", &[d]).unwrap();
        assert!(
            bare.contains(r#""dependencies":[{"scheme":"afterok","value":"2"}]"#),
            "{bare}"
        );
        assert!(add_to_jobspec("attributes: 3\n", &[d]).is_err());
        assert!(add_to_jobspec("a: [\n", &[d])
            .unwrap_err()
            .contains("does not parse"));
    }

    #[test]
    fn a_bad_list_names_the_entry() {
        assert_eq!(
            list("[{scheme: afterok, value: 3}, {scheme: afterok}]")
                .unwrap_err()
                .to_string(),
            "deps[1].value: required"
        );
        assert_eq!(
            list("[{scheme: afterok, value: 3, when: now}]")
                .unwrap_err()
                .to_string(),
            "deps[0].when: unknown key"
        );
        assert!(list("{scheme: afterok}").is_err());
        assert_eq!(list("[{scheme: singleton}]").unwrap()[0].job, 0);
        let many = format!("[{}]", vec!["{scheme: afterany, value: 1}"; 1025].join(","));
        assert!(list(&many).unwrap_err().what.contains("at most 1024"));
    }
}
