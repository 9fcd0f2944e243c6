//! Positional encodings: `RoPE`, `SinusoidalPositionalEncoding` and `ALiBi`.

use crate::core::{self as mx, Array, Dtype, Error, Result, fast::RopeOffset};
use crate::pyrepr::py_bool;
use crate::{Forward, ModuleState};

/// Rotary positional encoding (MLX's `nn.RoPE`, over [`mx::fast::rope`]): the first `dims`
/// features of each position are rotated in pairs by angles growing with the position;
/// features past `dims` pass through. The sequence axis is the second to last.
///
/// `traditional` rotates consecutive pairs `(2i, 2i + 1)`; the default pairs feature `i` with
/// `i + dims / 2`. Frequencies are `base^(-2i / dims)` and positions are multiplied by
/// `scale`.
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module};
/// use rmlx_nn::core as mx;
/// let rope = nn::RoPE::new(4);
/// let x = mx::ones(&[1, 3, 4], mx::float32)?;
/// assert_eq!(rope.forward(&x)?.shape(), &[1, 3, 4]);
/// assert_eq!(rope.forward_offset(&x, 5)?.shape(), &[1, 3, 4]);
/// assert_eq!(rope.to_string(), "RoPE(4, traditional=False)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = RoPE::describe)]
pub struct RoPE {
    /// The number of features rotated.
    pub dims: usize,
    /// Whether consecutive features are paired.
    pub traditional: bool,
    /// The base of the frequencies (MLX's default 10000).
    pub base: f32,
    /// The scale of the positions (MLX's default 1).
    pub scale: f32,
    state: ModuleState,
}

/// The options of [`RoPE::with_options`], MLX's defaults by `Default`.
#[derive(Clone, Debug, PartialEq)]
pub struct RoPEOptions {
    /// Pair consecutive features. Default `false`.
    pub traditional: bool,
    /// Frequency base. Default `10000`.
    pub base: f32,
    /// Position scale. Default `1`.
    pub scale: f32,
}

impl Default for RoPEOptions {
    fn default() -> Self {
        RoPEOptions {
            traditional: false,
            base: 10000.0,
            scale: 1.0,
        }
    }
}

impl RoPE {
    /// RoPE over the first `dims` features with MLX's defaults.
    pub fn new(dims: usize) -> Self {
        Self::with_options(dims, &RoPEOptions::default())
    }

    /// RoPE with the given options.
    ///
    /// ```
    /// use rmlx_nn::{self as nn, Module};
    /// let rope = nn::RoPE::with_options(8, &nn::RoPEOptions { traditional: true, ..Default::default() });
    /// assert_eq!(rope.to_string(), "RoPE(8, traditional=True)");
    /// ```
    pub fn with_options(dims: usize, options: &RoPEOptions) -> Self {
        RoPE {
            dims,
            traditional: options.traditional,
            base: options.base,
            scale: options.scale,
            state: ModuleState::default(),
        }
    }

    /// The encoding with positions starting at `offset` (an integer, or an integer array: a
    /// scalar or one offset per batch element), MLX's `rope(x, offset)`.
    pub fn forward_offset(&self, x: &Array, offset: impl Into<RopeOffset>) -> Result<Array> {
        let dims = i32::try_from(self.dims)
            .map_err(|_| Error::value(format!("[RoPE] dims {} is too large.", self.dims)))?;
        mx::fast::rope(
            x,
            dims,
            self.traditional,
            Some(self.base),
            self.scale,
            offset,
            None,
        )
    }

    fn describe(&self) -> String {
        format!("{}, traditional={}", self.dims, py_bool(self.traditional))
    }
}

impl Forward for RoPE {
    /// The encoding with positions starting at 0.
    fn forward(&self, x: &Array) -> Result<Array> {
        self.forward_offset(x, 0)
    }
}

/// Sinusoidal positional encoding (MLX's `nn.SinusoidalPositionalEncoding`): each value `p`
/// of the input becomes `[sin(p * s_i); cos(p * s_i)] * scale` (cosines first with
/// `cos_first`), with `dims / 2` frequencies `s_i` spaced geometrically from `max_freq` down
/// to `min_freq` (times `2 pi` with `full_turns`). The output has one more axis, of `dims`.
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module};
/// use rmlx_nn::core as mx;
/// let pe = nn::SinusoidalPositionalEncoding::new(8)?;
/// let y = pe.forward(&mx::arange(0, 5, 1)?)?;
/// assert_eq!(y.shape(), &[5, 8]);
/// assert_eq!(pe.to_string(), "SinusoidalPositionalEncoding()");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
pub struct SinusoidalPositionalEncoding {
    /// The frequencies (MLX's `_sigmas`: not a parameter).
    #[module(skip)]
    pub sigmas: Array,
    /// The multiplier of the embeddings.
    pub scale: f64,
    /// Whether the cosines come first.
    pub cos_first: bool,
    state: ModuleState,
}

