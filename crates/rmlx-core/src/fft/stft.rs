//! Short-time Fourier transforms (`mx.fft.stft`, `mx.fft.istft`), built from existing ops
//! (pad, take, multiply, the 1-D transforms, reshapes and a sum), so gradients, `vmap`,
//! `compile` and export come with them.

use super::{FftNorm, irfft_with, rfft_with};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops::{self, PadMode};
use crate::scalar::Scalar;

/// The arguments of [`stft`] after the input, with MLX's defaults (`Default`): `n_fft` 2048,
/// `hop_length` `n_fft / 4`, `win_length` `n_fft`, a rectangular window, `center` true,
/// `pad_mode` reflect, `norm` backward, `onesided` true for real input and false for complex.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, StftOptions};
/// let opts = StftOptions { n_fft: 8, hop_length: Some(2), ..Default::default() };
/// assert_eq!(opts.win_length, None);
/// let s = fft::stft(&mx::zeros(&[32], mx::float32)?, &opts)?;
/// assert_eq!(s.shape(), &[5, 17]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct StftOptions {
    /// The transform size, the length of each frame (must be positive).
    pub n_fft: isize,
    /// Samples between the starts of consecutive frames; `None`: `n_fft / 4`.
    pub hop_length: Option<isize>,
    /// The length of the default (rectangular) window; `None`: `n_fft`. Unused when `window`
    /// is given.
    pub win_length: Option<isize>,
    /// A one-dimensional window at most `n_fft` long, centred and zero-padded to `n_fft`;
    /// `None`: ones of length `win_length`.
    pub window: Option<Array>,
    /// Pad `n_fft / 2` samples at both ends so that frame `t` is centred on sample
    /// `t * hop_length`.
    pub center: bool,
    /// How the centring pad is filled (only used when `center` is true): any of `mx.pad`'s
    /// modes, as in MLX (reflect and symmetric wrap around when the pad is longer than the
    /// signal).
    pub pad_mode: PadMode,
    /// The normalisation of each frame's transform.
    pub norm: FftNorm,
    /// Keep only the `n_fft / 2 + 1` non-negative frequencies; `None`: true unless the input
    /// is complex.
    pub onesided: Option<bool>,
}

impl Default for StftOptions {
    fn default() -> Self {
        StftOptions {
            n_fft: 2048,
            hop_length: None,
            win_length: None,
            window: None,
            center: true,
            pad_mode: PadMode::Reflect,
            norm: FftNorm::Backward,
            onesided: None,
        }
    }
}

/// The arguments of [`istft`] after the input, with MLX's defaults (`Default`): `n_fft`
/// inferred from the number of frequencies, `hop_length` `n_fft / 4`, `win_length` `n_fft`,
/// a rectangular window, `center` true, `norm` backward, `onesided` true, no `length`.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::IstftOptions;
/// let opts = IstftOptions { n_fft: Some(7), length: Some(100), ..Default::default() };
/// assert!(opts.center && opts.onesided.is_none());
/// ```
#[derive(Clone, Debug)]
pub struct IstftOptions {
    /// The transform size; `None`: `2 * (n_freq - 1)` when onesided (always even: pass it for
    /// an odd size), else `n_freq`.
    pub n_fft: Option<isize>,
    /// Samples between frames; `None`: `n_fft / 4`.
    pub hop_length: Option<isize>,
    /// The length of the default (rectangular) window; `None`: `n_fft`. Unused when `window`
    /// is given.
    pub win_length: Option<isize>,
    /// The analysis window (one-dimensional, at most `n_fft` long, centred and zero-padded to
    /// `n_fft`); `None`: ones of length `win_length`.
    pub window: Option<Array>,
    /// Whether the transform was centred: drop `n_fft / 2` samples at the start (and at the
    /// end when `length` is not given).
    pub center: bool,
    /// The normalisation the forward transform used.
    pub norm: FftNorm,
    /// Whether the input holds only the non-negative frequencies; `None`: true.
    pub onesided: Option<bool>,
    /// Trim or zero-pad the output to this many samples.
    pub length: Option<isize>,
}

impl Default for IstftOptions {
    fn default() -> Self {
        IstftOptions {
            n_fft: None,
            hop_length: None,
            win_length: None,
            window: None,
            center: true,
            norm: FftNorm::Backward,
            onesided: None,
            length: None,
        }
    }
}

