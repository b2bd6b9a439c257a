//! Field paths for error messages, built for free and formatted only when an error needs
//! one: a quote of 100,000 cases must not format a million paths that are never shown.

use std::fmt;

/// Where a value sits in a document: `[3].lines[2].qty`.
#[derive(Clone, Copy, Debug)]
pub struct FieldPath<'a> {
    parent: Option<&'a FieldPath<'a>>,
    step: Step<'a>,
}

#[derive(Clone, Copy, Debug)]
enum Step<'a> {
    Root,
    Field(&'a str),
    Index(usize),
}

impl<'a> FieldPath<'a> {
    /// The document itself.
    pub const ROOT: FieldPath<'static> = FieldPath { parent: None, step: Step::Root };

    /// `self.name`.
    pub fn field(&'a self, name: &'a str) -> FieldPath<'a> {
        FieldPath { parent: Some(self), step: Step::Field(name) }
    }

    /// `self[index]`.
    pub fn index(&'a self, index: usize) -> FieldPath<'a> {
        FieldPath { parent: Some(self), step: Step::Index(index) }
    }
}

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(parent) = self.parent else {
            return Ok(());
        };
        parent.fmt(f)?;
        match self.step {
            Step::Root => Ok(()),
            Step::Field(name) if parent.parent.is_none() => f.write_str(name),
            Step::Field(name) => write!(f, ".{name}"),
            Step::Index(index) => write!(f, "[{index}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_the_document() {
        let root = FieldPath::ROOT;
        let case = root.index(3);
        let lines = case.field("lines");
        let line = lines.index(2);
        assert_eq!(line.field("qty").to_string(), "[3].lines[2].qty");
        let policy = root.field("policy");
        assert_eq!(policy.field("region").to_string(), "policy.region");
        assert_eq!(root.to_string(), "");
    }
}
