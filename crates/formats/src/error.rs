//! The error of every readable format: which field, and what is wrong with it.

use thiserror::Error;

/// Input that cannot become domain data. `Display` is one line that names the field, as
/// `yidi quote` prints it: `lines[2].qty: must not be negative`.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum FormatError {
    /// The text is not well-formed JSON or TOML, or a field has the wrong type or is missing.
    #[error("{}{message}", at(path))]
    Syntax { path: String, message: String },
    /// A field is well-formed but not a valid value.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

fn at(path: &str) -> String {
    if path.is_empty() || path == "." {
        String::new()
    } else {
        format!("{path}: ")
    }
}

impl FormatError {
    pub fn invalid(path: impl ToString, message: impl ToString) -> FormatError {
        FormatError::Invalid { path: path.to_string(), message: message.to_string() }
    }

    /// The same error for a document found at `outer` inside a larger one.
    pub fn within(self, outer: &crate::path::FieldPath) -> FormatError {
        let prefix = outer.to_string();
        if prefix.is_empty() {
            return self;
        }
        let join = |path: String| {
            if path.is_empty() || path == "." {
                prefix.clone()
            } else if path.starts_with('[') {
                format!("{prefix}{path}")
            } else {
                format!("{prefix}.{path}")
            }
        };
        match self {
            FormatError::Syntax { path, message } => {
                FormatError::Syntax { path: join(path), message }
            }
            FormatError::Invalid { path, message } => {
                FormatError::Invalid { path: join(path), message }
            }
        }
    }

    /// The field the error is about (empty for the whole document).
    pub fn path(&self) -> &str {
        match self {
            FormatError::Syntax { path, .. } | FormatError::Invalid { path, .. } => path,
        }
    }

    /// A stable code for dead letters and API errors.
    pub fn code(&self) -> &'static str {
        match self {
            FormatError::Syntax { .. } => "FMT_01",
            FormatError::Invalid { .. } => "FMT_02",
        }
    }
}

/// Reads `T` from JSON, naming the path of the first problem.
///
/// Tracking the path costs an allocation per object key, so well-formed input (nearly all
/// of it) is read without it, and only input that fails is read again to find where.
pub fn from_json<'de, T: serde::Deserialize<'de>>(text: &'de str) -> Result<T, FormatError> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(_) => Err(json_error::<T>(text)),
    }
}

fn json_error<'de, T: serde::Deserialize<'de>>(text: &'de str) -> FormatError {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let error = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(_) => match deserializer.end() {
            Ok(()) => {
                return FormatError::Syntax { path: String::new(), message: "invalid JSON".into() }
            }
            Err(error) => {
                return FormatError::Syntax {
                    path: String::new(),
                    message: format!("invalid JSON: {error}"),
                }
            }
        },
        Err(error) => error,
    };
    let path = error.path().to_string();
    let inner = error.into_inner();
    let message = strip_position(&inner.to_string());
    let message = if inner.is_syntax() || inner.is_eof() {
        format!("invalid JSON at line {} column {}: {message}", inner.line(), inner.column())
    } else {
        message
    };
    syntax(path, message)
}

/// Reads `T` from TOML, naming the path of the first problem.
pub fn from_toml<'de, T: serde::Deserialize<'de>>(text: &'de str) -> Result<T, FormatError> {
    let deserializer = toml::Deserializer::parse(text).map_err(|error| FormatError::Syntax {
        path: String::new(),
        message: one_line(&error.to_string()),
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        syntax(path, one_line(&error.into_inner().to_string()))
    })
}

/// serde reports a missing field at its parent (`missing field `cap``); name the field itself.
fn syntax(path: String, message: String) -> FormatError {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .map(str::to_owned);
    match missing {
        Some(field) => {
            let path =
                if path.is_empty() || path == "." { field } else { format!("{path}.{field}") };
            FormatError::Syntax { path, message: "missing field".into() }
        }
        None => FormatError::Syntax { path, message },
    }
}

/// serde_json appends " at line L column C"; the path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
