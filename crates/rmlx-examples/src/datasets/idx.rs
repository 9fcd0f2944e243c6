//! The IDX file format of MNIST and Fashion-MNIST, raw or gzipped.
//!
//! An IDX file is a 4-byte magic number (two zero bytes, a type byte, the number of
//! dimensions), one big-endian `u32` per dimension, then the elements in row-major order,
//! big-endian. Type bytes: `0x08` u8, `0x09` i8, `0x0B` i16, `0x0C` i32, `0x0D` f32, `0x0E`
//! f64. A file starting with the gzip magic (`1f 8b`) is decompressed first.
//!
//! Every problem (a bad magic, a truncated file, trailing bytes, sizes that overflow or exceed
//! [`MAX_BYTES`]) is an error that names the file; nothing is allocated beyond what the file
//! really holds.
//!
//! ```
//! use rmlx_examples::datasets::idx::{parse, IdxData};
//! // Two 1x2 u8 images: magic, dims [2, 1, 2], then 4 bytes.
//! let bytes = [0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 10, 20, 30, 40];
//! let idx = parse(&bytes[..], "tiny")?;
//! assert_eq!(idx.dims, vec![2, 1, 2]);
//! assert_eq!(idx.data, IdxData::U8(vec![10, 20, 30, 40]));
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// The largest payload accepted (4 GiB): larger sizes in a header are taken as corruption.
pub const MAX_BYTES: u64 = 1 << 32;

/// The elements of an IDX file, converted to native byte order.
#[derive(Debug, Clone, PartialEq)]
pub enum IdxData {
    /// Type `0x08`.
    U8(Vec<u8>),
    /// Type `0x09`.
    I8(Vec<i8>),
    /// Type `0x0B`.
    I16(Vec<i16>),
    /// Type `0x0C`.
    I32(Vec<i32>),
    /// Type `0x0D`.
    F32(Vec<f32>),
    /// Type `0x0E`.
    F64(Vec<f64>),
}

impl IdxData {
    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            IdxData::U8(v) => v.len(),
            IdxData::I8(v) => v.len(),
            IdxData::I16(v) => v.len(),
            IdxData::I32(v) => v.len(),
            IdxData::F32(v) => v.len(),
            IdxData::F64(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One IDX file: its dimensions and elements.
#[derive(Debug, Clone, PartialEq)]
pub struct Idx {
    /// The sizes of the dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The elements, row-major.
    pub data: IdxData,
}

/// Reads an IDX file (raw or gzipped) from disk; errors name the file.
pub fn read(path: &Path) -> Result<Idx> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    parse(BufReader::new(file), &path.display().to_string())
}

/// Parses an IDX stream (raw or gzipped); `name` is the file name used in error messages.
pub fn parse(mut reader: impl Read, name: &str) -> Result<Idx> {
    let mut head = [0u8; 4];
    read_exact(&mut reader, &mut head, name, "the magic number")?;
    if head[..2] == [0x1f, 0x8b] {
        let chained = std::io::Cursor::new(head).chain(reader);
        return parse_raw(flate2::read::GzDecoder::new(chained), name, None);
    }
    parse_raw(reader, name, Some(head))
}

fn read_exact(reader: &mut impl Read, buf: &mut [u8], name: &str, what: &str) -> Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => bail!("{name}: truncated IDX file (it ends inside {what})"),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).with_context(|| format!("{name}: cannot read {what}")),
        }
    }
    Ok(())
}

