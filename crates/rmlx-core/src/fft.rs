//! Fast Fourier transforms (`mlx.core.fft`): `fft`, `ifft`, `fft2`, `ifft2`, `fftn`, `ifftn`,
//! their real counterparts `rfft*` / `irfft*`, `fftfreq`, `rfftfreq`, `fftshift` and
//! `ifftshift`, and the short-time transforms `stft` / `istft`.
//!
//! As in MLX, every transform computes in single precision: complex transforms and `rfft*`
//! return complex64, `irfft*` returns float32, whatever the input dtype (integers, bool, half
//! types and float64 are cast first; a complex input to `rfft*` loses its imaginary part).
//!
//! Each function has MLX's defaults; the `_with` form takes the rest of MLX's arguments:
//! `n` (1-D) or `s` (n-D) crops or zero-pads the input along each transformed axis to that
//! length (for `irfft*` it is the output's length along the last axis, whose input is
//! `n / 2 + 1` long), `axis` / `axes` choose the axes (negative counts from the end) and
//! [`FftNorm`] the normalisation.
//!
//! ```
//! use rmlx_core as mx;
//! use mx::fft;
//! let x = mx::array![1.0f32, 2.0, 3.0, 4.0];
//! let y = fft::fft(&x)?;
//! assert_eq!(y.dtype(), mx::complex64);
//! let back = fft::irfft(&fft::rfft(&x)?)?;
//! assert!(mx::allclose(&back, &x)?.item::<bool>()?);
//! # Ok::<(), mx::Error>(())
//! ```

mod stft;

pub use stft::{IstftOptions, StftOptions, istft, stft};

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops;
use crate::primitives::fft::Fft;
use crate::scalar::Scalar;

/// How a transform is scaled (MLX's `norm` argument): `Backward` (the default) leaves the
/// forward transform unscaled and divides the inverse by `n`; `Ortho` divides both by
/// `sqrt(n)`; `Forward` divides the forward transform by `n` and leaves the inverse unscaled.
/// `n` is the product of the transformed lengths.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum FftNorm {
    /// Inverse scaled by `1 / n` (MLX's default).
    #[default]
    Backward,
    /// Both directions scaled by `1 / sqrt(n)`.
    Ortho,
    /// Forward scaled by `1 / n`.
    Forward,
}

impl std::str::FromStr for FftNorm {
    type Err = Error;
    /// `"backward"`, `"ortho"` or `"forward"`, as MLX spells them.
    ///
    /// ```
    /// use rmlx_core::fft::FftNorm;
    /// assert_eq!("ortho".parse::<FftNorm>()?, FftNorm::Ortho);
    /// assert!("bad".parse::<FftNorm>().is_err());
    /// # Ok::<(), rmlx_core::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "backward" => Ok(FftNorm::Backward),
            "ortho" => Ok(FftNorm::Ortho),
            "forward" => Ok(FftNorm::Forward),
            _ => Err(Error::value(
                "[fft] Invalid norm. Expected one of {'backward', 'ortho', 'forward'}.",
            )),
        }
    }
}

/// The factor the transform's output is multiplied by, beyond the kernel's own `1 / n` for
/// inverse transforms.
fn scale_factor(n: &[isize], norm: FftNorm, inverse: bool) -> f64 {
    if n.is_empty() {
        return 1.0;
    }
    let count: f64 = n.iter().map(|&v| v as f64).product();
    match (norm, inverse) {
        (FftNorm::Backward, _) => 1.0,
        (FftNorm::Ortho, true) => count.sqrt(),
        (FftNorm::Ortho, false) => 1.0 / count.sqrt(),
        (FftNorm::Forward, true) => count,
        (FftNorm::Forward, false) => 1.0 / count,
    }
}

/// A list as MLX prints it in messages: `(3,0)`.
fn fmt_list(v: &[isize]) -> String {
    let items: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("({})", items.join(","))
}

