//! Convolutions (MLX's `nn.Conv1d` .. `nn.Conv3d`) and transposed convolutions
//! (`nn.ConvTranspose1d` .. `nn.ConvTranspose3d`), channels last: inputs `(N, *spatial, C_in)`,
//! weights `(C_out, *kernel, C_in / groups)`.

use crate::core::{self as mx, Array, Error, Result};
use crate::pyrepr::py_bool;
use crate::pyrepr::py_shape;
use crate::{Forward, ModuleState};

/// A size given as one integer for every spatial axis, or one per axis: MLX's `int or tuple`
/// arguments (`kernel_size`, `stride`, `padding`, ...). MLX prints some of them as given, so
/// the two forms are kept apart.
///
/// ```
/// use rmlx_nn::Dims;
/// assert_eq!(Dims::from(3).expand(2, "Conv2d", "stride")?, vec![3, 3]);
/// assert_eq!(Dims::from((1, 2)).expand(2, "Conv2d", "stride")?, vec![1, 2]);
/// assert!(Dims::from((1, 2)).expand(3, "Conv3d", "stride").is_err());
/// # Ok::<(), rmlx_nn::core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dims {
    /// The same value on every axis (a Python `int`).
    One(usize),
    /// One value per axis (a Python tuple).
    Each(Vec<usize>),
}

impl Dims {
    /// The value of each of `n` axes; an error naming `layer` and the argument `what` when a
    /// per-axis list does not have `n` entries.
    pub fn expand(&self, n: usize, layer: &str, what: &str) -> Result<Vec<usize>> {
        match self {
            Dims::One(v) => Ok(vec![*v; n]),
            Dims::Each(v) if v.len() == n => Ok(v.clone()),
            Dims::Each(v) => Err(Error::value(format!(
                "[{layer}] '{what}' must be an integer or a tuple containing {n} integer{}, got \
                 {}.",
                if n == 1 { "" } else { "s" },
                py_shape(v)
            ))),
        }
    }

    /// As Python prints the argument: `1` or `(1, 2)`.
    pub fn py_repr(&self) -> String {
        match self {
            Dims::One(v) => v.to_string(),
            Dims::Each(v) => py_shape(v),
        }
    }
}

impl Default for Dims {
    fn default() -> Self {
        Dims::One(1)
    }
}

impl From<usize> for Dims {
    fn from(v: usize) -> Self {
        Dims::One(v)
    }
}

impl From<(usize, usize)> for Dims {
    fn from(v: (usize, usize)) -> Self {
        Dims::Each(vec![v.0, v.1])
    }
}

impl From<(usize, usize, usize)> for Dims {
    fn from(v: (usize, usize, usize)) -> Self {
        Dims::Each(vec![v.0, v.1, v.2])
    }
}

impl<const N: usize> From<[usize; N]> for Dims {
    fn from(v: [usize; N]) -> Self {
        Dims::Each(v.to_vec())
    }
}

impl From<Vec<usize>> for Dims {
    fn from(v: Vec<usize>) -> Self {
        Dims::Each(v)
    }
}

impl From<&[usize]> for Dims {
    fn from(v: &[usize]) -> Self {
        Dims::Each(v.to_vec())
    }
}

/// The weight `(out, *kernel, in_per_group)` drawn from `U(-s, s)` with
/// `s = sqrt(1 / (in_per_group * prod(kernel)))`, and a zero bias, as MLX initialises them.
fn init_conv(
    out_channels: usize,
    kernel: &[usize],
    in_per_group: usize,
    bias: bool,
) -> Result<(Array, Option<Array>)> {
    let fan_in = in_per_group * kernel.iter().product::<usize>();
    let scale = (1.0 / fan_in as f64).sqrt();
    let mut shape = vec![out_channels];
    shape.extend_from_slice(kernel);
    shape.push(in_per_group);
    let weight = mx::random::uniform(-scale, scale, &shape, mx::float32, None)?;
    let bias = if bias {
        Some(mx::zeros(&[out_channels], mx::float32)?)
    } else {
        None
    };
    Ok((weight, bias))
}

