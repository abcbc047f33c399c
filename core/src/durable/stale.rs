//! Removal of temporary leftovers (`.NAME.tmp-PID`, `.NAME.old-PID`,
//! `.NAME.del-PID`) of processes that died mid-write.

use std::path::{Path, PathBuf};

/// Whether a process with this id is running (on Unix: `kill(pid, 0)`).
/// Elsewhere every process counts as alive, so nothing is removed.
pub fn pid_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
        // SAFETY: signal 0 only checks that the process exists.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// The owner pid of a leftover name `.X.tmp-PID` (also `old`, `del`).
fn owner(name: &str) -> Option<u32> {
    if !name.starts_with('.') {
        return None;
    }
    let (rest, pid) = name.rsplit_once('-')?;
    let pid: u32 = pid.parse().ok()?;
    [".tmp", ".old", ".del"].iter().any(|s| rest.ends_with(s)).then_some(pid)
}

/// Removes leftovers in `dir` whose writer is no longer running (never
/// this process's); returns what it removed. Errors are skipped: a leftover
/// that cannot be removed is only wasted space.
pub fn remove_stale(dir: &Path) -> Vec<PathBuf> {
    let me = std::process::id();
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut removed = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = owner(&name) else { continue };
        if pid == me || pid_alive(pid) {
            continue;
        }
        let p = e.path();
        let ok = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        if ok.is_ok() {
            removed.push(p);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::owner;

    #[test]
    fn leftover_names() {
        assert_eq!(owner(".step-00000003.tmp-4242"), Some(4242));
        assert_eq!(owner(".best.old-7"), Some(7));
        assert_eq!(owner(".G.safetensors.tmp-9"), Some(9));
        assert_eq!(owner("step-00000003"), None);
        assert_eq!(owner(".step-3.tmp-x"), None);
        assert_eq!(owner(".notes-12"), None);
    }
}
