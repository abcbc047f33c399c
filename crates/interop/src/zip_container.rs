//! torch's zip container (`torch.save` since 1.6, `_use_new_zipfile_serialization`):
//! every entry is stored uncompressed under one root folder:
//! `<root>/data.pkl`, `<root>/.format_version`, `<root>/.storage_alignment`,
//! `<root>/byteorder`, `<root>/data/<storage key>`..., `<root>/version`,
//! `<root>/.data/serialization_id`. The root folder is whatever name the
//! writer chose (GPT-SoVITS's `my_save` writes to `<time.time()>.pth` and
//! renames, so it never matches the final file name).
//!
//! GPT-SoVITS's `my_save2` overwrites the two leading `PK` bytes with a
//! version tag (`03`..`06`); [`PthArchive::open`] restores them, as its
//! `load_sovits_new` does.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::error::{InteropError, Result};

/// Version tags GPT-SoVITS writes over `PK` (`process_ckpt.model_version2byte`).
pub const HEAD_TAGS: &[&[u8; 2]] = &[b"00", b"01", b"02", b"03", b"04", b"05", b"06"];

/// Data alignment torch uses for storages (`.storage_alignment`).
pub const STORAGE_ALIGNMENT: u16 = 64;

/// An opened `.pth` zip archive.
pub struct PthArchive {
    path: PathBuf,
    zip: ZipArchive<Cursor<Vec<u8>>>,
    root: String,
    head_tag: Option<[u8; 2]>,
    file_len: u64,
}

fn container(path: &Path, message: impl Into<String>) -> InteropError {
    InteropError::Container { path: path.to_path_buf(), message: message.into() }
}

impl PthArchive {
    /// Opens `path`, finds the root folder holding `data.pkl` and checks
    /// the byte order. Errors say why the file is not a torch zip checkpoint.
    pub fn open(path: &Path) -> Result<Self> {
        let mut bytes =
            std::fs::read(path).map_err(|source| InteropError::Io { action: "read", path: path.to_path_buf(), source })?;
        let mut head_tag = None;
        if bytes.len() >= 2 {
            let head = [bytes[0], bytes[1]];
            if HEAD_TAGS.iter().any(|t| **t == head) {
                head_tag = Some(head);
                bytes[0] = b'P';
                bytes[1] = b'K';
            }
        }
        if bytes.len() < 4 || &bytes[..2] != b"PK" {
            let legacy = bytes.len() >= 2 && bytes[0] == 0x80;
            let hint = if legacy {
                "it looks like a legacy (pre-1.6) torch.save pickle; re-save it with a current torch"
            } else {
                "it does not start with the zip signature `PK`"
            };
            return Err(container(path, format!("not a PyTorch .pth zip checkpoint ({} bytes): {hint}", bytes.len())));
        }
        let file_len = bytes.len() as u64;
        let zip = ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| container(path, format!("damaged or truncated zip container: {e}")))?;
        let pkls: Vec<&str> = zip.file_names().filter(|n| n.ends_with("data.pkl")).collect();
        let root = match pkls.iter().find(|n| n.matches('/').count() == 1) {
            Some(n) => n.trim_end_matches("data.pkl").trim_end_matches('/').to_string(),
            None => {
                let mut names: Vec<&str> = zip.file_names().take(5).collect();
                names.sort_unstable();
                return Err(container(
                    path,
                    format!(
                        "not a PyTorch checkpoint: no `<root>/data.pkl` entry (the zip holds {} entries, e.g. {})",
                        zip.len(),
                        names.join(", ")
                    ),
                ));
            }
        };
        let mut archive = PthArchive { path: path.to_path_buf(), zip, root, head_tag, file_len };
        if let Some(order) = archive.read_optional("byteorder")?
            && order != b"little"
        {
            return Err(container(
                path,
                format!("byteorder is `{}`; only little-endian checkpoints are supported", String::from_utf8_lossy(&order)),
            ));
        }
        Ok(archive)
    }

    /// The file this archive was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The zip's root folder name.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The GPT-SoVITS version tag that replaced `PK`, if any.
    pub fn head_tag(&self) -> Option<[u8; 2]> {
        self.head_tag
    }

    /// Every entry name, relative to the root folder, in archive order.
    pub fn entry_names(&self) -> Vec<String> {
        let prefix = format!("{}/", self.root);
        (0..self.zip.len())
            .filter_map(|i| self.zip.name_for_index(i))
            .map(|n| n.strip_prefix(&prefix).unwrap_or(n).to_string())
            .collect()
    }

    fn read_optional(&mut self, rel: &str) -> Result<Option<Vec<u8>>> {
        let name = format!("{}/{rel}", self.root);
        let mut f = match self.zip.by_name(&name) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(container(&self.path, format!("cannot open entry `{name}`: {e}"))),
        };
        // the declared size may be forged: never reserve more than the file holds
        let declared = f.size();
        let mut out = Vec::with_capacity(declared.min(self.file_len) as usize);
        (&mut f).take(declared).read_to_end(&mut out).map_err(|e| container(&self.path, format!("cannot read entry `{name}`: {e}")))?;
        Ok(Some(out))
    }

    /// Reads the entry `<root>/<rel>`; a missing entry is an error naming it.
    pub fn read(&mut self, rel: &str) -> Result<Vec<u8>> {
        let root = self.root.clone();
        self.read_optional(rel)?.ok_or_else(|| container(&self.path, format!("missing zip entry `{root}/{rel}`")))
    }
}

