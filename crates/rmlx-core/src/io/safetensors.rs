//! The `.safetensors` format (MLX's `save_safetensors` / `load`): an 8-byte little-endian header
//! length, a JSON header naming each tensor's dtype, shape and byte range (and an optional
//! `__metadata__` map of strings), then the tensors' bytes.
//!
//! Writing follows MLX: tensors in key order, `"__metadata__": null` without metadata, float64
//! refused. Reading checks everything against the bytes present: a corrupt file is an error,
//! never a panic or an allocation larger than the file.

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// The tensors and metadata of a safetensors file.
#[derive(Clone, Debug, Default)]
pub struct SafeTensors {
    /// The tensors by name, in the order of their data in the file.
    pub arrays: Vec<(String, Array)>,
    /// The `__metadata__` entries (empty when the file has none).
    pub metadata: Vec<(String, String)>,
}

impl SafeTensors {
    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&Array> {
        self.arrays.iter().find(|(k, _)| k == name).map(|(_, a)| a)
    }
}

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::value(format!(
        "[load_safetensors] Corrupt or unsupported file: {msg}."
    ))
}

fn code(dtype: Dtype) -> Result<&'static str> {
    Ok(match dtype {
        Dtype::Bool => "BOOL",
        Dtype::Uint8 => "U8",
        Dtype::Uint16 => "U16",
        Dtype::Uint32 => "U32",
        Dtype::Uint64 => "U64",
        Dtype::Int8 => "I8",
        Dtype::Int16 => "I16",
        Dtype::Int32 => "I32",
        Dtype::Int64 => "I64",
        Dtype::Float16 => "F16",
        Dtype::Bfloat16 => "BF16",
        Dtype::Float32 => "F32",
        Dtype::Complex64 => "C64",
        Dtype::Float64 => {
            return Err(Error::runtime("[save_safetensors] received invalid dtype."));
        }
    })
}

fn dtype_of(code: &str) -> Result<Dtype> {
    Ok(match code {
        "BOOL" => Dtype::Bool,
        "U8" => Dtype::Uint8,
        "U16" => Dtype::Uint16,
        "U32" => Dtype::Uint32,
        "U64" => Dtype::Uint64,
        "I8" => Dtype::Int8,
        "I16" => Dtype::Int16,
        "I32" => Dtype::Int32,
        "I64" => Dtype::Int64,
        "F16" => Dtype::Float16,
        "BF16" => Dtype::Bfloat16,
        "F32" => Dtype::Float32,
        "F64" => Dtype::Float64,
        "C64" => Dtype::Complex64,
        // 8-bit floats load as their bytes (as MLX: `from_fp8` decodes E4M3).
        "F8_E4M3" | "F8_E8M0" => Dtype::Uint8,
        other => return Err(bad(format!("dtype '{other}' is not supported"))),
    })
}

/// The bytes of a safetensors file holding `arrays` (any order: written sorted by name, as
/// MLX) and `metadata`.
///
/// ```
/// use rmlx_core::{self as mx, io::safetensors};
/// let bytes = safetensors::to_bytes(&[("w", &mx::array![1.0, 2.0])], &[("format", "mlx")])?;
/// let back = safetensors::from_bytes(&bytes)?;
/// assert_eq!(back.get("w").unwrap().to_vec::<f32>()?, vec![1.0, 2.0]);
/// assert_eq!(back.metadata, vec![("format".to_string(), "mlx".to_string())]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn to_bytes(arrays: &[(&str, &Array)], metadata: &[(&str, &str)]) -> Result<Vec<u8>> {
    let mut sorted: Vec<&(&str, &Array)> = arrays.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::value(format!(
            "[save_safetensors] The name '{}' is given twice.",
            w[0].0
        )));
    }
    let mut header = Map::new();
    header.insert(
        "__metadata__".into(),
        if metadata.is_empty() {
            Value::Null
        } else {
            Value::Object(
                metadata
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                    .collect(),
            )
        },
    );
    let mut blob: Vec<u8> = Vec::new();
    for (name, a) in sorted {
        if *name == "__metadata__" {
            return Err(Error::value(
                "[save_safetensors] '__metadata__' is not a valid tensor name.",
            ));
        }
        let dtype = code(a.dtype())?;
        let bytes = crate::io::array_bytes(a)?;
        let start = blob.len();
        blob.extend_from_slice(&bytes);
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": dtype, "shape": a.shape(), "data_offsets": [start, blob.len()]}),
        );
    }
    let mut header = serde_json::to_vec(&Value::Object(header))
        .map_err(|e| Error::runtime(format!("[save_safetensors] {e}")))?;
    // Spaces pad the header so the data starts 8-byte aligned (as the safetensors library
    // writes it): every tensor then suits its dtype's alignment and loads without a copy.
    header.resize((8 + header.len()).next_multiple_of(8) - 8, b' ');
    let mut out = Vec::with_capacity(8 + header.len() + blob.len());
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&blob);
    Ok(out)
}

