//! NumPy's `.npy` format: one array, C or Fortran order (reading), C order (writing).
//!
//! Every malformed input is an error, never a panic or an unbounded allocation: sizes come from
//! the file and are checked against the bytes actually present.

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::value(format!("[load] Corrupt or unsupported file: {msg}."))
}

fn dtype_of_descr(descr: &str) -> Result<Dtype> {
    // `split_at_checked`: the first character may not be ASCII in a corrupt header.
    let (order, code) = descr
        .split_at_checked(1)
        .ok_or_else(|| bad(format!("dtype '{descr}' is not supported")))?;
    if !matches!(order, "<" | "|" | "=") {
        return Err(bad(format!(
            "only little-endian data is supported, got '{descr}'"
        )));
    }
    Ok(match code {
        "b1" => Dtype::Bool,
        "u1" => Dtype::Uint8,
        "u2" => Dtype::Uint16,
        "u4" => Dtype::Uint32,
        "u8" => Dtype::Uint64,
        "i1" => Dtype::Int8,
        "i2" => Dtype::Int16,
        "i4" => Dtype::Int32,
        "i8" => Dtype::Int64,
        "f2" => Dtype::Float16,
        "f4" => Dtype::Float32,
        "f8" => Dtype::Float64,
        "c8" => Dtype::Complex64,
        // bfloat16 as MLX writes it: two-byte void.
        "V2" => Dtype::Bfloat16,
        _ => return Err(bad(format!("dtype '{descr}' is not supported"))),
    })
}

/// Finds `'key': value` in a NumPy header dict and returns the text of the value.
fn header_value<'a>(header: &'a str, key: &str) -> Result<&'a str> {
    let pat = format!("'{key}':");
    let start = header
        .find(&pat)
        .ok_or_else(|| bad(format!("header has no '{key}'")))?
        + pat.len();
    let rest = header[start..].trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')').map(|i| i + 1)
    } else if let Some(quoted) = rest.strip_prefix('\'') {
        quoted.find('\'').map(|i| i + 2)
    } else {
        rest.find([',', '}'])
    }
    .ok_or_else(|| bad("unterminated header value"))?;
    Ok(&rest[..end])
}

/// Parses one `.npy` file held in memory.
///
/// ```
/// // A 1-D int32 array [7, 8] as NumPy writes it.
/// let header = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }";
/// let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
/// let pad = 64 - (10 + header.len() + 1) % 64;
/// let hlen = (header.len() + pad + 1) as u16;
/// bytes.extend_from_slice(&hlen.to_le_bytes());
/// bytes.extend_from_slice(header.as_bytes());
/// bytes.extend(std::iter::repeat(b' ').take(pad));
/// bytes.push(b'\n');
/// bytes.extend_from_slice(&7i32.to_le_bytes());
/// bytes.extend_from_slice(&8i32.to_le_bytes());
/// let a = rmlx_core::io::npy::parse_npy(&bytes)?;
/// assert_eq!(a.to_vec::<i32>()?, vec![7, 8]);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn parse_npy(bytes: &[u8]) -> Result<Array> {
    parse(bytes)
}

/// Where a `.npy` header ends: `(start, end)` of the header text, from the file's first
/// 10 (version 1) or 12 (versions 2 and 3) bytes.
fn header_extent(bytes: &[u8]) -> Result<(usize, usize)> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not an .npy file (bad magic)"));
    }
    let (hlen, hstart) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated header"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(bad(format!("unknown .npy version {v}"))),
    };
    let hend = hstart
        .checked_add(hlen)
        .ok_or_else(|| bad("truncated header"))?;
    Ok((hstart, hend))
}

/// What a `.npy` header says: the data's dtype, its order, the array's shape and where the
/// data starts.
struct Header {
    dtype: Dtype,
    fortran: bool,
    shape: Vec<usize>,
    nbytes: usize,
    data_start: usize,
}

impl Header {
    /// The shape the data has in row-major order (the reversed shape for Fortran order).
    fn stored_shape(&self) -> Vec<usize> {
        if self.fortran {
            self.shape.iter().rev().copied().collect()
        } else {
            self.shape.clone()
        }
    }

