//! Derivatives of the sorting, reduction, scan, rearranging and view primitives, nan_to_num,
//! divmod and the gated delta update against MLX 0.32.4 (tools/goldens/gen_grad_more.py):
//! ties, zeros in prod and cumprod, exclusive and reverse scans, dtypes of the gradients, and
//! MLX's errors where it has no rule.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Array, Operand, QuantMode};
use serde_json::Value;

fn int(kw: &Value, key: &str) -> i64 {
    kw_i64(kw, key).unwrap_or_else(|| panic!("kwarg {key}"))
}

fn ints(kw: &Value, key: &str) -> Vec<i64> {
    kw_list(kw, key).unwrap_or_else(|| panic!("kwarg {key}"))
}

fn flag(kw: &Value, key: &str) -> bool {
    kw_bool(kw, key).unwrap_or_else(|| panic!("kwarg {key}"))
}

/// The function `name` of the generator on its positional arguments `p` (the primals or
/// mapped arguments, then the arrays it closes over).
fn call(name: &str, p: &[Array], kw: &Value) -> mx::Result<Array> {
    let x = &p[0];
    let axis = || int(kw, "axis") as isize;
    match name {
        "sort" => match kw["axis"].as_str() {
            Some("none") => mx::sort_axis(x, None::<isize>),
            _ => mx::sort_axis(x, axis()),
        },
        "x_argsort" => mx::multiply(x, &mx::argsort_axis(x, axis())?.astype(x.dtype())?),
        "partition" => {
            // The sums of the two sides and the element at kth (the order inside each side
            // is the kernel's).
            let ax = axis();
            let p = mx::partition_axis(x, int(kw, "kth") as isize, ax)?;
            let n = x.dim(ax)? as isize;
            let k = (int(kw, "kth") as isize).rem_euclid(n);
            let mut shape = vec![1usize; x.ndim()];
            let a = if ax < 0 { ax + x.ndim() as isize } else { ax } as usize;
            shape[a] = n as usize;
            let idx = mx::arange(0, n as i32, 1)?.reshape(shape)?;
            let lo = mx::less(&idx, k as i32)?;
            let hi = mx::greater(&idx, k as i32)?;
            let at = mx::slice_axis(&p, ax, k..k + 1)?;
            let side = |m: &Array| mx::sum_axes(&mx::multiply(&p, m)?, [ax], true);
            mx::concatenate(&[side(&lo)?, at, side(&hi)?], ax)
        }
        "topk" => mx::topk_axis(x, int(kw, "k") as isize, axis()),
        "prod" => mx::prod_axes(x, ints(kw, "axes"), flag(kw, "keepdims")),
        "x_argmax" => mx::multiply(x, &mx::argmax_axis(x, axis(), true)?.astype(x.dtype())?),
        "median" => mx::median_axes(x, ints(kw, "axes"), false),
        "x_isclose" => {
            let c = mx::isclose(x, &p[1])?.astype(x.dtype())?;
            let e = mx::array_equal(x, &p[1], false)?.astype(x.dtype())?;
            mx::add(&mx::multiply(x, &c)?, &mx::multiply(&p[1], &e)?)
        }
        "scan" => {
            let o = mx::ScanOptions {
                reverse: flag(kw, "reverse"),
                inclusive: flag(kw, "inclusive"),
            };
            let ax = Some(axis());
            match kw["kind"].as_str().unwrap() {
                "cumprod" => mx::cumprod_with(x, ax, o),
                "cummax" => mx::cummax_with(x, ax, o),
                "cummin" => mx::cummin_with(x, ax, o),
                "logcumsumexp" => mx::logcumsumexp_with(x, ax, o),
                k => panic!("scan {k}"),
            }
        }
        "pad" => {
            let w: Vec<(i64, i64)> = ints(kw, "lo").into_iter().zip(ints(kw, "hi")).collect();
            mx::pad(x, w)
        }
        "diag" => mx::diag(x, int(kw, "k") as isize),
        "diagonal" => mx::diagonal(
            x,
            int(kw, "offset") as isize,
            int(kw, "axis1") as isize,
            int(kw, "axis2") as isize,
        ),
        "tril" => mx::tril(x, int(kw, "k") as isize),
        "triu" => mx::triu(x, int(kw, "k") as isize),
        "as_strided" => {
            let shape: Vec<usize> = ints(kw, "shape").iter().map(|&d| d as usize).collect();
            let strides: Vec<isize> = ints(kw, "strides").iter().map(|&d| d as isize).collect();
            mx::as_strided(x, shape, &strides, int(kw, "offset") as usize)
        }
        "view" => mx::view(x, kw_dtype(kw, "dtype").unwrap()),
        "nan_to_num" => mx::nan_to_num_with(x, 0.5, Some(9.0), Some(-9.0)),
        "divmod" => {
            let (q, r) = mx::divmod(x, &p[1])?;
            Ok(if int(kw, "which") == 0 { q } else { r })
        }
        "searchsorted" => mx::searchsorted_side(x, &p[1], "right"),
        "gated_delta" => {
            let (o, s) =
                mx::fast::gated_delta_update(x, &p[1], &p[2], &p[3], &p[4], Some(&p[5]), None)?;
            Ok(if int(kw, "which") == 0 { o } else { s })
        }
        "conv1d" => mx::conv1d(x, &p[1], 1, 0, 1, 1),
        "qmm" => mx::quantized_matmul(
            x,
            &p[3],
            &p[1],
            Some(&p[2]),
            true,
            Some(32),
            Some(4),
            QuantMode::Affine,
        ),
        "fp8" => mx::from_fp8(&mx::to_fp8(x)?, mx::float32),
        "qqmm" => mx::qqmm(x, &p[2], Some(&p[1]), None, None, QuantMode::Mxfp8),
        "qqmm_scales" => mx::qqmm(&p[1], &p[2], Some(x), None, None, QuantMode::Mxfp8),
        "quantize" => {
            let (mode, gs, bits) = quant_params(kw);
            let (q, sc, b) = mx::quantize(x, gs, bits, mode)?;
            let out = match int(kw, "which") {
                0 => q,
                1 => sc,
                _ => b.expect("affine biases"),
            };
            if out.dtype() == mx::uint8 {
                out.astype(mx::float32)
            } else {
                Ok(out)
            }
        }
        "unique" => mx::unique(x, int(kw, "size") as isize),
        "unique_fill" => {
            let o = mx::UniqueOptions::default().fill(&p[1]);
            Ok(mx::unique_with(x, int(kw, "size") as isize, &o)?.remove(0))
        }
        other => panic!("unknown fn {other}"),
    }
}