/// One tensor of a file: name, dtype, shape and its byte range in the data section.
struct Entry {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

/// A checked header: the tensors sorted by offset, the metadata, where the data section starts.
type Header = (Vec<Entry>, Vec<(String, String)>, usize);

/// Parses and checks the header. Every range is checked against the bytes present.
fn parse_header(bytes: &[u8]) -> Result<Header> {
    let len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .ok_or_else(|| bad("shorter than its 8-byte header length"))?;
    let header_end = usize::try_from(len)
        .ok()
        .and_then(|l| l.checked_add(8))
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| bad("the header is longer than the file"))?;
    let header: Value = serde_json::from_slice(&bytes[8..header_end])
        .map_err(|e| bad(format!("the header is not JSON ({e})")))?;
    let header = header
        .as_object()
        .ok_or_else(|| bad("the header is not a JSON object"))?;
    let data = &bytes[header_end..];
    let mut metadata = Vec::new();
    let mut entries = Vec::with_capacity(header.len());
    for (name, v) in header {
        if name == "__metadata__" {
            match v {
                Value::Null => {}
                Value::Object(m) => {
                    for (k, val) in m {
                        let s = val
                            .as_str()
                            .ok_or_else(|| bad(format!("metadata '{k}' is not a string")))?;
                        metadata.push((k.clone(), s.to_string()));
                    }
                }
                _ => return Err(bad("__metadata__ is not a map")),
            }
            continue;
        }
        let dtype = dtype_of(
            v["dtype"]
                .as_str()
                .ok_or_else(|| bad(format!("tensor '{name}' has no dtype")))?,
        )?;
        let shape = v["shape"]
            .as_array()
            .ok_or_else(|| bad(format!("tensor '{name}' has no shape")))?
            .iter()
            .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| bad(format!("tensor '{name}' has a bad shape")))?;
        let offsets = v["data_offsets"]
            .as_array()
            .filter(|o| o.len() == 2)
            .and_then(|o| Some((o[0].as_u64()?, o[1].as_u64()?)))
            .ok_or_else(|| bad(format!("tensor '{name}' has bad data_offsets")))?;
        let (start, end) = (
            usize::try_from(offsets.0).map_err(|_| bad("offset too large"))?,
            usize::try_from(offsets.1).map_err(|_| bad("offset too large"))?,
        );
        let nbytes = crate::array::checked_nbytes(&shape, dtype)
            .map_err(|_| bad(format!("tensor '{name}' has an absurd shape")))?;
        if start > end || end > data.len() || end - start != nbytes {
            return Err(bad(format!(
                "tensor '{name}' claims bytes {start}..{end} for {nbytes} bytes of data in a \
                 data section of {}",
                data.len()
            )));
        }
        entries.push(Entry {
            name: name.clone(),
            dtype,
            shape,
            start,
            end,
        });
    }
    entries.sort_by_key(|e| e.start);
    Ok((entries, metadata, header_end))
}

/// Reads a safetensors file held in memory (see [`to_bytes`] for an example).
pub fn from_bytes(bytes: &[u8]) -> Result<SafeTensors> {
    let (entries, metadata, data_start) = parse_header(bytes)?;
    let data = &bytes[data_start..];
    let arrays = entries
        .into_iter()
        .map(|e| {
            let a = crate::io::npy::from_bytes(&data[e.start..e.end], &e.shape, e.dtype)?;
            Ok((e.name, a))
        })
        .collect::<Result<_>>()?;
    Ok(SafeTensors { arrays, metadata })
}