/// The window centred in an `n_fft`-long frame: `window` (or ones of `win_length`, float32)
/// zero-padded on both sides, one more zero on the right when the difference is odd.
fn prepare_window(
    window: Option<&Array>,
    win_length: isize,
    n_fft: isize,
    op: &str,
) -> Result<Array> {
    let win = match window {
        Some(w) => w.clone(),
        None => {
            if win_length < 0 {
                // MLX builds the default window with `ones` and reports it from there.
                return Err(Error::value("[full] Negative dimensions not allowed."));
            }
            ops::ones([win_length], Dtype::Float32)?
        }
    };
    if win.ndim() != 1 {
        return Err(Error::value(format!(
            "[{op}] window must be a one-dimensional array."
        )));
    }
    let wl = win.shape()[0] as isize;
    if wl > n_fft {
        return Err(Error::value(format!(
            "[{op}] window length must not exceed n_fft."
        )));
    }
    if wl == n_fft {
        return Ok(win);
    }
    let left = (n_fft - wl) / 2;
    ops::pad(&win, (left, n_fft - wl - left))
}

/// An index array of `dtype` for positions below `bound`: int32 when they fit.
fn index_dtype(bound: usize) -> Dtype {
    if bound <= i32::MAX as usize {
        Dtype::Int32
    } else {
        Dtype::Int64
    }
}

/// The short-time Fourier transform (`mx.fft.stft(x, n_fft, hop_length, win_length, window,
/// center, pad_mode, norm, onesided)`): the last axis of `x` is cut into frames of `n_fft`
/// samples, `hop_length` apart (after padding `n_fft / 2` at both ends when `center`), each
/// frame is multiplied by the window and transformed. The result is complex64 of shape
/// `(..., n_freq, n_frames)` with `n_frames = 1 + (padded_len - n_fft) / hop_length` and
/// `n_freq = n_fft / 2 + 1` (onesided) or `n_fft`.
///
/// Errors as in MLX: `n_fft` or `hop_length` not positive, a 0-D input, a window that is not
/// 1-D or longer than `n_fft`, an input shorter than `n_fft` (after centring).
///
/// Deviation: MLX cuts the frames with `as_strided`, which has no `vmap` rule, so `mx.vmap`
/// of `mx.fft.stft` raises; here the frames are a gather, which vmaps.
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, StftOptions};
/// let x = mx::arange(0.0, 16.0, 1.0)?;
/// let opts = StftOptions { n_fft: 4, hop_length: Some(2), ..Default::default() };
/// let s = fft::stft(&x, &opts)?;
/// assert_eq!(s.shape(), &[3, 9]);
/// assert_eq!(s.dtype(), mx::complex64);
/// // Frequency 0 of each (rectangular) frame is the sum of its samples; the first frame is
/// // centred on sample 0 of the reflect-padded signal [2, 1, 0, 1, ...].
/// let dc = mx::real(&s)?.to_vec::<f32>()?;
/// assert_eq!(&dc[..3], &[4.0, 6.0, 14.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn stft(x: &Array, opts: &StftOptions) -> Result<Array> {
    let n_fft = opts.n_fft;
    if n_fft <= 0 {
        return Err(Error::value("[stft] n_fft must be positive."));
    }
    if x.ndim() < 1 {
        return Err(Error::value(
            "[stft] Input must have at least one dimension.",
        ));
    }
    let hop = opts.hop_length.unwrap_or(n_fft / 4);
    let win_length = opts.win_length.unwrap_or(n_fft);
    if hop <= 0 {
        return Err(Error::value("[stft] hop_length must be positive."));
    }
    let onesided = opts.onesided.unwrap_or(x.dtype() != Dtype::Complex64);
    let win = prepare_window(opts.window.as_ref(), win_length, n_fft, "stft")?;

    // Leading axes flattened into one batch axis.
    let lead = &x.shape()[..x.ndim() - 1];
    let t = x.shape()[x.ndim() - 1];
    let mut xb = ops::reshape(x, [-1, t as isize])?;
    if opts.center {
        let p = n_fft / 2;
        xb = ops::pad_with(&xb, [(0, 0), (p, p)], opts.pad_mode, 0)?;
    }
    let tp = xb.shape()[1] as isize;
    if tp < n_fft {
        return Err(Error::value(
            "[stft] Input is too short for the given n_fft.",
        ));
    }
    let n_frames = 1 + (tp - n_fft) / hop;

    // Frame f is samples f * hop .. f * hop + n_fft: gather them with an (n_frames, n_fft)
    // index, giving (batch, n_frames, n_fft).
    let dt = index_dtype(tp as usize);
    let starts = ops::arange_dtype(0.0, (n_frames * hop) as f64, hop as f64, dt)?;
    let offsets = ops::arange_dtype(0.0, n_fft as f64, 1.0, dt)?;
    let idx = ops::add(
        &ops::reshape(&starts, [n_frames, 1])?,
        &ops::reshape(&offsets, [1, n_fft])?,
    )?;
    let frames = ops::multiply(&ops::take(&xb, &idx, Some(1))?, &win)?;

    let spec = if onesided {
        rfft_with(&frames, Some(n_fft), -1, opts.norm)?
    } else {
        super::fft_with(&frames, Some(n_fft), -1, opts.norm)?
    };
    let spec = ops::swapaxes(&spec, -1, -2)?;
    let mut out_shape: Vec<isize> = lead.iter().map(|&d| d as isize).collect();
    out_shape.push(spec.shape()[1] as isize);
    out_shape.push(n_frames);
    ops::reshape(&spec, out_shape)
}

