//! File formats, as MLX reads and writes them: NumPy's `.npy` and `.npz` (stored or
//! compressed), `.safetensors` (with metadata; memory-mapped loading) and `.gguf` (with typed
//! metadata and llama.cpp's quantized tensor types).
//!
//! [`load`] picks the format from the file's extension, as `mx.load` does; each format also has
//! its own module with in-memory parsers (`from_bytes`, `parse_npy`, ...) for data that is not in
//! a file. Every reader treats its input as untrusted: a corrupt file is an error, never a panic,
//! an out-of-bounds read or an allocation larger than the file justifies.

pub mod gguf;
pub mod npy;
pub mod npz;
pub mod safetensors;
mod zip;

pub use gguf::{GgufValue, save_gguf};
pub use npz::{savez, savez_compressed};
pub use safetensors::save_safetensors;

use crate::array::Array;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The row-major little-endian bytes of an array (evaluated first).
pub(crate) fn array_bytes(a: &Array) -> Result<Vec<u8>> {
    let c = crate::ops::contiguous(a)?;
    c.eval()?;
    let d = c.ready_data()?;
    let (size, n) = (c.itemsize(), c.nbytes());
    d.buffer
        .bytes()
        .get(d.offset * size..d.offset * size + n)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| Error::runtime("[save] An array's data is out of range."))
}

/// `path` with `suffix` appended unless it already ends with it (MLX's savers do this).
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let s = path.as_os_str();
    if s.to_string_lossy().ends_with(suffix) {
        path.to_path_buf()
    } else {
        let mut s = s.to_os_string();
        s.push(suffix);
        PathBuf::from(s)
    }
}

pub(crate) fn write_file(path: &Path, bytes: &[u8], op: &str) -> Result<()> {
    std::fs::write(path, bytes)
        .map_err(|e| Error::runtime(format!("[{op}] Cannot write {}: {e}", path.display())))
}

pub(crate) fn read_file(path: &Path, op: &str) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::value(format!("[{op}] Failed to open {}: {e}", path.display())))
}

/// Writes `a` to an `.npy` file (MLX's `save`; `.npy` is appended to the path when missing).
///
/// ```
/// use rmlx_core::{self as mx, io};
/// let path = std::env::temp_dir().join(format!("rmlx_doc_save_{}", std::process::id()));
/// io::save(&path, &mx::array![[1, 2], [3, 4]])?;
/// let back = io::load(path.with_extension("npy"))?.into_array()?;
/// assert_eq!(back.to_vec::<i32>()?, vec![1, 2, 3, 4]);
/// # std::fs::remove_file(path.with_extension("npy")).ok();
/// # Ok::<(), mx::Error>(())
/// ```
pub fn save(path: impl AsRef<Path>, a: &Array) -> Result<()> {
    npy::save(with_suffix(path.as_ref(), ".npy"), a)
}

/// What [`load`] read: one array (`.npy`) or named arrays (the other formats).
#[derive(Clone, Debug)]
pub enum Loaded {
    /// The array of an `.npy` file.
    Array(Array),
    /// The arrays of an `.npz`, `.safetensors` or `.gguf` file, in the file's order.
    Arrays(Vec<(String, Array)>),
}

impl Loaded {
    /// The single array of an `.npy` file; an error for the other formats.
    pub fn into_array(self) -> Result<Array> {
        match self {
            Loaded::Array(a) => Ok(a),
            Loaded::Arrays(_) => Err(Error::value(
                "[load] The file holds a map of arrays, not a single array.",
            )),
        }
    }
    /// The named arrays (an `.npy` file's array is named `""`).
    pub fn into_arrays(self) -> Vec<(String, Array)> {
        match self {
            Loaded::Array(a) => vec![(String::new(), a)],
            Loaded::Arrays(v) => v,
        }
    }
    /// The array called `name`, if the file holds named arrays.
    pub fn get(&self, name: &str) -> Option<&Array> {
        match self {
            Loaded::Array(_) => None,
            Loaded::Arrays(v) => v.iter().find(|(k, _)| k == name).map(|(_, a)| a),
        }
    }
}