    /// `stored` (an array of [`Header::stored_shape`]) as the array the file describes:
    /// column-major data is the row-major data of the reversed shape, transposed.
    fn arrange(&self, stored: Array) -> Result<Array> {
        if self.fortran {
            crate::ops::transpose(&stored, None::<&[usize]>)
        } else {
            Ok(stored)
        }
    }
}

/// Parses the header of a `.npy` file; `bytes` holds at least the header.
fn parse_header(bytes: &[u8]) -> Result<Header> {
    let (hstart, hend) = header_extent(bytes)?;
    let header = std::str::from_utf8(
        bytes
            .get(hstart..hend)
            .ok_or_else(|| bad("truncated header"))?,
    )
    .map_err(|_| bad("header is not text"))?;
    let descr = header_value(header, "descr")?.trim_matches('\'');
    let dtype = dtype_of_descr(descr)?;
    let fortran = match header_value(header, "fortran_order")?.trim() {
        "False" => false,
        "True" => true,
        other => return Err(bad(format!("fortran_order is '{other}'"))),
    };
    let shape_txt = header_value(header, "shape")?.trim_matches(|c| c == '(' || c == ')');
    let shape: Vec<usize> = shape_txt
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(format!("bad dimension '{s}'")))
        })
        .collect::<Result<_>>()?;
    let nbytes = crate::array::checked_nbytes(&shape, dtype)?;
    Ok(Header {
        dtype,
        fortran,
        shape,
        nbytes,
        data_start: hend,
    })
}

/// [`parse_npy`]: the whole file is in `bytes`.
fn parse(bytes: &[u8]) -> Result<Array> {
    let h = parse_header(bytes)?;
    let data = &bytes[h.data_start..];
    if data.len() < h.nbytes {
        return Err(bad(format!(
            "expected {} bytes of data, found {}",
            h.nbytes,
            data.len()
        )));
    }
    h.arrange(from_bytes(&data[..h.nbytes], &h.stored_shape(), h.dtype)?)
}

fn descr_of(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::Bool => "|b1",
        Dtype::Uint8 => "|u1",
        Dtype::Uint16 => "<u2",
        Dtype::Uint32 => "<u4",
        Dtype::Uint64 => "<u8",
        Dtype::Int8 => "|i1",
        Dtype::Int16 => "<i2",
        Dtype::Int32 => "<i4",
        Dtype::Int64 => "<i8",
        Dtype::Float16 => "<f2",
        Dtype::Bfloat16 => "<V2",
        Dtype::Float32 => "<f4",
        Dtype::Float64 => "<f8",
        Dtype::Complex64 => "<c8",
    }
}

/// The bytes of an `.npy` file holding `a` (C order; bfloat16 as two-byte void, as MLX).
///
/// ```
/// use rmlx_core::{self as mx, io::npy};
/// let a = mx::array![[1, 2, 3], [4, 5, 6]];
/// let back = npy::parse_npy(&npy::to_npy_bytes(&a.transpose()?)?)?;
/// assert_eq!(back.shape(), &[3, 2]);
/// assert_eq!(back.to_vec::<i32>()?, vec![1, 4, 2, 5, 3, 6]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn to_npy_bytes(a: &Array) -> Result<Vec<u8>> {
    let dims: Vec<String> = a.shape().iter().map(usize::to_string).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
        descr_of(a.dtype())
    );
    // NumPy aligns the data to 64 bytes: magic (6) + version (2) + length (2) + header + '\n'.
    let pad = (64 - (10 + header.len() + 1) % 64) % 64;
    header.extend(std::iter::repeat_n(' ', pad));
    header.push('\n');
    let hlen = u16::try_from(header.len())
        .map_err(|_| Error::value("[save] The array has too many dimensions for .npy."))?;
    let data = crate::io::array_bytes(a)?;
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&hlen.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&data);
    Ok(out)
}

/// Writes `a` to an `.npy` file (MLX's `save`).
///
/// ```
/// use rmlx_core::{self as mx, io::npy};
/// let path = std::env::temp_dir().join(format!("rmlx_doc_{}.npy", std::process::id()));
/// npy::save(&path, &mx::array![1.5, 2.5])?;
/// assert_eq!(npy::load(&path)?.to_vec::<f32>()?, vec![1.5, 2.5]);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), mx::Error>(())
/// ```
pub fn save(path: impl AsRef<std::path::Path>, a: &Array) -> Result<()> {
    super::write_file(path.as_ref(), &to_npy_bytes(a)?, "save")
}

