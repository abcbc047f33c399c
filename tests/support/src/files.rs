//! File-tree helpers for tests that stage a fixture folder somewhere writable.

use std::path::Path;

/// Copies the folder `from` into `to` recursively (creating `to`), so a test
/// can add, remove or damage files of a committed fixture without touching it.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()))?;
        } else {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}
