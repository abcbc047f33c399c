//! GPT-SoVITS v2Pro / v2ProPlus weights: `process_ckpt.savee(...,
//! model_version="v2Pro"|"v2ProPlus")` saves them with `my_save2`, which
//! overwrites the zip's leading `PK` with a two-byte version tag (`05` v2Pro,
//! `06` v2ProPlus, `process_ckpt.model_version2byte`, commit 48b1a01);
//! `get_sovits_version_from_path_fast` reads the tag to pick the model
//! version, and `load_sovits_new` restores `PK` before `torch.load`.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use sovits_core::components::ParamMap;

use crate::error::{InteropError, Result};

/// The tag `my_save2` writes over `PK` for a model version, `None` for v2
/// (saved by `my_save`, a plain `torch.save`).
pub fn head_tag(version: &str) -> Option<[u8; 2]> {
    match version {
        "v2Pro" => Some(*b"05"),
        "v2ProPlus" => Some(*b"06"),
        _ => None,
    }
}

/// The model version an export's config states (`model.version`, else the
/// top-level `version`, else v2), checked against the weights: a Pro version
/// needs the `sv_emb` / `ge_to512` / `prelu` tensors and v2 must not have them.
pub fn export_version(g: &ParamMap, config: &Json, out: &Path) -> Result<String> {
    let version = config
        .get("model")
        .and_then(|m| m.get("version"))
        .or_else(|| config.get("version"))
        .and_then(Json::as_str)
        .unwrap_or("v2")
        .to_string();
    let has_sv = g.contains_key("sv_emb.weight");
    let pro = head_tag(&version).is_some();
    if pro != has_sv {
        let message = if pro {
            format!("config says version {version:?} but the weights have no `sv_emb.weight`")
        } else {
            format!("the weights have `sv_emb.weight` (a v2Pro/v2ProPlus model) but the config says version {version:?}")
        };
        return Err(InteropError::Layout { what: out.display().to_string(), message });
    }
    Ok(version)
}

/// Runs `write(tmp)` for a sibling temporary file, replaces its first two
/// bytes by `tag` and renames it to `out`, so a tagged file appears whole.
pub fn write_tagged(out: &Path, tag: [u8; 2], write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let io = |action, source| InteropError::Io { action, path: out.to_path_buf(), source };
    let mut tmp = PathBuf::from(out);
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    tmp.set_file_name(format!(".{name}.untagged.{}", std::process::id()));
    write(&tmp)?;
    let result = (|| {
        let mut bytes = std::fs::read(&tmp).map_err(|e| io("read back", e))?;
        if bytes.len() < 2 || &bytes[..2] != b"PK" {
            return Err(InteropError::Layout { what: out.display().to_string(), message: "written file is not a zip".into() });
        }
        bytes[..2].copy_from_slice(&tag);
        std::fs::write(&tmp, &bytes).map_err(|e| io("write", e))?;
        std::fs::rename(&tmp, out).map_err(|e| io("rename into", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlx_rs::Array;

    #[test]
    fn tags_and_version_checks() {
        assert_eq!(head_tag("v2Pro"), Some(*b"05"));
        assert_eq!(head_tag("v2ProPlus"), Some(*b"06"));
        assert_eq!(head_tag("v2"), None);
        let out = Path::new("x.pth");
        let mut g = ParamMap::new();
        g.insert("sv_emb.weight".into(), Array::from_slice(&[0f32; 2], &[1, 2]));
        let pro = serde_json::json!({"model": {"version": "v2ProPlus"}});
        assert_eq!(export_version(&g, &pro, out).unwrap(), "v2ProPlus");
        let v2 = serde_json::json!({"model": {"version": "v2"}});
        assert!(export_version(&g, &v2, out).unwrap_err().to_string().contains("sv_emb.weight"));
        assert!(export_version(&ParamMap::new(), &pro, out).unwrap_err().to_string().contains("v2ProPlus"));
    }
}
