//! `mx.distributed` for one process: the singleton group MLX returns when no multi-process
//! backend is initialised. Collectives over it return their input (a group of one holds
//! every part already); point-to-point operations and `split` are errors, worded as MLX's.
//!
//! rmlx builds no multi-process backend (MPI, ring, NCCL, JACCL): [`is_available`] is false
//! and a strict [`init`] is an error, as MLX's is without a backend.
//!
//! ```
//! use rmlx_core as mx;
//! let g = mx::distributed::init(false)?;
//! assert_eq!((g.rank(), g.size()), (0, 1));
//! let x = mx::array![1.0, 2.0];
//! assert_eq!(mx::distributed::all_sum(&x, None)?.to_vec::<f32>()?, vec![1.0, 2.0]);
//! # Ok::<(), mx::Error>(())
//! ```

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};

/// A communication group (`mx.distributed.Group`): here always the singleton group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Group {
    rank: usize,
    size: usize,
}

impl Group {
    /// This process's rank in the group.
    pub fn rank(&self) -> usize {
        self.rank
    }
    /// The number of processes in the group.
    pub fn size(&self) -> usize {
        self.size
    }
    /// Splits the group by `color` (and `key`): a group of one cannot be split further.
    pub fn split(&self, color: i32, key: Option<i32>) -> Result<Group> {
        let _ = (color, key);
        Err(Error::runtime(
            "Cannot split the distributed group further.",
        ))
    }
}

/// Whether a multi-process backend is available: never, in rmlx.
pub fn is_available() -> bool {
    false
}

/// The global group: the singleton group, or with `strict` an error (no backend can start).
pub fn init(strict: bool) -> Result<Group> {
    if strict {
        return Err(Error::runtime(
            "[distributed] Couldn't initialize any backend",
        ));
    }
    Ok(Group { rank: 0, size: 1 })
}

/// A collective over the singleton group: the input itself (arrays are immutable, so the
/// same handle serves).
fn singleton_collective(x: &Array, group: Option<Group>) -> Result<Array> {
    let _ = group.map(|g| g.size);
    Ok(x.clone())
}

/// Sum over the group's processes (`all_sum`): `x` itself in a group of one.
pub fn all_sum(x: &Array, group: Option<Group>) -> Result<Array> {
    singleton_collective(x, group)
}

/// Elementwise maximum over the group (`all_max`).
pub fn all_max(x: &Array, group: Option<Group>) -> Result<Array> {
    singleton_collective(x, group)
}

/// Elementwise minimum over the group (`all_min`).
pub fn all_min(x: &Array, group: Option<Group>) -> Result<Array> {
    singleton_collective(x, group)
}

/// Concatenation of every process's `x` along axis 0 (`all_gather`).
pub fn all_gather(x: &Array, group: Option<Group>) -> Result<Array> {
    singleton_collective(x, group)
}

/// Sum over the group, scattered along axis 0 (`sum_scatter`).
pub fn sum_scatter(x: &Array, group: Option<Group>) -> Result<Array> {
    singleton_collective(x, group)
}

/// Sends `x` to process `dst` (`send`): there is no other process.
pub fn send(x: &Array, dst: usize, group: Option<Group>) -> Result<Array> {
    let _ = (x, dst, group);
    Err(Error::value("Cannot send to a singleton group"))
}

/// Receives an array of `shape` and `dtype` from process `src` (`recv`).
pub fn recv(shape: &[usize], dtype: Dtype, src: usize, group: Option<Group>) -> Result<Array> {
    let _ = (shape, dtype, src, group);
    Err(Error::value("Cannot recv from a singleton group"))
}

/// Receives an array shaped like `x` from process `src` (`recv_like`).
pub fn recv_like(x: &Array, src: usize, group: Option<Group>) -> Result<Array> {
    recv(x.shape(), x.dtype(), src, group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate as mx;

    #[test]
    fn singleton_group_semantics() {
        assert!(init(true).is_err());
        let g = init(false).unwrap();
        assert!(g.split(0, None).is_err());
        let x = mx::array![[1, 2], [3, 4]];
        for f in [all_sum, all_max, all_min, all_gather, sum_scatter] {
            let y = f(&x, Some(g)).unwrap();
            assert_eq!(y.to_vec::<i32>().unwrap(), vec![1, 2, 3, 4]);
        }
        assert_eq!(send(&x, 0, None).unwrap_err().kind(), mx::ErrorKind::Value);
        assert!(recv_like(&x, 0, None).is_err());
    }
}
