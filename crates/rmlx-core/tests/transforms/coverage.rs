//! Which primitives have no vjp, jvp or vmap rule. Every op of the core is probed with each
//! transform; the failures must be exactly MLX's own gaps (MLX 0.32.4 raises for the same
//! primitive and transform), listed below.

use rmlx_core as mx;
use rmlx_core::linalg as la;
use rmlx_core::{Array, Dtype, QuantMode, Result, ScatterReduce};
use std::collections::BTreeSet;

/// float32 values in (0.1, 0.9): inside every op's domain.
fn f(shape: &[usize], seed: u64) -> Array {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| {
            let h = (i as u64 + 1)
                .wrapping_mul(2654435761)
                .wrapping_add(seed * 40503)
                % 1000;
            0.1 + 0.8 * h as f32 / 1000.0
        })
        .collect();
    Array::from_slice(&v, shape).unwrap()
}

/// `x @ x.T + 3 I`: symmetric positive definite.
fn spd(x: &Array) -> Result<Array> {
    let n = x.dim(-2)?;
    let xxt = mx::matmul(x, &mx::swapaxes(x, -1, -2)?)?;
    mx::add(
        &xxt,
        &mx::multiply(&mx::eye(n, None, 0, Dtype::Float32)?, 3.0)?,
    )
}

/// A complex64 Hermitian 3 x 3 matrix from a 3 x 4 input: `spd(x) + i (S - S^T)`, `S` its
/// first three columns.
fn herm(x: &Array) -> Result<Array> {
    let sq = mx::slice_axis(x, -1, 0..3)?;
    let anti = mx::subtract(&sq, &mx::swapaxes(&sq, -1, -2)?)?;
    let im = mx::multiply(
        &mx::astype(&anti, Dtype::Complex64)?,
        mx::C64::new(0.0, 1.0),
    )?;
    mx::add(&mx::astype(&spd(x)?, Dtype::Complex64)?, &im)
}