/// Writes a torch-style zip: `data.pkl`, the format markers, each storage
/// as `data/<key>` (64-byte aligned, stored), `version`, `serialization_id`,
/// all under `root/`. Written to a temporary file and renamed (atomic).
pub fn write_pth(out: &Path, root: &str, pickle: &[u8], storages: &[(String, Vec<u8>)]) -> Result<()> {
    let io = |action, source| InteropError::Io { action, path: out.to_path_buf(), source };
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out.file_name().ok_or_else(|| container(out, "not a file path"))?;
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let file = std::fs::File::create(&tmp).map_err(|e| io("create", e))?;
    let mut zip = ZipWriter::new(std::io::BufWriter::new(file));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Stored).with_alignment(STORAGE_ALIGNMENT);
    let id = serialization_id(pickle);
    let mut entries: Vec<(String, &[u8])> = vec![
        ("data.pkl".into(), pickle),
        (".format_version".into(), b"1"),
        (".storage_alignment".into(), b"64"),
        ("byteorder".into(), b"little"),
    ];
    entries.extend(storages.iter().map(|(k, v)| (format!("data/{k}"), v.as_slice())));
    entries.push(("version".into(), b"3\n"));
    entries.push((".data/serialization_id".into(), id.as_bytes()));
    let result = (|| -> Result<()> {
        for (rel, data) in &entries {
            zip.start_file(format!("{root}/{rel}"), opts)
                .map_err(|e| container(out, format!("cannot add zip entry `{rel}`: {e}")))?;
            zip.write_all(data).map_err(|e| io("write", e))?;
        }
        let mut inner = zip.finish().map_err(|e| container(out, format!("cannot finish zip: {e}")))?;
        inner.flush().map_err(|e| io("write", e))?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io("rename into", e)
    })
}

/// A 40-digit decimal id like torch's, derived deterministically from the
/// pickle (torch draws it at random; only its presence matters to readers).
fn serialization_id(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut digits = String::with_capacity(40);
    for round in 0u64..3 {
        for &b in data.iter().chain(round.to_le_bytes().iter()) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // the round's parity, then 19 digits (adding 10^19 could overflow u64)
        digits.push_str(&format!("{}{:019}", round % 2, h % 10u64.pow(19)));
    }
    digits.chars().take(40).collect()
}
