//! Random number generation (`mx.random`): counter-based Threefry keys, as MLX does them, so
//! that the same key gives the same numbers as MLX 0.32.4 (bit for bit for keys, bits,
//! `uniform`, `randint`, `bernoulli`, `permutation`; the samplers that go through `erfinv` or
//! `log` compute as MLX's CPU backend does).
//!
//! # Keys and the global key sequence
//!
//! A key is a `uint32` array of shape `[2]` ([`key`]); [`split`] derives new keys from it.
//! Every sampler takes `key: Option<&Array>`: with `Some(k)` the result depends only on `k`;
//! with `None` it draws the next key of this thread's global sequence (MLX's `KeySequence`:
//! the held key is split in two, the first half is kept, the second is used), which [`seed`]
//! resets. The sequence starts from the time in milliseconds when it is first used.
//!
//! The global key is an [`Array`] held in a [`CompileState`] ([`state`], MLX's
//! `mx.random.state`): pass it to [`compile_with_state`](crate::compile_with_state) and a
//! compiled function that draws from the global sequence takes the key as a hidden input and
//! leaves the advanced key behind, drawing exactly what the plain function would.
//!
//! # Signatures
//!
//! Arguments follow MLX's order and defaults, with these Rust forms:
//! - `shape` is any list of dimensions (`&[2, 3]`, `[4]`, `vec![n]`, `&[] as &[usize]` for a
//!   scalar); `dtype` is always given (MLX's default is `float32`, `int32` for `randint`).
//! - Bounds, probabilities, `loc`/`scale` arrays are arrays or Rust scalars (weakly typed as
//!   Python scalars are: `0`, `1.5`, `&a`).
//! - Where MLX takes `shape=None`, the Rust function takes `Option<&[usize]>`
//!   ([`bernoulli`], [`truncated_normal`]); `normal`'s optional `loc`/`scale` become
//!   [`normal_with`]; `categorical`'s `shape` / `num_samples` become
//!   [`categorical_shape`] / [`categorical_num_samples`]; `permutation` of an integer or of an
//!   array is [`permutation`] / [`permutation_of`].
//!
//! `multivariate_normal` is not here yet: it needs an SVD.
//!
//! ```
//! use rmlx_core as mx;
//! let k = mx::random::key(0);
//! let u = mx::random::uniform(0, 1, &[3], mx::float32, Some(&k))?;
//! let again = mx::random::uniform(0, 1, &[3], mx::float32, Some(&k))?;
//! assert_eq!(u.to_vec::<f32>()?, again.to_vec::<f32>()?);
//! mx::random::seed(7);
//! let x = mx::random::normal(&[2, 2], mx::float32, None)?;   // from the global sequence
//! assert_eq!(x.shape(), &[2, 2]);
//! # Ok::<(), mx::Error>(())
//! ```

use crate::array::Array;
use crate::dtype::{Dtype, promote_types};
use crate::error::{Error, Result, fmt_shape};
use crate::ops::{self, ScanOptions, ShapeArg};
use crate::primitives::random::{RandomBits, bits_dtype};
use crate::scalar::{ArrayLike, Operand};
use crate::transforms::CompileState;
use std::sync::OnceLock;

/// A key from a seed (`mx.random.key`): `[seed >> 32, seed & 0xffffffff]` as `uint32`.
///
/// ```
/// use rmlx_core as mx;
/// let k = mx::random::key((3u64 << 32) | 5);
/// assert_eq!(k.to_vec::<u32>()?, vec![3, 5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn key(seed: u64) -> Array {
    Array::from_vec(vec![(seed >> 32) as u32, seed as u32])
}

/// The time seed every thread's sequence starts from (MLX takes it once per process).
fn time_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    })
}

thread_local! {
    static STATE: CompileState = CompileState::new(vec![key(time_seed())]);
}

/// This thread's global key, as compile state (`mx.random.state`): one array, the key the
/// next draw splits. Give it to [`compile_with_state`](crate::compile_with_state) so that a
/// compiled function can draw from the global sequence; clones share the key.
///
/// ```
/// use rmlx_core as mx;
/// let step = mx::compile_with_state(
///     |x: &[mx::Array]| Ok(&x[0] + &mx::random::uniform(0, 1, &[2], mx::float32, None)?),
///     mx::random::state(),
/// );
/// mx::random::seed(3);
/// let compiled = step(&[mx::zeros(&[2], mx::float32)?])?;
/// mx::random::seed(3);
/// let plain = mx::random::uniform(0, 1, &[2], mx::float32, None)?;
/// assert_eq!(compiled[0].to_vec::<f32>()?, plain.to_vec::<f32>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn state() -> CompileState {
    STATE.with(CompileState::clone)
}

