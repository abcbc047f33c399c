//! A spectrogram heat map as an 8-bit RGB PNG, encoded here without a codec
//! crate: zlib "stored" (uncompressed) deflate blocks, which every PNG reader
//! accepts (RFC 1950/1951, PNG spec section 10). Images are small (a few
//! hundred KiB), so compression is not worth a dependency.

use std::path::Path;

use sovits_core::{Error, Result};

/// An RGB image, row-major, 3 bytes per pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 3` bytes.
    pub pixels: Vec<u8>,
}

/// Maps `t` in [0, 1] through a dark-blue -> magenta -> yellow ramp.
pub fn color(t: f32) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    let stops: [(f32, [f32; 3]); 4] =
        [(0.0, [0.0, 0.0, 0.1]), (0.35, [0.35, 0.05, 0.55]), (0.7, [0.95, 0.35, 0.25]), (1.0, [1.0, 1.0, 0.6])];
    let i = stops.iter().rposition(|(p, _)| *p <= t).unwrap_or(0).min(stops.len() - 2);
    let (p0, c0) = stops[i];
    let (p1, c1) = stops[i + 1];
    let u = (t - p0) / (p1 - p0);
    let mut out = [0u8; 3];
    for k in 0..3 {
        out[k] = ((c0[k] + u * (c1[k] - c0[k])) * 255.0).round() as u8;
    }
    out
}

/// Stacks log-mel panels (each `[frames, n_mels]` row-major) top to bottom,
/// low bands at the bottom of each panel, one pixel per frame and band, with a
/// 2-pixel white rule between panels. One colour scale spans all panels (the
/// reference's min..max), so panels compare directly.
pub fn mel_panels(panels: &[&[f32]], n_mels: usize) -> Rgb {
    let frames = panels.iter().map(|p| p.len() / n_mels.max(1)).max().unwrap_or(0).max(1);
    let (lo, hi) = panels
        .first()
        .map(|p| p.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v))))
        .filter(|(a, b)| a.is_finite() && b > a)
        .unwrap_or((-11.5, 2.0));
    let rule = 2;
    let height = panels.len() * n_mels + panels.len().saturating_sub(1) * rule;
    let mut pixels = vec![255u8; frames * height.max(1) * 3];
    for (pi, panel) in panels.iter().enumerate() {
        let top = pi * (n_mels + rule);
        for (t, frame) in panel.chunks_exact(n_mels).enumerate() {
            for (m, &v) in frame.iter().enumerate() {
                let y = top + n_mels - 1 - m;
                let at = (y * frames + t) * 3;
                pixels[at..at + 3].copy_from_slice(&color((v - lo) / (hi - lo)));
            }
        }
    }
    Rgb { width: frames, height: height.max(1), pixels }
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// zlib stream of `raw` in stored deflate blocks (at most 65535 bytes each).
fn zlib_stored(raw: &[u8]) -> Vec<u8> {
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if raw.is_empty() { vec![&[][..]] } else { raw.chunks(65535).collect() };
    for (i, block) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    z.extend_from_slice(&adler32(raw).to_be_bytes());
    z
}

/// PNG bytes of `img` (colour type 2, 8 bits, filter 0 on every row).
pub fn encode_png(img: &Rgb) -> Vec<u8> {
    let mut raw = Vec::with_capacity(img.height * (img.width * 3 + 1));
    for row in img.pixels.chunks_exact(img.width * 3) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(img.width as u32).to_be_bytes());
    ihdr.extend_from_slice(&(img.height as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Writes `img` as a PNG file.
pub fn write_png(path: &Path, img: &Rgb) -> Result<()> {
    std::fs::write(path, encode_png(img)).map_err(|e| Error::Data { path: path.to_path_buf(), message: format!("cannot write PNG: {e}") })
}

#[cfg(test)]
mod tests {
    use super::{adler32, crc32};

    #[test]
    fn checksums_match_published_check_values() {
        // CRC-32/ISO-HDLC check value of "123456789" (the catalogue's `check`).
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        // Adler-32 of "Wikipedia" (RFC 1950 worked example value).
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }
}