/// Writes `arrays` and `metadata` to a safetensors file (MLX's `save_safetensors`;
/// `.safetensors` is appended to the path when missing).
///
/// ```
/// use rmlx_core::{self as mx, io::safetensors};
/// let path = std::env::temp_dir().join(format!("rmlx_doc_{}.safetensors", std::process::id()));
/// safetensors::save_safetensors(&path, &[("b", &mx::array![1, 2])], &[])?;
/// let loaded = safetensors::load_safetensors(&path)?;
/// assert_eq!(loaded.get("b").unwrap().to_vec::<i32>()?, vec![1, 2]);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), mx::Error>(())
/// ```
pub fn save_safetensors(
    path: impl AsRef<std::path::Path>,
    arrays: &[(&str, &Array)],
    metadata: &[(&str, &str)],
) -> Result<()> {
    let bytes = to_bytes(arrays, metadata)?;
    let path = super::with_suffix(path.as_ref(), ".safetensors");
    super::write_file(&path, &bytes, "save_safetensors")
}

/// Reads a safetensors file (MLX's `load` of a `.safetensors` file, with its metadata).
///
/// The file is memory-mapped privately, read-only, and read in at once: each tensor whose
/// offset suits its dtype's alignment views the mapped pages directly, so loading copies
/// nothing and the page cache holds the only copy of the data. A tensor at an
/// unaligned offset is copied. The file must not be truncated while its arrays are alive (as
/// with any memory-mapped file, that would fault).
pub fn load_safetensors(path: impl AsRef<std::path::Path>) -> Result<SafeTensors> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| {
        Error::value(format!(
            "[load_safetensors] Failed to open {}: {e}",
            path.display()
        ))
    })?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len < 8 {
        // Too short to map usefully; the parser reports what is wrong.
        return from_bytes(&std::fs::read(path).unwrap_or_default());
    }
    // SAFETY: a private read-only mapping: rmlx never writes mapped buffers (they are never
    // donated), and the mapping lives as long as the buffers that point into it (they hold
    // the Arc). `populate` reads the whole file in at once with the kernel's readahead and
    // maps its pages (the page cache's own: read-only, so nothing is copied); on this
    // machine that reads as fast as dd, where faulting pages in later, or populating a
    // writable private mapping (which copies every page), is 2-6x slower.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .populate()
            .map_copy_read_only(&file)
    }
    .map_err(|e| {
        Error::runtime(format!(
            "[load_safetensors] Cannot map {}: {e}",
            path.display()
        ))
    })?;
    let (entries, metadata, data_start) = parse_header(&map)?;
    let base = map.as_ptr() as *mut u8;
    let map: std::sync::Arc<dyn Send + Sync> = std::sync::Arc::new(map);
    let mut arrays = Vec::with_capacity(entries.len());
    for e in entries {
        let offset = data_start + e.start;
        let nbytes = e.end - e.start;
        let item = e.dtype.size();
        // SAFETY: parse_header checked offset..offset + nbytes lies inside the mapping.
        let ptr = unsafe { base.add(offset) };
        if offset % item != 0
            || (e.dtype == crate::dtype::Dtype::Bool && {
                // SAFETY: as above; the bytes are read only to validate them.
                let bytes = unsafe { std::slice::from_raw_parts(ptr, nbytes) };
                bytes.iter().any(|&b| b > 1)
            })
        {
            // SAFETY: as above.
            let bytes = unsafe { std::slice::from_raw_parts(ptr, nbytes) };
            arrays.push((
                e.name,
                crate::io::npy::from_bytes(bytes, &e.shape, e.dtype)?,
            ));
            continue;
        }
        // SAFETY: in bounds (checked), aligned to the item size (checked), kept alive by the
        // Arc, private to this process.
        let buf = unsafe {
            crate::allocator::Buffer::mapped(
                std::ptr::NonNull::new(ptr).expect("mapping is non-null"),
                nbytes,
                map.clone(),
            )
        };
        let data = crate::array::Data::from_buffer(buf, &e.shape);
        arrays.push((e.name, Array::from_data(e.shape, e.dtype, data)));
    }
    Ok(SafeTensors { arrays, metadata })
}