/// The metadata of a file ([`load_with_metadata`]).
#[derive(Clone, Debug)]
pub enum Metadata {
    /// A safetensors file's `__metadata__` strings.
    Strings(Vec<(String, String)>),
    /// A GGUF file's typed values.
    Gguf(Vec<(String, GgufValue)>),
}

/// The format named by `format`, or by the path's extension.
fn format_of<'a>(path: &'a Path, format: Option<&'a str>) -> Result<&'a str> {
    match format {
        Some(f) => Ok(f),
        None => path
            .extension()
            .and_then(|e| e.to_str())
            .ok_or_else(|| Error::value("[load] Could not infer file format from extension")),
    }
}

/// Loads a `.npy`, `.npz`, `.safetensors` or `.gguf` file, the format inferred from the
/// extension (MLX's `mx.load`). Safetensors files are memory-mapped: their arrays read the file's
/// pages directly, with no copy.
///
/// ```
/// use rmlx_core::{self as mx, io};
/// let path = std::env::temp_dir().join(format!("rmlx_doc_load_{}.npz", std::process::id()));
/// io::savez(&path, &[("x", &mx::array![1.0, 2.0])])?;
/// let loaded = io::load(&path)?;
/// assert_eq!(loaded.get("x").unwrap().to_vec::<f32>()?, vec![1.0, 2.0]);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), mx::Error>(())
/// ```
pub fn load(path: impl AsRef<Path>) -> Result<Loaded> {
    load_format(path, None)
}

/// [`load`] with the format given (`"npy"`, `"npz"`, `"safetensors"` or `"gguf"`) instead of
/// inferred from the extension.
pub fn load_format(path: impl AsRef<Path>, format: Option<&str>) -> Result<Loaded> {
    let path = path.as_ref();
    match format_of(path, format)? {
        "npy" => npy::load(path).map(Loaded::Array),
        "npz" => npz::load_npz(path).map(Loaded::Arrays),
        "safetensors" => safetensors::load_safetensors(path).map(|s| Loaded::Arrays(s.arrays)),
        "gguf" => gguf::load_gguf(path).map(|g| Loaded::Arrays(g.arrays)),
        other => Err(Error::value(format!("[load] Unknown file format {other}"))),
    }
}

/// Loads a file's arrays and its metadata (MLX's `mx.load(..., return_metadata=True)`): for
/// `.safetensors` and `.gguf` files only, as in MLX.
///
/// ```
/// use rmlx_core::{self as mx, io};
/// let path = std::env::temp_dir().join(format!("rmlx_doc_meta_{}.safetensors", std::process::id()));
/// io::save_safetensors(&path, &[("w", &mx::array![1.0])], &[("author", "me")])?;
/// let (arrays, meta) = io::load_with_metadata(&path, None)?;
/// assert_eq!(arrays.len(), 1);
/// assert!(matches!(meta, io::Metadata::Strings(m) if m[0].1 == "me"));
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), mx::Error>(())
/// ```
pub fn load_with_metadata(
    path: impl AsRef<Path>,
    format: Option<&str>,
) -> Result<(Vec<(String, Array)>, Metadata)> {
    let path = path.as_ref();
    match format_of(path, format)? {
        "safetensors" => {
            safetensors::load_safetensors(path).map(|s| (s.arrays, Metadata::Strings(s.metadata)))
        }
        "gguf" => gguf::load_gguf(path).map(|g| (g.arrays, Metadata::Gguf(g.metadata))),
        f @ ("npy" | "npz") => Err(Error::value(format!(
            "[load] metadata not supported for format {f}"
        ))),
        other => Err(Error::value(format!("[load] Unknown file format {other}"))),
    }
}
