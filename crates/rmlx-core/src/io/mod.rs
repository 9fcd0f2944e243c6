//! File formats: NumPy's `.npy`/`.npz` (reading) and `.safetensors` (reading and writing).
//! The file-format issue adds the `.npy`/`.npz` writers and gguf.

pub mod npy;
pub mod safetensors;

use crate::array::Array;
use crate::error::{Error, Result};

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