/// Resets this thread's global key sequence to `key(seed)` (`mx.random.seed`).
///
/// ```
/// use rmlx_core as mx;
/// mx::random::seed(42);
/// let a = mx::random::uniform(0, 1, &[2], mx::float32, None)?;
/// mx::random::seed(42);
/// let b = mx::random::uniform(0, 1, &[2], mx::float32, None)?;
/// assert_eq!(a.to_vec::<f32>()?, b.to_vec::<f32>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn seed(seed: u64) {
    let st = state();
    let mut held = st.get();
    if held.is_empty() {
        held.push(key(seed));
    } else {
        held[0] = key(seed);
    }
    st.set(held);
}

/// The next key of the global sequence: the held key is split, the first half kept.
fn next_key() -> Result<Array> {
    let st = state();
    let mut held = st.get();
    let Some(current) = held.first().cloned() else {
        return Err(Error::value(
            "[random] The random state holds no key; call mx::random::seed.",
        ));
    };
    let (keep, out) = split_pair(&current)?;
    held[0] = keep;
    st.set(held);
    Ok(out)
}

/// `key`, or the next global key.
fn key_or_next(key: Option<&Array>) -> Result<Array> {
    match key {
        Some(k) => Ok(k.clone()),
        None => next_key(),
    }
}

/// The error for negative dimensions (MLX's `bits` message).
fn nonnegative(dims: &[isize]) -> Result<Vec<usize>> {
    dims.iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| Error::value("[bits] Negative dimensions not allowed."))
        })
        .collect()
}

/// Random bits from an explicit key.
fn bits_impl(dims: &[isize], width: usize, key: &Array) -> Result<Array> {
    let shape = nonnegative(dims)?;
    if key.dtype() != Dtype::Uint32 {
        return Err(Error::value(format!(
            "[bits] Expected key type uint32 but received {}.",
            key.dtype()
        )));
    }
    if key.shape() != [2] {
        return Err(Error::value(format!(
            "[bits] Expected key shape (2) but received {}.",
            fmt_shape(key.shape())
        )));
    }
    if !matches!(width, 1 | 2 | 4) {
        return Err(Error::value(format!(
            "[bits] Bit width must be in {{1, 2, 4}} but got {width}."
        )));
    }
    Ok(Array::from_op(
        shape.clone(),
        bits_dtype(width),
        RandomBits { shape, width },
        vec![key.clone()],
    ))
}

/// Random bits (MLX's C++ `random::bits`): `width` bytes per element (1, 2 or 4, giving
/// `uint8`, `uint16` or `uint32`), from `key` or the global sequence.
///
/// ```
/// use rmlx_core as mx;
/// let k = mx::random::key(0);
/// let b = mx::random::bits(&[2, 2], 4, Some(&k))?;
/// assert_eq!(b.to_vec::<u32>()?, vec![4146024105, 967050713, 2718843009, 1272950319]);
/// assert_eq!(mx::random::bits(&[3], 1, Some(&k))?.dtype(), mx::uint8);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn bits(shape: impl ShapeArg, width: usize, key: Option<&Array>) -> Result<Array> {
    let key = key_or_next(key)?;
    bits_impl(&shape.to_dims(), width, &key)
}

/// `num` new keys from `key`, as an array of shape `[num, 2]` (`mx.random.split(key, num)`).
///
/// ```
/// use rmlx_core as mx;
/// let keys = mx::random::split(&mx::random::key(0), 3)?;
/// assert_eq!(keys.shape(), &[3, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn split(key: &Array, num: usize) -> Result<Array> {
    bits_impl(&[num as isize, 2], 4, key)
}

