//! NumPy's `.npz` archives: a zip of `.npy` files, stored (`savez`) or deflated
//! (`savez_compressed`). Both kinds load, including archives written by NumPy and MLX.

use super::npy::{parse_npy, to_npy_bytes};
use super::zip;
use super::{read_file, with_suffix, write_file};
use crate::array::Array;
use crate::error::{Error, Result};
use std::path::Path;

/// The bytes of an `.npz` archive holding `arrays` (entry `name.npy` for each), deflated when
/// `compress` is set.
///
/// ```
/// use rmlx_core::{self as mx, io::npz};
/// let bytes = npz::to_npz_bytes(&[("w", &mx::array![1.0, 2.0])], true)?;
/// let back = npz::parse_npz(&bytes)?;
/// assert_eq!(back[0].0, "w");
/// assert_eq!(back[0].1.to_vec::<f32>()?, vec![1.0, 2.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn to_npz_bytes(arrays: &[(&str, &Array)], compress: bool) -> Result<Vec<u8>> {
    let mut entries = Vec::with_capacity(arrays.len());
    for (i, (name, a)) in arrays.iter().enumerate() {
        if arrays[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::value(format!(
                "[savez] The name '{name}' is given to more than one array."
            )));
        }
        entries.push((format!("{name}.npy"), to_npy_bytes(a)?));
    }
    Ok(zip::write_archive(&entries, compress))
}

/// Parses an `.npz` archive held in memory (stored or deflated entries), returning its arrays by
/// name (without the `.npy` suffix), in archive order.
pub fn parse_npz(bytes: &[u8]) -> Result<Vec<(String, Array)>> {
    zip::read_entries(bytes)?
        .into_iter()
        .map(|e| {
            let key = e.name.strip_suffix(".npy").unwrap_or(&e.name).to_string();
            Ok((key, parse_npy(&e.data)?))
        })
        .collect()
}

/// Writes `arrays` to an uncompressed `.npz` file (MLX's `savez`; `.npz` is appended to the
/// path when missing). MLX's positional arrays are named `arr_0`, `arr_1`, ...: pass those
/// names to do the same.
///
/// ```
/// use rmlx_core::{self as mx, io::npz};
/// let path = std::env::temp_dir().join(format!("rmlx_doc_savez_{}", std::process::id()));
/// npz::savez(&path, &[("arr_0", &mx::array![1, 2]), ("b", &mx::array![true])])?;
/// let loaded = npz::load_npz(path.with_extension("npz"))?;
/// assert_eq!(loaded[1].1.to_vec::<bool>()?, vec![true]);
/// # std::fs::remove_file(path.with_extension("npz")).ok();
/// # Ok::<(), mx::Error>(())
/// ```
pub fn savez(path: impl AsRef<Path>, arrays: &[(&str, &Array)]) -> Result<()> {
    let bytes = to_npz_bytes(arrays, false)?;
    write_file(&with_suffix(path.as_ref(), ".npz"), &bytes, "savez")
}

/// Writes `arrays` to a deflated `.npz` file (MLX's `savez_compressed`).
///
/// ```
/// use rmlx_core::{self as mx, io::npz};
/// let path = std::env::temp_dir().join(format!("rmlx_doc_savezc_{}.npz", std::process::id()));
/// npz::savez_compressed(&path, &[("z", &mx::zeros(&[1000], mx::float32)?)])?;
/// assert!(std::fs::metadata(&path).unwrap().len() < 1000);
/// assert_eq!(npz::load_npz(&path)?[0].1.shape(), &[1000]);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), mx::Error>(())
/// ```
pub fn savez_compressed(path: impl AsRef<Path>, arrays: &[(&str, &Array)]) -> Result<()> {
    let bytes = to_npz_bytes(arrays, true)?;
    write_file(
        &with_suffix(path.as_ref(), ".npz"),
        &bytes,
        "savez_compressed",
    )
}

/// Reads an `.npz` file, stored or compressed.
pub fn load_npz(path: impl AsRef<Path>) -> Result<Vec<(String, Array)>> {
    parse_npz(&read_file(path.as_ref(), "load")?)
}
