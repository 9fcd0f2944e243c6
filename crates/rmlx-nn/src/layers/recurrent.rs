//! Recurrent layers: `RNN`, `GRU` and `LSTM`, over inputs `(N, L, D)` or `(L, D)`.

use crate::core::{self as mx, Array, Error, Result};
use crate::layers::transformer::Activation;
use crate::pyrepr::py_bool;
use crate::{Forward, ModuleState};

fn uniform(scale: f32, shape: &[usize]) -> Result<Array> {
    mx::random::uniform(-scale, scale, shape, mx::float32, None)
}

/// `x @ w^T (+ b)`: the input projection of every time step at once.
fn project(x: &Array, w: &Array, b: Option<&Array>) -> Result<Array> {
    let wt = w.transpose()?;
    match b {
        Some(b) => mx::addmm(b, x, &wt, 1.0, 1.0),
        None => mx::matmul(x, &wt),
    }
}

/// The time steps of `x` (axis -2), each without that axis. Their gradient is one stack of
/// the steps' cotangents (a slice's own gradient writes a zero array of `x`'s full size, which
/// made the backward pass quadratic in the sequence length).
fn steps(x: &Array, name: &str) -> Result<Vec<Array>> {
    if x.ndim() < 2 {
        return Err(Error::value(format!(
            "[{name}] the input must be (N, L, D) or (L, D), got shape {:?}.",
            x.shape()
        )));
    }
    let len = x.shape()[x.ndim() - 2];
    if len == 0 {
        return Ok(Vec::new());
    }
    let unstack = mx::custom_vjp(
        |xs: &[Array]| mx::unstack(&xs[0], -2),
        |primals: &[Array], cotangents: &[Array], _outputs: &[Array]| {
            let dtype = primals[0].dtype();
            let cots = cotangents
                .iter()
                .map(|c| c.astype(dtype))
                .collect::<Result<Vec<_>>>()?;
            Ok(vec![mx::stack(&cots, -2)?])
        },
    );
    unstack(std::slice::from_ref(x))
}

fn stack(all: &[Array]) -> Result<Array> {
    if all.is_empty() {
        return Err(Error::value("[stack] No arrays provided for stacking"));
    }
    mx::stack(all, -2)
}

/// An Elman recurrent layer (MLX's `nn.RNN`): `h_t = f(x_t W_xh^T + h_{t-1} W_hh^T + b)` with
/// `f = tanh` by default. `Wxh` is `(hidden_size, input_size)`, `Whh`
/// `(hidden_size, hidden_size)`, `bias` `(hidden_size,)`, all from
/// `U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))`. Returns the hidden state of every step,
/// `(N, L, H)` or `(L, H)`.
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module};
/// use rmlx_nn::core as mx;
/// let rnn = nn::RNN::new(3, 5)?;
/// let x = mx::ones(&[2, 4, 3], mx::float32)?;
/// assert_eq!(rnn.forward(&x)?.shape(), &[2, 4, 5]);
/// let h0 = mx::zeros(&[2, 5], mx::float32)?;
/// assert_eq!(rnn.forward_with_hidden(&x, Some(&h0))?.shape(), &[2, 4, 5]);
/// assert_eq!(rnn.to_string(), "RNN(input_dims=3, hidden_size=5, nonlinearity=<function tanh>, bias=True)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = RNN::describe)]
#[allow(clippy::upper_case_acronyms)]
pub struct RNN {
    /// `(hidden_size, input_size)`; MLX's key `Wxh`.
    #[module(key = "Wxh")]
    pub wxh: Array,
    /// `(hidden_size, hidden_size)`; MLX's key `Whh`.
    #[module(key = "Whh")]
    pub whh: Array,
    /// `(hidden_size,)`, absent without bias.
    pub bias: Option<Array>,
    /// The hidden size.
    pub hidden_size: usize,
    /// The nonlinearity (default tanh).
    #[module(skip)]
    pub nonlinearity: Activation,
    state: ModuleState,
}

impl RNN {
    /// An RNN with a bias and tanh.
    pub fn new(input_size: usize, hidden_size: usize) -> Result<Self> {
        Self::with_options(input_size, hidden_size, true, None)
    }

