//! The file operations durable writes are made of, behind a trait so tests
//! can record their order or make one fail.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The filesystem operations [`super::publish_dir`] and [`super::write_file`] use.
pub trait FileOps: Sync {
    /// Creates (truncating) `path` and writes `bytes` (no sync).
    fn write(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()>;
    /// Flushes `path`'s data and metadata to the device (fsync).
    fn sync_file(&self, path: &Path) -> std::io::Result<()>;
    /// Flushes a directory's entries to the device (fsync of the directory).
    fn sync_dir(&self, path: &Path) -> std::io::Result<()>;
    /// Renames `from` to `to` (atomic within one filesystem).
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()>;
    /// Atomically swaps two existing paths; `ErrorKind::Unsupported` where the
    /// platform or filesystem cannot (the caller falls back to two renames).
    fn exchange(&self, a: &Path, b: &Path) -> std::io::Result<()>;
    /// Creates one directory.
    fn create_dir(&self, path: &Path) -> std::io::Result<()>;
    /// Removes a directory and everything in it.
    fn remove_dir_all(&self, path: &Path) -> std::io::Result<()>;
}

/// The real filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct Real;

impl FileOps for Real {
    fn write(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let mut f = std::fs::File::create(path)?;
        f.write_all(bytes)?;
        f.flush()
    }

    fn sync_file(&self, path: &Path) -> std::io::Result<()> {
        std::fs::OpenOptions::new().read(true).write(true).open(path)?.sync_all()
    }

    fn sync_dir(&self, path: &Path) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            std::fs::File::open(path)?.sync_all()
        }
        #[cfg(not(unix))]
        {
            // Windows cannot open a directory for syncing; NTFS journals renames.
            let _ = path;
            Ok(())
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::rename(from, to)
    }

    fn exchange(&self, a: &Path, b: &Path) -> std::io::Result<()> {
        exchange(a, b)
    }

    fn create_dir(&self, path: &Path) -> std::io::Result<()> {
        std::fs::create_dir(path)
    }

    fn remove_dir_all(&self, path: &Path) -> std::io::Result<()> {
        std::fs::remove_dir_all(path)
    }
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes())?;
    let cb = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both pointers are valid NUL-terminated strings for the call's duration.
    let rc = unsafe {
        libc::syscall(libc::SYS_renameat2, libc::AT_FDCWD, ca.as_ptr(), libc::AT_FDCWD, cb.as_ptr(), libc::RENAME_EXCHANGE)
    };
    if rc == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        // no renameat2 (old kernel, seccomp) or a filesystem without RENAME_EXCHANGE
        Some(libc::ENOSYS) | Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => {
            Err(std::io::Error::new(std::io::ErrorKind::Unsupported, e))
        }
        _ => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "no atomic exchange on this platform"))
}

/// One recorded operation (paths as given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// [`FileOps::write`].
    Write(PathBuf),
    /// [`FileOps::sync_file`].
    SyncFile(PathBuf),
    /// [`FileOps::sync_dir`].
    SyncDir(PathBuf),
    /// [`FileOps::rename`].
    Rename(PathBuf, PathBuf),
    /// [`FileOps::exchange`].
    Exchange(PathBuf, PathBuf),
    /// [`FileOps::create_dir`].
    CreateDir(PathBuf),
    /// [`FileOps::remove_dir_all`].
    RemoveDirAll(PathBuf),
}

/// Test double: performs every operation on the real filesystem and records
/// it; optionally fails the write of one file name with an injected error
/// (e.g. ENOSPC) after writing half of it.
#[derive(Debug, Default)]
pub struct Recorder {
    /// The operations in order.
    pub ops: Mutex<Vec<Op>>,
    /// `(file name, raw OS error)`: the write of that file fails.
    pub fail_write: Option<(String, i32)>,
}

impl Recorder {
    fn push(&self, op: Op) {
        if let Ok(mut v) = self.ops.lock() {
            v.push(op);
        }
    }

    /// The recorded operations so far.
    pub fn take(&self) -> Vec<Op> {
        self.ops.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()
    }
}

impl FileOps for Recorder {
    fn write(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        self.push(Op::Write(path.to_path_buf()));
        if let Some((name, errno)) = &self.fail_write
            && path.file_name().is_some_and(|n| n == name.as_str())
        {
            Real.write(path, &bytes[..bytes.len() / 2])?;
            return Err(std::io::Error::from_raw_os_error(*errno));
        }
        Real.write(path, bytes)
    }
    fn sync_file(&self, path: &Path) -> std::io::Result<()> {
        self.push(Op::SyncFile(path.to_path_buf()));
        Real.sync_file(path)
    }
    fn sync_dir(&self, path: &Path) -> std::io::Result<()> {
        self.push(Op::SyncDir(path.to_path_buf()));
        Real.sync_dir(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        self.push(Op::Rename(from.to_path_buf(), to.to_path_buf()));
        Real.rename(from, to)
    }
    fn exchange(&self, a: &Path, b: &Path) -> std::io::Result<()> {
        self.push(Op::Exchange(a.to_path_buf(), b.to_path_buf()));
        Real.exchange(a, b)
    }
    fn create_dir(&self, path: &Path) -> std::io::Result<()> {
        self.push(Op::CreateDir(path.to_path_buf()));
        Real.create_dir(path)
    }
    fn remove_dir_all(&self, path: &Path) -> std::io::Result<()> {
        self.push(Op::RemoveDirAll(path.to_path_buf()));
        Real.remove_dir_all(path)
    }
}