/// MLX's `fft_impl` with explicit sizes: validates, crops or zero-pads `a` to the transform's
/// input shape, casts it and builds the [`Fft`] node, then applies `norm`.
pub(crate) fn fftn_impl(
    a: &Array,
    n: &[isize],
    axes: &[isize],
    real: bool,
    inverse: bool,
    norm: FftNorm,
) -> Result<Array> {
    let nd = a.ndim();
    if nd < 1 {
        return Err(Error::value(
            "[fftn] Requires array with at least one dimension.",
        ));
    }
    if n.len() != axes.len() {
        return Err(Error::value("[fftn] Shape and axes have different sizes."));
    }
    if axes.is_empty() {
        return Ok(a.clone());
    }
    let shifted: Vec<isize> = axes
        .iter()
        .map(|&ax| if ax < 0 { ax + nd as isize } else { ax })
        .collect();
    let mut unique = shifted.clone();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() != axes.len() {
        return Err(Error::value(format!(
            "[fftn] Duplicated axis received {}",
            fmt_list(axes)
        )));
    }
    if unique[0] < 0 || unique[unique.len() - 1] >= nd as isize {
        return Err(Error::index(format!(
            "[fftn] Invalid axis received for array with {nd} dimensions."
        )));
    }
    if n.iter().any(|&v| v <= 0) {
        return Err(Error::value(format!(
            "[fftn] Invalid FFT output size requested {}",
            fmt_list(n)
        )));
    }
    let valid: Vec<usize> = shifted.iter().map(|&a| a as usize).collect();
    let last = *valid.last().expect("non-empty");
    let mut in_shape = a.shape().to_vec();
    for (&ax, &len) in valid.iter().zip(n) {
        in_shape[ax] = len as usize;
    }
    if real && inverse {
        in_shape[last] = n[n.len() - 1] as usize / 2 + 1;
    }
    let mut x = a.clone();
    if in_shape.iter().zip(a.shape()).any(|(w, h)| w < h) {
        let stop: Vec<usize> = in_shape
            .iter()
            .zip(a.shape())
            .map(|(&w, &h)| w.min(h))
            .collect();
        x = ops::slice(&x, vec![0usize; nd], &stop[..], vec![1usize; nd])?;
    }
    if in_shape.iter().zip(a.shape()).any(|(w, h)| w > h) {
        let zeros = ops::zeros(&in_shape[..], a.dtype())?;
        let stop = x.shape().to_vec();
        x = ops::slice_update(&zeros, &x, vec![0usize; nd], &stop[..], vec![1usize; nd])?;
    }
    let mut out_shape = in_shape.clone();
    if real {
        out_shape[last] = if inverse {
            n[n.len() - 1] as usize
        } else {
            in_shape[last] / 2 + 1
        };
    }
    let in_type = if real && !inverse {
        Dtype::Float32
    } else {
        Dtype::Complex64
    };
    let out_type = if real && inverse {
        Dtype::Float32
    } else {
        Dtype::Complex64
    };
    let x = ops::astype(&x, in_type)?;
    let out = Array::from_op(
        out_shape,
        out_type,
        Fft {
            axes: valid,
            inverse,
            real,
        },
        vec![x],
    );
    let scale = scale_factor(n, norm, inverse);
    if scale != 1.0 {
        return ops::multiply(&out, &Scalar::Float(scale).to_array(out_type)?);
    }
    Ok(out)
}

/// The sizes of `a` along `axes` (the default `n` / `s`); for `irfft*` the last is the output
/// length `2 * (m - 1)`.
fn default_sizes(a: &Array, axes: &[isize], real: bool, inverse: bool) -> Result<Vec<isize>> {
    let nd = a.ndim() as isize;
    let mut n = Vec::with_capacity(axes.len());
    for &ax in axes {
        let k = if ax < 0 { ax + nd } else { ax };
        if k < 0 || k >= nd {
            // MLX reads the size before validating ("SmallVector out of range."): an IndexError.
            return Err(Error::index(format!(
                "[fftn] Invalid axis received for array with {nd} dimensions."
            )));
        }
        n.push(a.shape()[k as usize] as isize);
    }
    if real
        && inverse
        && let Some(l) = n.last_mut()
    {
        *l = (*l - 1) * 2;
    }
    Ok(n)
}