    /// An RNN with or without a bias and with a nonlinearity (`None`: tanh).
    ///
    /// ```
    /// use rmlx_nn::{self as nn, Module};
    /// let rnn = nn::RNN::with_options(2, 3, false, Some(nn::Activation::RELU))?;
    /// assert!(rnn.bias.is_none());
    /// assert_eq!(rnn.to_string(), "RNN(input_dims=2, hidden_size=3, nonlinearity=<function relu>, bias=False)");
    /// # Ok::<(), rmlx_nn::core::Error>(())
    /// ```
    pub fn with_options(
        input_size: usize,
        hidden_size: usize,
        bias: bool,
        nonlinearity: Option<Activation>,
    ) -> Result<Self> {
        let scale = (1.0 / (hidden_size as f64).sqrt()) as f32;
        Ok(RNN {
            wxh: uniform(scale, &[hidden_size, input_size])?,
            whh: uniform(scale, &[hidden_size, hidden_size])?,
            bias: if bias {
                Some(uniform(scale, &[hidden_size])?)
            } else {
                None
            },
            hidden_size,
            nonlinearity: nonlinearity.unwrap_or(Activation::TANH),
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "input_dims={}, hidden_size={}, nonlinearity=<function {}>, bias={}",
            self.wxh.shape().get(1).copied().unwrap_or(0),
            self.hidden_size,
            self.nonlinearity.name,
            py_bool(self.bias.is_some())
        )
    }

    /// The hidden states of every step of `x` (`(N, L, D)` or `(L, D)`), starting from
    /// `hidden` (`(N, H)` or `(H,)`; `None`: zeros).
    pub fn forward_with_hidden(&self, x: &Array, hidden: Option<&Array>) -> Result<Array> {
        let x = project(x, &self.wxh, self.bias.as_ref())?;
        let whh_t = self.whh.transpose()?;
        let mut hidden = hidden.cloned();
        let mut all = Vec::new();
        for xt in steps(&x, "RNN")? {
            let h = match &hidden {
                Some(h) => mx::addmm(&xt, h, &whh_t, 1.0, 1.0)?,
                None => xt,
            };
            let h = self.nonlinearity.call(&h)?;
            all.push(h.clone());
            hidden = Some(h);
        }
        stack(&all)
    }
}

impl Forward for RNN {
    /// The hidden states of every step, starting from zeros.
    fn forward(&self, x: &Array) -> Result<Array> {
        self.forward_with_hidden(x, None)
    }
}

/// A gated recurrent unit layer (MLX's `nn.GRU`): reset, update and candidate gates from
/// `Wx` `(3H, D)`, `Wh` `(3H, H)`, `b` `(3H,)` and `bhn` `(H,)` (the candidate's hidden bias),
/// all from `U(-1/sqrt(H), 1/sqrt(H))`. Returns the hidden state of every step, `(N, L, H)`
/// or `(L, H)`.
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module};
/// use rmlx_nn::core as mx;
/// let gru = nn::GRU::new(3, 5)?;
/// assert_eq!(gru.forward(&mx::ones(&[4, 3], mx::float32)?)?.shape(), &[4, 5]);
/// assert_eq!(gru.to_string(), "GRU(input_dims=3, hidden_size=5, bias=True)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = GRU::describe)]
#[allow(clippy::upper_case_acronyms)]
pub struct GRU {
    /// `(3 * hidden_size, input_size)`: reset, update, candidate.
    #[module(key = "Wx")]
    pub wx: Array,
    /// `(3 * hidden_size, hidden_size)`.
    #[module(key = "Wh")]
    pub wh: Array,
    /// `(3 * hidden_size,)`, absent without bias.
    pub b: Option<Array>,
    /// `(hidden_size,)`, absent without bias.
    pub bhn: Option<Array>,
    /// The hidden size.
    pub hidden_size: usize,
    state: ModuleState,
}

impl GRU {
    /// A GRU with biases.
    pub fn new(input_size: usize, hidden_size: usize) -> Result<Self> {
        Self::with_bias(input_size, hidden_size, true)
    }