fn check_groups(in_channels: usize, groups: usize) -> Result<()> {
    if groups == 0 || !in_channels.is_multiple_of(groups) {
        return Err(Error::value(format!(
            "The number of input channels ({in_channels}) must be divisible by the number of \
             groups ({groups})"
        )));
    }
    Ok(())
}

fn add_bias(y: Array, bias: &Option<Array>) -> Result<Array> {
    match bias {
        Some(b) => mx::add(&y, b),
        None => Ok(y),
    }
}

fn kernel_of(weight: &Array) -> Vec<usize> {
    let s = weight.shape();
    if s.len() >= 2 {
        s[1..s.len() - 1].to_vec()
    } else {
        Vec::new()
    }
}

fn in_of(weight: &Array) -> usize {
    weight.shape().last().copied().unwrap_or(0)
}

fn out_of(weight: &Array) -> usize {
    weight.shape().first().copied().unwrap_or(0)
}

/// The options of [`Conv1d`] besides the channels and the kernel size (MLX's defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conv1dOptions {
    /// Default 1.
    pub stride: usize,
    /// Zero padding on both sides. Default 0.
    pub padding: usize,
    /// Default 1.
    pub dilation: usize,
    /// Default 1; must divide the input channels.
    pub groups: usize,
    /// A learnable bias. Default `true`.
    pub bias: bool,
}

impl Default for Conv1dOptions {
    fn default() -> Self {
        Conv1dOptions {
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
            bias: true,
        }
    }
}

/// A 1-D convolution over `(N, L, C_in)` inputs (MLX's `nn.Conv1d`): `weight` is
/// `(out_channels, kernel_size, in_channels / groups)` from `U(-s, s)`,
/// `s = sqrt(1 / (in_channels / groups * kernel_size))`; `bias` starts at zero.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let conv = nn::Conv1d::new(3, 8, 3)?;
/// assert_eq!(conv.forward(&mx::ones(&[2, 10, 3], mx::float32)?)?.shape(), &[2, 8, 8]);
/// assert_eq!(conv.to_string(), "Conv1d(3, 8, kernel_size=3, stride=1, padding=0, dilation=1, groups=1, bias=True)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = Conv1d::describe)]
pub struct Conv1d {
    /// `(out_channels, kernel_size, in_channels / groups)`.
    pub weight: Array,
    /// `(out_channels,)`, absent without bias.
    pub bias: Option<Array>,
    stride: usize,
    padding: usize,
    dilation: usize,
    groups: usize,
    state: ModuleState,
}

impl Conv1d {
    /// A convolution with MLX's default options.
    pub fn new(in_channels: usize, out_channels: usize, kernel_size: usize) -> Result<Self> {
        Self::with_options(
            in_channels,
            out_channels,
            kernel_size,
            &Conv1dOptions::default(),
        )
    }

    /// A convolution with the given options.
    pub fn with_options(
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        opts: &Conv1dOptions,
    ) -> Result<Self> {
        check_groups(in_channels, opts.groups)?;
        let (weight, bias) = init_conv(
            out_channels,
            &[kernel_size],
            in_channels / opts.groups,
            opts.bias,
        )?;
        Ok(Conv1d {
            weight,
            bias,
            stride: opts.stride,
            padding: opts.padding,
            dilation: opts.dilation,
            groups: opts.groups,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, groups={}, bias={}",
            in_of(&self.weight) * self.groups,
            out_of(&self.weight),
            kernel_of(&self.weight).first().copied().unwrap_or(0),
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            py_bool(self.bias.is_some())
        )
    }
}

impl Forward for Conv1d {
    fn forward(&self, x: &Array) -> Result<Array> {
        let y = mx::conv1d(
            x,
            &self.weight,
            self.stride,
            self.padding,
            self.dilation,
            self.groups as i64,
        )?;
        add_bias(y, &self.bias)
    }
}

/// The options of [`Conv2d`] besides the channels and the kernel size (MLX's defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conv2dOptions {
    /// Default 1.
    pub stride: Dims,
    /// Zero padding on both sides of each axis. Default 0.
    pub padding: Dims,
    /// Default 1.
    pub dilation: Dims,
    /// Default 1; must divide the input channels.
    pub groups: usize,
    /// A learnable bias. Default `true`.
    pub bias: bool,
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions {
            stride: Dims::One(1),
            padding: Dims::One(0),
            dilation: Dims::One(1),
            groups: 1,
            bias: true,
        }
    }
}

