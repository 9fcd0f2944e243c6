//! Spatial upsampling (MLX's `nn.Upsample` and the functions `upsample_nearest`,
//! `upsample_linear`, `upsample_cubic` of `mlx.nn.layers.upsample`) of channels-last inputs
//! `(N, *spatial, C)`, with MLX's sampling grids, `align_corners` and antialiasing.

use crate::core::{self as mx, Array, Error, Result};
use crate::pyrepr::py_float;
use crate::{Forward, ModuleState};

/// An upsampling factor: one for every spatial axis (a Python float) or one per axis (a
/// tuple).
///
/// ```
/// use rmlx_nn::ScaleFactor;
/// assert_eq!(ScaleFactor::from(2.0).per_axis(2), vec![2.0, 2.0]);
/// assert_eq!(ScaleFactor::from((1.5, 2.0)).per_axis(2), vec![1.5, 2.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ScaleFactor {
    /// The same factor on every spatial axis.
    One(f64),
    /// One factor per spatial axis.
    Each(Vec<f64>),
}

impl ScaleFactor {
    /// The factor of each of `n` axes (a per-axis list is returned as it is).
    pub fn per_axis(&self, n: usize) -> Vec<f64> {
        match self {
            ScaleFactor::One(s) => vec![*s; n],
            ScaleFactor::Each(v) => v.clone(),
        }
    }

    fn py_repr(&self) -> String {
        match self {
            ScaleFactor::One(s) => py_float(*s),
            ScaleFactor::Each(v) if v.len() == 1 => format!("({},)", py_float(v[0])),
            ScaleFactor::Each(v) => format!(
                "({})",
                v.iter()
                    .map(|s| py_float(*s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl From<f64> for ScaleFactor {
    fn from(s: f64) -> Self {
        ScaleFactor::One(s)
    }
}

impl From<f32> for ScaleFactor {
    fn from(s: f32) -> Self {
        ScaleFactor::One(s as f64)
    }
}

impl From<usize> for ScaleFactor {
    fn from(s: usize) -> Self {
        ScaleFactor::One(s as f64)
    }
}

impl From<(f64, f64)> for ScaleFactor {
    fn from(s: (f64, f64)) -> Self {
        ScaleFactor::Each(vec![s.0, s.1])
    }
}

impl From<(f64, f64, f64)> for ScaleFactor {
    fn from(s: (f64, f64, f64)) -> Self {
        ScaleFactor::Each(vec![s.0, s.1, s.2])
    }
}

impl From<Vec<f64>> for ScaleFactor {
    fn from(s: Vec<f64>) -> Self {
        ScaleFactor::Each(s)
    }
}

impl<const N: usize> From<[f64; N]> for ScaleFactor {
    fn from(s: [f64; N]) -> Self {
        ScaleFactor::Each(s.to_vec())
    }
}

/// The upsampling algorithm of [`Upsample`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UpsampleMode {
    /// Nearest neighbour (the default).
    #[default]
    Nearest,
    /// Linear interpolation along each spatial axis (bilinear, trilinear ...).
    Linear,
    /// Cubic interpolation (Keys' kernel, `a = -0.75`, or `-0.5` with antialiasing).
    Cubic,
}

impl UpsampleMode {
    /// The mode named as in MLX: `"nearest"`, `"linear"` or `"cubic"`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "nearest" => Ok(UpsampleMode::Nearest),
            "linear" => Ok(UpsampleMode::Linear),
            "cubic" => Ok(UpsampleMode::Cubic),
            _ => Err(Error::value(format!(
                "[Upsample] Got unsupported upsampling algorithm: {name}"
            ))),
        }
    }

    /// MLX's name of the mode.
    pub fn name(self) -> &'static str {
        match self {
            UpsampleMode::Nearest => "nearest",
            UpsampleMode::Linear => "linear",
            UpsampleMode::Cubic => "cubic",
        }
    }
}

/// The options of [`Upsample`] besides the scale factor (MLX's defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpsampleOptions {
    /// The algorithm. Default nearest.
    pub mode: UpsampleMode,
    /// Align the corner pixels of input and output (linear and cubic). Default `false`.
    pub align_corners: bool,
    /// Low-pass filter when downsampling (linear and cubic, without `align_corners`).
    /// Default `false`.
    pub antialias: bool,
}

fn check_antialias(align_corners: bool, antialias: bool) -> Result<()> {
    if antialias && align_corners {
        return Err(Error::value(
            "[Upsample] antialias=True with align_corners=True is not supported. Use \
             align_corners=False for antialiased interpolation.",
        ));
    }
    Ok(())
}

/// Upsamples the spatial axes of `(N, *spatial, C)` inputs (MLX's `nn.Upsample`) by
/// `scale_factor`, with nearest-neighbour, linear or cubic interpolation.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let x = mx::reshape(&mx::array![1.0f32, 2.0, 3.0, 4.0], [1, 2, 2, 1])?;
/// let up = nn::Upsample::new(2.0)?;
/// assert_eq!(up.forward(&x)?.shape(), &[1, 4, 4, 1]);
/// let opts = nn::UpsampleOptions { mode: nn::UpsampleMode::Linear, ..Default::default() };
/// let lin = nn::Upsample::with_options(2.0, &opts)?;
/// assert_eq!(lin.forward(&x)?.to_vec::<f32>()?[..4], [1.0, 1.25, 1.75, 2.0]);
/// assert_eq!(lin.to_string(), "Upsample(scale_factor=2.0, mode='linear', align_corners=False)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = Upsample::describe)]
pub struct Upsample {
    #[module(skip)]
    scale_factor: ScaleFactor,
    #[module(skip)]
    mode: UpsampleMode,
    align_corners: bool,
    antialias: bool,
    state: ModuleState,
}

impl Upsample {
    /// Nearest-neighbour upsampling by `scale_factor`.
    pub fn new(scale_factor: impl Into<ScaleFactor>) -> Result<Self> {
        Self::with_options(scale_factor, &UpsampleOptions::default())
    }

