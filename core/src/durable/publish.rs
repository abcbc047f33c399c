//! Durable, atomic publication of a directory or a file: write under a
//! temporary name, fsync the data, fsync the temporary directory, rename (or
//! exchange) into place, fsync the parent.

use std::path::{Path, PathBuf};

use super::crash::{crash_point, die, reached};
use super::ops::FileOps;
use crate::error::{Error, Result};

fn io<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { path: path.to_path_buf(), action, source }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn name_of(path: &Path) -> Result<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).ok_or_else(|| Error::Io {
        path: path.to_path_buf(),
        action: "write",
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file or directory name"),
    })
}

/// A temporary directory being filled by [`publish_dir`].
pub struct Staging<'a> {
    ops: &'a dyn FileOps,
    dir: PathBuf,
}

impl Staging<'_> {
    /// Writes `name` inside the staging directory and fsyncs it.
    pub fn file(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.dir.join(name);
        let mid = format!("mid-write:{name}");
        if reached(&mid) {
            let _ = self.ops.write(&path, &bytes[..bytes.len() / 2]);
            die(&mid);
        }
        self.ops.write(&path, bytes).map_err(io(&path, "write"))?;
        crash_point(&format!("written:{name}"));
        self.ops.sync_file(&path).map_err(io(&path, "fsync"))
    }

    /// The staging directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Publishes the directory `final_dir` with the files `fill` writes: they go
/// into `.NAME.tmp-PID` beside it, which is fsynced and then renamed into
/// place, or atomically exchanged with an existing `final_dir` (Linux
/// `renameat2(RENAME_EXCHANGE)`; elsewhere the old one is renamed aside
/// first, a short window in which `final_dir` is absent). The parent is
/// fsynced after. On any error the temporary directory is removed and an
/// existing `final_dir` is left as it was.
pub fn publish_dir(ops: &dyn FileOps, final_dir: &Path, fill: impl FnOnce(&mut Staging<'_>) -> Result<()>) -> Result<()> {
    let parent = parent_of(final_dir);
    std::fs::create_dir_all(&parent).map_err(io(&parent, "create"))?;
    let name = name_of(final_dir)?;
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        ops.remove_dir_all(&tmp).map_err(io(&tmp, "clear"))?;
    }
    ops.create_dir(&tmp).map_err(io(&tmp, "create"))?;
    let staged = (|| {
        fill(&mut Staging { ops, dir: tmp.clone() })?;
        ops.sync_dir(&tmp).map_err(io(&tmp, "fsync"))
    })();
    if let Err(e) = staged {
        let _ = ops.remove_dir_all(&tmp);
        return Err(e);
    }
    crash_point("staged");
    if std::fs::symlink_metadata(final_dir).is_err() {
        ops.rename(&tmp, final_dir).map_err(|e| {
            let _ = ops.remove_dir_all(&tmp);
            io(final_dir, "rename into")(e)
        })?;
        crash_point("renamed");
        return ops.sync_dir(&parent).map_err(io(&parent, "fsync"));
    }
    match ops.exchange(&tmp, final_dir) {
        Ok(()) => {
            crash_point("exchanged");
            ops.sync_dir(&parent).map_err(io(&parent, "fsync"))?;
            // `tmp` now holds the replaced version
            ops.remove_dir_all(&tmp).map_err(io(&tmp, "remove"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
            let old = parent.join(format!(".{name}.old-{}", std::process::id()));
            ops.rename(final_dir, &old).map_err(io(final_dir, "move aside"))?;
            ops.rename(&tmp, final_dir).map_err(io(final_dir, "rename into"))?;
            ops.sync_dir(&parent).map_err(io(&parent, "fsync"))?;
            ops.remove_dir_all(&old).map_err(io(&old, "remove"))
        }
        Err(e) => {
            let _ = ops.remove_dir_all(&tmp);
            Err(io(final_dir, "exchange")(e))
        }
    }
}

/// Writes the file `path` durably: `.NAME.tmp-PID` beside it, fsync,
/// rename over `path`, fsync of the directory. A crash leaves the old file
/// or the new one, never a part.
pub fn write_file(ops: &dyn FileOps, path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = parent_of(path);
    let tmp = parent.join(format!(".{}.tmp-{}", name_of(path)?, std::process::id()));
    let done = (|| {
        ops.write(&tmp, bytes).map_err(io(path, "write"))?;
        ops.sync_file(&tmp).map_err(io(path, "fsync"))?;
        ops.rename(&tmp, path).map_err(io(path, "rename into"))
    })();
    if let Err(e) = done {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    ops.sync_dir(&parent).map_err(io(&parent, "fsync"))
}

/// Removes the directory `dir` so that it disappears at once: renamed to
/// `.NAME.del-PID` (fsynced parent), then deleted. A crash mid-way leaves a
/// hidden leftover that [`super::remove_stale`] deletes, never a half-deleted
/// directory under its real name.
pub fn remove_dir(ops: &dyn FileOps, dir: &Path) -> Result<()> {
    let parent = parent_of(dir);
    let gone = parent.join(format!(".{}.del-{}", name_of(dir)?, std::process::id()));
    ops.rename(dir, &gone).map_err(io(dir, "remove"))?;
    ops.sync_dir(&parent).map_err(io(&parent, "fsync"))?;
    ops.remove_dir_all(&gone).map_err(io(&gone, "remove"))
}
