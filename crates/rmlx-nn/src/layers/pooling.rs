//! Pooling layers (MLX's `nn.MaxPool1d` .. `nn.MaxPool3d`, `nn.AvgPool1d` .. `nn.AvgPool3d`)
//! over channels-last inputs `(N, *spatial, C)`: the input padded (with `-inf` for max, zero
//! for average), cut into sliding windows (a reshape when the windows tile the input, a
//! strided view otherwise) and reduced over each window, as MLX does.

use crate::core::{self as mx, Array, Error, Result};
use crate::layers::convolution::Dims;
use crate::pyrepr::py_shape;
use crate::{Forward, ModuleState};

/// The options of the pooling layers besides the kernel size (MLX's defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolOptions {
    /// The stride of the window; `None` (the default) is the kernel size.
    pub stride: Option<Dims>,
    /// Padding on both sides of each spatial axis (`-inf` for max pooling, zero for average
    /// pooling). Default 0.
    pub padding: Option<Dims>,
}

/// The reduction of a pooling layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reduce {
    Max,
    Mean,
}

/// What every pooling layer holds: the window, stride and padding per spatial axis.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pool {
    reduce: Reduce,
    kernel_size: Vec<usize>,
    stride: Vec<usize>,
    padding: Vec<usize>,
}

impl Pool {
    fn new(
        name: &str,
        nd: usize,
        reduce: Reduce,
        kernel_size: Dims,
        opts: &PoolOptions,
    ) -> Result<Pool> {
        let expand = |d: &Dims, what: &str| -> Result<Vec<usize>> {
            d.expand(nd, name, what).map_err(|_| {
                Error::value(format!(
                    "[{name}] '{what}' must be an integer or a tuple containing {nd} integer{}",
                    if nd == 1 { "" } else { "s" }
                ))
            })
        };
        let kernel_size = expand(&kernel_size, "kernel_size")?;
        let stride = match &opts.stride {
            Some(s) => expand(s, "stride")?,
            None => kernel_size.clone(),
        };
        let padding = expand(opts.padding.as_ref().unwrap_or(&Dims::One(0)), "padding")?;
        for (what, values) in [("kernel_size", &kernel_size), ("stride", &stride)] {
            if values.contains(&0) {
                return Err(Error::value(format!(
                    "[{name}] '{what}' must be positive but got {}.",
                    py_shape(values)
                )));
            }
        }
        Ok(Pool {
            reduce,
            kernel_size,
            stride,
            padding,
        })
    }

    fn describe(&self) -> String {
        format!(
            "kernel_size={}, stride={}, padding={}",
            py_shape(&self.kernel_size),
            py_shape(&self.stride),
            py_shape(&self.padding)
        )
    }

    fn forward(&self, x: &Array) -> Result<Array> {
        let mut x = x.clone();
        if self.padding.iter().any(|&p| p > 0) && x.ndim() == self.padding.len() + 2 {
            let mut widths = vec![(0usize, 0usize)];
            widths.extend(self.padding.iter().map(|&p| (p, p)));
            widths.push((0, 0));
            x = match self.reduce {
                Reduce::Max => mx::pad_with(&x, widths, mx::PadMode::Constant, f64::NEG_INFINITY)?,
                Reduce::Mean => mx::pad(&x, widths)?,
            };
        }
        let windows = sliding_windows(&x, &self.kernel_size, &self.stride)?;
        let nd = self.kernel_size.len() as isize;
        let axes: Vec<isize> = (-nd - 1..-1).collect();
        match self.reduce {
            Reduce::Max => mx::max_axes(&windows, &axes[..], false),
            Reduce::Mean => mx::mean_axes(&windows, &axes[..], false),
        }
    }
}

/// The windows of `x` `(N, *spatial, C)` as `(N, *out_spatial, *window, C)` (MLX's
/// `_sliding_windows`).
fn sliding_windows(x: &Array, window: &[usize], strides: &[usize]) -> Result<Array> {
    if x.ndim() < 3 {
        return Err(Error::value(format!(
            "To extract sliding windows at least 1 spatial dimension (3 total) is needed but the \
             input only has {} dimensions.",
            x.ndim()
        )));
    }
    let shape = x.shape().to_vec();
    let spatial = &shape[1..shape.len() - 1];
    if spatial.len() != window.len() {
        return Err(Error::value(format!(
            "To extract sliding windows the window shapes and strides must have the same number \
             of spatial dimensions as the signal but the signal has {} dims and the window shape \
             has {} and strides have {}.",
            spatial.len(),
            window.len(),
            strides.len()
        )));
    }
    let nd = window.len();
    if spatial
        .iter()
        .zip(window)
        .zip(strides)
        .all(|((&s, &w), &st)| w == st && s % w == 0)
    {
        // Non-overlapping windows: a reshape and a transpose.
        let mut split = vec![shape[0]];
        for (&s, &w) in spatial.iter().zip(window) {
            split.push(s / w);
            split.push(w);
        }
        split.push(shape[shape.len() - 1]);
        let last = split.len() - 1;
        let mut order = vec![0];
        order.extend((1..last).step_by(2));
        order.extend((2..last).step_by(2));
        order.push(last);
        return mx::transpose(&mx::reshape(x, split)?, Some(order));
    }
    for (&s, &w) in spatial.iter().zip(window) {
        if w > s {
            return Err(Error::value(format!(
                "[pooling] The window ({}) is larger than the padded input ({}).",
                py_shape(window),
                py_shape(spatial)
            )));
        }
    }
    // Row-major element strides of x.
    let mut elem = vec![1isize; shape.len()];
    for i in (0..shape.len() - 1).rev() {
        elem[i] = elem[i + 1] * shape[i + 1] as isize;
    }
    let mut final_shape = vec![shape[0]];
    final_shape.extend(
        spatial
            .iter()
            .zip(window)
            .zip(strides)
            .map(|((&s, &w), &st)| (s - w) / st + 1),
    );
    final_shape.extend_from_slice(window);
    final_shape.push(shape[shape.len() - 1]);
    let mut final_strides = vec![elem[0]];
    final_strides.extend((0..nd).map(|i| elem[i + 1] * strides[i] as isize));
    final_strides.extend_from_slice(&elem[1..=nd]);
    final_strides.push(elem[nd + 1]);
    mx::as_strided(x, final_shape, &final_strides, 0)
}