/// A 2-D convolution over `(N, H, W, C_in)` inputs (MLX's `nn.Conv2d`): `weight` is
/// `(out_channels, KH, KW, in_channels / groups)` from `U(-s, s)`,
/// `s = sqrt(1 / (in_channels / groups * KH * KW))`; `bias` starts at zero.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let opts = nn::Conv2dOptions { stride: 2.into(), padding: 1.into(), ..Default::default() };
/// let conv = nn::Conv2d::with_options(3, 4, (3, 3), &opts)?;
/// assert_eq!(conv.forward(&mx::ones(&[1, 8, 8, 3], mx::float32)?)?.shape(), &[1, 4, 4, 4]);
/// assert_eq!(conv.to_string(), "Conv2d(3, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=1, groups=1, bias=True)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = Conv2d::describe)]
pub struct Conv2d {
    /// `(out_channels, KH, KW, in_channels / groups)`.
    pub weight: Array,
    /// `(out_channels,)`, absent without bias.
    pub bias: Option<Array>,
    stride: Vec<usize>,
    padding: Vec<usize>,
    #[module(skip)]
    dilation: Dims,
    groups: usize,
    state: ModuleState,
}

impl Conv2d {
    /// A convolution with MLX's default options.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl Into<Dims>,
    ) -> Result<Self> {
        Self::with_options(
            in_channels,
            out_channels,
            kernel_size,
            &Conv2dOptions::default(),
        )
    }

    /// A convolution with the given options.
    pub fn with_options(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl Into<Dims>,
        opts: &Conv2dOptions,
    ) -> Result<Self> {
        const L: &str = "Conv2d";
        check_groups(in_channels, opts.groups)?;
        let kernel = kernel_size.into().expand(2, L, "kernel_size")?;
        opts.dilation.expand(2, L, "dilation")?;
        let (weight, bias) =
            init_conv(out_channels, &kernel, in_channels / opts.groups, opts.bias)?;
        Ok(Conv2d {
            weight,
            bias,
            stride: opts.stride.expand(2, L, "stride")?,
            padding: opts.padding.expand(2, L, "padding")?,
            dilation: opts.dilation.clone(),
            groups: opts.groups,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, groups={}, bias={}",
            in_of(&self.weight) * self.groups,
            out_of(&self.weight),
            py_shape(&kernel_of(&self.weight)),
            py_shape(&self.stride),
            py_shape(&self.padding),
            self.dilation.py_repr(),
            self.groups,
            py_bool(self.bias.is_some())
        )
    }
}

impl Forward for Conv2d {
    fn forward(&self, x: &Array) -> Result<Array> {
        let y = mx::conv2d(
            x,
            &self.weight,
            &self.stride[..],
            &self.padding[..],
            &self.dilation.expand(2, "Conv2d", "dilation")?[..],
            self.groups as i64,
        )?;
        add_bias(y, &self.bias)
    }
}

/// The options of [`Conv3d`] besides the channels and the kernel size (MLX's defaults; MLX's
/// `Conv3d` has no groups).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conv3dOptions {
    /// Default 1.
    pub stride: Dims,
    /// Zero padding on both sides of each axis. Default 0.
    pub padding: Dims,
    /// Default 1.
    pub dilation: Dims,
    /// A learnable bias. Default `true`.
    pub bias: bool,
}

impl Default for Conv3dOptions {
    fn default() -> Self {
        Conv3dOptions {
            stride: Dims::One(1),
            padding: Dims::One(0),
            dilation: Dims::One(1),
            bias: true,
        }
    }
}

