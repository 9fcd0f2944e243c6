//! The convolution primitive (MLX's `Convolution`): every convolution op builds one. Inputs
//! are `[input, weight]` in the output dtype, with any negative padding already cropped from
//! the input; the math runs in [`crate::cpu::conv`].

use crate::array::{Array, Data};
use crate::cpu::conv;
use crate::error::Result;
use crate::ops;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// `1 + dil * (n - 1)`: the extent of `n` taps `dil` apart.
fn dilated(n: usize, dil: usize) -> i64 {
    1 + dil as i64 * (n as i64 - 1)
}

/// A general N-d convolution: per spatial axis `stride`, padding before (`padding_lo`) and
/// after (`padding_hi`), `kernel_dilation` and `input_dilation`; `groups` splits the channels;
/// `flip` reverses the kernel's spatial axes (convolution rather than cross-correlation).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Convolution {
    pub(crate) stride: Vec<usize>,
    pub(crate) padding_lo: Vec<usize>,
    pub(crate) padding_hi: Vec<usize>,
    pub(crate) kernel_dilation: Vec<usize>,
    pub(crate) input_dilation: Vec<usize>,
    pub(crate) groups: usize,
    pub(crate) flip: bool,
}

impl Primitive for Convolution {
    fn output_shapes(&self, inputs: &[Array], _traced: &[OutputSpec]) -> Result<Vec<Vec<usize>>> {
        let as_i64 = |v: &[usize]| v.iter().map(|&x| x as i64).collect::<Vec<_>>();
        Ok(vec![crate::ops::conv::out_shape(
            inputs[0].shape(),
            inputs[1].shape(),
            &as_i64(&self.stride),
            &as_i64(&self.padding_lo),
            &as_i64(&self.padding_hi),
            &as_i64(&self.kernel_dilation),
            &as_i64(&self.input_dilation),
        )?])
    }
    fn name(&self) -> &'static str {
        "Convolution"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![conv::conv(&inputs[0], &inputs[1], self, &outputs[0])?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&a| {
                if a == 0 {
                    self.input_grad(&primals[0], &primals[1], &cotangents[0])
                } else {
                    self.weight_grad(&primals[0], &primals[1], &cotangents[0])
                }
            })
            .collect()
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        _outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        use crate::transforms::rules::batch_to_front;
        let (x, w) = (&inputs[0], &inputs[1]);
        let g = self.groups;
        match (axes[0], axes[1]) {
            (None, None) => Ok((vec![self.conv(x, w, g)?], vec![None])),
            (Some(ax), None) => {
                // The batch joins the input's batch.
                let x = batch_to_front(x, Some(ax))?;
                let (v, n) = (x.shape()[0], x.shape()[1]);
                let out = self.conv(&ops::flatten(&x, 0, 1)?, w, g)?;
                Ok((vec![ops::unflatten(&out, 0, [v, n])?], vec![Some(0)]))
            }
            (None, Some(ax)) => {
                // The batch joins the output channels, inside each group:
                // (V, g * co, ...) -> (g, V, co, ...) -> (g * V * co, ...).
                let w = batch_to_front(w, Some(ax))?;
                let (v, c_out) = (w.shape()[0], w.shape()[1]);
                let co = c_out / g;
                let w = ops::moveaxis(&ops::unflatten(&w, 1, [g, co])?, 0, 1)?;
                let w = ops::flatten(&w, 0, 2)?;
                let out = self.conv(x, &w, g)?;
                let nd = out.ndim() as isize;
                let out = ops::unflatten(&out, nd - 1, [g, v, co])?;
                let out = ops::moveaxis(&out, nd, nd - 1)?;
                let out = ops::flatten(&out, nd, nd + 1)?;
                let out_ax = out.ndim() - 2;
                Ok((vec![out], vec![Some(out_ax)]))
            }
            (Some(ax), Some(wax)) => {
                // A grouped convolution: each batch element is a group of groups.
                let v = x.shape()[ax];
                let nd = x.ndim() as isize;
                let x = ops::moveaxis(x, ax as isize, nd - 2)?;
                let x = ops::flatten(&x, nd - 2, nd - 1)?;
                let w = batch_to_front(w, Some(wax))?;
                let c_out = w.shape()[1];
                let w = ops::flatten(&w, 0, 1)?;
                let out = self.conv(&x, &w, g * v)?;
                let ond = out.ndim() as isize;
                let out = ops::unflatten(&out, ond - 1, [v, c_out])?;
                let out_ax = out.ndim() - 2;
                Ok((vec![out], vec![Some(out_ax)]))
            }
        }
    }
}

impl Convolution {
    /// This convolution of `x` by `w` with `groups` groups, through the public op.
    fn conv(&self, x: &Array, w: &Array, groups: usize) -> Result<Array> {
        ops::conv_general(
            x,
            w,
            self.stride.clone(),
            (self.padding_lo.clone(), self.padding_hi.clone()),
            self.kernel_dilation.clone(),
            self.input_dilation.clone(),
            groups as i64,
            self.flip,
        )
    }

