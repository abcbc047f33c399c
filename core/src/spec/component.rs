//! One component entry of a spec (`generator`, a discriminator, a loss, ...):
//! its registered name, params, and weight.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::kind::Kind;

/// One component entry: a registered name, its params, and (losses only) a weight.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    /// Registered plugin name.
    pub name: String,
    /// Loss weight (losses only; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f32>,
    /// Options for the plugin's `Config`; unknown fields are errors.
    #[serde(default = "empty_object")]
    pub params: Value,
    /// JSON path of this entry in the spec (`discriminators[1]`), for errors.
    #[serde(skip)]
    pub at: String,
}

/// The default `params`: an empty object.
pub(super) fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl ComponentSpec {
    /// An entry with default params.
    pub fn named(name: &str) -> Self {
        Self { name: name.to_string(), weight: None, params: empty_object(), at: name.to_string() }
    }

    /// A loss entry with a weight.
    pub fn weighted(name: &str, weight: f32) -> Self {
        Self { weight: Some(weight), ..Self::named(name) }
    }

    /// Sets the params object.
    pub fn with_params(mut self, params: Value) -> Self {
        self.params = params;
        self
    }

    /// Parses `params` into the plugin's `Config`; errors name the entry and field.
    pub fn parse_params<C: DeserializeOwned>(&self, kind: Kind) -> Result<C> {
        let params = if self.params.is_null() { empty_object() } else { self.params.clone() };
        serde_path_to_error::deserialize(params).map_err(|e| {
            let path = e.path().to_string();
            Error::PluginConfig {
                kind,
                name: self.name.clone(),
                at: self.at.clone(),
                field: if path == "." { "params".into() } else { format!("params.{path}") },
                message: e.into_inner().to_string(),
            }
        })
    }
}
