//! Reading spec files: size-capped JSON reads, `extends` chains (cycles
//! refused), key-by-key merging and `--set key.path=value` overrides.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result};


/// Largest spec file read (specs are a few KB; `extends` may name any path,
/// e.g. a device that never ends).
const MAX_SPEC_BYTES: u64 = 16 << 20;

fn read_json(path: &Path) -> Result<Value> {
    let meta = std::fs::metadata(path).map_err(|source| Error::SpecIo { path: path.to_path_buf(), source })?;
    if !meta.is_file() || meta.len() > MAX_SPEC_BYTES {
        let message = format!("expected a JSON file of at most {MAX_SPEC_BYTES} bytes, found {}", if meta.is_file() { format!("{} bytes", meta.len()) } else { "no regular file".into() });
        return Err(Error::SpecInvalid { path: path.to_path_buf(), message });
    }
    let text = std::fs::read_to_string(path).map_err(|source| Error::SpecIo { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text).map_err(|e| Error::SpecInvalid { path: path.to_path_buf(), message: e.to_string() })
}

pub(super) fn load_merged(path: &Path, chain: &mut Vec<PathBuf>) -> Result<Value> {
    let canonical = path.canonicalize().map_err(|source| Error::SpecIo { path: path.to_path_buf(), source })?;
    if let Some(start) = chain.iter().position(|p| *p == canonical) {
        let mut names: Vec<String> = chain[start..].iter().map(|p| p.display().to_string()).collect();
        names.push(canonical.display().to_string());
        return Err(Error::SpecCycle { chain: names.join(" -> ") });
    }
    chain.push(canonical.clone());
    let mut value = read_json(path)?;
    let Value::Object(obj) = &mut value else {
        return Err(Error::SpecInvalid { path: path.to_path_buf(), message: "top level must be a JSON object".into() });
    };
    let merged = match obj.remove("extends") {
        None => value,
        Some(Value::String(base)) => {
            let base_path = canonical.parent().unwrap_or(Path::new(".")).join(base);
            let mut base = load_merged(&base_path, chain)?;
            merge(&mut base, value);
            base
        }
        Some(other) => {
            return Err(Error::SpecInvalid {
                path: path.to_path_buf(),
                message: format!("field `extends` must be a path string, found {other}"),
            });
        }
    };
    chain.pop();
    Ok(merged)
}

/// Overlays `top` on `base`: objects merge key by key, anything else replaces.
fn merge(base: &mut Value, top: Value) {
    match (base, top) {
        (Value::Object(b), Value::Object(t)) => {
            for (k, v) in t {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, t) => *slot = t,
    }
}

/// Applies `a.b.0.c=value` to `root`, creating objects on the way.
pub(super) fn apply_override(root: &mut Value, assignment: &str) -> Result<()> {
    let bad = |message: String| Error::SpecValue { field: assignment.to_string(), message };
    let (path, raw) = assignment.split_once('=').ok_or_else(|| bad("expected key.path=value".into()))?;
    let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    let mut slot = root;
    for part in path.split('.') {
        slot = match slot {
            Value::Object(m) => m.entry(part.to_string()).or_insert(Value::Null),
            Value::Array(a) => {
                let i: usize = part.parse().map_err(|_| bad(format!("`{part}` is not a list index")))?;
                let len = a.len();
                a.get_mut(i).ok_or_else(|| bad(format!("index {i} out of range (list has {len})")))?
            }
            Value::Null => {
                *slot = Value::Object(Map::new());
                match slot {
                    Value::Object(m) => m.entry(part.to_string()).or_insert(Value::Null),
                    _ => unreachable!(),
                }
            }
            other => return Err(bad(format!("cannot descend into `{part}` of {other}"))),
        };
    }
    *slot = value;
    Ok(())
}