/// Two new keys from `key` (MLX's C++ `split(key)`: the rows of `split(key, 2)`).
///
/// ```
/// use rmlx_core as mx;
/// let (a, b) = mx::random::split_pair(&mx::random::key(0))?;
/// assert_eq!(a.to_vec::<u32>()?, vec![4146024105, 967050713]);
/// assert_eq!(b.to_vec::<u32>()?, vec![2718843009, 1272950319]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn split_pair(key: &Array) -> Result<(Array, Array)> {
    let parts = ops::split(&split(key, 2)?, 2, 0)?;
    Ok((ops::reshape(&parts[0], [2])?, ops::reshape(&parts[1], [2])?))
}

/// A 0-D float32 array.
fn f32_scalar(v: f32) -> Array {
    Array::scalar(v)
}

/// `nextafter(-1.0f, 0.0f)`: the low end of the uniform draws behind `normal` and `laplace`.
const BELOW_MINUS_ONE: f32 = -0.999_999_94;

/// Uniform samples in `[low, high)` from an explicit key.
fn uniform_impl(
    low: &Array,
    high: &Array,
    dims: &[isize],
    dtype: Dtype,
    key: &Array,
) -> Result<Array> {
    if !dtype.is_floating() {
        return Err(Error::value(
            "[uniform] Can only generate uniform numbers with real floating point type.",
        ));
    }
    let shape = nonnegative(dims)?;
    let lo = ops::astype(low, dtype)?;
    let hi = ops::astype(high, dtype)?;
    let range = ops::subtract(&hi, &lo)?;
    let out_shape = ops::broadcast_shapes(&[&shape, range.shape()])?;
    if out_shape != shape {
        return Err(Error::value(format!(
            "[uniform] Cannot generate random values of shape {} from broadcasted shape {}.",
            fmt_shape(&shape),
            fmt_shape(&out_shape)
        )));
    }
    // The largest value below 1 in `dtype`, so that samples stay below `high`.
    let upper = match dtype {
        Dtype::Float32 => 1.0f32.next_down(),
        Dtype::Float16 => half::f16::from_bits(half::f16::ONE.to_bits() - 1).to_f32(),
        Dtype::Bfloat16 => half::bf16::from_bits(half::bf16::ONE.to_bits() - 1).to_f32(),
        _ => return Err(Error::runtime("[uniform] Unsupported type.")),
    };
    let maxval = f32_scalar(u32::MAX as f32);
    let out = bits_impl(dims, 4, key)?;
    let out = ops::divide(&out, &maxval)?;
    let out = ops::astype(&ops::minimum(&out, &f32_scalar(upper))?, dtype)?;
    ops::add(&ops::multiply(&range, &out)?, &lo)
}

/// Uniform samples in `[low, high)` of `shape` and `dtype` (`mx.random.uniform`). `low` and
/// `high` broadcast to `shape` (they may not make it larger); `dtype` must be a real float
/// type (`float32`, `float16`, `bfloat16`).
///
/// ```
/// use rmlx_core as mx;
/// let k = mx::random::key(0);
/// let u = mx::random::uniform(-1.0, 1.0, &[4], mx::float32, Some(&k))?;
/// assert!(u.to_vec::<f32>()?.iter().all(|&v| (-1.0..1.0).contains(&v)));
/// let per_row = mx::random::uniform(&mx::array![[0.0], [10.0]], 11.0, &[2, 3], mx::float32, Some(&k))?;
/// assert!(per_row.to_vec::<f32>()?[3..].iter().all(|&v| v >= 10.0));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn uniform(
    low: impl ArrayLike,
    high: impl ArrayLike,
    shape: impl ShapeArg,
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    let key = key_or_next(key)?;
    let low = low.into_operand().into_array()?;
    let high = high.into_operand().into_array()?;
    uniform_impl(&low, &high, &shape.to_dims(), dtype, &key)
}

/// Uniform samples in `[0, 1)` of `dtype` from an explicit key (MLX's `uniform(shape, dtype)`).
fn unit_uniform(dims: &[isize], dtype: Dtype, key: &Array) -> Result<Array> {
    let zero = crate::scalar::Scalar::Float(0.0).to_array(dtype)?;
    let one = crate::scalar::Scalar::Float(1.0).to_array(dtype)?;
    uniform_impl(&zero, &one, dims, dtype, key)
}