/// The options of [`SinusoidalPositionalEncoding::with_options`], MLX's defaults by
/// `Default`.
#[derive(Clone, Debug, PartialEq)]
pub struct SinusoidalPositionalEncodingOptions {
    /// The lowest frequency. Default `0.0001`.
    pub min_freq: f64,
    /// The highest frequency. Default `1`.
    pub max_freq: f64,
    /// The multiplier; `None` (the default) is `sqrt(2 / dims)`.
    pub scale: Option<f64>,
    /// `[cos; sin]` instead of `[sin; cos]`. Default `false`.
    pub cos_first: bool,
    /// Multiply the frequencies by `2 pi`. Default `false`.
    pub full_turns: bool,
}

impl Default for SinusoidalPositionalEncodingOptions {
    fn default() -> Self {
        SinusoidalPositionalEncodingOptions {
            min_freq: 0.0001,
            max_freq: 1.0,
            scale: None,
            cos_first: false,
            full_turns: false,
        }
    }
}

impl SinusoidalPositionalEncoding {
    /// An encoding of `dims` features (positive and even) with MLX's defaults.
    pub fn new(dims: usize) -> Result<Self> {
        Self::with_options(dims, &SinusoidalPositionalEncodingOptions::default())
    }

    /// An encoding with the given options.
    ///
    /// ```
    /// use rmlx_nn as nn;
    /// let opts = nn::SinusoidalPositionalEncodingOptions { cos_first: true, ..Default::default() };
    /// assert!(nn::SinusoidalPositionalEncoding::with_options(6, &opts).is_ok());
    /// assert!(nn::SinusoidalPositionalEncoding::with_options(5, &opts).is_err());
    /// ```
    pub fn with_options(
        dims: usize,
        options: &SinusoidalPositionalEncodingOptions,
    ) -> Result<Self> {
        if dims == 0 || !dims.is_multiple_of(2) {
            return Err(Error::value(format!(
                "[SinusoidalPositionalEncoding] dims must be positive and even but got {dims}."
            )));
        }
        let half = dims / 2;
        let one_zero = if dims == 2 {
            mx::array![1.0f32]
        } else {
            // 1 - arange(half) / (half - 1), in float32 as MLX computes it.
            mx::subtract(
                1.0f32,
                mx::divide(mx::arange(0, half as i64, 1)?, (half - 1) as i32)?,
            )?
        };
        let (min_freq, max_freq) = (options.min_freq.ln(), options.max_freq.ln());
        let mut sigmas = mx::exp(mx::add(
            mx::multiply(&one_zero, max_freq - min_freq)?,
            min_freq,
        )?)?;
        if options.full_turns {
            sigmas = mx::multiply(&sigmas, 2.0 * std::f64::consts::PI)?;
        }
        Ok(SinusoidalPositionalEncoding {
            sigmas,
            scale: options.scale.unwrap_or((2.0 / dims as f64).sqrt()),
            cos_first: options.cos_first,
            state: ModuleState::default(),
        })
    }
}

impl Forward for SinusoidalPositionalEncoding {
    /// The encodings of the positions `x`: shape `x.shape + (dims,)`.
    fn forward(&self, x: &Array) -> Result<Array> {
        let y = mx::multiply(mx::expand_dims(x, -1)?, &self.sigmas)?;
        let (c, s) = (mx::cos(&y)?, mx::sin(&y)?);
        let y = if self.cos_first {
            mx::concatenate(&[c, s], -1)?
        } else {
            mx::concatenate(&[s, c], -1)?
        };
        if self.scale != 1.0 {
            mx::multiply(&y, self.scale)
        } else {
            Ok(y)
        }
    }
}