/// A transform over `axes` with optional sizes (the 1-D and n-D forms share this).
fn transform(
    a: &Array,
    s: Option<&[isize]>,
    axes: &[isize],
    real: bool,
    inverse: bool,
    norm: FftNorm,
) -> Result<Array> {
    match s {
        Some(s) => fftn_impl(a, s, axes, real, inverse, norm),
        None => {
            let n = default_sizes(a, axes, real, inverse)?;
            fftn_impl(a, &n, axes, real, inverse, norm)
        }
    }
}

/// The n-D forms: `axes` `None` means every axis, which `s` must not come with.
fn transform_nd(
    op: &str,
    a: &Array,
    s: Option<&[isize]>,
    axes: Option<&[isize]>,
    real: bool,
    inverse: bool,
    norm: FftNorm,
) -> Result<Array> {
    match (axes, s) {
        (Some(axes), s) => transform(a, s, axes, real, inverse, norm),
        (None, Some(_)) => Err(Error::value(format!(
            "[{op}] `axes` should not be `None` if `s` is not `None`."
        ))),
        (None, None) => {
            let all: Vec<isize> = (0..a.ndim() as isize).collect();
            transform(a, None, &all, real, inverse, norm)
        }
    }
}

/// The one-dimensional discrete Fourier transform along the last axis (`mx.fft.fft(a)`).
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::fft(&mx::array![1.0f32, 0.0, 0.0, 0.0])?;
/// assert_eq!(y.to_vec::<mx::C64>()?, vec![mx::C64::new(1.0, 0.0); 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn fft(a: &Array) -> Result<Array> {
    fft_with(a, None, -1, FftNorm::Backward)
}

/// [`fft`] with MLX's other arguments (`mx.fft.fft(a, n, axis, norm)`): `n` crops or
/// zero-pads the axis (`None`: its length), `axis` (MLX's default `-1`) and `norm`.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let z = fft::fft_with(&mx::array![[1.0f32, 2.0], [3.0, 4.0]], Some(3), 0, FftNorm::Backward)?;
/// assert_eq!(z.shape(), &[3, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn fft_with(a: &Array, n: Option<isize>, axis: isize, norm: FftNorm) -> Result<Array> {
    transform(
        a,
        n.as_ref().map(std::slice::from_ref),
        &[axis],
        false,
        false,
        norm,
    )
}

/// The one-dimensional inverse discrete Fourier transform along the last axis, scaled by
/// `1 / n` (`mx.fft.ifft(a)`).
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::ifft(&mx::array![4.0f32, 0.0, 0.0, 0.0])?;
/// assert_eq!(y.to_vec::<mx::C64>()?, vec![mx::C64::new(1.0, 0.0); 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn ifft(a: &Array) -> Result<Array> {
    ifft_with(a, None, -1, FftNorm::Backward)
}

/// [`ifft`] with MLX's other arguments (`mx.fft.ifft(a, n, axis, norm)`): `n` crops or
/// zero-pads the axis (`None`: its length), `axis` (MLX's default `-1`) and `norm`.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::ifft_with(&mx::array![4.0f32, 0.0], Some(4), -1, FftNorm::Forward)?;
/// assert_eq!(y.to_vec::<mx::C64>()?, vec![mx::C64::new(4.0, 0.0); 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn ifft_with(a: &Array, n: Option<isize>, axis: isize, norm: FftNorm) -> Result<Array> {
    transform(
        a,
        n.as_ref().map(std::slice::from_ref),
        &[axis],
        false,
        true,
        norm,
    )
}

/// The one-dimensional discrete Fourier transform of a real input along the last axis: the
/// `n / 2 + 1` non-negative frequencies (`mx.fft.rfft(a)`).
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::rfft(&mx::array![1.0f32, 2.0, 3.0, 4.0, 5.0])?;
/// assert_eq!(y.shape(), &[3]);
/// assert_eq!(y.to_vec::<mx::C64>()?[0], mx::C64::new(15.0, 0.0));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn rfft(a: &Array) -> Result<Array> {
    rfft_with(a, None, -1, FftNorm::Backward)
}

