#![allow(dead_code)] // Each test binary uses part of these helpers.
#![allow(clippy::unwrap_used, clippy::panic)] // Test helpers panic on failure.

//! Helpers shared by the cross-crate tests.

use std::path::PathBuf;

use serde_json::Value;

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `../shared/spec/examples` beside the checkout, or `YIDI_SHARED` if set.
pub fn examples_dir() -> PathBuf {
    let shared = std::env::var_os("YIDI_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared"));
    shared.join("spec/examples")
}

/// The fields of `expected` that `actual` lacks or holds differently, as `path: expected ≠ actual`.
pub fn differences(expected: &Value, actual: &Value, path: &str) -> Vec<String> {
    let Some(fields) = expected.as_object() else {
        return if expected == actual {
            Vec::new()
        } else {
            vec![format!("{path}: {expected} ≠ {actual}")]
        };
    };
    fields
        .iter()
        .flat_map(|(key, value)| {
            let inner = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            differences(value, actual.get(key).unwrap_or(&Value::Null), &inner)
        })
        .collect()
}

/// Quotes one JSON case through the library, as `yidi quote` does.
pub fn quote_json(case: &str) -> Value {
    match yidi_formats::parse_cases(case).unwrap() {
        yidi_formats::Cases::One(case) => serde_json::to_value(yidi_formats::quote(&case)).unwrap(),
        yidi_formats::Cases::Many(_) => panic!("one case expected"),
    }
}
