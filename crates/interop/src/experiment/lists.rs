//! The text lists of a GPT-SoVITS experiment folder (`logs/<exp>/`), as
//! `GPT_SoVITS/module/data_utils.py` and `prepare_datasets/3-get-semantic.py`
//! (commit 48b1a01) read and write them.
//!
//! * `2-name2text.txt`: `name<TAB>phones<TAB>word2ph<TAB>text` per line; the
//!   phones are separated by single spaces; a line with another number of
//!   fields is skipped by GPT-SoVITS (we list it as a note).
//! * `6-name2semantic.tsv`: the header `item_name<TAB>semantic_audio`, then
//!   `name<TAB>ids` with the ids separated by spaces.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{InteropError, Result};

/// One usable line of `2-name2text.txt`.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    /// 1-based line number.
    pub line: usize,
    /// Item name (the audio file name, extension included).
    pub name: String,
    /// Phones in order.
    pub phones: Vec<String>,
    /// The normalised text.
    pub text: String,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| InteropError::Io { action: "read", path: path.to_path_buf(), source })
}

/// Parses `2-name2text.txt`: the usable lines, and `(line, field count)`
/// of the lines GPT-SoVITS skips.
pub fn name2text(path: &Path) -> Result<(Vec<TextLine>, Vec<(usize, usize)>)> {
    let mut lines = Vec::new();
    let mut notes = Vec::new();
    for (i, raw) in read(path)?.trim_matches('\n').split('\n').enumerate() {
        let fields: Vec<&str> = raw.split('\t').collect();
        if fields.len() != 4 {
            notes.push((i + 1, fields.len()));
            continue;
        }
        let phones = fields[1].split(' ').map(str::to_string).collect();
        lines.push(TextLine { line: i + 1, name: fields[0].to_string(), phones, text: fields[3].to_string() });
    }
    Ok((lines, notes))
}

/// Semantic ids of one item and the line they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticLine {
    /// 1-based line number.
    pub line: usize,
    /// The ids, or the unparsable token.
    pub ids: std::result::Result<Vec<i32>, String>,
}

/// Parses `6-name2semantic.tsv` into name -> ids. A malformed line is an
/// error naming the file and line; a bad id is kept per item (`Err(token)`).
pub fn name2semantic(path: &Path) -> Result<BTreeMap<String, SemanticLine>> {
    let mut out = BTreeMap::new();
    for (i, raw) in read(path)?.trim_matches('\n').split('\n').enumerate() {
        if i == 0 && raw == "item_name\tsemantic_audio" {
            continue;
        }
        let Some((name, ids)) = raw.split_once('\t') else {
            return Err(InteropError::Layout {
                what: format!("{}: line {}", path.display(), i + 1),
                message: format!("expected `name<TAB>ids`, found `{raw}`"),
            });
        };
        let parsed = ids.split(' ').map(|t| t.parse::<i32>().map_err(|_| t.to_string())).collect();
        out.insert(name.to_string(), SemanticLine { line: i + 1, ids: parsed });
    }
    Ok(out)
}