/// [`rfft`] with MLX's other arguments (`mx.fft.rfft(a, n, axis, norm)`): `n` crops or
/// zero-pads the axis (`None`: its length), `axis` (MLX's default `-1`) and `norm`.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::rfft_with(&mx::array![1.0f32, 2.0, 3.0], Some(8), 0, FftNorm::Backward)?;
/// assert_eq!(y.shape(), &[5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn rfft_with(a: &Array, n: Option<isize>, axis: isize, norm: FftNorm) -> Result<Array> {
    transform(
        a,
        n.as_ref().map(std::slice::from_ref),
        &[axis],
        true,
        false,
        norm,
    )
}

/// The inverse of [`rfft`] along the last axis: a real signal of length `2 * (m - 1)` for an
/// input of length `m` (`mx.fft.irfft(a)`); pass `n` to [`irfft_with`] for an odd length.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let x = mx::array![1.0f32, 2.0, 3.0, 4.0];
/// let y = fft::irfft(&fft::rfft(&x)?)?;
/// assert!(mx::allclose(&y, &x)?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn irfft(a: &Array) -> Result<Array> {
    irfft_with(a, None, -1, FftNorm::Backward)
}

/// [`irfft`] with MLX's other arguments (`mx.fft.irfft(a, n, axis, norm)`): `n` crops or
/// zero-pads the axis (`None`: its length), `axis` (MLX's default `-1`) and `norm`.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let x = mx::array![1.0f32, 2.0, 3.0, 4.0, 5.0];
/// let y = fft::irfft_with(&fft::rfft(&x)?, Some(5), -1, FftNorm::Backward)?;
/// assert!(mx::allclose(&y, &x)?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn irfft_with(a: &Array, n: Option<isize>, axis: isize, norm: FftNorm) -> Result<Array> {
    transform(
        a,
        n.as_ref().map(std::slice::from_ref),
        &[axis],
        true,
        true,
        norm,
    )
}

/// The two-dimensional discrete Fourier transform over the last two axes (`mx.fft.fft2(a)`).
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::fft2(&mx::ones(&[2, 3], mx::float32)?)?;
/// assert_eq!(y.to_vec::<mx::C64>()?[0], mx::C64::new(6.0, 0.0));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn fft2(a: &Array) -> Result<Array> {
    transform_nd(
        "fft2",
        a,
        None,
        Some(&[-2, -1]),
        false,
        false,
        FftNorm::Backward,
    )
}

/// [`fft2`] with MLX's other arguments (`mx.fft.fft2(a, s, axes, norm)`): `s` crops or
/// zero-pads each transformed axis, `axes` (`None`: every axis, and then `s` must be `None`
/// too) and `norm`.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::fft2_with(&mx::ones(&[2, 3], mx::float32)?, Some(&[4, 4]), Some(&[0, 1]), FftNorm::Backward)?;
/// assert_eq!(y.shape(), &[4, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn fft2_with(
    a: &Array,
    s: Option<&[isize]>,
    axes: Option<&[isize]>,
    norm: FftNorm,
) -> Result<Array> {
    transform_nd("fft2", a, s, axes, false, false, norm)
}

/// The two-dimensional inverse discrete Fourier transform over the last two axes
/// (`mx.fft.ifft2(a)`).
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let x = mx::array![[1.0f32, 2.0], [3.0, 4.0]];
/// let y = fft::ifft2(&fft::fft2(&x)?)?;
/// assert!(mx::allclose(&mx::real(&y)?, &x)?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn ifft2(a: &Array) -> Result<Array> {
    transform_nd(
        "ifft2",
        a,
        None,
        Some(&[-2, -1]),
        false,
        true,
        FftNorm::Backward,
    )
}