/// An optional `loc`/`scale` argument as Python passes it: a scalar takes `dtype` (float32
/// when `dtype` is not a real float type).
fn param_array(v: impl ArrayLike, dtype: Dtype) -> Result<Array> {
    match v.into_operand() {
        Operand::Array(a) => Ok(a),
        Operand::Scalar(s) => s.to_weak_array(Some(dtype)),
    }
}

/// Standard normal samples of `shape` and `dtype` (`mx.random.normal(shape, dtype)`): a
/// uniform draw in `(-1, 1)` mapped through `sqrt(2) erfinv`. `dtype` is a real float type
/// or `complex64` (real and imaginary parts each of variance 1/2).
///
/// ```
/// use rmlx_core as mx;
/// let k = mx::random::key(0);
/// let x = mx::random::normal(&[4], mx::float32, Some(&k))?;
/// let v = x.to_vec::<f32>()?;
/// assert!((v[0] - 1.81609).abs() < 1e-5);   // MLX 0.32.4 gives 1.81609 too
/// # Ok::<(), mx::Error>(())
/// ```
pub fn normal(shape: impl ShapeArg, dtype: Dtype, key: Option<&Array>) -> Result<Array> {
    let key = key_or_next(key)?;
    normal_impl(&shape.to_dims(), dtype, None, None, &key)
}

/// Normal samples with mean `loc` and standard deviation `scale`
/// (`mx.random.normal(shape, dtype, loc, scale)`); arrays broadcast with `shape`.
///
/// ```
/// use rmlx_core as mx;
/// let k = mx::random::key(1);
/// let x = mx::random::normal_with(&[1000], mx::float32, 10.0, 0.5, Some(&k))?;
/// let mean = mx::mean(&x)?.item::<f32>()?;
/// assert!((mean - 10.0).abs() < 0.1);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn normal_with(
    shape: impl ShapeArg,
    dtype: Dtype,
    loc: impl ArrayLike,
    scale: impl ArrayLike,
    key: Option<&Array>,
) -> Result<Array> {
    let key = key_or_next(key)?;
    let loc = param_array(loc, dtype)?;
    let scale = param_array(scale, dtype)?;
    normal_impl(&shape.to_dims(), dtype, Some(&loc), Some(&scale), &key)
}

fn normal_impl(
    dims: &[isize],
    dtype: Dtype,
    loc: Option<&Array>,
    scale: Option<&Array>,
    key: &Array,
) -> Result<Array> {
    let low = f32_scalar(BELOW_MINUS_ONE);
    let high = f32_scalar(1.0);
    if dtype == Dtype::Complex64 {
        let mut dims = dims.to_vec();
        dims.push(2);
        let u = uniform_impl(&low, &high, &dims, Dtype::Float32, key)?;
        let mut samples = ops::squeeze(&ops::view(&ops::erfinv(&u)?, Dtype::Complex64)?, Some(-1))?;
        if let Some(s) = scale {
            samples = ops::multiply(s, &samples)?;
        }
        if let Some(l) = loc {
            samples = ops::add(l, &samples)?;
        }
        return Ok(samples);
    }
    if !dtype.is_floating() {
        return Err(Error::value(
            "[normal] Only floating point and complex64 types are supported.",
        ));
    }
    let samples = uniform_impl(&low, &high, dims, Dtype::Float32, key)?;
    let mut applied_scale =
        crate::scalar::Scalar::Float(std::f64::consts::SQRT_2).to_array(dtype)?;
    if let Some(s) = scale {
        applied_scale = ops::multiply(&applied_scale, &ops::astype(s, dtype)?)?;
    }
    let samples = ops::astype(&ops::erfinv(&samples)?, dtype)?;
    let mut samples = ops::multiply(&applied_scale, &samples)?;
    if let Some(l) = loc {
        samples = ops::add(&ops::astype(l, dtype)?, &samples)?;
    }
    Ok(samples)
}