/// The mode, group size and bits of a quantize case.
fn quant_params(kw: &Value) -> (QuantMode, Option<usize>, Option<usize>) {
    let mode = match kw["mode"].as_str().unwrap() {
        "affine" => QuantMode::Affine,
        "mxfp4" => QuantMode::Mxfp4,
        "mxfp8" => QuantMode::Mxfp8,
        "nvfp4" => QuantMode::Nvfp4,
        m => panic!("mode {m}"),
    };
    let gs = Some(int(kw, "group_size") as usize);
    (mode, gs, Some(int(kw, "bits") as usize))
}

fn dispatch(op: &str, ins: &[Operand], kw: &Value) -> mx::Result<Vec<Array>> {
    let ins: Vec<Array> = ins.iter().map(arr).collect();
    let n = kw_i64(kw, "np").expect("np") as usize;
    if let Some(name) = op.strip_prefix("vjp_") {
        let (p, rest) = ins.split_at(n);
        let (e, cot) = rest.split_at(rest.len() - 1);
        let (_, grads) = mx::vjp(|q| call(name, &[q, e].concat(), kw), p, cot)?;
        Ok(grads)
    } else if let Some(name) = op.strip_prefix("jvp_") {
        let (p, rest) = ins.split_at(n);
        let (e, tans) = rest.split_at(rest.len() - n);
        let (_, t) = mx::jvp(|q| call(name, &[q, e].concat(), kw), p, tans)?;
        Ok(t)
    } else if op == "vmap_unique_all" {
        let size = int(kw, "size") as isize;
        let f = move |q: &[Array]| {
            let o = mx::UniqueOptions {
                return_index: true,
                return_inverse: true,
                return_counts: true,
                ..Default::default()
            };
            mx::unique_with(&q[0], size, &o)
        };
        let axes = [Some(ints(kw, "in_axes")[0] as isize)];
        mx::vmap(f, &axes, &[])(&ins[..n])
    } else if op == "vmap_quantize_all" {
        let (mode, gs, bits) = quant_params(kw);
        let f = |q: &[Array]| -> mx::Result<Vec<Array>> {
            let (w, s, b) = mx::quantize(&q[0], gs, bits, mode)?;
            Ok([w, s].into_iter().chain(b).collect())
        };
        let axes = [Some(ints(kw, "in_axes")[0] as isize)];
        mx::vmap(f, &axes, &[])(&ins[..n])
    } else if let Some(name) = op.strip_prefix("vmap_") {
        let (p, e) = ins.split_at(n);
        let axes: Vec<Option<isize>> = ints(kw, "in_axes")
            .into_iter()
            .map(|a| if a < 0 { None } else { Some(a as isize) })
            .collect();
        mx::vmap(|q: &[Array]| call(name, &[q, e].concat(), kw), &axes, &[])(p)
    } else {
        panic!("unknown op {op}")
    }
}

#[test]
fn grad_more_goldens() {
    check_family("grad_more", dispatch);
}