/// [`ifft2`] with MLX's other arguments (`mx.fft.ifft2(a, s, axes, norm)`): `s` crops or
/// zero-pads each transformed axis, `axes` (`None`: every axis, and then `s` must be `None`
/// too) and `norm`.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::ifft2_with(&mx::ones(&[2, 2], mx::float32)?, None, Some(&[0, 1]), FftNorm::Forward)?;
/// assert_eq!(y.to_vec::<mx::C64>()?[0], mx::C64::new(4.0, 0.0));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn ifft2_with(
    a: &Array,
    s: Option<&[isize]>,
    axes: Option<&[isize]>,
    norm: FftNorm,
) -> Result<Array> {
    transform_nd("ifft2", a, s, axes, false, true, norm)
}

/// The n-dimensional discrete Fourier transform over every axis (`mx.fft.fftn(a)`).
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::fftn(&mx::ones(&[2, 2, 2], mx::float32)?)?;
/// assert_eq!(y.to_vec::<mx::C64>()?[0], mx::C64::new(8.0, 0.0));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn fftn(a: &Array) -> Result<Array> {
    transform_nd("fftn", a, None, None, false, false, FftNorm::Backward)
}

/// [`fftn`] with MLX's other arguments (`mx.fft.fftn(a, s, axes, norm)`): `s` crops or
/// zero-pads each transformed axis, `axes` (`None`: every axis, and then `s` must be `None`
/// too) and `norm`.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let z = fft::fftn_with(&mx::ones(&[2, 3], mx::float32)?, Some(&[4]), Some(&[0]), FftNorm::Ortho)?;
/// assert_eq!(z.shape(), &[4, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn fftn_with(
    a: &Array,
    s: Option<&[isize]>,
    axes: Option<&[isize]>,
    norm: FftNorm,
) -> Result<Array> {
    transform_nd("fftn", a, s, axes, false, false, norm)
}

/// The n-dimensional inverse discrete Fourier transform over every axis (`mx.fft.ifftn(a)`).
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::ifftn(&mx::full(&[2, 2], 4.0f32, None)?)?;
/// assert_eq!(y.to_vec::<mx::C64>()?[0], mx::C64::new(4.0, 0.0));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn ifftn(a: &Array) -> Result<Array> {
    transform_nd("ifftn", a, None, None, false, true, FftNorm::Backward)
}

/// [`ifftn`] with MLX's other arguments (`mx.fft.ifftn(a, s, axes, norm)`): `s` crops or
/// zero-pads each transformed axis, `axes` (`None`: every axis, and then `s` must be `None`
/// too) and `norm`.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::ifftn_with(&mx::ones(&[2, 2], mx::float32)?, None, Some(&[1]), FftNorm::Backward)?;
/// assert_eq!(y.to_vec::<mx::C64>()?[0], mx::C64::new(1.0, 0.0));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn ifftn_with(
    a: &Array,
    s: Option<&[isize]>,
    axes: Option<&[isize]>,
    norm: FftNorm,
) -> Result<Array> {
    transform_nd("ifftn", a, s, axes, false, true, norm)
}

/// The two-dimensional real discrete Fourier transform over the last two axes, the last one
/// halved (`mx.fft.rfft2(a)`).
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::rfft2(&mx::ones(&[4, 6], mx::float32)?)?;
/// assert_eq!(y.shape(), &[4, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn rfft2(a: &Array) -> Result<Array> {
    transform_nd(
        "rfft2",
        a,
        None,
        Some(&[-2, -1]),
        true,
        false,
        FftNorm::Backward,
    )
}

/// [`rfft2`] with MLX's other arguments (`mx.fft.rfft2(a, s, axes, norm)`): `s` crops or
/// zero-pads each transformed axis, `axes` (`None`: every axis, and then `s` must be `None`
/// too) and `norm`.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::rfft2_with(&mx::ones(&[4, 6], mx::float32)?, None, Some(&[1, 0]), FftNorm::Backward)?;
/// assert_eq!(y.shape(), &[3, 6]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn rfft2_with(
    a: &Array,
    s: Option<&[isize]>,
    axes: Option<&[isize]>,
    norm: FftNorm,
) -> Result<Array> {
    transform_nd("rfft2", a, s, axes, true, false, norm)
}

