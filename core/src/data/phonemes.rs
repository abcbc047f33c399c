//! Phoneme ids in the GPT-SoVITS v2 symbol table, from espeak-ng's IPA.
//!
//! The table (`symbols_v2.txt`, 732 symbols, one per line, id = line index) is
//! the list GPT-SoVITS builds in `GPT_SoVITS/text/symbols2.py` (commit 48b1a01):
//! `sorted(set([pad] + c + v + ja + punctuation + arpa))`, then `[`, `]`, Korean,
//! Cantonese. For English the reference uses g2p_en's ARPAbet phones with stress
//! digits (`HH AH0 L OW1`); we get IPA from `espeak-ng -q --ipa` and map it onto
//! the same ARPAbet symbols with [`IPA_TO_ARPABET`]:
//!
//! * vowels take the stress of the preceding espeak mark: `ˈ` -> 1, `ˌ` -> 2, none -> 0;
//! * length marks (`ː`), syllabic marks, ties and glottal stops carry no phone;
//! * the flap `ɾ` becomes `T`; `ɐ`, `ʌ`, `ə` become `AH`; `ɚ`, `ɜ`, `ɝ` become `ER`;
//! * clause punctuation `, . ! ? -` is kept as the table's punctuation symbols
//!   (`;` and `:` become `,`), as the reference's English frontend does.

use std::collections::HashMap;
use std::process::Command;
use std::sync::OnceLock;

use crate::error::{Error, Result};

const TABLE: &str = include_str!("symbols_v2.txt");

/// The 732 v2 symbols in id order.
pub fn symbols() -> &'static [&'static str] {
    static SYMBOLS: OnceLock<Vec<&'static str>> = OnceLock::new();
    SYMBOLS.get_or_init(|| TABLE.lines().collect())
}

/// The id of `symbol` in the v2 table.
pub fn symbol_id(symbol: &str) -> Option<i32> {
    static IDS: OnceLock<HashMap<&'static str, i32>> = OnceLock::new();
    IDS.get_or_init(|| symbols().iter().enumerate().map(|(i, s)| (*s, i as i32)).collect())
        .get(symbol)
        .copied()
}

/// IPA (as espeak-ng writes it for English) to ARPAbet; vowels without stress digit.
/// Longest match first: multi-character entries are listed before their prefixes.
pub const IPA_TO_ARPABET: &[(&str, &str, bool)] = &[
    // (ipa, arpabet, is_vowel)
    ("aɪə", "AY", true), ("aɪ", "AY", true), ("aʊ", "AW", true), ("eɪ", "EY", true),
    ("oʊ", "OW", true), ("əʊ", "OW", true), ("ɔɪ", "OY", true), ("ɪə", "IH", true),
    ("eə", "EH", true), ("ʊə", "UH", true), ("tʃ", "CH", false), ("dʒ", "JH", false),
    ("ɑ", "AA", true), ("ɒ", "AA", true), ("a", "AA", true), ("æ", "AE", true),
    ("ʌ", "AH", true), ("ə", "AH", true), ("ɐ", "AH", true), ("ɔ", "AO", true),
    ("ɛ", "EH", true), ("e", "EH", true), ("ɜ", "ER", true), ("ɚ", "ER", true),
    ("ɝ", "ER", true), ("ɪ", "IH", true), ("ᵻ", "IH", true), ("i", "IY", true),
    ("ʊ", "UH", true), ("u", "UW", true), ("o", "OW", true),
    ("b", "B", false), ("d", "D", false), ("ð", "DH", false), ("f", "F", false),
    ("ɡ", "G", false), ("g", "G", false), ("h", "HH", false), ("j", "Y", false),
    ("k", "K", false), ("l", "L", false), ("m", "M", false), ("n", "N", false),
    ("ŋ", "NG", false), ("p", "P", false), ("ɹ", "R", false), ("r", "R", false),
    ("s", "S", false), ("ʃ", "SH", false), ("t", "T", false), ("ɾ", "T", false),
    ("θ", "TH", false), ("v", "V", false), ("w", "W", false), ("z", "Z", false),
    ("ʒ", "ZH", false), ("x", "K", false),
];

/// Characters that carry no phone.
const SILENT: &[char] = &['ː', 'ˑ', '\u{329}', '\u{361}', '\u{2d0}', 'ʔ', '-', '_', '\''];

