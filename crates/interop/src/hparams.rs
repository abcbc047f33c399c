//! GPT-SoVITS's `utils.HParams` config object <-> JSON.
//!
//! `HParams(**d)` turns every nested dict into another `HParams` and stores
//! each entry as an instance attribute, so the pickler writes it as
//! `GLOBAL utils.HParams; EMPTY_TUPLE; NEWOBJ; <attribute dict>; BUILD`.
//! GPT-SoVITS reads it back with both `hps["model"]` and `hps.model.version`
//! access, so nested sections must stay `HParams`, not plain dicts.

use serde_json::{Map, Number, Value as Json};

use crate::error::{InteropError, Result};
use crate::pickle_read::{Construct, Value};

/// The pickle global of the config class.
pub const HPARAMS: &str = "utils.HParams";

fn layout(what: &str, message: impl Into<String>) -> InteropError {
    InteropError::Layout { what: what.to_string(), message: message.into() }
}

/// Converts a pickled config (HParams, dicts, lists, scalars) to JSON.
/// `what` names the key path for errors.
pub fn to_json(v: &Value, what: &str) -> Result<Json> {
    Ok(match v {
        Value::None => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::Number((*i).into()),
        Value::Float(f) => Json::Number(Number::from_f64(*f).ok_or_else(|| layout(what, format!("non-finite float {f}")))?),
        Value::Str(s) => Json::String(s.clone()),
        Value::List(items) | Value::Tuple(items) => {
            Json::Array(items.iter().enumerate().map(|(i, x)| to_json(x, &format!("{what}[{i}]"))).collect::<Result<_>>()?)
        }
        Value::Dict { items, .. } => {
            let mut m = Map::new();
            for (k, x) in items {
                let key = match k {
                    Value::Str(s) => s.clone(),
                    Value::Int(i) => i.to_string(),
                    other => return Err(layout(what, format!("dict key of type {}", other.kind()))),
                };
                let sub = to_json(x, &format!("{what}.{key}"))?;
                m.insert(key, sub);
            }
            Json::Object(m)
        }
        Value::Object { class, state, .. } if class == HPARAMS => match state.as_deref() {
            Some(s @ Value::Dict { .. }) => to_json(s, what)?,
            None => Json::Object(Map::new()),
            Some(other) => return Err(layout(what, format!("HParams state is a {}, expected a dict", other.kind()))),
        },
        other => return Err(layout(what, format!("config value of type {} cannot be converted to JSON", other.kind()))),
    })
}

/// Converts JSON to the pickle tree `utils.HParams(**json)` builds: every
/// object becomes an `HParams` instance (recursively), arrays become lists.
/// Integers stay ints and floats stay floats (`32768.0` keeps its `.0`).
pub fn from_json(j: &Json) -> Value {
    match j {
        Json::Null => Value::None,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Str(s.clone()),
        Json::Array(items) => Value::List(items.iter().map(from_json).collect()),
        Json::Object(m) => Value::Object {
            class: HPARAMS.into(),
            construct: Construct::NewObj,
            args: Vec::new(),
            state: Some(Box::new(Value::Dict {
                ordered: false,
                items: m.iter().map(|(k, v)| (Value::Str(k.clone()), from_json(v))).collect(),
            })),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_config_round_trips() -> Result<()> {
        let j: Json = serde_json::from_str(r#"{"train":{"lr":0.0001,"betas":[0.8,0.99]},"data":{"max_wav_value":32768.0,"mel_fmax":null},"model":{"n_layers":6}}"#)
            .map_err(|e| layout("test", e.to_string()))?;
        let back = to_json(&from_json(&j), "config")?;
        assert_eq!(back, j);
        assert!(back["data"]["max_wav_value"].is_f64());
        Ok(())
    }
}
