//! The small part of the zip format that `.npz` archives use: reading stored and deflated
//! entries (zip64 included) and writing them, with CRC-32 checks.
//!
//! Every size and offset read from an archive is checked against the bytes present, and an
//! entry is never inflated past the size its header claims nor past what its compressed
//! bytes could possibly hold, so a hostile archive cannot make the reader allocate much more
//! than the file justifies.

use crate::error::{Error, Result};

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::value(format!("[load] Corrupt or unsupported file: {msg}."))
}

fn u16_at(b: &[u8], at: usize) -> Result<u16> {
    at.checked_add(2)
        .and_then(|end| b.get(at..end))
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| bad("truncated zip record"))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    at.checked_add(4)
        .and_then(|end| b.get(at..end))
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| bad("truncated zip record"))
}

fn u64_at(b: &[u8], at: usize) -> Result<u64> {
    at.checked_add(8)
        .and_then(|end| b.get(at..end))
        .map(|s| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
        .ok_or_else(|| bad("truncated zip record"))
}

fn to_usize(v: u64, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| bad(format!("{what} is out of range")))
}

/// CRC-32 (IEEE, reflected), as zip stores it.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        t
    });
    !bytes.iter().fold(!0u32, |c, &b| {
        table[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// The largest expansion deflate allows (a 258-byte match costs at least 2 bits: ~1032x);
/// an entry claiming more than this over its compressed size is corrupt.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// One entry of an archive, its data decompressed.
pub(crate) struct Entry {
    pub name: String,
    pub data: Vec<u8>,
}

/// Reads every entry of a zip archive held in memory, in central-directory order.
pub(crate) fn read_entries(bytes: &[u8]) -> Result<Vec<Entry>> {
    // End of central directory: the last "PK\x05\x06" record (it may be followed by a comment).
    let eocd = (0..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| &bytes[i..i + 4] == b"PK\x05\x06")
        .ok_or_else(|| bad("not a zip archive"))?;
    let mut count = u16_at(bytes, eocd + 10)? as u64;
    let mut cd = u32_at(bytes, eocd + 16)? as u64;
    if count == 0xFFFF || cd == 0xFFFF_FFFF {
        // Zip64: the locator sits just before the EOCD.
        let loc = eocd
            .checked_sub(20)
            .ok_or_else(|| bad("missing zip64 locator"))?;
        if u32_at(bytes, loc)? != 0x0706_4b50 {
            return Err(bad("missing zip64 locator"));
        }
        let z = to_usize(u64_at(bytes, loc + 8)?, "zip64 record offset")?;
        if u32_at(bytes, z)? != 0x0606_4b50 {
            return Err(bad("bad zip64 end record"));
        }
        count = u64_at(bytes, z + 32)?;
        cd = u64_at(bytes, z + 48)?;
    }
    // Each central-directory record takes at least 46 bytes: more entries than that cannot fit.
    if count > bytes.len() as u64 / 46 {
        return Err(bad("the archive claims more entries than it can hold"));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut p = to_usize(cd, "central directory offset")?;
    for _ in 0..count {
        if u32_at(bytes, p)? != 0x0201_4b50 {
            return Err(bad("bad central directory entry"));
        }
        let method = u16_at(bytes, p + 10)?;
        let crc = u32_at(bytes, p + 16)?;
        let mut csize = u32_at(bytes, p + 20)? as u64;
        let mut usize_ = u32_at(bytes, p + 24)? as u64;
        let name_len = u16_at(bytes, p + 28)? as usize;
        let extra_len = u16_at(bytes, p + 30)? as usize;
        let comment_len = u16_at(bytes, p + 32)? as usize;
        let mut local = u32_at(bytes, p + 42)? as u64;
        let name = bytes
            .get(p + 46..p + 46 + name_len)
            .ok_or_else(|| bad("truncated entry name"))?;
        let name =
            String::from_utf8(name.to_vec()).map_err(|_| bad("an entry name is not UTF-8"))?;
        // Zip64 extra field: the 64-bit values replace those stored as 0xFFFFFFFF, in order.
        let extra = bytes
            .get(p + 46 + name_len..p + 46 + name_len + extra_len)
            .ok_or_else(|| bad("truncated extra field"))?;
        let mut e = 0;
        while e + 4 <= extra.len() {
            let id = u16_at(extra, e)?;
            let len = u16_at(extra, e + 2)? as usize;
            if id == 1 {
                let mut q = e + 4;
                for field in [&mut usize_, &mut csize, &mut local] {
                    if *field == 0xFFFF_FFFF {
                        *field = u64_at(extra, q)?;
                        q += 8;
                    }
                }
            }
            e += 4 + len;
        }
        let l = to_usize(local, "local header offset")?;
        if u32_at(bytes, l)? != 0x0403_4b50 {
            return Err(bad(format!("bad local header for '{name}'")));
        }
        let start = l + 30 + u16_at(bytes, l + 26)? as usize + u16_at(bytes, l + 28)? as usize;
        let raw = to_usize(csize, "entry size")
            .ok()
            .and_then(|c| start.checked_add(c))
            .and_then(|end| bytes.get(start..end))
            .ok_or_else(|| bad(format!("entry '{name}' runs past the end of the file")))?;
        let data = match method {
            0 if csize == usize_ => raw.to_vec(),
            0 => return Err(bad(format!("entry '{name}' has inconsistent sizes"))),
            8 => {
                if usize_ > csize.saturating_mul(MAX_DEFLATE_RATIO).saturating_add(64) {
                    return Err(bad(format!("entry '{name}' claims an impossible size")));
                }
                let limit = to_usize(usize_, "entry size")?;
                let data = miniz_oxide::inflate::decompress_to_vec_with_limit(raw, limit)
                    .map_err(|e| bad(format!("entry '{name}' does not inflate ({e})")))?;
                if data.len() != limit {
                    return Err(bad(format!("entry '{name}' inflates to the wrong size")));
                }
                data
            }
            m => {
                return Err(bad(format!(
                    "entry '{name}' uses compression method {m}; only stored and deflated \
                     entries are supported"
                )));
            }
        };
        if crc32(&data) != crc {
            return Err(bad(format!("entry '{name}' fails its CRC check")));
        }
        out.push(Entry { name, data });
        p += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}

/// Builds a zip archive from named entries, deflating them when `compress` is set. Sizes
/// and offsets past 4 GiB get zip64 records, as Python's `zipfile` writes them.
pub(crate) fn write_archive(entries: &[(String, Vec<u8>)], compress: bool) -> Vec<u8> {
    const MAX32: u64 = 0xFFFF_FFFF;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let crc = crc32(data);
        let packed;
        let (method, stored): (u16, &[u8]) = if compress {
            packed = miniz_oxide::deflate::compress_to_vec(data, 6);
            (8, &packed)
        } else {
            (0, data)
        };
        let (csize, usize_, offset) = (stored.len() as u64, data.len() as u64, out.len() as u64);
        let big_sizes = csize >= MAX32 || usize_ >= MAX32;
        // Local header: zip64 sizes when the entry itself is large.
        let mut local_extra = Vec::new();
        if big_sizes {
            local_extra.extend_from_slice(&1u16.to_le_bytes());
            local_extra.extend_from_slice(&16u16.to_le_bytes());
            local_extra.extend_from_slice(&usize_.to_le_bytes());
            local_extra.extend_from_slice(&csize.to_le_bytes());
        }
        let version: u16 = if big_sizes || offset >= MAX32 { 45 } else { 20 };
        let clamp = |v: u64| if big_sizes { MAX32 as u32 } else { v as u32 };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&method.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // time
        out.extend_from_slice(&0x21u16.to_le_bytes()); // date: 1980-01-01
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&clamp(csize).to_le_bytes());
        out.extend_from_slice(&clamp(usize_).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&(local_extra.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&local_extra);
        out.extend_from_slice(stored);
        // Central record: every field that overflows goes to the zip64 extra, in order.
        let mut extra = Vec::new();
        for v in [usize_, csize, offset] {
            if v >= MAX32 {
                extra.extend_from_slice(&v.to_le_bytes());
            }
        }
        if !extra.is_empty() {
            let body = extra;
            extra = Vec::with_capacity(body.len() + 4);
            extra.extend_from_slice(&1u16.to_le_bytes());
            extra.extend_from_slice(&(body.len() as u16).to_le_bytes());
            extra.extend_from_slice(&body);
        }
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&version.to_le_bytes()); // made by
        central.extend_from_slice(&version.to_le_bytes()); // needed
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&method.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0x21u16.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&fit32(csize).to_le_bytes());
        central.extend_from_slice(&fit32(usize_).to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&(0o100644u32 << 16).to_le_bytes()); // external: a file
        central.extend_from_slice(&fit32(offset).to_le_bytes());
        central.extend_from_slice(name.as_bytes());
        central.extend_from_slice(&extra);
    }
    let (cd_offset, cd_size, count) =
        (out.len() as u64, central.len() as u64, entries.len() as u64);
    out.extend_from_slice(&central);
    if cd_offset >= MAX32 || count >= 0xFFFF {
        let z = out.len() as u64;
        out.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
        out.extend_from_slice(&44u64.to_le_bytes());
        out.extend_from_slice(&45u16.to_le_bytes());
        out.extend_from_slice(&45u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]); // disk numbers
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&cd_size.to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&z.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
    }
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // disk numbers
    let count16 = count.min(0xFFFF) as u16;
    out.extend_from_slice(&count16.to_le_bytes());
    out.extend_from_slice(&count16.to_le_bytes());
    out.extend_from_slice(&fit32(cd_size).to_le_bytes());
    out.extend_from_slice(&fit32(cd_offset).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn fit32(v: u64) -> u32 {
    v.min(0xFFFF_FFFF) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn archives_round_trip_stored_and_deflated() {
        let entries = vec![
            ("a.npy".to_string(), vec![1u8, 2, 3]),
            ("empty".to_string(), vec![]),
            ("z".to_string(), vec![7u8; 10_000]),
        ];
        for compress in [false, true] {
            let bytes = write_archive(&entries, compress);
            let back = read_entries(&bytes).unwrap();
            assert_eq!(back.len(), 3);
            for ((n, d), e) in entries.iter().zip(&back) {
                assert_eq!((n, d), (&e.name, &e.data));
            }
        }
    }

    #[test]
    fn corrupt_archives_are_errors() {
        let bytes = write_archive(&[("x".into(), vec![5u8; 100])], true);
        // Every truncation fails cleanly.
        for n in 0..bytes.len() {
            assert!(read_entries(&bytes[..n]).is_err(), "prefix of {n} bytes");
        }
        // A flipped data byte fails the CRC or the inflation.
        let mut flipped = bytes.clone();
        flipped[40] ^= 0x55;
        assert!(read_entries(&flipped).is_err());
        // An entry claiming an absurd uncompressed size is refused before inflating.
        let cd = bytes.len() - 22 - 47;
        let mut huge = bytes.clone();
        huge[cd + 24..cd + 28].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        let err = read_entries(&huge).err().unwrap().to_string();
        assert!(err.contains("impossible size"), "{err}");
    }
}