    /// `(g * a, ..., b) -> (g * b, ..., a)` within each of the `groups` groups of axis
    /// `group_axis` (0 or the last): swaps that axis's per-group part with the other end axis.
    fn group_transpose(&self, x: &Array, group_axis: isize) -> Result<Array> {
        let g = self.groups;
        let nd = x.ndim() as isize;
        let gax = if group_axis < 0 {
            group_axis + nd
        } else {
            group_axis
        };
        let n = x.shape()[gax as usize];
        let x = ops::unflatten(x, gax, [g, n / g])?;
        // After the split the per-group axis is gax + 1; the other end is 0 or the last.
        let (pa, pb) = if gax == 0 { (1, nd) } else { (0, nd) };
        let x = ops::swapaxes(&x, pa, pb)?;
        ops::flatten(&x, gax, gax + 1)
    }

    /// Cotangent of the input: a convolution of the cotangent (dilated by the stride) with the
    /// kernel flipped and its channel axes swapped, read every `input_dilation` positions.
    fn input_grad(&self, x: &Array, w: &Array, cot: &Array) -> Result<Array> {
        let sd = x.ndim() - 2;
        let mut lo = Vec::with_capacity(sd);
        let mut hi = Vec::with_capacity(sd);
        for i in 0..sd {
            let k = dilated(w.shape()[i + 1], self.kernel_dilation[i]);
            let n_in = dilated(x.shape()[i + 1], self.input_dilation[i]);
            let n_out = dilated(cot.shape()[i + 1], self.stride[i]);
            let plo = self.padding_lo[i] as i64;
            lo.push(k - 1 - plo);
            hi.push(n_in - n_out + plo);
        }
        let wt = self.group_transpose(w, 0)?;
        let negative = lo.iter().chain(&hi).any(|&p| p < 0);
        if !negative {
            return ops::conv_general(
                cot,
                &wt,
                self.input_dilation.clone(),
                (lo, hi),
                self.kernel_dilation.clone(),
                self.stride.clone(),
                self.groups as i64,
                !self.flip,
            );
        }
        // Negative padding crops the stride-dilated cotangent, which the op cannot do (it
        // crops before dilating): convolve at stride 1 with the padding clamped at 0, then
        // read the wanted positions.
        let clamp = |v: &[i64]| v.iter().map(|&p| p.max(0)).collect::<Vec<_>>();
        let full = ops::conv_general(
            cot,
            &wt,
            1,
            (clamp(&lo), clamp(&hi)),
            self.kernel_dilation.clone(),
            self.stride.clone(),
            self.groups as i64,
            !self.flip,
        )?;
        let nd = full.ndim();
        let mut start = vec![0i64; nd];
        let mut stop: Vec<i64> = full.shape().iter().map(|&d| d as i64).collect();
        let mut step = vec![1i64; nd];
        for i in 0..sd {
            let s = (-lo[i]).max(0);
            let k = self.input_dilation[i] as i64;
            start[i + 1] = s;
            stop[i + 1] = s + (x.shape()[i + 1] as i64 - 1) * k + 1;
            step[i + 1] = k;
        }
        ops::slice(&full, start, stop, step)
    }

    /// Cotangent of the weight: a convolution of the (grouped, transposed) input by the
    /// transposed cotangent, strided by the kernel dilation and dilated by the stride.
    fn weight_grad(&self, x: &Array, w: &Array, cot: &Array) -> Result<Array> {
        let sd = x.ndim() - 2;
        let mut hi = Vec::with_capacity(sd);
        for i in 0..sd {
            let k = dilated(w.shape()[i + 1], self.kernel_dilation[i]);
            let n_in = dilated(x.shape()[i + 1], self.input_dilation[i]);
            let n_out = dilated(cot.shape()[i + 1], self.stride[i]);
            // Past the last position the forward read: clamped at 0, the extra outputs (taps
            // past the kernel) are cut below.
            hi.push((k - 1 + n_out - n_in - self.padding_lo[i] as i64).max(0));
        }
        let lo: Vec<i64> = self.padding_lo.iter().map(|&p| p as i64).collect();
        let x_t = self.group_transpose(x, -1)?;
        let cot_t = ops::swapaxes(cot, 0, -1)?;
        let g = ops::conv_general(
            &x_t,
            &cot_t,
            self.kernel_dilation.clone(),
            (lo, hi),
            self.stride.clone(),
            self.input_dilation.clone(),
            self.groups as i64,
            false,
        )?;
        // (C_in / groups, *taps, C_out): keep the kernel's taps, reversed for a flipped kernel.
        let nd = g.ndim();
        let mut start = vec![0i64; nd];
        let mut stop: Vec<i64> = g.shape().iter().map(|&d| d as i64).collect();
        let mut step = vec![1i64; nd];
        for i in 0..sd {
            let taps = w.shape()[i + 1] as i64;
            if self.flip {
                start[i + 1] = taps - 1;
                stop[i + 1] = -(g.shape()[i + 1] as i64) - 1;
                step[i + 1] = -1;
            } else {
                stop[i + 1] = taps;
            }
        }
        let g = ops::slice(&g, start, stop, step)?;
        ops::swapaxes(&g, 0, -1)
    }
}