/// The constructors and `forward` of a pooling layer (a struct holding `pool` and `state`).
macro_rules! pool_layer {
    ($name:ident, $nd:expr, $reduce:expr) => {
        impl $name {
            /// Pooling windows of `kernel_size` (one integer or one per spatial axis), with
            /// the stride equal to the kernel size and no padding.
            pub fn new(kernel_size: impl Into<Dims>) -> Result<Self> {
                Self::with_options(kernel_size, &PoolOptions::default())
            }

            /// Pooling with the given stride and padding.
            pub fn with_options(kernel_size: impl Into<Dims>, opts: &PoolOptions) -> Result<Self> {
                Ok($name {
                    pool: Pool::new(stringify!($name), $nd, $reduce, kernel_size.into(), opts)?,
                    state: ModuleState::default(),
                })
            }

            fn describe(&self) -> String {
                self.pool.describe()
            }
        }

        impl Forward for $name {
            fn forward(&self, x: &Array) -> Result<Array> {
                self.pool.forward(x)
            }
        }
    };
}

/// 1-D max pooling of `(N, L, C)` inputs (MLX's `nn.MaxPool1d`); padding is `-inf`.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let pool = nn::MaxPool1d::new(2)?;
/// let x = mx::reshape(&mx::array![1.0f32, 5.0, 3.0, 2.0], [1, 4, 1])?;
/// assert_eq!(pool.forward(&x)?.to_vec::<f32>()?, vec![5.0, 3.0]);
/// assert_eq!(pool.to_string(), "MaxPool1d(kernel_size=(2,), stride=(2,), padding=(0,))");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = MaxPool1d::describe)]
pub struct MaxPool1d {
    #[module(skip)]
    pool: Pool,
    state: ModuleState,
}
pool_layer!(MaxPool1d, 1, Reduce::Max);
/// 2-D max pooling of `(N, H, W, C)` inputs (MLX's `nn.MaxPool2d`); padding is `-inf`.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let opts = nn::PoolOptions { stride: Some(1.into()), padding: Some(1.into()) };
/// let pool = nn::MaxPool2d::with_options(3, &opts)?;
/// assert_eq!(pool.forward(&mx::ones(&[1, 5, 5, 2], mx::float32)?)?.shape(), &[1, 5, 5, 2]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = MaxPool2d::describe)]
pub struct MaxPool2d {
    #[module(skip)]
    pool: Pool,
    state: ModuleState,
}
pool_layer!(MaxPool2d, 2, Reduce::Max);
/// 3-D max pooling of `(N, D, H, W, C)` inputs (MLX's `nn.MaxPool3d`); padding is `-inf`.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let pool = nn::MaxPool3d::new(2)?;
/// assert_eq!(pool.forward(&mx::ones(&[1, 4, 4, 4, 1], mx::float32)?)?.shape(), &[1, 2, 2, 2, 1]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = MaxPool3d::describe)]
pub struct MaxPool3d {
    #[module(skip)]
    pool: Pool,
    state: ModuleState,
}
pool_layer!(MaxPool3d, 3, Reduce::Max);
/// 1-D average pooling of `(N, L, C)` inputs (MLX's `nn.AvgPool1d`); padding is zero and
/// counts in the average.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let pool = nn::AvgPool1d::new(2)?;
/// let x = mx::reshape(&mx::array![1.0f32, 5.0, 3.0, 2.0], [1, 4, 1])?;
/// assert_eq!(pool.forward(&x)?.to_vec::<f32>()?, vec![3.0, 2.5]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = AvgPool1d::describe)]
pub struct AvgPool1d {
    #[module(skip)]
    pool: Pool,
    state: ModuleState,
}
pool_layer!(AvgPool1d, 1, Reduce::Mean);
/// 2-D average pooling of `(N, H, W, C)` inputs (MLX's `nn.AvgPool2d`); padding is zero
/// and counts in the average.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let pool = nn::AvgPool2d::new((2, 1))?;
/// assert_eq!(pool.forward(&mx::ones(&[1, 4, 4, 2], mx::float32)?)?.shape(), &[1, 2, 4, 2]);
/// assert_eq!(pool.to_string(), "AvgPool2d(kernel_size=(2, 1), stride=(2, 1), padding=(0, 0))");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = AvgPool2d::describe)]
pub struct AvgPool2d {
    #[module(skip)]
    pool: Pool,
    state: ModuleState,
}
pool_layer!(AvgPool2d, 2, Reduce::Mean);
/// 3-D average pooling of `(N, D, H, W, C)` inputs (MLX's `nn.AvgPool3d`); padding is zero
/// and counts in the average.
///
/// ```
/// use rmlx_nn::{self as nn, Forward};
/// use rmlx_nn::core as mx;
/// let pool = nn::AvgPool3d::new(2)?;
/// assert_eq!(pool.forward(&mx::ones(&[1, 2, 2, 2, 1], mx::float32)?)?.to_vec::<f32>()?, vec![1.0]);
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = AvgPool3d::describe)]
pub struct AvgPool3d {
    #[module(skip)]
    pool: Pool,
    state: ModuleState,
}
pool_layer!(AvgPool3d, 3, Reduce::Mean);