/// ARPAbet symbols of one IPA chunk (no punctuation inside).
pub fn ipa_to_arpabet(ipa: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stress = 0;
    let mut rest = ipa;
    while let Some(c) = rest.chars().next() {
        if c == 'ˈ' || c == 'ˌ' {
            stress = if c == 'ˈ' { 1 } else { 2 };
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c.is_whitespace() || SILENT.contains(&c) {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let Some(&(ipa_sym, arpa, vowel)) = IPA_TO_ARPABET.iter().find(|(s, _, _)| rest.starts_with(s)) else {
            return Err(Error::Data {
                path: "espeak-ng".into(),
                message: format!("IPA symbol: expected one of the mapped symbols (data/phonemes.rs), found `{c}` in `{ipa}`"),
            });
        };
        if vowel {
            out.push(format!("{arpa}{stress}"));
            stress = 0;
        } else {
            out.push(arpa.to_string());
        }
        rest = &rest[ipa_sym.len()..];
    }
    Ok(out)
}

/// Runs `espeak-ng -q --ipa -v VOICE TEXT` on one clause and returns its IPA.
pub fn espeak_ipa(text: &str, voice: &str) -> Result<String> {
    let out = Command::new("espeak-ng")
        .args(["-q", "--ipa", "-v", voice, text])
        .output()
        .map_err(|e| Error::Data { path: "espeak-ng".into(), message: format!("cannot run espeak-ng (is it installed?): {e}") })?;
    if !out.status.success() {
        return Err(Error::Data {
            path: "espeak-ng".into(),
            message: format!("exit status: expected 0, found {} ({})", out.status, String::from_utf8_lossy(&out.stderr).trim()),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Text to v2 symbol ids: clauses through espeak-ng, IPA mapped to ARPAbet, clause
/// punctuation kept. Returns the symbols and their ids.
pub fn text_to_ids(text: &str, voice: &str) -> Result<(Vec<String>, Vec<i32>)> {
    let mut syms: Vec<String> = Vec::new();
    let mut clause = String::new();
    let flush = |clause: &mut String, syms: &mut Vec<String>| -> Result<()> {
        if clause.trim().chars().any(char::is_alphanumeric) {
            syms.extend(ipa_to_arpabet(&espeak_ipa(clause.trim(), voice)?)?);
        }
        clause.clear();
        Ok(())
    };
    for c in text.chars() {
        let punct = match c {
            ',' | ';' | ':' => Some(","),
            '.' => Some("."),
            '!' => Some("!"),
            '?' => Some("?"),
            _ => None,
        };
        match punct {
            Some(p) => {
                flush(&mut clause, &mut syms)?;
                syms.push(p.to_string());
            }
            None => clause.push(c),
        }
    }
    flush(&mut clause, &mut syms)?;
    let ids = syms
        .iter()
        .map(|s| {
            symbol_id(s).ok_or_else(|| Error::Data {
                path: "symbols_v2.txt".into(),
                message: format!("symbol: expected a v2 table symbol, found `{s}`"),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((syms, ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_732_symbols_and_arpabet() {
        assert_eq!(symbols().len(), 732);
        for s in ["AH0", "OW1", "ER", "HH", "NG", ",", ".", "SP", "_"] {
            assert!(symbol_id(s).is_some(), "{s}");
        }
        // Every mapped phone with every stress exists in the table.
        for (_, arpa, vowel) in IPA_TO_ARPABET {
            if *vowel {
                for d in 0..3 {
                    assert!(symbol_id(&format!("{arpa}{d}")).is_some(), "{arpa}{d}");
                }
            } else {
                assert!(symbol_id(arpa).is_some(), "{arpa}");
            }
        }
    }

    #[test]
    fn maps_espeak_ipa() {
        // espeak-ng -q --ipa "hello there" (en-us)
        assert_eq!(ipa_to_arpabet("həlˈoʊ ðˈɛɹ").unwrap(), ["HH", "AH0", "L", "OW1", "DH", "EH1", "R"]);
        assert_eq!(ipa_to_arpabet("wˈɔːɾɚ").unwrap(), ["W", "AO1", "T", "ER0"]);
        let e = ipa_to_arpabet("qa").unwrap_err().to_string();
        assert!(e.contains("found `q`"), "{e}");
    }
}