    /// A GRU with or without biases.
    pub fn with_bias(input_size: usize, hidden_size: usize, bias: bool) -> Result<Self> {
        let scale = (1.0 / (hidden_size as f64).sqrt()) as f32;
        let h = hidden_size;
        Ok(GRU {
            wx: uniform(scale, &[3 * h, input_size])?,
            wh: uniform(scale, &[3 * h, h])?,
            b: if bias {
                Some(uniform(scale, &[3 * h])?)
            } else {
                None
            },
            bhn: if bias {
                Some(uniform(scale, &[h])?)
            } else {
                None
            },
            hidden_size,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "input_dims={}, hidden_size={}, bias={}",
            self.wx.shape().get(1).copied().unwrap_or(0),
            self.hidden_size,
            py_bool(self.b.is_some())
        )
    }

    /// The hidden states of every step of `x`, starting from `hidden` (`None`: zeros).
    pub fn forward_with_hidden(&self, x: &Array, hidden: Option<&Array>) -> Result<Array> {
        let h2 = 2 * self.hidden_size as isize;
        let x = project(x, &self.wx, self.b.as_ref())?;
        let wh_t = self.wh.transpose()?;
        let mut hidden = hidden.cloned();
        let mut all = Vec::new();
        for xt in steps(&x, "GRU")? {
            let parts = mx::split(&xt, [h2], -1)?;
            let (mut rz, x_n) = (parts[0].clone(), parts[1].clone());
            let mut h_proj_n = None;
            if let Some(h) = &hidden {
                let hp = mx::split(&mx::matmul(h, &wh_t)?, [h2], -1)?;
                let mut n = hp[1].clone();
                if let Some(bhn) = &self.bhn {
                    n = mx::add(&n, bhn)?;
                }
                h_proj_n = Some(n);
                rz = mx::add(&rz, &hp[0])?;
            }
            let rz = mx::sigmoid(&rz)?;
            let rz = mx::split(&rz, 2, -1)?;
            let (r, z) = (&rz[0], &rz[1]);
            let mut n = x_n;
            if let Some(hn) = &h_proj_n {
                n = mx::add(&n, mx::multiply(r, hn)?)?;
            } else if let Some(bhn) = &self.bhn {
                n = mx::add(&n, mx::multiply(r, bhn)?)?;
            }
            let n = mx::tanh(&n)?;
            let one_minus_z = mx::subtract(1.0, z)?;
            let h = match &hidden {
                Some(h) => mx::add(mx::multiply(&one_minus_z, &n)?, mx::multiply(z, h)?)?,
                None => mx::multiply(&one_minus_z, &n)?,
            };
            all.push(h.clone());
            hidden = Some(h);
        }
        stack(&all)
    }
}

impl Forward for GRU {
    /// The hidden states of every step, starting from zeros.
    fn forward(&self, x: &Array) -> Result<Array> {
        self.forward_with_hidden(x, None)
    }
}

/// A long short-term memory layer (MLX's `nn.LSTM`): input, forget, cell and output gates
/// from `Wx` `(4H, D)`, `Wh` `(4H, H)` and `bias` `(4H,)`, all from
/// `U(-1/sqrt(H), 1/sqrt(H))`. Returns the hidden and cell states of every step, each
/// `(N, L, H)` or `(L, H)`.
///
/// ```
/// use rmlx_nn::{self as nn, Module};
/// use rmlx_nn::core as mx;
/// let lstm = nn::LSTM::new(3, 5)?;
/// let (h, c) = lstm.forward(&mx::ones(&[2, 4, 3], mx::float32)?, None, None)?;
/// assert_eq!((h.shape(), c.shape()), (&[2, 4, 5][..], &[2, 4, 5][..]));
/// assert_eq!(lstm.to_string(), "LSTM(input_dims=3, hidden_size=5, bias=True)");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, Debug, crate::Module)]
#[module(repr = LSTM::describe)]
#[allow(clippy::upper_case_acronyms)]
pub struct LSTM {
    /// `(4 * hidden_size, input_size)`: input, forget, cell, output.
    #[module(key = "Wx")]
    pub wx: Array,
    /// `(4 * hidden_size, hidden_size)`.
    #[module(key = "Wh")]
    pub wh: Array,
    /// `(4 * hidden_size,)`, absent without bias.
    pub bias: Option<Array>,
    /// The hidden size.
    pub hidden_size: usize,
    state: ModuleState,
}

impl LSTM {
    /// An LSTM with a bias.
    pub fn new(input_size: usize, hidden_size: usize) -> Result<Self> {
        Self::with_bias(input_size, hidden_size, true)
    }

