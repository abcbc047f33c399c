//! The validation report: every problem found in a dataset, with counts.
//!
//! `sovits data check DIR` prints its `Display`; training refuses a dataset
//! whose report has problems unless told to skip bad items.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// One problem: the file, the field, what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// File at fault (`metadata.json` for metadata problems).
    pub path: PathBuf,
    /// Id of the metadata item it belongs to; `None` for dataset-wide findings.
    pub item: Option<String>,
    /// What was checked (`dtype`, `spec frames`, `phoneme id`...).
    pub field: String,
    /// The expected value or rule.
    pub expected: String,
    /// The value found.
    pub found: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: expected {}, found {}", self.path.display(), self.field, self.expected, self.found)
    }
}

/// Everything `Dataset::open` found, in one place.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The dataset directory.
    pub dir: PathBuf,
    /// Items listed in `metadata.json`.
    pub items: usize,
    /// Ids of items with at least one problem, in metadata order.
    pub bad_items: Vec<String>,
    /// Problems that make an item unusable.
    pub problems: Vec<Problem>,
    /// Findings that do not block training (extra files no item refers to).
    pub warnings: Vec<Problem>,
    /// Bad items left out because skipping was asked for (0 otherwise).
    pub skipped: usize,
}

impl Report {
    /// True when no item has a problem (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Items without problems.
    pub fn usable(&self) -> usize {
        self.items - self.bad_items.len()
    }

    /// Number of problems and warnings per field, e.g. `{"dtype": 2, "extra file": 1}`.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for p in self.problems.iter().chain(&self.warnings) {
            *out.entry(p.field.clone()).or_insert(0) += 1;
        }
        out
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "dataset {}: {} items, {} usable, {} bad ({} problems), {} warnings",
            self.dir.display(),
            self.items,
            self.usable(),
            self.bad_items.len(),
            self.problems.len(),
            self.warnings.len()
        )?;
        let counts = self.counts();
        if !counts.is_empty() {
            let list: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
            writeln!(f, "by kind: {}", list.join(", "))?;
        }
        if !self.problems.is_empty() {
            writeln!(f, "problems:")?;
            for p in &self.problems {
                writeln!(f, "  {p}")?;
            }
        }
        if !self.warnings.is_empty() {
            writeln!(f, "warnings:")?;
            for p in &self.warnings {
                writeln!(f, "  {p}")?;
            }
        }
        if self.skipped > 0 {
            writeln!(f, "skipped {} bad items (skip_bad_items is on)", self.skipped)?;
        }
        Ok(())
    }
}