/// Random integers in `[low, high)` of `shape` and the integer (or bool) `dtype`
/// (`mx.random.randint`). As in MLX they come from a float32 uniform draw, floored and clamped
/// to `[low, high - 1]`; `low >= high` gives `low` everywhere.
///
/// ```
/// use rmlx_core as mx;
/// let k = mx::random::key(0);
/// let r = mx::random::randint(0, 10, &[5], mx::int32, Some(&k))?;
/// assert!(r.to_vec::<i32>()?.iter().all(|&v| (0..10).contains(&v)));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn randint(
    low: impl ArrayLike,
    high: impl ArrayLike,
    shape: impl ShapeArg,
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    let key = key_or_next(key)?;
    let low = low.into_operand().into_array()?;
    let high = high.into_operand().into_array()?;
    if dtype.is_inexact() {
        return Err(Error::value(
            "[randint] randint only accepts integer dtypes and bool.",
        ));
    }
    let u = uniform_impl(&low, &high, &shape.to_dims(), Dtype::Float32, &key)?;
    let out = ops::astype(&ops::floor(&u)?, dtype)?;
    let one = crate::scalar::Scalar::Int(1).to_array(high.dtype())?;
    let hi = ops::astype(&ops::subtract(&high, &one)?, dtype)?;
    ops::maximum(&ops::minimum(&out, &hi)?, &ops::astype(&low, dtype)?)
}

/// Booleans that are `true` with probability `p` (`mx.random.bernoulli`); `p` is a float
/// (array or scalar). With `shape` `None` the result has `p`'s shape; otherwise `p` must
/// broadcast to `shape`.
///
/// ```
/// use rmlx_core as mx;
/// let k = mx::random::key(0);
/// let b = mx::random::bernoulli(0.5, Some(&[6]), Some(&k))?;
/// assert_eq!((b.dtype(), b.shape()), (mx::bool_, &[6][..]));
/// let sure = mx::random::bernoulli(&mx::array![1.0, 0.0], None, Some(&k))?;
/// assert_eq!(sure.to_vec::<bool>()?, vec![true, false]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn bernoulli(p: impl ArrayLike, shape: Option<&[usize]>, key: Option<&Array>) -> Result<Array> {
    let key = key_or_next(key)?;
    let p = p.into_operand().into_array()?;
    let shape: Vec<usize> = shape.map_or_else(|| p.shape().to_vec(), <[usize]>::to_vec);
    if !p.dtype().is_floating() {
        return Err(Error::value(
            "[bernoulli] bernoulli probability `p` must be a float type.",
        ));
    }
    // p on the scale [0, the float after u32::MAX], so that p >= 1 is always true and
    // p <= 0 never.
    let upper = f32_scalar((u32::MAX as f32).next_up());
    let dims: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
    let res = ops::less(&bits_impl(&dims, 4, &key)?, &ops::multiply(&p, &upper)?)?;
    if res.shape() != shape.as_slice() {
        return Err(Error::value(
            "[bernoulli] shape of `p` is incompatible with argument `shape`.",
        ));
    }
    Ok(res)
}

/// Normal samples truncated to `[lower, upper]` (`mx.random.truncated_normal`), by inverting
/// the CDF of a uniform draw between `erf(lower / sqrt 2)` and `erf(upper / sqrt 2)`. With
/// `shape` `None` the result has the bounds' broadcast shape.
///
/// ```
/// use rmlx_core as mx;
/// let k = mx::random::key(0);
/// let x = mx::random::truncated_normal(-1.0, 1.0, Some(&[100]), mx::float32, Some(&k))?;
/// assert!(x.to_vec::<f32>()?.iter().all(|v| v.abs() <= 1.0));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn truncated_normal(
    lower: impl ArrayLike,
    upper: impl ArrayLike,
    shape: Option<&[usize]>,
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    let key = key_or_next(key)?;
    let lower = lower.into_operand().into_array()?;
    let upper = upper.into_operand().into_array()?;
    let shape = match shape {
        Some(s) => s.to_vec(),
        None => ops::broadcast_shapes(&[lower.shape(), upper.shape()])?,
    };
    if !dtype.is_floating() {
        return Err(Error::value(
            "[trunc_normal] trunc_normal only accepts floating point dtypes.",
        ));
    }
    let sqrt2 = crate::scalar::Scalar::Float(std::f64::consts::SQRT_2).to_array(dtype)?;
    let lower_t = ops::astype(&lower, dtype)?;
    let upper_t = ops::astype(&upper, dtype)?;
    // MLX's own float32 erf (not rmlx's accurate one), so that the samples match MLX's.
    let a = ops::unary::erf_mlx(&ops::divide(&lower_t, &sqrt2)?)?;
    let b = ops::unary::erf_mlx(&ops::divide(&upper_t, &sqrt2)?)?;
    let dims: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
    let u = uniform_impl(&a, &b, &dims, dtype, &key)?;
    let out = ops::multiply(&sqrt2, &ops::erfinv(&u)?)?;
    ops::maximum(&ops::minimum(&upper_t, &out)?, &lower_t)
}

