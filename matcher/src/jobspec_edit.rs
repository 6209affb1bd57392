//! Edits tools make to a jobspec's text before submitting it: the
//! `attributes.system` mapping opened (created where missing) so that a
//! dependency or an output path can be added, and the document written
//! back as JSON. The errors say what in the jobspec is in the way.
use serde_yaml::{Mapping, Value};

/// The jobspec `text` (YAML or JSON) read as a document.
pub(crate) fn read(text: &str) -> Result<Value, String> {
    serde_yaml::from_str(text).map_err(|e| format!("the jobspec does not parse: {e}"))
}

/// The document written as JSON (what the edits send).
pub(crate) fn write(doc: &Value) -> Result<String, String> {
    serde_json::to_string(doc).map_err(|e| format!("the jobspec cannot be written as JSON: {e}"))
}

/// The mapping at `path` below the document's root, each step created
/// as an empty mapping where missing.
pub(crate) fn mapping_at<'a>(doc: &'a mut Value, path: &[&str]) -> Result<&'a mut Mapping, String> {
    let mut at = doc;
    let mut walked = String::new();
    for key in path {
        let m = at.as_mapping_mut().ok_or_else(|| {
            if walked.is_empty() {
                "the jobspec is not a mapping".to_owned()
            } else {
                format!("{walked} is not a mapping")
            }
        })?;
        at = m
            .entry(Value::from(*key))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(key);
    }
    at.as_mapping_mut()
        .ok_or_else(|| format!("{walked} is not a mapping"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_steps_are_created_and_a_scalar_in_the_way_is_named() {
        let mut doc = read("version: 1\n").unwrap();
        mapping_at(&mut doc, &["attributes", "system"])
            .unwrap()
            .insert("x".into(), 1.into());
        assert_eq!(
            write(&doc).unwrap(),
            r#"{"version":1,"attributes":{"system":{"x":1}}}"#
        );
        let mut doc = read("attributes: {system: 3}\n").unwrap();
        let e = mapping_at(&mut doc, &["attributes", "system"]).unwrap_err();
        assert_eq!(e, "attributes.system is not a mapping");
        assert!(read("a: [")
            .unwrap_err()
            .starts_with("the jobspec does not parse"));
    }
}
