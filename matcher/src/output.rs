//! Where a job's standard output and error go: Flux's shell options
//! `attributes.system.shell.options.output.stdout` and `.stderr`, each
//! `{type: file, path: TEMPLATE}` (`type` may be left out). A path is
//! absolute and may hold the tags `{{id}}` and `{{jobid}}`, which become
//! the job's id when it starts; any other tag is refused. Without
//! `stderr`, errors go to stdout's file; without either, the instance
//! keeps the output in its state directory. This file only reads, expands
//! and writes the paths; opening them is the executor's business.
use serde_yaml::Value;

use crate::jobspec_edit;
use crate::spec_error::{err, only_keys, show, JobspecError};

/// The longest path (after expansion) a job may name, as Linux's PATH_MAX.
pub const MAX_PATH: usize = 4096;

/// The tags a path template may hold.
const TAGS: [&str; 2] = ["id", "jobid"];

/// A job's output paths as its jobspec gives them (templates, unexpanded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputPaths {
    /// Standard output's file; `None`: the instance's own.
    pub stdout: Option<String>,
    /// Standard error's file; `None`: stdout's (the instance's own when
    /// stdout has none either).
    pub stderr: Option<String>,
}

impl OutputPaths {
    /// Whether the jobspec names no file at all.
    pub fn is_empty(&self) -> bool {
        self.stdout.is_none() && self.stderr.is_none()
    }
}

/// `template` with its tags replaced by job `id`'s values. Templates
/// are checked when the jobspec is read, so every tag here is known.
pub fn expand(template: &str, id: u64) -> String {
    let id = id.to_string();
    TAGS.iter().fold(template.to_owned(), |t, tag| {
        t.replace(&format!("{{{{{tag}}}}}"), &id)
    })
}

/// Check one path template (at `key`): absolute, without NUL, known
/// tags only, not longer than [`MAX_PATH`] once expanded.
pub fn check_template(template: &str) -> Result<(), String> {
    if !template.starts_with('/') {
        return Err(format!(
            "'{template}' is not an absolute path (schedctl makes relative paths absolute)"
        ));
    }
    if template.contains('\0') {
        return Err("a path may not hold a NUL byte".into());
    }
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(format!("'{template}': '{{{{' without a closing '}}}}'"));
        };
        let tag = &after[..close];
        if !TAGS.contains(&tag) {
            return Err(format!(
                "'{template}': unknown tag {{{{{tag}}}}} (known: {{{{id}}}}, {{{{jobid}}}})"
            ));
        }
        rest = &after[close + 2..];
    }
    if expand(template, u64::MAX).len() > MAX_PATH {
        return Err(format!("the path is longer than {MAX_PATH} bytes"));
    }
    Ok(())
}

/// `attributes.system.shell` (at `key`): its `options.output`, if any.
/// Other shell options are left alone (other shells' business).
pub(crate) fn parse_shell(v: &Value, key: &str) -> Result<OutputPaths, JobspecError> {
    let shell = v
        .as_mapping()
        .ok_or_else(|| err(key, format!("must be a mapping, got {}", show(v))))?;
    let Some(opts) = shell.get("options") else {
        return Ok(OutputPaths::default());
    };
    let key = format!("{key}.options");
    let opts = opts
        .as_mapping()
        .ok_or_else(|| err(&key, format!("must be a mapping, got {}", show(opts))))?;
    let Some(out) = opts.get("output") else {
        return Ok(OutputPaths::default());
    };
    let key = format!("{key}.output");
    let m = out
        .as_mapping()
        .ok_or_else(|| err(&key, format!("must be a mapping, got {}", show(out))))?;
    only_keys(
        m,
        &["stdout", "stderr"],
        &key,
        "unknown key (stdout or stderr)",
    )?;
    let one = |name: &str| -> Result<Option<String>, JobspecError> {
        let Some(v) = m.get(name) else {
            return Ok(None);
        };
        let key = format!("{key}.{name}");
        let f = v
            .as_mapping()
            .ok_or_else(|| err(&key, format!("must be a mapping, got {}", show(v))))?;
        only_keys(f, &["type", "path"], &key, "unknown key (type or path)")?;
        match f.get("type") {
            None => {}
            Some(Value::String(t)) if t == "file" => {}
            Some(t) => {
                return Err(err(
                    &format!("{key}.type"),
                    format!("must be \"file\", got {}", show(t)),
                ))
            }
        }
        let path = match f.get("path") {
            Some(Value::String(p)) => p.clone(),
            Some(p) => {
                return Err(err(
                    &format!("{key}.path"),
                    format!("must be a string, got {}", show(p)),
                ))
            }
            None => return Err(err(&format!("{key}.path"), "required")),
        };
        check_template(&path).map_err(|what| err(&format!("{key}.path"), what))?;
        Ok(Some(path))
    };
    Ok(OutputPaths {
        stdout: one("stdout")?,
        stderr: one("stderr")?,
    })
}

