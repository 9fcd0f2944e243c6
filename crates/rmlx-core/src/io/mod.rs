//! File formats: NumPy's `.npy` (reading, C and Fortran order, and writing) and `.npz`
//! (reading), and `.safetensors` (reading and writing). Still to come (issue 5): `.npz`
//! writing, gguf, memory-mapped loading.

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