fn parse_raw(mut reader: impl Read, name: &str, head: Option<[u8; 4]>) -> Result<Idx> {
    let head = match head {
        Some(h) => h,
        None => {
            let mut h = [0u8; 4];
            read_exact(&mut reader, &mut h, name, "the magic number")?;
            h
        }
    };
    if head[0] != 0 || head[1] != 0 {
        bail!(
            "{name}: not an IDX file (magic bytes {:02x} {:02x} {:02x} {:02x}, expected 00 00 \
             <type> <ndim>)",
            head[0],
            head[1],
            head[2],
            head[3]
        );
    }
    let size: u64 = match head[2] {
        0x08 | 0x09 => 1,
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        t => bail!("{name}: unknown IDX element type 0x{t:02x}"),
    };
    let ndim = head[3] as usize;
    if ndim == 0 {
        bail!("{name}: IDX file with no dimensions");
    }
    let mut raw_dims = vec![0u8; 4 * ndim];
    read_exact(&mut reader, &mut raw_dims, name, "the dimensions")?;
    let dims: Vec<usize> = raw_dims
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&c| c.checked_mul(size).is_some_and(|b| b <= MAX_BYTES));
    let Some(count) = count else {
        bail!("{name}: IDX dimensions {dims:?} are too large (over {MAX_BYTES} bytes)");
    };
    let nbytes = count * size;
    // Read at most one byte more than announced: the buffer grows with what the file
    // really holds, so a lying header cannot make us allocate gigabytes.
    let mut payload = Vec::new();
    reader
        .take(nbytes + 1)
        .read_to_end(&mut payload)
        .with_context(|| format!("{name}: cannot read the IDX data"))?;
    if (payload.len() as u64) < nbytes {
        bail!(
            "{name}: truncated IDX file: dimensions {dims:?} need {nbytes} bytes of data, the \
             file has {}",
            payload.len()
        );
    }
    if payload.len() as u64 > nbytes {
        bail!("{name}: IDX file longer than its dimensions {dims:?} say ({nbytes} bytes of data)");
    }
    let data = match head[2] {
        0x08 => IdxData::U8(payload),
        0x09 => IdxData::I8(payload.into_iter().map(|b| b as i8).collect()),
        0x0B => IdxData::I16(
            payload
                .chunks_exact(2)
                .map(|c| i16::from_be_bytes([c[0], c[1]]))
                .collect(),
        ),
        0x0C => IdxData::I32(
            payload
                .chunks_exact(4)
                .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        0x0D => IdxData::F32(
            payload
                .chunks_exact(4)
                .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        _ => IdxData::F64(
            payload
                .chunks_exact(8)
                .map(|c| f64::from_be_bytes(c.try_into().expect("chunks of 8")))
                .collect(),
        ),
    };
    Ok(Idx { dims, data })
}

/// Writes `dims` and u8 `data` as an IDX file's bytes (for tests and tools).
///
/// ```
/// use rmlx_examples::datasets::idx::{encode_u8, parse};
/// let bytes = encode_u8(&[3], &[7, 8, 9]);
/// assert_eq!(parse(&bytes[..], "labels")?.dims, vec![3]);
/// # Ok::<(), anyhow::Error>(())
/// ```
pub fn encode_u8(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn err(bytes: &[u8]) -> String {
        format!("{:#}", parse(bytes, "f.idx").unwrap_err())
    }

    #[test]
    fn parses_every_type_raw_and_gzipped() {
        let mut i16s = vec![0, 0, 0x0B, 1, 0, 0, 0, 2];
        i16s.extend_from_slice(&(-2i16).to_be_bytes());
        i16s.extend_from_slice(&300i16.to_be_bytes());
        assert_eq!(
            parse(&i16s[..], "x").unwrap().data,
            IdxData::I16(vec![-2, 300])
        );
        let mut f32s = vec![0, 0, 0x0D, 1, 0, 0, 0, 1];
        f32s.extend_from_slice(&1.5f32.to_be_bytes());
        assert_eq!(parse(&f32s[..], "x").unwrap().data, IdxData::F32(vec![1.5]));
        let mut f64s = vec![0, 0, 0x0E, 1, 0, 0, 0, 1];
        f64s.extend_from_slice(&(-0.25f64).to_be_bytes());
        assert_eq!(
            parse(&f64s[..], "x").unwrap().data,
            IdxData::F64(vec![-0.25])
        );
        let mut i32s = vec![0, 0, 0x0C, 1, 0, 0, 0, 1];
        i32s.extend_from_slice(&(-7i32).to_be_bytes());
        assert_eq!(parse(&i32s[..], "x").unwrap().data, IdxData::I32(vec![-7]));
        let i8s = [0, 0, 0x09, 1, 0, 0, 0, 1, 0xff];
        assert_eq!(parse(&i8s[..], "x").unwrap().data, IdxData::I8(vec![-1]));

        let raw = encode_u8(&[2, 2], &[1, 2, 3, 4]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        let idx = parse(&gz.finish().unwrap()[..], "x.gz").unwrap();
        assert_eq!(idx.dims, vec![2, 2]);
        assert_eq!(idx.data, IdxData::U8(vec![1, 2, 3, 4]));
    }

    #[test]
    fn corrupt_files_are_errors_naming_the_file() {
        assert!(err(&[]).contains("f.idx: truncated"));
        assert!(err(b"PK\x03\x04").contains("f.idx: not an IDX file"));
        assert!(err(&[0, 0, 0x42, 1]).contains("unknown IDX element type 0x42"));
        assert!(err(&[0, 0, 8, 0]).contains("no dimensions"));
        assert!(err(&[0, 0, 8, 2, 0, 0]).contains("ends inside the dimensions"));
        // Fewer bytes than the dimensions say.
        let e = err(&encode_u8(&[2, 3], &[1, 2, 3]));
        assert!(e.contains("need 6 bytes of data, the file has 3"), "{e}");
        // More bytes.
        assert!(err(&encode_u8(&[2], &[1, 2, 3])).contains("longer than"));
        // Absurd sizes: no allocation, an error.
        let e = err(&encode_u8(&[u32::MAX, u32::MAX, u32::MAX], &[]));
        assert!(e.contains("too large"), "{e}");
        let e = err(&encode_u8(&[60000, 10000], &[0; 16]));
        assert!(e.contains("truncated"), "{e}");
        // A broken gzip stream.
        let e = err(&[0x1f, 0x8b, 8, 0, 1, 2, 3]);
        assert!(e.starts_with("f.idx"), "{e}");
        // A missing file.
        let e = format!("{:#}", read(Path::new("/nonexistent/t10k")).unwrap_err());
        assert!(e.contains("/nonexistent/t10k"), "{e}");
    }
}