    /// An LSTM with or without a bias.
    pub fn with_bias(input_size: usize, hidden_size: usize, bias: bool) -> Result<Self> {
        let scale = (1.0 / (hidden_size as f64).sqrt()) as f32;
        let h = hidden_size;
        Ok(LSTM {
            wx: uniform(scale, &[4 * h, input_size])?,
            wh: uniform(scale, &[4 * h, h])?,
            bias: if bias {
                Some(uniform(scale, &[4 * h])?)
            } else {
                None
            },
            hidden_size,
            state: ModuleState::default(),
        })
    }

    fn describe(&self) -> String {
        format!(
            "input_dims={}, hidden_size={}, bias={}",
            self.wx.shape().get(1).copied().unwrap_or(0),
            self.hidden_size,
            py_bool(self.bias.is_some())
        )
    }

    /// The hidden and cell states of every step of `x` (`(N, L, D)` or `(L, D)`), starting
    /// from `hidden` and `cell` (`(N, H)` or `(H,)`; `None`: zeros).
    pub fn forward(
        &self,
        x: &Array,
        hidden: Option<&Array>,
        cell: Option<&Array>,
    ) -> Result<(Array, Array)> {
        let nd = x.ndim();
        if nd < 2 {
            return Err(Error::value(format!(
                "[LSTM] the input must be (N, L, D) or (L, D), got shape {:?}.",
                x.shape()
            )));
        }
        // The input projection as one product over every row (N * L, D): its weight gradient
        // is then one product too, where a batched product's is one per batch element, summed.
        let rows: usize = x.shape()[..nd - 1].iter().product();
        let flat = x.reshape([rows, x.shape()[nd - 1]])?;
        let proj = project(&flat, &self.wx, self.bias.as_ref())?;
        let x = proj.reshape([&x.shape()[..nd - 1], &proj.shape()[1..]].concat())?;
        let (len, g4) = (x.shape()[nd - 2], x.shape()[nd - 1]);
        let hsz = g4 / 4;
        if len == 0 {
            return Err(Error::value("[stack] No arrays provided for stacking"));
        }
        // The fused recurrence takes (N, L, 4H) and (N, H) states: fold the leading axes
        // (broadcast together, as MLX's per-step arithmetic would) into one batch axis.
        fn state_lead(a: Option<&Array>) -> &[usize] {
            a.map_or(&[], |a| &a.shape()[..a.ndim().max(1) - 1])
        }
        let lead =
            mx::broadcast_shapes(&[&x.shape()[..nd - 2], state_lead(hidden), state_lead(cell)])?;
        let n: usize = lead.iter().product();
        let with = |last: &[usize]| [&lead[..], last].concat();
        let x = mx::broadcast_to(&x, with(&[len, g4]))?.reshape([n, len, g4])?;
        let state = |a: Option<&Array>| -> Result<Option<Array>> {
            a.map(|a| mx::broadcast_to(a, with(&[hsz]))?.reshape([n, hsz]))
                .transpose()
        };
        let (h0, c0) = (state(hidden)?, state(cell)?);
        let out = mx::fast::lstm_sequence(&x, &self.wh, h0.as_ref(), c0.as_ref())?;
        let unfold = |a: &Array| a.reshape(with(&[len, hsz]));
        Ok((unfold(&out[0])?, unfold(&out[1])?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_without_cotangents_get_zero_gradients() -> Result<()> {
        mx::random::seed(1);
        let lstm = LSTM::new(3, 4)?;
        let x = mx::random::normal(&[2, 5, 3], mx::float32, None)?;
        // Only the first step's hidden state reaches the loss.
        let g = mx::grad(
            move |xs: &[Array]| {
                let (h, _) = lstm.forward(&xs[0], None, None)?;
                mx::sum(&mx::take(&h, 0, Some(1))?)
            },
            0,
        )(&[x])?;
        let g = g[0].to_vec::<f32>()?;
        assert_eq!(g.len(), 30);
        for b in 0..2 {
            let row = &g[b * 15..(b + 1) * 15];
            assert!(row[..3].iter().any(|v| *v != 0.0));
            assert!(row[3..].iter().all(|v| *v == 0.0));
        }
        Ok(())
    }
}