/// Overlap-adds `blocks` of shape `(b, n_frames, seg, hop)`: block `k` of frame `i` lands on
/// output block `i + k`, giving `(b, (n_frames + seg - 1) * hop)`.
///
/// The `seg` shifted copies are laid out as the rows of a `(seg, n_frames + seg)` grid padded
/// with `seg` zero frames; read back with rows one shorter, row `k` starts `k` blocks later,
/// so one sum over the rows adds them (a fixed number of ops whatever `seg` is).
fn overlap_add(blocks: &Array) -> Result<Array> {
    let dims: Vec<isize> = blocks.shape().iter().map(|&d| d as isize).collect();
    let (b, n_frames, seg, hop) = (dims[0], dims[1], dims[2], dims[3]);
    let m = n_frames + seg;
    let grid = ops::pad(
        &ops::swapaxes(blocks, 1, 2)?,
        [(0, 0), (0, 0), (0, seg), (0, 0)],
    )?;
    let flat = ops::reshape(&grid, [b, seg * m, hop])?;
    let kept = ops::slice(&flat, [0, 0, 0], [b, seg * (m - 1), hop], [1, 1, 1])?;
    let skewed = ops::reshape(&kept, [b, seg, m - 1, hop])?;
    let summed = ops::sum_axes(&skewed, [1], false)?;
    ops::reshape(&summed, [b, (m - 1) * hop])
}