/// Samples of the standard Gumbel distribution, `-ln(-ln(u))` for uniform `u`
/// (`mx.random.gumbel`).
///
/// ```
/// use rmlx_core as mx;
/// let g = mx::random::gumbel(&[3], mx::float32, Some(&mx::random::key(0)))?;
/// assert_eq!(g.shape(), &[3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn gumbel(shape: impl ShapeArg, dtype: Dtype, key: Option<&Array>) -> Result<Array> {
    let key = key_or_next(key)?;
    gumbel_impl(&shape.to_dims(), dtype, &key)
}

fn gumbel_impl(dims: &[isize], dtype: Dtype, key: &Array) -> Result<Array> {
    let u = unit_uniform(dims, dtype, key)?;
    ops::negative(&ops::log(&ops::negative(&ops::log(&u)?)?)?)
}

/// `axis` normalised, or MLX's error for `categorical`.
fn categorical_axis(axis: isize, ndim: usize) -> Result<usize> {
    let ax = if axis < 0 { axis + ndim as isize } else { axis };
    if ax < 0 || ax >= ndim as isize {
        return Err(Error::index(format!(
            "[categorical] Invalid axis {axis} for logits with {ndim} dimensions."
        )));
    }
    Ok(ax as usize)
}

/// Sampling from one distribution by inverting its CDF (`O(n + m)` memory where the Gumbel
/// trick needs `O(n m)`); `logits` is 1-D.
fn categorical_inverse_cdf(logits: &Array, shape: &[usize], key: &Array) -> Result<Array> {
    let dtype = promote_types(logits.dtype(), Dtype::Float32);
    let x = ops::astype(logits, dtype)?;
    let m = ops::max(&x)?;
    // exp(x - m) is NaN when m is infinite; then the draw is uniform over the maximal entries.
    let w = ops::where_(
        &ops::isinf(&m)?,
        &ops::astype(&ops::equal(&x, &m)?, dtype)?,
        &ops::exp(&ops::subtract(&x, &m)?)?,
    )?;
    let cdf = ops::cumsum_with(
        &w,
        Some(0),
        ScanOptions {
            reverse: false,
            inclusive: false,
        },
    )?;
    let dims: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
    let u = ops::multiply(&unit_uniform(&dims, Dtype::Float32, key)?, &ops::sum(&w)?)?;
    ops::subtract(
        &ops::searchsorted_side(&cdf, &u, "right")?,
        &Array::scalar(1u32),
    )
}

fn categorical_impl(logits: &Array, axis: usize, shape: &[usize], key: &Array) -> Result<Array> {
    let n = logits.shape()[axis];
    if n > 0 && logits.size() == n && !shape.is_empty() {
        return categorical_inverse_cdf(&ops::reshape(logits, [n])?, shape, key);
    }
    let offset = (axis + shape.len() + 1)
        .checked_sub(logits.ndim())
        .ok_or_else(|| Error::value("[categorical] The shape has too few dimensions."))?;
    let mut gumbel_dims: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
    gumbel_dims.insert(offset, n as isize);
    let g = gumbel_impl(&gumbel_dims, Dtype::Float32, key)?;
    ops::argmax_axis(&ops::add(&g, logits)?, offset as isize, false)
}

/// Samples from the categorical distributions given by unnormalised log-probabilities along
/// `axis` of `logits` (`mx.random.categorical(logits, axis)`): one index (`uint32`) per
/// distribution, of `logits`' shape without `axis`.
///
/// ```
/// use rmlx_core as mx;
/// let logits = mx::array![[0.0, f32::NEG_INFINITY], [f32::NEG_INFINITY, 0.0]];
/// let c = mx::random::categorical(&logits, -1, Some(&mx::random::key(0)))?;
/// assert_eq!(c.to_vec::<u32>()?, vec![0, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn categorical(logits: &Array, axis: isize, key: Option<&Array>) -> Result<Array> {
    let key = key_or_next(key)?;
    let axis = categorical_axis(axis, logits.ndim())?;
    let mut shape = logits.shape().to_vec();
    shape.remove(axis);
    categorical_impl(logits, axis, &shape, &key)
}