/// A 3-D convolution over `(N, D, H, W, C_in)` inputs (MLX's `nn.Conv3d`): `weight` is
/// `(out_channels, KD, KH, KW, in_channels)` from `U(-s, s)`,
/// `s = sqrt(1 / (in_channels * KD * KH * KW))`; `bias` starts at zero.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let conv = nn::Conv3d::new(2, 4, 2)?;
/// assert_eq!(conv.forward(&mx::ones(&[1, 3, 3, 3, 2], mx::float32)?)?.shape(), &[1, 2, 2, 2, 4]);
/// assert_eq!(conv.to_string(), "Conv3d(2, 4, kernel_size=(2, 2, 2), stride=(1, 1, 1), padding=(0, 0, 0), dilation=1, bias=True)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = Conv3d::describe)]
pub struct Conv3d {
    /// `(out_channels, KD, KH, KW, in_channels)`.
    pub weight: Array,
    /// `(out_channels,)`, absent without bias.
    pub bias: Option<Array>,
    stride: Vec<usize>,
    padding: Vec<usize>,
    #[module(skip)]
    dilation: Dims,
    state: ModuleState,
}

impl Conv3d {
    /// A convolution with MLX's default options.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl Into<Dims>,
    ) -> Result<Self> {
        Self::with_options(
            in_channels,
            out_channels,
            kernel_size,
            &Conv3dOptions::default(),
        )
    }

    /// A convolution with the given options.
    pub fn with_options(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl Into<Dims>,
        opts: &Conv3dOptions,
    ) -> Result<Self> {
        const L: &str = "Conv3d";
        let kernel = kernel_size.into().expand(3, L, "kernel_size")?;
        opts.dilation.expand(3, L, "dilation")?;
        let (weight, bias) = init_conv(out_channels, &kernel, in_channels, opts.bias)?;
        Ok(Conv3d {
            weight,
            bias,
            stride: opts.stride.expand(3, L, "stride")?,
            padding: opts.padding.expand(3, L, "padding")?,
            dilation: opts.dilation.clone(),
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, bias={}",
            in_of(&self.weight),
            out_of(&self.weight),
            py_shape(&kernel_of(&self.weight)),
            py_shape(&self.stride),
            py_shape(&self.padding),
            self.dilation.py_repr(),
            py_bool(self.bias.is_some())
        )
    }
}

impl Forward for Conv3d {
    fn forward(&self, x: &Array) -> Result<Array> {
        let y = mx::conv3d(
            x,
            &self.weight,
            &self.stride[..],
            &self.padding[..],
            &self.dilation.expand(3, "Conv3d", "dilation")?[..],
            1,
        )?;
        add_bias(y, &self.bias)
    }
}

/// The options of [`ConvTranspose1d`] besides the channels and the kernel size (MLX's
/// defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvTranspose1dOptions {
    /// Default 1.
    pub stride: usize,
    /// Default 0.
    pub padding: usize,
    /// Default 1.
    pub dilation: usize,
    /// Extra size added to one side of the output. Default 0.
    pub output_padding: usize,
    /// A learnable bias. Default `true`.
    pub bias: bool,
}

impl Default for ConvTranspose1dOptions {
    fn default() -> Self {
        ConvTranspose1dOptions {
            stride: 1,
            padding: 0,
            dilation: 1,
            output_padding: 0,
            bias: true,
        }
    }
}

/// A 1-D transposed convolution over `(N, L, C_in)` inputs (MLX's `nn.ConvTranspose1d`):
/// `weight` is `(out_channels, kernel_size, in_channels)` from `U(-s, s)`,
/// `s = sqrt(1 / (in_channels * kernel_size))`; `bias` starts at zero.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let opts = nn::ConvTranspose1dOptions { stride: 2, ..Default::default() };
/// let conv = nn::ConvTranspose1d::with_options(3, 2, 3, &opts)?;
/// assert_eq!(conv.forward(&mx::ones(&[1, 4, 3], mx::float32)?)?.shape(), &[1, 9, 2]);
/// assert_eq!(conv.to_string(), "ConvTranspose1d(3, 2, kernel_size=3, stride=2, padding=0, dilation=1, output_padding=0, bias=True)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = ConvTranspose1d::describe)]
pub struct ConvTranspose1d {
    /// `(out_channels, kernel_size, in_channels)`.
    pub weight: Array,
    /// `(out_channels,)`, absent without bias.
    pub bias: Option<Array>,
    stride: usize,
    padding: usize,
    dilation: usize,
    output_padding: usize,
    state: ModuleState,
}

impl ConvTranspose1d {
    /// A transposed convolution with MLX's default options.
    pub fn new(in_channels: usize, out_channels: usize, kernel_size: usize) -> Result<Self> {
        Self::with_options(
            in_channels,
            out_channels,
            kernel_size,
            &ConvTranspose1dOptions::default(),
        )
    }