/// The inverse short-time Fourier transform (`mx.fft.istft(stft_matrix, n_fft, hop_length,
/// win_length, window, center, norm, onesided, length)`): each frame of the `(..., n_freq,
/// n_frames)` input is inverse transformed, multiplied by the window and overlap-added; the
/// sum is divided by the overlap-added squared window (floored at `1e-8`). The output is
/// float32 (complex64 for a complex window) of shape `(..., len)`, `len` being `length`, or
/// `n_fft + (n_frames - 1) * hop_length` less `2 * (n_fft / 2)` when `center`.
///
/// Errors as in MLX: fewer than two dimensions, `n_fft` or `hop_length` not positive, a window
/// that is not 1-D or longer than `n_fft`. As in MLX, a negative `length` is used as the stop
/// of a slice (counting from the end).
///
/// ```
/// use rmlx_core as mx;
/// use mx::fft::{self, IstftOptions, StftOptions};
/// let x = mx::sin(&mx::arange(0.0, 150.0, 1.0)?.reshape(&[3, 50])?)?;
/// let window = Some(mx::array![0.5f32, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5]);
/// let s = fft::stft(&x, &StftOptions { n_fft: 7, hop_length: Some(2), window: window.clone(), ..Default::default() })?;
/// let opts = IstftOptions { n_fft: Some(7), hop_length: Some(2), window, length: Some(50), ..Default::default() };
/// let back = fft::istft(&s, &opts)?;
/// assert!(mx::allclose_with(&back, &x, mx::CloseOptions { rtol: 1e-4, atol: 1e-4, equal_nan: false })?.item::<bool>()?);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn istft(stft_matrix: &Array, opts: &IstftOptions) -> Result<Array> {
    let nd = stft_matrix.ndim();
    if nd < 2 {
        return Err(Error::value(
            "[istft] Input must have at least two dimensions (freq, frames).",
        ));
    }
    let onesided = opts.onesided.unwrap_or(true);
    let n_freq = stft_matrix.shape()[nd - 2] as isize;
    let n_frames = stft_matrix.shape()[nd - 1] as isize;
    let n_fft = opts
        .n_fft
        .unwrap_or(if onesided { (n_freq - 1) * 2 } else { n_freq });
    if n_fft <= 0 {
        return Err(Error::value("[istft] n_fft must be positive."));
    }
    let hop = opts.hop_length.unwrap_or(n_fft / 4);
    let win_length = opts.win_length.unwrap_or(n_fft);
    if hop <= 0 {
        return Err(Error::value("[istft] hop_length must be positive."));
    }
    let win = prepare_window(opts.window.as_ref(), win_length, n_fft, "istft")?;

    let lead = &stft_matrix.shape()[..nd - 2];
    let z = ops::reshape(stft_matrix, [-1, n_freq, n_frames])?;
    let b = z.shape()[0] as isize;
    let z = ops::swapaxes(&z, -1, -2)?;
    let frames = if onesided {
        irfft_with(&z, Some(n_fft), -1, opts.norm)?
    } else {
        ops::real(&super::ifft_with(&z, Some(n_fft), -1, opts.norm)?)?
    };
    let frames = ops::multiply(&frames, &win)?;
    let dtype = frames.dtype();

    // Frames (and the squared window) padded to whole hops, cut into `seg` blocks of `hop`.
    // (Sizes checked so that no product below overflows, even for an empty batch.)
    let too_big = || Error::value("[istft] The reconstructed signal is too large.");
    let seg = (n_fft - 1) / hop + 1;
    let wp = seg.checked_mul(hop).ok_or_else(too_big)?;
    let sig_len = (n_frames - 1)
        .checked_mul(hop)
        .and_then(|v| v.checked_add(n_fft))
        .ok_or_else(too_big)?;
    (n_frames + seg)
        .checked_mul(wp)
        .and_then(|v| v.checked_mul(b.max(1)))
        .ok_or_else(too_big)?;
    let frames = ops::pad(&frames, [(0, 0), (0, 0), (0, wp - n_fft)])?;
    let blocks = ops::reshape(&frames, [b, n_frames, seg, hop])?;
    let signal = overlap_add(&blocks)?;

    let win_sq = ops::astype(&ops::square(&win)?, dtype)?;
    let win_sq = ops::pad(&win_sq, (0, wp - n_fft))?;
    let win_blocks = ops::broadcast_to(
        &ops::reshape(&win_sq, [1, 1, seg, hop])?,
        [1, n_frames, seg, hop],
    )?;
    let envelope = overlap_add(&win_blocks)?;
    let floor = Scalar::Float(1e-8).to_array(envelope.dtype())?;
    let mut signal = ops::divide(&signal, &ops::maximum(&envelope, &floor)?)?;

    // Drop the centring pad at the start; the end is `length` later, or the centring pad
    // before the end of the full reconstruction (n_fft + (n_frames - 1) * hop samples).
    let start = if opts.center { n_fft / 2 } else { 0 };
    match opts.length {
        Some(length) => {
            let stop = sig_len.min(start.saturating_add(length));
            signal = ops::slice(&signal, [0, start], [b, stop], [1, 1])?;
            let cur = signal.shape()[1] as isize;
            if cur < length {
                signal = ops::pad(&signal, [(0, 0), (0, length - cur)])?;
            }
        }
        None => {
            let stop = if opts.center {
                sig_len - n_fft / 2
            } else {
                sig_len
            };
            signal = ops::slice(&signal, [0, start], [b, stop], [1, 1])?;
        }
    }
    let mut out_shape: Vec<isize> = lead.iter().map(|&d| d as isize).collect();
    out_shape.push(signal.shape()[1] as isize);
    ops::reshape(&signal, out_shape)
}