/// Attention with linear biases (MLX's `nn.ALiBi`): adds to attention scores
/// `(batch, heads, queries, keys)` a bias `-slope_h * |i - j|` with one geometric slope per
/// head. It has no parameters.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let scores = mx::zeros(&[1, 2, 3, 3], mx::float32)?;
/// let y = nn::ALiBi::new().forward(&scores)?;
/// assert_eq!(y.shape(), &[1, 2, 3, 3]);
/// // head 0 has slope 2^-4 with 2 heads: query 2 is two keys away from key 0
/// assert_eq!(y.to_vec::<f32>()?[6], -2.0 * 0.0625);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, Default, crate::Module)]
#[allow(clippy::upper_case_acronyms)]
pub struct ALiBi {
    state: ModuleState,
}

fn alibi_slopes(n: usize) -> Vec<f64> {
    let log2 = (n as f64).log2();
    if log2.fract() == 0.0 {
        let start = 2f64.powf(-(2f64.powf(-(log2 - 3.0))));
        (0..n).map(|i| start * start.powi(i as i32)).collect()
    } else {
        let closest = 1usize << (log2.floor() as u32);
        let mut out = alibi_slopes(closest);
        out.extend(
            alibi_slopes(2 * closest)
                .into_iter()
                .step_by(2)
                .take(n - closest),
        );
        out
    }
}

impl ALiBi {
    /// The layer (it holds nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// The slopes of `num_heads` heads, shape `(num_heads, 1, 1)` (MLX's
    /// `create_alibi_slope`).
    ///
    /// ```
    /// use rmlx_nn as nn;
    /// use rmlx_nn::core as mx;
    /// let s = nn::ALiBi::create_alibi_slope(4, mx::float32)?;
    /// assert_eq!(s.to_vec::<f32>()?, vec![0.25, 0.0625, 0.015625, 0.00390625]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn create_alibi_slope(num_heads: usize, dtype: Dtype) -> Result<Array> {
        if num_heads == 0 {
            return Err(Error::value("math domain error"));
        }
        let slopes = Array::from_vec(alibi_slopes(num_heads)).astype(dtype)?;
        mx::expand_dims(&slopes, [-1, -2])
    }

    /// The bias `(1, num_heads, q_sequence_length - offset, k_sequence_length)`: query `i`
    /// (from `offset`) and key `j` get `-slope_h * |i - j|` (MLX's `create_alibi_matrix`).
    ///
    /// ```
    /// use rmlx_nn as nn;
    /// use rmlx_nn::core as mx;
    /// let m = nn::ALiBi::create_alibi_matrix(4, 4, 8, 2, mx::float32)?;
    /// assert_eq!(m.shape(), &[1, 8, 2, 4]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn create_alibi_matrix(
        q_sequence_length: usize,
        k_sequence_length: usize,
        num_heads: usize,
        offset: usize,
        dtype: Dtype,
    ) -> Result<Array> {
        let x1 = mx::arange(offset as i64, q_sequence_length as i64, 1)?;
        let x2 = mx::arange(0, k_sequence_length as i64, 1)?;
        let diff = mx::subtract(mx::expand_dims(&x1, 1)?, mx::expand_dims(&x2, 0)?)?;
        let distance = mx::negative(mx::abs(mx::expand_dims(&diff, [0, 1])?)?)?;
        let slope = Self::create_alibi_slope(num_heads, dtype)?;
        mx::multiply(&distance, &slope)?.astype(dtype)
    }

    /// The scores `(batch, heads, queries, keys)` plus the bias for queries starting at
    /// `offset`, plus `mask` when given (MLX's `alibi(scores, offset, mask)`); the number of
    /// heads is read from axis 1.
    pub fn forward_with(
        &self,
        attention_scores: &Array,
        offset: usize,
        mask: Option<&Array>,
    ) -> Result<Array> {
        let s = attention_scores.shape();
        if s.len() < 2 {
            return Err(Error::value(format!(
                "[ALiBi] the attention scores need at least 2 dimensions, got shape {s:?}."
            )));
        }
        let heads = s[1];
        let mut bias = Self::create_alibi_matrix(
            s[s.len() - 2] + offset,
            s[s.len() - 1],
            heads,
            offset,
            attention_scores.dtype(),
        )?;
        if let Some(m) = mask {
            bias = mx::add(&bias, m)?;
        }
        mx::add(attention_scores, &bias)
    }
}

impl Forward for ALiBi {
    /// The scores plus the bias, offset 0 and no mask.
    fn forward(&self, x: &Array) -> Result<Array> {
        self.forward_with(x, 0, None)
    }
}