/// [`categorical`] with an output `shape` (`mx.random.categorical(logits, axis, shape=...)`),
/// which the shape of `logits` without `axis` must broadcast to.
///
/// ```
/// use rmlx_core as mx;
/// let logits = mx::array![0.0, 0.0, 0.0];
/// let c = mx::random::categorical_shape(&logits, -1, &[2, 5], Some(&mx::random::key(0)))?;
/// assert_eq!(c.shape(), &[2, 5]);
/// assert!(c.to_vec::<u32>()?.iter().all(|&i| i < 3));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn categorical_shape(
    logits: &Array,
    axis: isize,
    shape: &[usize],
    key: Option<&Array>,
) -> Result<Array> {
    let key = key_or_next(key)?;
    let axis = categorical_axis(axis, logits.ndim())?;
    let mut reduced = logits.shape().to_vec();
    reduced.remove(axis);
    if ops::broadcast_shapes(&[shape, &reduced])? != shape {
        return Err(Error::value(format!(
            "[categorical] Requested shape {} is not broadcast compatible with reduced logits shape{}.",
            fmt_shape(shape),
            fmt_shape(&reduced)
        )));
    }
    categorical_impl(logits, axis, shape, &key)
}

/// [`categorical`] with `num_samples` draws from each distribution, in a new last axis
/// (`mx.random.categorical(logits, axis, num_samples=...)`).
///
/// ```
/// use rmlx_core as mx;
/// let logits = mx::array![[0.0, 1.0], [1.0, 0.0]];
/// let c = mx::random::categorical_num_samples(&logits, -1, 4, Some(&mx::random::key(0)))?;
/// assert_eq!(c.shape(), &[2, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn categorical_num_samples(
    logits: &Array,
    axis: isize,
    num_samples: usize,
    key: Option<&Array>,
) -> Result<Array> {
    let key = key_or_next(key)?;
    let axis = categorical_axis(axis, logits.ndim())?;
    let logits = ops::expand_dims(logits, -1)?;
    let mut shape = logits.shape().to_vec();
    shape.remove(axis);
    if let Some(last) = shape.last_mut() {
        *last = num_samples;
    }
    categorical_impl(&logits, axis, &shape, &key)
}

/// Samples of the Laplace distribution with location `loc` and scale `scale`
/// (`mx.random.laplace`), by inverting its CDF.
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::random::laplace(&[2, 3], mx::float32, 0.0, 1.0, Some(&mx::random::key(0)))?;
/// assert_eq!(x.shape(), &[2, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn laplace(
    shape: impl ShapeArg,
    dtype: Dtype,
    loc: f32,
    scale: f32,
    key: Option<&Array>,
) -> Result<Array> {
    let key = key_or_next(key)?;
    if !dtype.is_floating() {
        return Err(Error::value(
            "[laplace] Only real floating point types are supported.",
        ));
    }
    let low = f32_scalar(BELOW_MINUS_ONE);
    let high = f32_scalar(1.0);
    let samples = uniform_impl(&low, &high, &shape.to_dims(), Dtype::Float32, &key)?;
    let in_dtype = |v: f32| crate::scalar::Scalar::Float(v as f64).to_array(dtype);
    let magnitude = ops::log1p(&ops::multiply(&in_dtype(-1.0)?, &ops::abs(&samples)?)?)?;
    let mut samples = ops::astype(&ops::multiply(&ops::sign(&samples)?, &magnitude)?, dtype)?;
    if scale != 1.0 {
        samples = ops::multiply(&in_dtype(scale)?, &samples)?;
    }
    if loc != 0.0 {
        samples = ops::add(&in_dtype(loc)?, &samples)?;
    }
    Ok(samples)
}