    /// Upsampling with the given mode, `align_corners` and `antialias`.
    pub fn with_options(
        scale_factor: impl Into<ScaleFactor>,
        opts: &UpsampleOptions,
    ) -> Result<Self> {
        if opts.antialias && opts.mode == UpsampleMode::Nearest {
            return Err(Error::value(
                "[Upsample] Antialiasing is not supported for nearest neighbor upsampling",
            ));
        }
        check_antialias(opts.align_corners, opts.antialias)?;
        Ok(Upsample {
            scale_factor: scale_factor.into(),
            mode: opts.mode,
            align_corners: opts.align_corners,
            antialias: opts.antialias,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        let mut s = format!(
            "scale_factor={}, mode='{}', align_corners={}",
            self.scale_factor.py_repr(),
            self.mode.name(),
            if self.align_corners { "True" } else { "False" }
        );
        if self.antialias {
            s.push_str(", antialias=True");
        }
        s
    }
}

impl Forward for Upsample {
    fn forward(&self, x: &Array) -> Result<Array> {
        let nd = x.ndim();
        if nd < 3 {
            return Err(Error::value(format!(
                "[Upsample] The input should have at least 1 spatial dimension which means it \
                 should be at least 3D but {nd}D was provided"
            )));
        }
        let dims = nd - 2;
        if let ScaleFactor::Each(v) = &self.scale_factor
            && v.len() != dims
        {
            return Err(Error::value(format!(
                "[Upsample] One scale per spatial dimension is required but scale_factor={} and \
                 the number of spatial dimensions were {dims}",
                self.scale_factor.py_repr()
            )));
        }
        let scale = self.scale_factor.per_axis(dims);
        match self.mode {
            UpsampleMode::Nearest => upsample_nearest(x, &scale),
            UpsampleMode::Linear => upsample_linear(x, &scale, self.align_corners, self.antialias),
            UpsampleMode::Cubic => upsample_cubic(x, &scale, self.align_corners, self.antialias),
        }
    }
}

fn check_scales(x: &Array, scale: &[f64]) -> Result<usize> {
    let dims = x.ndim().saturating_sub(2);
    if x.ndim() < 3 || dims != scale.len() {
        return Err(Error::value(
            "A scale needs to be provided for each spatial dimension",
        ));
    }
    Ok(dims)
}

/// The output size of an axis of size `n` scaled by `scale` (Python's `int(scale * n)`).
fn out_size(n: usize, scale: f64) -> usize {
    (scale * n as f64).max(0.0) as usize
}

/// `v` shaped `[1, .., -1 (at dim), .., 1]` over `ndims` axes.
fn along(v: &Array, dim: usize, ndims: usize) -> Result<Array> {
    let mut shape = vec![1isize; ndims];
    shape[dim] = -1;
    mx::reshape(v, shape)
}

/// MLX's `_scaled_indices`: the input coordinate of each output position.
fn scaled_indices(
    n: usize,
    scale: f64,
    align_corners: bool,
    dim: usize,
    ndims: usize,
) -> Result<Array> {
    let m = out_size(n, scale);
    let ar = mx::arange_dtype(0.0, m as f64, 1.0, mx::float32)?;
    let idx = if align_corners {
        mx::multiply(&ar, (n as f64 - 1.0) / (m.max(2) - 1) as f64)?
    } else {
        let step = 1.0 / scale;
        let start = ((m as f64 - 1.0) * step - n as f64 + 1.0) / 2.0;
        mx::subtract(mx::multiply(&ar, step)?, start)?
    };
    along(&idx, dim, ndims)
}

/// MLX's `_nearest_indices`.
fn nearest_indices(n: usize, scale: f64, dim: usize, ndims: usize) -> Result<Array> {
    let m = out_size(n, scale);
    let ar = mx::arange_dtype(0.0, m as f64, 1.0, mx::float32)?;
    let ratio = n as f64 / m as f64;
    let idx = if m > n {
        mx::round(mx::subtract(mx::multiply(mx::add(&ar, 0.5)?, ratio)?, 0.5)?)?
    } else {
        mx::multiply(&ar, ratio)?
    };
    along(&idx.astype(mx::uint32)?, dim, ndims)
}

/// A tap: indices along one axis and their weights (shaped to broadcast over the output).
type Tap = (Array, Array);

fn clip_index(idx: &Array, n: usize) -> Result<Array> {
    mx::clip(idx, Some(0.0), Some(n as f64 - 1.0))?.astype(mx::uint32)
}

/// MLX's `_linear_indices`.
fn linear_indices(
    n: usize,
    scale: f64,
    align_corners: bool,
    dim: usize,
    ndims: usize,
) -> Result<Vec<Tap>> {
    let idx = scaled_indices(n, scale, align_corners, dim, ndims)?;
    let idx = mx::clip(&idx, Some(0.0), Some(n as f64 - 1.0))?;
    let l = mx::floor(&idx)?;
    let r = mx::ceil(&idx)?;
    let w = mx::expand_dims(&mx::subtract(&idx, &l)?, -1)?;
    Ok(vec![
        (l.astype(mx::uint32)?, mx::subtract(1.0, &w)?),
        (r.astype(mx::uint32)?, w),
    ])
}

/// Keys' cubic weight at distance `x` for taps at distance 1 (`inner`) or 2.
fn cubic_weight(x: &Array, a: f64, inner: bool) -> Result<Array> {
    if inner {
        // ((a + 2) x - (a + 3)) x x + 1
        let t = mx::subtract(mx::multiply(x, a + 2.0)?, a + 3.0)?;
        mx::add(mx::multiply(mx::multiply(&t, x)?, x)?, 1.0)
    } else {
        // (((x - 5) x + 8) x - 4) a
        let t = mx::multiply(mx::subtract(x, 5.0)?, x)?;
        let t = mx::multiply(mx::add(&t, 8.0)?, x)?;
        mx::multiply(mx::subtract(&t, 4.0)?, a)
    }
}

/// MLX's `_cubic_indices` (`a = -0.75`).
fn cubic_indices(
    n: usize,
    scale: f64,
    align_corners: bool,
    dim: usize,
    ndims: usize,
) -> Result<Vec<Tap>> {
    let idx = scaled_indices(n, scale, align_corners, dim, ndims)?;
    let l1 = mx::floor(&idx)?;
    let r1 = mx::floor(mx::add(&idx, 1.0)?)?;
    let l2 = mx::subtract(&l1, 1.0)?;
    let r2 = mx::add(&r1, 1.0)?;
    let mut taps = Vec::with_capacity(4);
    for (grid, inner) in [(&l1, true), (&r1, true), (&l2, false), (&r2, false)] {
        let w = cubic_weight(&mx::abs(mx::subtract(&idx, grid)?)?, -0.75, inner)?;
        taps.push((clip_index(grid, n)?, mx::expand_dims(&w, -1)?));
    }
    Ok(taps)
}

/// The triangle (linear) kernel, support 1.
fn triangle_kernel(x: &Array) -> Result<Array> {
    mx::maximum(mx::subtract(1.0, x)?, 0.0)
}

/// Keys' cubic kernel with `a = -0.5`, support 2.
fn cubic_kernel(x: &Array) -> Result<Array> {
    let inner = cubic_weight(x, -0.5, true)?;
    let outer = cubic_weight(x, -0.5, false)?;
    let zero = mx::zeros_like(x)?;
    mx::where_(
        mx::less_equal(x, 1.0)?,
        inner,
        mx::where_(mx::less_equal(x, 2.0)?, outer, zero)?,
    )
}

/// MLX's `_aa_indices`: the kernel widened by `1 / scale` when downsampling, taps outside the
/// input dropped and the weights normalized to sum to one.
fn aa_indices(
    n: usize,
    scale: f64,
    align_corners: bool,
    dim: usize,
    ndims: usize,
    kernel: fn(&Array) -> Result<Array>,
    radius: f64,
) -> Result<Vec<Tap>> {
    let idx = scaled_indices(n, scale, align_corners, dim, ndims)?;
    let inv_scale = if scale < 1.0 { 1.0 / scale } else { 1.0 };
    let num_taps = (radius * inv_scale).ceil() as i64 + 1;
    let base = mx::floor(&idx)?;
    let mut taps_idx = Vec::new();
    let mut taps_w = Vec::new();
    for k in -num_taps + 1..num_taps {
        let t = mx::add(&base, k as f64)?;
        let dist = mx::divide(mx::abs(mx::subtract(&idx, &t)?)?, inv_scale)?;
        let w = kernel(&dist)?;
        let inside = mx::logical_and(mx::greater_equal(&t, 0.0)?, mx::less(&t, n as f64)?)?;
        let w = mx::where_(&inside, &w, 0.0)?;
        taps_idx.push(t);
        taps_w.push(w);
    }
    let mut w_sum = taps_w[0].clone();
    for w in &taps_w[1..] {
        w_sum = mx::add(&w_sum, w)?;
    }
    let w_sum = mx::where_(mx::greater(&w_sum, 0.0)?, &w_sum, 1.0)?;
    taps_idx
        .iter()
        .zip(&taps_w)
        .map(|(t, w)| {
            Ok((
                clip_index(t, n)?,
                mx::expand_dims(&mx::divide(w, &w_sum)?, -1)?,
            ))
        })
        .collect()
}

fn linear_aa_indices(
    n: usize,
    scale: f64,
    align_corners: bool,
    dim: usize,
    ndims: usize,
) -> Result<Vec<Tap>> {
    aa_indices(n, scale, align_corners, dim, ndims, triangle_kernel, 1.0)
}

fn cubic_aa_indices(
    n: usize,
    scale: f64,
    align_corners: bool,
    dim: usize,
    ndims: usize,
) -> Result<Vec<Tap>> {
    aa_indices(n, scale, align_corners, dim, ndims, cubic_kernel, 2.0)
}

type IndicesFn = fn(usize, f64, bool, usize, usize) -> Result<Vec<Tap>>;

/// `x` gathered along each spatial axis `i + 1` at `idx[i]` (MLX's `x[:, idx_0, idx_1, ...]`
/// with index arrays that vary along one axis each).
fn gather(x: &Array, idx: &[&Array]) -> Result<Array> {
    let mut out = x.clone();
    for (i, ix) in idx.iter().enumerate() {
        out = mx::take(&out, mx::reshape(ix, [-1])?, Some(i as isize + 1))?;
    }
    Ok(out)
}

/// MLX's `_interpolate`: the sum over every combination of taps of the product of their
/// weights times the gathered input.
fn interpolate(
    x: &Array,
    scale: &[f64],
    indices_fn: IndicesFn,
    align_corners: bool,
) -> Result<Array> {
    let dims = check_scales(x, scale)?;
    let spatial = &x.shape()[1..1 + dims];
    let taps: Vec<Vec<Tap>> = spatial
        .iter()
        .zip(scale)
        .enumerate()
        .map(|(i, (&n, &s))| indices_fn(n, s, align_corners, i, dims))
        .collect::<Result<_>>()?;
    // Every combination, the last axis varying fastest (itertools.product's order).
    let mut combo = vec![0usize; dims];
    let mut total: Option<Array> = None;
    loop {
        let idx: Vec<&Array> = combo
            .iter()
            .enumerate()
            .map(|(d, &k)| &taps[d][k].0)
            .collect();
        let mut w = taps[0][combo[0]].1.clone();
        for (d, &k) in combo.iter().enumerate().skip(1) {
            w = mx::multiply(&w, &taps[d][k].1)?;
        }
        let term = mx::multiply(&w, gather(x, &idx)?)?;
        total = Some(match total {
            Some(t) => mx::add(&t, &term)?,
            None => term,
        });
        let mut d = dims;
        loop {
            if d == 0 {
                return total.ok_or_else(|| Error::value("[Upsample] nothing to interpolate"));
            }
            d -= 1;
            combo[d] += 1;
            if combo[d] < taps[d].len() {
                break;
            }
            combo[d] = 0;
        }
    }
}

/// MLX's `_interpolate_separable`: one axis at a time.
fn interpolate_separable(
    x: &Array,
    scale: &[f64],
    indices_fn: IndicesFn,
    align_corners: bool,
) -> Result<Array> {
    let dims = check_scales(x, scale)?;
    let spatial = x.shape()[1..1 + dims].to_vec();
    let mut out = x.clone();
    for (i, (&n, &s)) in spatial.iter().zip(scale).enumerate() {
        let mut acc: Option<Array> = None;
        for (idx, w) in indices_fn(n, s, align_corners, i, dims)? {
            let sample = mx::multiply(
                mx::take(&out, mx::reshape(&idx, [-1])?, Some(i as isize + 1))?,
                &w,
            )?;
            acc = Some(match acc {
                Some(a) => mx::add(&a, &sample)?,
                None => sample,
            });
        }
        out = acc.ok_or_else(|| Error::value("[Upsample] nothing to interpolate"))?;
    }
    Ok(out)
}

/// Nearest-neighbour upsampling of `(N, *spatial, C)` by one factor per spatial axis (MLX's
/// `upsample_nearest`); integer factors repeat each element.
///
/// ```
/// use rmlx_nn::core as mx;
/// let x = mx::reshape(&mx::array![1, 2], [1, 2, 1])?;
/// let y = rmlx_nn::upsample_nearest(&x, &[2.0])?;
/// assert_eq!(y.to_vec::<i32>()?, vec![1, 1, 2, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn upsample_nearest(x: &Array, scale: &[f64]) -> Result<Array> {
    let dims = check_scales(x, scale)?;
    if scale.iter().all(|s| s.fract() == 0.0 && *s >= 0.0) {
        let shape = x.shape().to_vec();
        let mut expanded = vec![shape[0]];
        let mut broadcast = vec![shape[0]];
        let mut out = vec![shape[0]];
        for d in 0..dims {
            let s = scale[d] as usize;
            expanded.extend([shape[d + 1], 1]);
            broadcast.extend([shape[d + 1], s]);
            out.push(shape[d + 1] * s);
        }
        expanded.push(shape[dims + 1]);
        broadcast.push(shape[dims + 1]);
        out.push(shape[dims + 1]);
        let y = mx::broadcast_to(mx::reshape(x, expanded)?, broadcast)?;
        return mx::reshape(&y, out);
    }
    let spatial = x.shape()[1..1 + dims].to_vec();
    let idx: Vec<Array> = spatial
        .iter()
        .zip(scale)
        .enumerate()
        .map(|(i, (&n, &s))| nearest_indices(n, s, i, dims))
        .collect::<Result<_>>()?;
    gather(x, &idx.iter().collect::<Vec<_>>())
}

/// Linear (bilinear, trilinear, ...) upsampling of `(N, *spatial, C)` by one factor per
/// spatial axis (MLX's `upsample_linear`). With `antialias`, downsampling averages over the
/// widened triangle kernel.
///
/// ```
/// use rmlx_nn::core as mx;
/// let x = mx::reshape(&mx::array![0.0f32, 1.0], [1, 2, 1])?;
/// let y = rmlx_nn::upsample_linear(&x, &[2.0], true, false)?;
/// let v = y.to_vec::<f32>()?;
/// assert!((v[1] - 1.0 / 3.0).abs() < 1e-6 && v[3] == 1.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn upsample_linear(
    x: &Array,
    scale: &[f64],
    align_corners: bool,
    antialias: bool,
) -> Result<Array> {
    check_antialias(align_corners, antialias)?;
    if antialias {
        interpolate_separable(x, scale, linear_aa_indices, align_corners)
    } else if !align_corners {
        interpolate_separable(x, scale, linear_indices, align_corners)
    } else {
        interpolate(x, scale, linear_indices, align_corners)
    }
}

/// Cubic (bicubic, ...) upsampling of `(N, *spatial, C)` by one factor per spatial axis
/// (MLX's `upsample_cubic`): Keys' kernel with `a = -0.75`, or with antialiasing `a = -0.5`
/// widened when downsampling.
///
/// ```
/// use rmlx_nn::core as mx;
/// let x = mx::ones(&[1, 3, 3, 2], mx::float32)?;
/// let y = rmlx_nn::upsample_cubic(&x, &[2.0, 2.0], false, false)?;
/// assert_eq!(y.shape(), &[1, 6, 6, 2]);
/// assert!(y.to_vec::<f32>()?.iter().all(|v| (v - 1.0).abs() < 1e-5));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn upsample_cubic(
    x: &Array,
    scale: &[f64],
    align_corners: bool,
    antialias: bool,
) -> Result<Array> {
    check_antialias(align_corners, antialias)?;
    if antialias {
        interpolate_separable(x, scale, cubic_aa_indices, align_corners)
    } else {
        interpolate(x, scale, cubic_indices, align_corners)
    }
}
