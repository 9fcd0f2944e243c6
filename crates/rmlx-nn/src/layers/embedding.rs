//! `Embedding`: a lookup table from integer tokens to vectors.

use crate::core::{self as mx, Array, Error, Result};
use crate::{Forward, ModuleState};

/// Maps each integer of its input to a row of `weight` (MLX's `nn.Embedding`): `weight` is
/// `(num_embeddings, dims)`, initialised from `N(0, 1/dims)` as in MLX.
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module};
/// use rmlx_nn::core as mx;
/// let emb = nn::Embedding::new(10, 4)?;
/// let tokens = mx::array![[1i32, 2, 3], [4, 5, 6]];
/// assert_eq!(emb.forward(&tokens)?.shape(), &[2, 3, 4]);
/// assert_eq!(emb.as_linear(&mx::ones(&[2, 4], mx::float32)?)?.shape(), &[2, 10]);
/// assert_eq!(emb.to_string(), "Embedding(10, 4)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = Embedding::describe)]
pub struct Embedding {
    /// `(num_embeddings, dims)`.
    pub weight: Array,
    state: ModuleState,
}

impl Embedding {
    /// A table of `num_embeddings` vectors of `dims` features.
    pub fn new(num_embeddings: usize, dims: usize) -> Result<Self> {
        if dims == 0 {
            return Err(Error::value("[Embedding] dims must be positive."));
        }
        let scale = (1.0 / dims as f64).sqrt() as f32;
        let weight = mx::multiply(
            mx::random::normal(&[num_embeddings, dims], mx::float32, None)?,
            scale,
        )?;
        Self::from_weights(weight)
    }

    /// A layer holding the given table (`(num_embeddings, dims)`).
    ///
    /// ```
    /// use rmlx_nn::{self as nn, Forward};
    /// use rmlx_nn::core as mx;
    /// let emb = nn::Embedding::from_weights(mx::array![[0.0f32, 1.0], [2.0, 3.0]])?;
    /// assert_eq!(emb.forward(&mx::array![1u32])?.to_vec::<f32>()?, vec![2.0, 3.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn from_weights(weight: Array) -> Result<Self> {
        if weight.ndim() != 2 {
            return Err(Error::value(format!(
                "[Embedding] weight must have 2 dimensions (num_embeddings, dims), got shape {:?}.",
                weight.shape()
            )));
        }
        Ok(Embedding {
            weight,
            state: ModuleState::default(),
        })
    }

    /// The layer used as a linear projection onto the vocabulary, `x @ weight^T` (for tied
    /// input and output embeddings; MLX's `as_linear`).
    ///
    /// ```
    /// use rmlx_nn as nn;
    /// use rmlx_nn::core as mx;
    /// let emb = nn::Embedding::from_weights(mx::array![[1.0f32, 0.0], [0.0, 2.0]])?;
    /// assert_eq!(emb.as_linear(&mx::array![[3.0f32, 4.0]])?.to_vec::<f32>()?, vec![3.0, 8.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn as_linear(&self, x: &Array) -> Result<Array> {
        mx::matmul(x, &self.weight.transpose()?)
    }

    fn describe(&self) -> String {
        let s = self.weight.shape();
        format!(
            "{}, {}",
            s.first().copied().unwrap_or(0),
            s.get(1).copied().unwrap_or(0)
        )
    }
}

impl Forward for Embedding {
    /// The rows of `weight` selected by the integer array `x`: shape `x.shape + (dims,)`.
    fn forward(&self, x: &Array) -> Result<Array> {
        if !mx::issubdtype(x.dtype(), mx::integer) {
            return Err(Error::value(
                "[gather] Got indices with invalid dtype. Indices must be integral.",
            ));
        }
        mx::take(&self.weight, x, Some(0))
    }
}
