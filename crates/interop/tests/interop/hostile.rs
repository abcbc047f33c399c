//! Corrupt, truncated and foreign files fail with an error naming the problem.

use std::path::Path;

use sovits_interop::zip_container::write_pth;
use sovits_interop::{InteropError, import_pth};

use crate::helpers::*;

fn import_err(path: &Path) -> String {
    match import_pth(path) {
        Ok(_) => panic!("{} imported", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn corrupt_truncated_and_foreign_files_fail_clearly() -> R {
    let dir = tmpdir("bad")?;
    // Random bytes (a fixed LCG, so the test is reproducible).
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let junk: Vec<u8> = (0..4096)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect();
    let p = dir.join("junk.pth");
    std::fs::write(&p, &junk)?;
    let e = import_err(&p);
    assert!(e.contains("junk.pth") && e.contains("not a PyTorch .pth zip checkpoint"), "{e}");

    let full = std::fs::read(golden("interop", "tiny_G.pth"))?;
    let p = dir.join("half.pth");
    std::fs::write(&p, &full[..full.len() / 2])?;
    let e = import_err(&p);
    assert!(e.contains("half.pth") && e.contains("damaged or truncated zip container"), "{e}");

    // A zip that is not a torch checkpoint.
    let p = dir.join("foreign.zip");
    {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::fs::File::create(&p)?);
        z.start_file("readme.txt", zip::write::SimpleFileOptions::default())?;
        z.write_all(b"hello")?;
        z.finish()?;
    }
    let e = import_err(&p);
    assert!(e.contains("no `<root>/data.pkl` entry") && e.contains("readme.txt"), "{e}");

    // A pickle that would run os.system("touch ...") under pickle.load.
    let marker = dir.join("pwned");
    let cmd = format!("touch {}", marker.display());
    let mut evil = b"\x80\x02cos\nsystem\nq\x00X".to_vec();
    evil.extend((cmd.len() as u32).to_le_bytes());
    evil.extend(cmd.as_bytes());
    evil.extend(b"\x85R.");
    let p = dir.join("evil.pth");
    write_pth(&p, "evil", &evil, &[])?;
    let e = import_err(&p);
    assert!(e.contains("refusing pickle global `os.system`") && e.contains("evil.pth"), "{e}");
    assert!(!marker.exists(), "nothing is executed");

    // Unknown opcode, and a valid pickle of the wrong layout.
    let p = dir.join("op.pth");
    write_pth(&p, "op", b"\x80\x02\xff.", &[])?;
    assert!(import_err(&p).contains("unsupported pickle opcode 0xff"));
    let p = dir.join("layout.pth");
    write_pth(&p, "layout", b"\x80\x02}q\x00X\x03\x00\x00\x00fooq\x01K\x01s.", &[])?;
    let e = import_err(&p);
    assert!(e.contains("unknown layout: top-level keys [foo]"), "{e}");

    // Errors convert into the core error type, keeping the message.
    let core: sovits_core::Error = InteropError::Layout { what: "f.pth".into(), message: "m".into() }.into();
    assert_eq!(core.to_string(), "f.pth: m");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