/// The jobspec `text` (YAML or JSON) with its output paths set to
/// `paths` (the ones given; others are kept), written as JSON; what
/// `schedctl submit --output/--error` sends.
pub fn add_to_jobspec(text: &str, paths: &OutputPaths) -> Result<String, String> {
    let mut doc = jobspec_edit::read(text)?;
    let output = jobspec_edit::mapping_at(
        &mut doc,
        &["attributes", "system", "shell", "options", "output"],
    )?;
    for (name, path) in [("stdout", &paths.stdout), ("stderr", &paths.stderr)] {
        if let Some(p) = path {
            check_template(p).map_err(|what| format!("{name}: {what}"))?;
            let mut f = serde_yaml::Mapping::new();
            f.insert("type".into(), "file".into());
            f.insert("path".into(), p.as_str().into());
            output.insert(name.into(), Value::Mapping(f));
        }
    }
    jobspec_edit::write(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(yaml: &str) -> Result<OutputPaths, JobspecError> {
        parse_shell(&serde_yaml::from_str(yaml).unwrap(), "s")
    }

    #[test]
    fn tags_expand_to_the_job_id() {
        assert_eq!(expand("/o/{{id}}.out", 42), "/o/42.out");
        assert_eq!(expand("/o/{{jobid}}-{{id}}", 7), "/o/7-7");
        assert_eq!(expand("/o/plain", 7), "/o/plain");
    }

    #[test]
    fn templates_are_absolute_with_known_tags() {
        assert!(check_template("/a/{{id}}").is_ok());
        assert!(check_template("out.txt")
            .unwrap_err()
            .contains("not an absolute path"));
        assert!(check_template("/a/{{name}}")
            .unwrap_err()
            .contains("unknown tag {{name}}"));
        assert!(check_template("/a/{{id")
            .unwrap_err()
            .contains("without a closing"));
        assert!(check_template("/a\0b").is_err());
        assert!(check_template(&format!("/{}", "a".repeat(MAX_PATH))).is_err());
    }

    #[test]
    fn shell_options_give_the_paths_and_name_a_bad_key() {
        let p = shell("{options: {output: {stdout: {type: file, path: '/o/{{id}}'}}}}").unwrap();
        assert_eq!(p.stdout.as_deref(), Some("/o/{{id}}"));
        assert_eq!(p.stderr, None);
        assert!(shell("{options: {cpu-affinity: off}}").unwrap().is_empty());
        assert!(shell("{}").unwrap().is_empty());
        let e = shell("{options: {output: {stdout: {type: kvs, path: /o}}}}").unwrap_err();
        assert_eq!(e.key, "s.options.output.stdout.type");
        let e = shell("{options: {output: {stderr: {path: 3}}}}").unwrap_err();
        assert_eq!(e.key, "s.options.output.stderr.path");
        let e = shell("{options: {output: {stdout: {type: file}}}}").unwrap_err();
        assert_eq!(e.to_string(), "s.options.output.stdout.path: required");
        let e = shell("{options: {output: {stdin: {path: /o}}}}").unwrap_err();
        assert_eq!(e.key, "s.options.output.stdin");
        assert!(shell("{options: {output: {stdout: {path: rel}}}}").is_err());
        assert!(shell("3").is_err());
    }

    #[test]
    fn paths_join_a_jobspec_and_read_back() {
        let paths = OutputPaths {
            stdout: Some("/o/{{id}}.out".into()),
            stderr: None,
        };
        let text =
            add_to_jobspec("version: 1\nattributes: {system: {duration: 5}}\n", &paths).unwrap();
        let v: Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(
            shell(&serde_yaml::to_string(&v["attributes"]["system"]["shell"]).unwrap()).unwrap(),
            paths
        );
        assert_eq!(v["attributes"]["system"]["duration"], Value::from(5));
        let bad = OutputPaths {
            stdout: Some("rel".into()),
            stderr: None,
        };
        assert!(add_to_jobspec("version: 1\n", &bad)
            .unwrap_err()
            .starts_with("stdout:"));
    }
}
