//! Events: what the chaincode did, for indexers and block streams.

use serde::{Deserialize, Serialize};

/// One event: a dotted kind (`visit.recorded`) and ordered attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Dotted name, e.g. `agreement.accepted`.
    pub kind: String,
    /// Attributes in the order they were added.
    pub attrs: Vec<(String, String)>,
}

impl Event {
    /// An event without attributes.
    pub fn new(kind: &str) -> Event {
        Event { kind: kind.to_owned(), attrs: Vec::new() }
    }

    /// Adds an attribute.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl std::fmt::Display) -> Event {
        self.attrs.push((key.to_owned(), value.to_string()));
        self
    }

    /// The value of the first attribute named `key`.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The wire form.
    pub fn to_proto(&self) -> reciprocity_proto::v1::Event {
        reciprocity_proto::v1::Event {
            kind: self.kind.clone(),
            attrs: self
                .attrs
                .iter()
                .map(|(key, value)| reciprocity_proto::v1::EventAttr {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
        }
    }
}