    /// A transposed convolution with the given options.
    pub fn with_options(
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        opts: &ConvTranspose1dOptions,
    ) -> Result<Self> {
        let (weight, bias) = init_conv(out_channels, &[kernel_size], in_channels, opts.bias)?;
        Ok(ConvTranspose1d {
            weight,
            bias,
            stride: opts.stride,
            padding: opts.padding,
            dilation: opts.dilation,
            output_padding: opts.output_padding,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, output_padding={}, \
             bias={}",
            in_of(&self.weight),
            out_of(&self.weight),
            kernel_of(&self.weight).first().copied().unwrap_or(0),
            self.stride,
            self.padding,
            self.dilation,
            self.output_padding,
            py_bool(self.bias.is_some())
        )
    }
}

impl Forward for ConvTranspose1d {
    fn forward(&self, x: &Array) -> Result<Array> {
        let y = mx::conv_transpose1d(
            x,
            &self.weight,
            self.stride,
            self.padding,
            self.dilation,
            self.output_padding,
            1,
        )?;
        add_bias(y, &self.bias)
    }
}

/// The options of [`ConvTranspose2d`] and [`ConvTranspose3d`] besides the channels and the
/// kernel size (MLX's defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvTransposeOptions {
    /// Default 1.
    pub stride: Dims,
    /// Default 0.
    pub padding: Dims,
    /// Default 1.
    pub dilation: Dims,
    /// Extra size added to one side of each output axis. Default 0.
    pub output_padding: Dims,
    /// A learnable bias. Default `true`.
    pub bias: bool,
}

impl Default for ConvTransposeOptions {
    fn default() -> Self {
        ConvTransposeOptions {
            stride: Dims::One(1),
            padding: Dims::One(0),
            dilation: Dims::One(1),
            output_padding: Dims::One(0),
            bias: true,
        }
    }
}

/// The state shared by the 2-D and 3-D transposed convolutions.
#[derive(Clone, Debug)]
struct TransposeConfig {
    stride: Vec<usize>,
    padding: Vec<usize>,
    dilation: Dims,
    output_padding: Vec<usize>,
}

fn transpose_layer(
    nd: usize,
    layer: &str,
    in_channels: usize,
    out_channels: usize,
    kernel_size: Dims,
    opts: &ConvTransposeOptions,
) -> Result<(Array, Option<Array>, TransposeConfig)> {
    let kernel = kernel_size.expand(nd, layer, "kernel_size")?;
    opts.dilation.expand(nd, layer, "dilation")?;
    let (weight, bias) = init_conv(out_channels, &kernel, in_channels, opts.bias)?;
    let config = TransposeConfig {
        stride: opts.stride.expand(nd, layer, "stride")?,
        padding: opts.padding.expand(nd, layer, "padding")?,
        dilation: opts.dilation.clone(),
        output_padding: opts.output_padding.expand(nd, layer, "output_padding")?,
    };
    Ok((weight, bias, config))
}

fn describe_transpose(weight: &Array, bias: &Option<Array>, c: &TransposeConfig) -> String {
    format!(
        "{}, {}, kernel_size={}, stride={}, padding={}, dilation={}, output_padding={}, bias={}",
        in_of(weight),
        out_of(weight),
        py_shape(&kernel_of(weight)),
        py_shape(&c.stride),
        py_shape(&c.padding),
        c.dilation.py_repr(),
        py_shape(&c.output_padding),
        py_bool(bias.is_some())
    )
}

fn forward_transpose(
    nd: usize,
    layer: &str,
    x: &Array,
    weight: &Array,
    bias: &Option<Array>,
    c: &TransposeConfig,
) -> Result<Array> {
    let dilation = c.dilation.expand(nd, layer, "dilation")?;
    let conv = if nd == 2 {
        mx::conv_transpose2d
    } else {
        mx::conv_transpose3d
    };
    let y = conv(
        x,
        weight,
        &c.stride[..],
        &c.padding[..],
        &dilation[..],
        &c.output_padding[..],
        1,
    )?;
    add_bias(y, bias)
}

