//! The error every jobspec and constraint parser returns: the path of the
//! offending key and what was wrong with it. It sits below both
//! `jobspec` and `constraint`, which each build it.
use serde_yaml::Value;

/// A jobspec error: the path of the offending key and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {what}")]
pub struct JobspecError {
    pub key: String,
    pub what: String,
}

/// An error at `key`.
pub(crate) fn err(key: &str, what: impl Into<String>) -> JobspecError {
    JobspecError {
        key: key.to_owned(),
        what: what.into(),
    }
}

/// A value as it would be written in the jobspec, for error messages.
pub(crate) fn show(v: &Value) -> String {
    serde_yaml::to_string(v)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// A non-negative integer at `key`.
pub(crate) fn uint(v: &Value, key: &str) -> Result<u64, JobspecError> {
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

/// The value of `key` in `m`, found by comparing keys in order: a
/// jobspec's mappings hold a handful of keys, and a scan costs less than
/// hashing the key (SipHash, serde_yaml's) for every field a parse reads.
/// Finds what `m.get(key)` finds: the value of the string key `key`.
pub(crate) fn field<'a>(m: &'a serde_yaml::Mapping, key: &str) -> Option<&'a serde_yaml::Value> {
    m.iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// Fail, saying `what`, at the first key of `m` not in `allowed`; it is
/// named below `prefix` (bare at the top level, where `prefix` is "").
pub(crate) fn only_keys(
    m: &serde_yaml::Mapping,
    allowed: &[&str],
    prefix: &str,
    what: &str,
) -> Result<(), JobspecError> {
    for k in m.keys() {
        let ks = k.as_str().unwrap_or("");
        if !allowed.contains(&ks) {
            let at = if prefix.is_empty() {
                ks.to_owned()
            } else {
                format!("{prefix}.{ks}")
            };
            return Err(err(&at, what));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_finds_what_get_finds() {
        let m: serde_yaml::Mapping = serde_yaml::from_str(
            "type: core\n1: one\ntrue: yes\n\"count\": 2\nnull: x\n'with': [a]\n",
        )
        .expect("test mapping parses");
        for key in [
            "type", "count", "with", "1", "true", "null", "", "missing", "Type",
        ] {
            assert_eq!(field(&m, key), m.get(key), "{key}");
        }
    }
}