/// The inverse of [`rfft2`] over the last two axes (`mx.fft.irfft2(a)`).
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let x = mx::ones(&[4, 6], mx::float32)?;
/// let y = fft::irfft2(&fft::rfft2(&x)?)?;
/// assert!(mx::allclose(&y, &x)?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn irfft2(a: &Array) -> Result<Array> {
    transform_nd(
        "irfft2",
        a,
        None,
        Some(&[-2, -1]),
        true,
        true,
        FftNorm::Backward,
    )
}

/// [`irfft2`] with MLX's other arguments (`mx.fft.irfft2(a, s, axes, norm)`): `s` crops or
/// zero-pads each transformed axis, `axes` (`None`: every axis, and then `s` must be `None`
/// too) and `norm`.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let x = mx::ones(&[4, 5], mx::float32)?;
/// let y = fft::irfft2_with(&fft::rfft2(&x)?, Some(&[4, 5]), Some(&[-2, -1]), FftNorm::Backward)?;
/// assert!(mx::allclose(&y, &x)?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn irfft2_with(
    a: &Array,
    s: Option<&[isize]>,
    axes: Option<&[isize]>,
    norm: FftNorm,
) -> Result<Array> {
    transform_nd("irfft2", a, s, axes, true, true, norm)
}

/// The n-dimensional real discrete Fourier transform over every axis, the last one halved
/// (`mx.fft.rfftn(a)`).
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::rfftn(&mx::ones(&[2, 3, 4], mx::float32)?)?;
/// assert_eq!(y.shape(), &[2, 3, 3]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn rfftn(a: &Array) -> Result<Array> {
    transform_nd("rfftn", a, None, None, true, false, FftNorm::Backward)
}

/// [`rfftn`] with MLX's other arguments (`mx.fft.rfftn(a, s, axes, norm)`): `s` crops or
/// zero-pads each transformed axis, `axes` (`None`: every axis, and then `s` must be `None`
/// too) and `norm`.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::rfftn_with(&mx::ones(&[2, 3, 4], mx::float32)?, Some(&[6]), Some(&[1]), FftNorm::Backward)?;
/// assert_eq!(y.shape(), &[2, 4, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn rfftn_with(
    a: &Array,
    s: Option<&[isize]>,
    axes: Option<&[isize]>,
    norm: FftNorm,
) -> Result<Array> {
    transform_nd("rfftn", a, s, axes, true, false, norm)
}

/// The inverse of [`rfftn`] over every axis (`mx.fft.irfftn(a)`).
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::irfftn(&mx::ones(&[2, 3], mx::complex64)?)?;
/// assert_eq!(y.shape(), &[2, 4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn irfftn(a: &Array) -> Result<Array> {
    transform_nd("irfftn", a, None, None, true, true, FftNorm::Backward)
}

/// [`irfftn`] with MLX's other arguments (`mx.fft.irfftn(a, s, axes, norm)`): `s` crops or
/// zero-pads each transformed axis, `axes` (`None`: every axis, and then `s` must be `None`
/// too) and `norm`.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, FftNorm};
/// let y = fft::irfftn_with(&mx::ones(&[2, 3], mx::complex64)?, Some(&[2, 5]), Some(&[0, 1]), FftNorm::Backward)?;
/// assert_eq!(y.shape(), &[2, 5]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn irfftn_with(
    a: &Array,
    s: Option<&[isize]>,
    axes: Option<&[isize]>,
    norm: FftNorm,
) -> Result<Array> {
    transform_nd("irfftn", a, s, axes, true, true, norm)
}