/// Reads an `.npy` file (MLX's `load` of a `.npy` file). The header is read now (a corrupt
/// one is an error here); the data is read when the array is evaluated, straight into the
/// array's memory, as in MLX: nothing is allocated until then, and a file whose data is
/// shorter than its header says loads, evaluating the array is then a runtime error. The
/// file stays open while the array is unevaluated.
///
/// ```
/// use rmlx_core::{self as mx, io::npy};
/// let path = std::env::temp_dir().join(format!("rmlx_doc_short_{}.npy", std::process::id()));
/// let bytes = npy::to_npy_bytes(&mx::array![1.5f32, 2.5])?;
/// std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
/// let a = npy::load(&path)?;
/// assert_eq!(a.shape(), &[2]);
/// assert_eq!(a.eval().unwrap_err().kind(), mx::ErrorKind::Runtime);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), mx::Error>(())
/// ```
pub fn load(path: impl AsRef<std::path::Path>) -> Result<Array> {
    use std::io::Read;
    let path = path.as_ref();
    let open_error =
        |e: std::io::Error| Error::value(format!("[load] Failed to open {}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(open_error)?;
    let file_len = file.metadata().map_err(open_error)?.len();
    // The fixed prefix first, then exactly the header it announces (never more than the file).
    let mut head = Vec::with_capacity(12);
    (&mut file)
        .take(12)
        .read_to_end(&mut head)
        .map_err(open_error)?;
    let (_, hend) = header_extent(&head)?;
    if hend as u64 > file_len {
        return Err(bad("truncated header"));
    }
    head.resize(hend.max(head.len()), 0);
    if hend > 12 {
        file.read_exact(&mut head[12..]).map_err(open_error)?;
    }
    let h = parse_header(&head)?;
    let stored = Array::from_op(
        h.stored_shape(),
        h.dtype,
        ReadData {
            file: std::sync::Mutex::new(file),
            offset: h.data_start as u64,
        },
        vec![],
    );
    h.arrange(stored)
}

/// The node of an `.npy` file's data (MLX's `Load`): evaluating it reads the bytes from the
/// still-open file into the output's memory.
#[derive(Debug)]
struct ReadData {
    file: std::sync::Mutex<std::fs::File>,
    offset: u64,
}

impl crate::primitive::Primitive for ReadData {
    fn name(&self) -> &'static str {
        "Load"
    }
    fn eval_cpu(
        &self,
        _inputs: &[Array],
        outputs: &[crate::primitive::OutputSpec],
    ) -> Result<Vec<crate::array::Data>> {
        use std::io::{Read, Seek, SeekFrom};
        let spec = &outputs[0];
        let (mut buf, _) = crate::array::Data::alloc(spec)?;
        let read_error = || Error::runtime("[read] Unable to read from file.");
        {
            // A poisoned lock only means another read failed; the file itself is fine.
            let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
            file.seek(SeekFrom::Start(self.offset))
                .map_err(|_| read_error())?;
            file.read_exact(buf.bytes_mut()).map_err(|_| read_error())?;
        }
        if spec.dtype == Dtype::Bool && buf.bytes().iter().any(|&b| b > 1) {
            return Err(Error::runtime(
                "[load] Corrupt file: bool data holds values other than 0 and 1.",
            ));
        }
        Ok(vec![crate::array::Data::from_buffer(buf, &spec.shape)])
    }
}

/// An array of `dtype` and `shape` from little-endian bytes (exactly `size * itemsize`).
pub fn from_bytes(bytes: &[u8], shape: &[usize], dtype: Dtype) -> Result<Array> {
    let nbytes = crate::array::checked_nbytes(shape, dtype)?;
    if bytes.len() != nbytes {
        return Err(bad(format!("expected {nbytes} bytes, got {}", bytes.len())));
    }
    if dtype == Dtype::Bool && bytes.iter().any(|&b| b > 1) {
        return Err(bad("bool data holds values other than 0 and 1"));
    }
    let mut buf = crate::allocator::alloc_uninit(nbytes)?;
    buf.bytes_mut().copy_from_slice(bytes);
    Ok(Array::from_data(
        shape.to_vec(),
        dtype,
        crate::array::Data::from_buffer(buf, shape),
    ))
}