/// Samples of multivariate normal distributions with means `mean` (`[..., n]`) and covariances
/// `cov` (`[..., n, n]`, positive semi-definite) (`mx.random.multivariate_normal`): standard
/// normals times the covariance's square root `U sqrt(S) Vt` from its SVD, plus the mean. The
/// output shape is `shape` broadcast with the batch shapes of `mean` and `cov`, then `n`.
/// `dtype` must be float32, as in MLX.
///
/// ```
/// use rmlx_core as mx;
/// let mean = mx::array![1.0f32, -1.0];
/// let cov = mx::array![[1.0f32, 0.0], [0.0, 4.0]];
/// let k = mx::random::key(0);
/// let x = mx::random::multivariate_normal(&mean, &cov, &[2000], mx::float32, Some(&k))?;
/// assert_eq!(x.shape(), &[2000, 2]);
/// let m = mx::mean_axes(&x, 0, false)?.to_vec::<f32>()?;
/// assert!((m[0] - 1.0).abs() < 0.1 && (m[1] + 1.0).abs() < 0.2);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn multivariate_normal(
    mean: &Array,
    cov: &Array,
    shape: &[usize],
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    let key = key_or_next(key)?;
    let fail = |m: &str| Err(Error::value(format!("[multivariate_normal] {m}")));
    if dtype != Dtype::Float32 {
        return fail("dtype must be float32.");
    }
    if mean.ndim() < 1 {
        return fail("mean must have at least one dimension.");
    }
    if cov.ndim() < 2 {
        return fail("cov must have at least two dimensions.");
    }
    let n = mean.shape()[mean.ndim() - 1];
    let (rows, cols) = (cov.shape()[cov.ndim() - 2], cov.shape()[cov.ndim() - 1]);
    if rows != cols {
        return fail("last two dimensions of cov must be equal.");
    }
    if n != cols {
        return fail("mean and cov must have compatible shapes.");
    }
    let batch = ops::broadcast_shapes(&[
        &cov.shape()[..cov.ndim() - 2],
        &mean.shape()[..mean.ndim() - 1],
    ])?;
    let mut out_shape = ops::broadcast_shapes(&[&batch, shape])?;
    out_shape.push(n);
    // The covariance's symmetric square root: independent of the SVD's sign choices.
    let usv = crate::linalg::svd(&ops::astype(cov, Dtype::Float32)?)?;
    let root = ops::matmul(
        &ops::multiply(&usv[0], &ops::expand_dims(&ops::sqrt(&usv[1])?, -2)?)?,
        &usv[2],
    )?;
    let dims: Vec<isize> = out_shape.iter().map(|&d| d as isize).collect();
    let z = normal_impl(&dims, dtype, None, None, &key)?;
    let scaled = ops::squeeze(&ops::matmul(&ops::expand_dims(&z, -2)?, &root)?, Some(-2))?;
    ops::add(mean, &scaled)
}

/// A random permutation of `0..n` (`uint32`; `mx.random.permutation(n)`): the order that
/// sorts `n` random words.
///
/// ```
/// use rmlx_core as mx;
/// let p = mx::random::permutation(5, Some(&mx::random::key(0)))?;
/// let mut v = p.to_vec::<u32>()?;
/// v.sort();
/// assert_eq!(v, vec![0, 1, 2, 3, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn permutation(n: usize, key: Option<&Array>) -> Result<Array> {
    let key = key_or_next(key)?;
    permutation_impl(n, &key)
}

fn permutation_impl(n: usize, key: &Array) -> Result<Array> {
    ops::argsort(&bits_impl(&[n as isize], 4, key)?)
}

/// `x` with its entries along `axis` randomly permuted (`mx.random.permutation(x, axis)`).
///
/// ```
/// use rmlx_core as mx;
/// let x = mx::array![[1, 2], [3, 4], [5, 6]];
/// let p = mx::random::permutation_of(&x, 0, Some(&mx::random::key(0)))?;
/// let mut rows: Vec<Vec<i32>> = p.to_vec::<i32>()?.chunks(2).map(<[i32]>::to_vec).collect();
/// rows.sort();
/// assert_eq!(rows, vec![vec![1, 2], vec![3, 4], vec![5, 6]]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn permutation_of(x: &Array, axis: isize, key: Option<&Array>) -> Result<Array> {
    let key = key_or_next(key)?;
    let nd = x.ndim() as isize;
    let ax = if axis < 0 { axis + nd } else { axis };
    if ax < 0 || ax >= nd {
        return Err(Error::index(format!(
            "[permutation] Axis {axis} is out of bounds for array with {nd} dimensions."
        )));
    }
    let p = permutation_impl(x.shape()[ax as usize], &key)?;
    ops::take(x, &p, Some(axis))
}