/// The frequency of each output of a length-`n` [`fft`] with sample spacing `d`
/// (`mx.fft.fftfreq(n, d)`): `[0, 1, ..., (n - 1) / 2, -(n / 2), ..., -1] / (n d)`, float32.
///
/// ```
/// use rmlx_core as mx;
/// let f = mx::fft::fftfreq(4, 1.0)?;
/// assert_eq!(f.to_vec::<f32>()?, vec![0.0, 0.25, -0.5, -0.25]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn fftfreq(n: i64, d: f64) -> Result<Array> {
    check_freq_args("fftfreq", n, d)?;
    let pos = ops::arange(0.0, ((n + 1) / 2) as f64, 1.0)?;
    let neg = ops::arange(-((n / 2) as f64), 0.0, 1.0)?;
    let freqs = ops::concatenate(&[pos, neg], 0)?;
    ops::multiply(&freqs, &freq_scale(n, d))
}

/// The frequencies of [`rfft`]'s outputs (`mx.fft.rfftfreq(n, d)`): `[0, 1, ..., n / 2] / (n d)`,
/// float32.
///
/// ```
/// use rmlx_core as mx;
/// let f = mx::fft::rfftfreq(5, 0.5)?;
/// assert_eq!(f.to_vec::<f32>()?, vec![0.0, 0.4, 0.8]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn rfftfreq(n: i64, d: f64) -> Result<Array> {
    check_freq_args("rfftfreq", n, d)?;
    let freqs = ops::arange(0.0, (n / 2 + 1) as f64, 1.0)?;
    ops::multiply(&freqs, &freq_scale(n, d))
}

fn check_freq_args(op: &str, n: i64, d: f64) -> Result<()> {
    if n <= 0 {
        return Err(Error::value(format!("[{op}] `n` must be greater than 0.")));
    }
    if d == 0.0 {
        return Err(Error::value(format!("[{op}] `d` must be non-zero.")));
    }
    Ok(())
}

/// `1 / (n d)` computed in double precision, as a float32 scalar.
fn freq_scale(n: i64, d: f64) -> Array {
    Array::scalar((1.0 / (n as f64 * d)) as f32)
}

fn shift_impl(op: &str, a: &Array, axes: Option<&[isize]>, inverse: bool) -> Result<Array> {
    let all: Vec<isize>;
    let axes = match axes {
        Some(axes) => axes,
        None => {
            if a.ndim() < 1 {
                return Ok(a.clone());
            }
            all = (0..a.ndim() as isize).collect();
            &all
        }
    };
    if axes.is_empty() {
        return Ok(a.clone());
    }
    let mut shifts = Vec::with_capacity(axes.len());
    for &ax in axes {
        let k = ops::normalize_axis(ax, a.ndim(), op)?;
        let half = (a.shape()[k] / 2) as isize;
        shifts.push(if inverse { -half } else { half });
    }
    ops::roll_axes(a, shifts, axes)
}

/// The array rolled so that frequency zero is in the middle (`mx.fft.fftshift(a, axes)`): each
/// axis in `axes` (`None`: every axis) rolled by half its length, as NumPy does. Repeated axes
/// roll repeatedly (as in MLX).
///
/// ```
/// use rmlx_core as mx;
/// let f = mx::fft::fftshift(&mx::fft::fftfreq(5, 1.0)?, None)?;
/// assert_eq!(f.to_vec::<f32>()?, vec![-0.4, -0.2, 0.0, 0.2, 0.4]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn fftshift(a: &Array, axes: Option<&[isize]>) -> Result<Array> {
    shift_impl("fftshift", a, axes, false)
}

/// The inverse of [`fftshift`] (`mx.fft.ifftshift(a, axes)`): the same for even lengths, one
/// position apart for odd ones.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::arange(0, 5, 1)?;
/// let b = mx::fft::ifftshift(&mx::fft::fftshift(&a, None)?, None)?;
/// assert_eq!(b.to_vec::<i32>()?, vec![0, 1, 2, 3, 4]);
/// assert_eq!(mx::fft::ifftshift(&a, Some(&[0]))?.to_vec::<i32>()?, vec![2, 3, 4, 0, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn ifftshift(a: &Array, axes: Option<&[isize]>) -> Result<Array> {
    shift_impl("ifftshift", a, axes, true)
}