/// A 2-D transposed convolution over `(N, H, W, C_in)` inputs (MLX's `nn.ConvTranspose2d`):
/// `weight` is `(out_channels, KH, KW, in_channels)` from `U(-s, s)`,
/// `s = sqrt(1 / (in_channels * KH * KW))`; `bias` starts at zero.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let opts = nn::ConvTransposeOptions { stride: 2.into(), ..Default::default() };
/// let conv = nn::ConvTranspose2d::with_options(3, 2, 2, &opts)?;
/// assert_eq!(conv.forward(&mx::ones(&[1, 4, 4, 3], mx::float32)?)?.shape(), &[1, 8, 8, 2]);
/// assert_eq!(conv.to_string(), "ConvTranspose2d(3, 2, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=1, output_padding=(0, 0), bias=True)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = ConvTranspose2d::describe)]
pub struct ConvTranspose2d {
    /// `(out_channels, KH, KW, in_channels)`.
    pub weight: Array,
    /// `(out_channels,)`, absent without bias.
    pub bias: Option<Array>,
    #[module(skip)]
    config: TransposeConfig,
    state: ModuleState,
}

impl ConvTranspose2d {
    /// A transposed convolution with MLX's default options.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl Into<Dims>,
    ) -> Result<Self> {
        Self::with_options(
            in_channels,
            out_channels,
            kernel_size,
            &ConvTransposeOptions::default(),
        )
    }

    /// A transposed convolution with the given options.
    pub fn with_options(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl Into<Dims>,
        opts: &ConvTransposeOptions,
    ) -> Result<Self> {
        let (weight, bias, config) = transpose_layer(
            2,
            "ConvTranspose2d",
            in_channels,
            out_channels,
            kernel_size.into(),
            opts,
        )?;
        Ok(ConvTranspose2d {
            weight,
            bias,
            config,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        describe_transpose(&self.weight, &self.bias, &self.config)
    }
}

impl Forward for ConvTranspose2d {
    fn forward(&self, x: &Array) -> Result<Array> {
        forward_transpose(
            2,
            "ConvTranspose2d",
            x,
            &self.weight,
            &self.bias,
            &self.config,
        )
    }
}

/// A 3-D transposed convolution over `(N, D, H, W, C_in)` inputs (MLX's
/// `nn.ConvTranspose3d`): `weight` is `(out_channels, KD, KH, KW, in_channels)` from
/// `U(-s, s)`, `s = sqrt(1 / (in_channels * KD * KH * KW))`; `bias` starts at zero.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let conv = nn::ConvTranspose3d::new(1, 2, 2)?;
/// assert_eq!(conv.forward(&mx::ones(&[1, 2, 2, 2, 1], mx::float32)?)?.shape(), &[1, 3, 3, 3, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = ConvTranspose3d::describe)]
pub struct ConvTranspose3d {
    /// `(out_channels, KD, KH, KW, in_channels)`.
    pub weight: Array,
    /// `(out_channels,)`, absent without bias.
    pub bias: Option<Array>,
    #[module(skip)]
    config: TransposeConfig,
    state: ModuleState,
}

impl ConvTranspose3d {
    /// A transposed convolution with MLX's default options.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl Into<Dims>,
    ) -> Result<Self> {
        Self::with_options(
            in_channels,
            out_channels,
            kernel_size,
            &ConvTransposeOptions::default(),
        )
    }

    /// A transposed convolution with the given options.
    pub fn with_options(
        in_channels: usize,
        out_channels: usize,
        kernel_size: impl Into<Dims>,
        opts: &ConvTransposeOptions,
    ) -> Result<Self> {
        let (weight, bias, config) = transpose_layer(
            3,
            "ConvTranspose3d",
            in_channels,
            out_channels,
            kernel_size.into(),
            opts,
        )?;
        Ok(ConvTranspose3d {
            weight,
            bias,
            config,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        describe_transpose(&self.weight, &self.bias, &self.config)
    }
}

impl Forward for ConvTranspose3d {
    fn forward(&self, x: &Array) -> Result<Array> {
        forward_transpose(
            3,
            "ConvTranspose3d",
            x,
            &self.weight,
            &self.bias,
            &self.config,
        )
    }
}