fn i(v: &[i32], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

type Op = fn(&[Array]) -> Result<Array>;

/// (name, op, inputs): the op applied to the inputs builds the primitive probed.
fn probes() -> Vec<(&'static str, Op, Vec<Array>)> {
    let x = || vec![f(&[3, 4], 1)];
    let xy = || vec![f(&[3, 4], 1), f(&[3, 4], 2)];
    let ints = || {
        vec![
            i(&[1, 2, 3, 4, 5, 6], &[2, 3]),
            i(&[1, 0, 1, 2, 1, 0], &[2, 3]),
        ]
    };
    let mut p: Vec<(&'static str, Op, Vec<Array>)> = vec![
        // Unary.
        ("abs", |a| mx::abs(&a[0]), x()),
        ("sign", |a| mx::sign(&a[0]), x()),
        ("negative", |a| mx::negative(&a[0]), x()),
        ("square", |a| mx::square(&a[0]), x()),
        ("sqrt", |a| mx::sqrt(&a[0]), x()),
        ("rsqrt", |a| mx::rsqrt(&a[0]), x()),
        ("reciprocal", |a| mx::reciprocal(&a[0]), x()),
        ("exp", |a| mx::exp(&a[0]), x()),
        ("expm1", |a| mx::expm1(&a[0]), x()),
        ("log", |a| mx::log(&a[0]), x()),
        ("log2", |a| mx::log2(&a[0]), x()),
        ("log10", |a| mx::log10(&a[0]), x()),
        ("log1p", |a| mx::log1p(&a[0]), x()),
        ("sin", |a| mx::sin(&a[0]), x()),
        ("cos", |a| mx::cos(&a[0]), x()),
        ("tan", |a| mx::tan(&a[0]), x()),
        ("arcsin", |a| mx::arcsin(&a[0]), x()),
        ("arccos", |a| mx::arccos(&a[0]), x()),
        ("arctan", |a| mx::arctan(&a[0]), x()),
        ("sinh", |a| mx::sinh(&a[0]), x()),
        ("cosh", |a| mx::cosh(&a[0]), x()),
        ("tanh", |a| mx::tanh(&a[0]), x()),
        ("arcsinh", |a| mx::arcsinh(&a[0]), x()),
        ("arccosh", |a| mx::arccosh(&mx::add(&a[0], 1.5)?), x()),
        ("arctanh", |a| mx::arctanh(&a[0]), x()),
        ("floor", |a| mx::floor(&a[0]), x()),
        ("ceil", |a| mx::ceil(&a[0]), x()),
        ("trunc", |a| mx::trunc(&a[0]), x()),
        ("round", |a| mx::round(&a[0]), x()),
        ("sigmoid", |a| mx::sigmoid(&a[0]), x()),
        ("erf", |a| mx::erf(&a[0]), x()),
        ("erfinv", |a| mx::erfinv(&a[0]), x()),
        ("isnan", |a| mx::isnan(&a[0]), x()),
        ("isinf", |a| mx::isinf(&a[0]), x()),
        ("isfinite", |a| mx::isfinite(&a[0]), x()),
        (
            "logical_not",
            |a| mx::logical_not(&mx::greater(&a[0], 0.5)?),
            x(),
        ),
        ("nan_to_num", |a| mx::nan_to_num(&a[0]), x()),
        ("stop_gradient", |a| mx::stop_gradient(&a[0]), x()),
        ("real", |a| mx::real(&a[0].astype(mx::complex64)?), x()),
        ("imag", |a| mx::imag(&a[0].astype(mx::complex64)?), x()),
        (
            "conjugate",
            |a| mx::real(&mx::conjugate(&a[0].astype(mx::complex64)?)?),
            x(),
        ),
        ("astype", |a| a[0].astype(mx::float64), x()),
        // FFT (one primitive, four kinds).
        ("fft", |a| mx::real(&mx::fft::fft(&a[0])?), x()),
        ("ifft2", |a| mx::imag(&mx::fft::ifft2(&a[0])?), x()),
        ("rfft", |a| mx::real(&mx::fft::rfft(&a[0])?), x()),
        (
            "irfftn",
            |a| mx::fft::irfftn(&a[0].astype(mx::complex64)?),
            x(),
        ),
        // Short-time transforms (compositions). MLX's stft has no vmap (its frames are an
        // as_strided view: "stft vmap: AsStrided"); rmlx gathers the frames, which vmaps.
        (
            "stft",
            |a| {
                let opts = mx::fft::StftOptions {
                    n_fft: 4,
                    hop_length: Some(1),
                    ..Default::default()
                };
                mx::real(&mx::fft::stft(&a[0], &opts)?)
            },
            x(),
        ),
        (
            "istft",
            |a| {
                let opts = mx::fft::IstftOptions {
                    hop_length: Some(1),
                    ..Default::default()
                };
                mx::fft::istft(&a[0].astype(mx::complex64)?, &opts)
            },
            x(),
        ),
        // Binary.
        ("add", |a| mx::add(&a[0], &a[1]), xy()),
        ("subtract", |a| mx::subtract(&a[0], &a[1]), xy()),
        ("multiply", |a| mx::multiply(&a[0], &a[1]), xy()),
        ("divide", |a| mx::divide(&a[0], &a[1]), xy()),
        ("floor_divide", |a| mx::floor_divide(&a[0], &a[1]), xy()),
        ("remainder", |a| mx::remainder(&a[0], &a[1]), xy()),
        ("divmod", |a| Ok(mx::divmod(&a[0], &a[1])?.0), xy()),
        ("power", |a| mx::power(&a[0], &a[1]), xy()),
        ("maximum", |a| mx::maximum(&a[0], &a[1]), xy()),
        ("minimum", |a| mx::minimum(&a[0], &a[1]), xy()),
        ("arctan2", |a| mx::arctan2(&a[0], &a[1]), xy()),
        ("logaddexp", |a| mx::logaddexp(&a[0], &a[1]), xy()),
        ("equal", |a| mx::equal(&a[0], &a[1]), xy()),
        ("not_equal", |a| mx::not_equal(&a[0], &a[1]), xy()),
        ("greater", |a| mx::greater(&a[0], &a[1]), xy()),
        ("greater_equal", |a| mx::greater_equal(&a[0], &a[1]), xy()),
        ("less", |a| mx::less(&a[0], &a[1]), xy()),
        ("less_equal", |a| mx::less_equal(&a[0], &a[1]), xy()),
        (
            "logical_and",
            |a| mx::logical_and(&mx::greater(&a[0], 0.5)?, &mx::greater(&a[1], 0.5)?),
            xy(),
        ),
        (
            "logical_or",
            |a| mx::logical_or(&mx::greater(&a[0], 0.5)?, &mx::greater(&a[1], 0.5)?),
            xy(),
        ),
        ("bitwise_and", |a| mx::bitwise_and(&a[0], &a[1]), ints()),
        ("bitwise_or", |a| mx::bitwise_or(&a[0], &a[1]), ints()),
        ("bitwise_xor", |a| mx::bitwise_xor(&a[0], &a[1]), ints()),
        ("left_shift", |a| mx::left_shift(&a[0], &a[1]), ints()),
        ("right_shift", |a| mx::right_shift(&a[0], &a[1]), ints()),
        ("bitwise_invert", |a| mx::bitwise_invert(&a[0]), ints()),
        (
            "where",
            |a| mx::where_(mx::greater(&a[0], 0.5)?, &a[0], &a[1]),
            xy(),
        ),
        // Reductions and scans.
        ("sum", |a| mx::sum_axes(&a[0], [1], false), x()),
        ("prod", |a| mx::prod_axes(&a[0], [1], false), x()),
        ("max", |a| mx::max_axes(&a[0], [1], false), x()),
        ("min", |a| mx::min_axes(&a[0], [0], true), x()),
        (
            "all",
            |a| mx::all_axes(&mx::greater(&a[0], 0.5)?, [1], false),
            x(),
        ),
        (
            "any",
            |a| mx::any_axes(&mx::greater(&a[0], 0.5)?, [1], false),
            x(),
        ),
        ("argmax", |a| mx::argmax_axis(&a[0], 1, false), x()),
        ("argmin", |a| mx::argmin_axis(&a[0], 1, false), x()),
        ("logsumexp", |a| mx::logsumexp_axes(&a[0], [1], false), x()),
        ("softmax", |a| mx::softmax(&a[0], [-1]), x()),
        ("median", |a| mx::median_axes(&a[0], [1], false), x()),
        ("isclose", |a| mx::isclose(&a[0], &a[1]), xy()),
        (
            "array_equal",
            |a| mx::array_equal(&a[0], &a[1], false),
            xy(),
        ),
        ("cumsum", |a| mx::cumsum(&a[0], Some(1)), x()),
        ("cumprod", |a| mx::cumprod(&a[0], Some(1)), x()),
        ("cummax", |a| mx::cummax(&a[0], Some(1)), x()),
        ("cummin", |a| mx::cummin(&a[0], Some(1)), x()),
        ("logcumsumexp", |a| mx::logcumsumexp(&a[0], Some(1)), x()),
        // Shapes.
        ("broadcast_to", |a| mx::broadcast_to(&a[0], [2, 3, 4]), x()),
        ("reshape", |a| mx::reshape(&a[0], [4, 3]), x()),
        ("transpose", |a| a[0].transpose(), x()),
        ("slice", |a| mx::slice(&a[0], [1, 0], [3, 4], [1, 2]), x()),
        (
            "concatenate",
            |a| mx::concatenate(&[a[0].clone(), a[1].clone()], 1),
            xy(),
        ),
        ("contiguous", |a| mx::contiguous(&a[0].transpose()?), x()),
        (
            "as_strided",
            |a| mx::as_strided(&a[0], [2, 2], &[1, 1], 0),
            x(),
        ),
        ("pad", |a| mx::pad(&a[0], 1), x()),
        ("tril", |a| mx::tril(&a[0], 0), x()),
        ("triu", |a| mx::triu(&a[0], 1), x()),
        ("diagonal", |a| mx::diagonal(&a[0], 0, 0, 1), x()),
        (
            "diag",
            |a| mx::diag(&mx::sum_axes(&a[0], [0], false)?, 0),
            x(),
        ),
        ("view", |a| mx::view(&a[0], Dtype::Int32), x()),
        // Random bits of a key (uint32: the vjp/jvp probes go through the key).
        (
            "random_bits",
            |a| mx::random::split(&a[0], 3),
            vec![Array::from_slice(&[1u32, 2], &[2]).unwrap()],
        ),
        // Sorting.
        ("sort", |a| mx::sort(&a[0]), x()),
        ("argsort", |a| mx::argsort(&a[0]), x()),
        ("partition", |a| mx::partition(&a[0], 1), x()),
        ("argpartition", |a| mx::argpartition(&a[0], 1), x()),
        ("topk", |a| mx::topk(&a[0], 2), x()),
        (
            "searchsorted",
            |a| mx::searchsorted(&mx::sort(&mx::flatten(&a[0], 0, -1)?)?, &a[1]),
            xy(),
        ),
        (
            "unique",
            |a| mx::unique(&mx::floor(&mx::multiply(&a[0], 3.0)?)?, 4),
            x(),
        ),
        // Indexing.
        (
            "gather",
            |a| mx::take(&a[0], &i(&[2, 0, 2], &[3]), Some(0)),
            x(),
        ),
        (
            "take_along_axis",
            |a| mx::take_along_axis(&a[0], &i(&[1, 0, 3], &[3, 1]), Some(1)),
            x(),
        ),
        (
            "scatter add",
            |a| {
                mx::scatter(
                    &a[0],
                    &[i(&[2, 0], &[2])],
                    &mx::reshape(&a[1], [3, 1, 4])?.index(mx::s![..2])?,
                    [0],
                    ScatterReduce::Sum,
                )
            },
            xy(),
        ),
        (
            "scatter",
            |a| {
                mx::scatter(
                    &a[0],
                    &[i(&[2, 0], &[2])],
                    &mx::reshape(&a[1], [3, 1, 4])?.index(mx::s![..2])?,
                    [0],
                    ScatterReduce::None,
                )
            },
            xy(),
        ),
        (
            "put_along_axis",
            |a| {
                mx::put_along_axis(
                    &a[0],
                    &i(&[1, 0, 3], &[3, 1]),
                    &mx::slice(&a[1], [0, 0], [3, 1], [1, 1])?,
                    Some(1),
                )
            },
            xy(),
        ),
        (
            "slice_update",
            |a| {
                mx::slice_update(
                    &a[0],
                    &mx::slice(&a[1], [0, 0], [2, 4], [1, 1])?,
                    [1, 0],
                    [3, 4],
                    [1, 1],
                )
            },
            xy(),
        ),
        (
            "masked_scatter",
            |a| {
                let m = mx::stop_gradient(&mx::greater(&a[1], 0.5)?)?;
                mx::masked_scatter(&a[0], &m, &mx::flatten(&a[1], 0, -1)?)
            },
            xy(),
        ),
        (
            "slice_dynamic",
            |a| mx::slice_dynamic(&a[0], &i(&[1], &[1]), [0], [2, 4]),
            x(),
        ),
        (
            "slice_update_dynamic",
            |a| {
                mx::slice_update_dynamic(
                    &a[0],
                    &mx::slice(&a[1], [0, 0], [2, 4], [1, 1])?,
                    &i(&[1], &[1]),
                    [0],
                )
            },
            xy(),
        ),
        // Linear algebra.
        ("matmul", |a| mx::matmul(&a[0], &a[1].transpose()?), xy()),
        (
            "addmm",
            |a| {
                mx::addmm(
                    &mx::ones(&[3, 3], mx::float32)?,
                    &a[0],
                    &a[1].transpose()?,
                    2.0,
                    0.5,
                )
            },
            xy(),
        ),
        ("vecdot", |a| mx::vecdot(&a[0], &a[1]), xy()),
        (
            "gather_mm",
            |a| {
                mx::gather_mm(
                    &mx::reshape(&a[0], [3, 1, 4])?,
                    &mx::reshape(&a[1], [3, 4, 1])?,
                    Some(&i(&[1, 2], &[2])),
                    Some(&i(&[2, 0], &[2])),
                    false,
                )
            },
            xy(),
        ),
        (
            "segmented_mm",
            |a| mx::segmented_mm(&a[0].transpose()?, &a[1], &i(&[0, 2, 2, 3], &[2, 2])),
            xy(),
        ),
        ("hadamard", |a| mx::hadamard_transform(&a[0], None), x()),
        (
            "conv1d",
            |a| {
                mx::conv1d(
                    &mx::reshape(&a[0], [1, 4, 3])?,
                    &mx::reshape(&a[1], [2, 2, 3])?,
                    1,
                    0,
                    1,
                    1,
                )
            },
            xy(),
        ),
        // fast.
        (
            "rms_norm",
            |a| mx::fast::rms_norm(&a[0], Some(&mx::sum_axes(&a[1], [0], false)?), 1e-5),
            xy(),
        ),
        (
            "layer_norm",
            |a| mx::fast::layer_norm(&a[0], None, None, 1e-5),
            x(),
        ),
        (
            "rope",
            |a| {
                mx::fast::rope(
                    &mx::reshape(&a[0], [1, 3, 4])?,
                    4,
                    false,
                    Some(10000.0),
                    1.0,
                    0,
                    None,
                )
            },
            x(),
        ),
        (
            "sdpa",
            |a| {
                mx::fast::scaled_dot_product_attention(
                    &mx::reshape(&a[0], [1, 1, 3, 4])?,
                    &mx::reshape(&a[1], [1, 1, 3, 4])?,
                    &mx::reshape(&a[1], [1, 1, 3, 4])?,
                    0.5,
                    mx::fast::AttentionMask::None,
                    None,
                )
            },
            xy(),
        ),
        // Quantized.
        (
            "dequantize",
            |a| {
                let (w, s, b) = mx::quantize(
                    &mx::tile(&a[0], [1, 8])?,
                    Some(32),
                    Some(4),
                    QuantMode::Affine,
                )?;
                mx::dequantize(
                    &w,
                    &mx::multiply(&s, &mx::sum(&a[1])?)?,
                    b.as_ref(),
                    Some(32),
                    Some(4),
                    QuantMode::Affine,
                    None,
                )
            },
            xy(),
        ),
        (
            "quantize",
            |a| {
                Ok(mx::quantize(
                    &mx::tile(&a[0], [1, 8])?,
                    Some(32),
                    Some(4),
                    QuantMode::Affine,
                )?
                .1)
            },
            x(),
        ),
        (
            "quantized_matmul",
            |a| {
                let (w, s, b) = mx::quantize(
                    &mx::tile(&a[1], [1, 8])?,
                    Some(32),
                    Some(4),
                    QuantMode::Affine,
                )?;
                mx::quantized_matmul(
                    &mx::tile(&a[0], [1, 8])?,
                    &w,
                    &s,
                    b.as_ref(),
                    true,
                    Some(32),
                    Some(4),
                    QuantMode::Affine,
                )
            },
            xy(),
        ),
        // mx.linalg, on a symmetric positive definite 3 x 3 matrix built from the input.
        ("linalg norm", |a| la::norm(&a[0]), x()),
        (
            "linalg norm nuc",
            |a| la::norm_ord(&a[0], "nuc", false),
            x(),
        ),
        ("linalg qr", |a| Ok(la::qr(&spd(&a[0])?)?.1), x()),
        ("linalg svd", |a| Ok(la::svd(&a[0])?.remove(1)), x()),
        ("linalg inv", |a| la::inv(&spd(&a[0])?), x()),
        ("linalg tri_inv", |a| la::tri_inv(&spd(&a[0])?, false), x()),
        (
            "linalg cholesky",
            |a| la::cholesky(&spd(&a[0])?, false),
            x(),
        ),
        (
            "linalg cholesky_inv",
            |a| la::cholesky_inv(&spd(&a[0])?, false),
            x(),
        ),
        ("linalg pinv", |a| la::pinv(&a[0]), x()),
        ("linalg det", |a| la::det(&spd(&a[0])?), x()),
        ("linalg slogdet", |a| Ok(la::slogdet(&spd(&a[0])?)?.1), x()),
        ("linalg eigh", |a| Ok(la::eigh(&spd(&a[0])?, "L")?.0), x()),
        ("linalg eigvalsh", |a| la::eigvalsh(&spd(&a[0])?, "L"), x()),
        ("linalg eig", |a| Ok(la::eig(&spd(&a[0])?)?.0), x()),
        ("linalg eigvals", |a| la::eigvals(&spd(&a[0])?), x()),
        // complex64 input (a Hermitian matrix built from the input).
        (
            "linalg svd complex",
            |a| Ok(la::svd(&herm(&a[0])?)?.remove(1)),
            x(),
        ),
        (
            "linalg eigh complex",
            |a| Ok(la::eigh(&herm(&a[0])?, "L")?.0),
            x(),
        ),
        ("linalg eig complex", |a| Ok(la::eig(&herm(&a[0])?)?.0), x()),
        ("linalg lu", |a| Ok(la::lu(&spd(&a[0])?)?.remove(1)), x()),
        (
            "linalg lu_factor",
            |a| Ok(la::lu_factor(&spd(&a[0])?)?.0),
            x(),
        ),
        (
            "linalg solve_triangular",
            |a| {
                let b = mx::sum_axes(&a[0], 1, false)?;
                la::solve_triangular(&spd(&a[0])?, &b, false)
            },
            x(),
        ),
        (
            "linalg cross",
            |a| {
                let s = mx::slice_axis(&a[0], 1, 0..3)?;
                la::cross(&s, &mx::flip(&s)?, -1)
            },
            x(),
        ),
    ];
    p.retain(|(name, _, _)| !name.is_empty());
    p
}

/// Runs one transform of one probe: None when it works, else the primitive MLX's message
/// names ("[Primitive::vjp] Not implemented for X.") or the whole message.
fn probe(kind: &str, op: Op, inputs: &[Array]) -> Option<String> {
    let floats: Vec<usize> = (0..inputs.len())
        .filter(|&k| inputs[k].dtype().is_floating())
        .collect();
    let result: Result<Vec<Array>> = match kind {
        "vjp" => op(inputs).and_then(|out| {
            let cot = mx::ones_like(&out)?;
            let args = if floats.is_empty() {
                vec![0]
            } else {
                floats.clone()
            };
            Ok(mx::vjp_argnums(op, inputs, &[cot], &args)?.1)
        }),
        "jvp" => inputs
            .iter()
            .map(mx::ones_like)
            .collect::<Result<Vec<_>>>()
            .and_then(|t| Ok(mx::jvp(op, inputs, &t)?.1)),
        _ => inputs
            .iter()
            .map(|x| mx::stack(&[x.clone(), x.clone()], 0))
            .collect::<Result<Vec<_>>>()
            .and_then(|b| mx::vmap(op, &vec![Some(0); b.len()], &[])(&b)),
    };
    match result.and_then(|v| {
        mx::eval(&v)?;
        Ok(())
    }) {
        Ok(()) => None,
        Err(e) => {
            let m = e.message().to_string();
            Some(match m.split_once("Not implemented for ") {
                Some((_, rest)) => rest.trim_end_matches('.').to_string(),
                None => m,
            })
        }
    }
}

#[test]
fn the_primitives_without_a_rule_are_mlxs_gaps() {
    let mut gaps = BTreeSet::new();
    for (name, op, inputs) in probes() {
        op(&inputs).unwrap_or_else(|e| panic!("{name}: the op itself failed: {e}"));
        for kind in ["vjp", "jvp", "vmap"] {
            if let Some(why) = probe(kind, op, &inputs) {
                gaps.insert(format!("{name} {kind}: {why}"));
            }
        }
    }
    let found: Vec<&str> = gaps.iter().map(String::as_str).collect();
    // MLX 0.32.4 raises for each of these too (checked with the oracle).
    let expected = [
        "as_strided vmap: AsStrided",
        "bitwise_invert jvp: BitwiseInvert",
        "bitwise_invert vjp: BitwiseInvert",
        "conv1d jvp: Convolution",
        "cummax jvp: JVP is not implemented for cumulative prod/min/max",
        "cummin jvp: JVP is not implemented for cumulative prod/min/max",
        "cumprod jvp: JVP is not implemented for cumulative prod/min/max",
        "diag jvp: [scatter] JVP not yet implemented",
        "gather_mm jvp: GatherMM",
        "gather_mm vmap: GatherMM",
        "linalg cholesky jvp: Cholesky",
        "linalg cholesky vjp: Cholesky",
        "linalg cholesky_inv jvp: Inverse",
        "linalg cholesky_inv vjp: Inverse",
        "linalg eig complex jvp: Eig",
        "linalg eig complex vjp: Eig",
        "linalg eig jvp: Eig",
        "linalg eig vjp: Eig",
        "linalg eigh complex jvp: Eigh",
        "linalg eigh complex vjp: Eigh",
        "linalg eigh jvp: Eigh",
        "linalg eigh vjp: Eigh",
        "linalg eigvals jvp: Eig",
        "linalg eigvals vjp: Eig",
        "linalg eigvalsh jvp: Eigh",
        "linalg eigvalsh vjp: Eigh",
        "linalg inv jvp: Inverse",
        "linalg inv vjp: Inverse",
        "linalg lu jvp: LUF",
        "linalg lu vjp: LUF",
        "linalg lu vmap: LUF",
        "linalg lu_factor jvp: LUF",
        "linalg lu_factor vjp: LUF",
        "linalg lu_factor vmap: LUF",
        "linalg norm nuc jvp: SVD",
        "linalg norm nuc vjp: SVD",
        "linalg pinv jvp: SVD",
        "linalg pinv vjp: SVD",
        "linalg qr jvp: QRF",
        "linalg qr vjp: QRF",
        "linalg qr vmap: QRF",
        "linalg solve_triangular jvp: Inverse",
        "linalg solve_triangular vjp: Inverse",
        "linalg svd complex jvp: SVD",
        "linalg svd complex vjp: SVD",
        "linalg svd jvp: SVD",
        "linalg svd vjp: SVD",
        "linalg tri_inv jvp: Inverse",
        "linalg tri_inv vjp: Inverse",
        "quantized_matmul jvp: [QuantizedMatmul::jvp] No JVP wrt the quantized matrix yet.",
        "quantized_matmul vjp: [QuantizedMatmul::vjp] no gradient wrt the quantized weights.",
        "quantized_matmul vmap: [QuantizedMatmul::vmap] NYI",
        "random_bits jvp: RandomBits",
        "random_bits vjp: RandomBits",
        "scatter add jvp: [scatter] JVP not yet implemented",
        "scatter jvp: [scatter] JVP not yet implemented",
        "searchsorted vmap: [searchsorted] Cannot vmap over the sorted sequence, only over the \
         values being searched for.",
        "segmented_mm jvp: SegmentedMM",
        "segmented_mm vjp: SegmentedMM",
        "segmented_mm vmap: SegmentedMM",
        "unique jvp: [scatter] JVP not yet implemented",
        // MLX names it "View int32".
        "view jvp: View",
        "view vjp: View",
    ];
    assert_eq!(found, expected);
}
