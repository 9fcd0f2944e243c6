//! Golden cases of the matrix-product family (matmul, addmm, inner, outer, vecdot, tensordot,
//! kron) against MLX 0.32.4.

use crate::common::*;
use rmlx_core as mx;
use serde_json::Value;

/// `axes` of a tensordot case: an integer or two lists.
fn tensordot_axes(kw: &Value) -> mx::TensordotAxes {
    match &kw["axes"] {
        Value::Number(n) => mx::TensordotAxes::Count(n.as_i64().expect("int axes")),
        Value::Array(pair) => {
            let list = |v: &Value| -> Vec<isize> {
                v.as_array()
                    .expect("axes list")
                    .iter()
                    .map(|x| x.as_i64().expect("int") as isize)
                    .collect()
            };
            mx::TensordotAxes::Pairs(list(&pair[0]), list(&pair[1]))
        }
        other => panic!("bad axes {other}"),
    }
}

#[test]
fn matmul_family_matches_mlx() {
    check_family("matmul", |op, ins, kw| {
        let a = |i: usize| arr(&ins[i]);
        Ok(vec![match op {
            "matmul" => mx::matmul(&a(0), &a(1))?,
            "addmm" => mx::addmm(
                &a(0),
                &a(1),
                &a(2),
                kw_f64(kw, "alpha").unwrap_or(1.0) as f32,
                kw_f64(kw, "beta").unwrap_or(1.0) as f32,
            )?,
            "inner" => mx::inner(&a(0), &a(1))?,
            "outer" => mx::outer(&a(0), &a(1))?,
            "kron" => mx::kron(&a(0), &a(1))?,
            "vecdot" => mx::vecdot_axis(&a(0), &a(1), kw_i64(kw, "axis").unwrap_or(-1) as isize)?,
            "tensordot" => mx::tensordot(&a(0), &a(1), tensordot_axes(kw))?,
            _ => panic!("unknown op {op}"),
        }])
    });
}

/// Matrix products flush denormals on x86-64 (docs/architecture.md, "Decisions that differ
/// from MLX"); the flush stays inside the product: an elementwise product on the same thread
/// afterwards still gives the IEEE denormal.
#[test]
fn matrix_products_flush_denormals_and_restore_the_mode() {
    let tiny = mx::full(&[64, 64], 1e-20f32, None).unwrap();
    let product = mx::matmul(&tiny, &tiny).unwrap().to_vec::<f32>().unwrap();
    let elementwise = mx::multiply(&mx::Array::scalar(1e-20f32), &mx::Array::scalar(1e-20f32))
        .unwrap()
        .item::<f32>()
        .unwrap();
    // 64 products of 1e-40 each: a denormal sum of denormals.
    if cfg!(target_arch = "x86_64") {
        assert!(product.iter().all(|&v| v == 0.0), "{:?}", &product[..4]);
    } else {
        assert!(product.iter().all(|&v| (v - 6.4e-39).abs() < 1e-41));
    }
    assert!(
        elementwise > 0.0 && elementwise < f32::MIN_POSITIVE,
        "{elementwise}"
    );
    // Normal magnitudes are untouched.
    let ones = mx::ones(&[8, 8], mx::float32).unwrap();
    let eights = mx::matmul(&ones, &ones).unwrap().to_vec::<f32>().unwrap();
    assert!(eights.iter().all(|&v| v == 8.0));
}

/// Products whose left operand is a transposed view with a 4 KB column stride take a
/// column-major detour (cpu/gemm.rs): the same values, in row-major order, as the product of
/// a contiguous copy, for one product and for a batch of them.
#[test]
fn transposed_left_operands_with_aliasing_strides_multiply_correctly() {
    mx::random::seed(3);
    for batch in [None, Some(2usize)] {
        let (k, m, n) = (1024usize, 1024usize, 48usize);
        let shape_x: Vec<usize> = batch.into_iter().chain([k, m]).collect();
        let shape_b: Vec<usize> = batch.into_iter().chain([k, n]).collect();
        let x = mx::random::normal(&shape_x, mx::float32, None).unwrap();
        let b = mx::random::normal(&shape_b, mx::float32, None).unwrap();
        let lhs = mx::swapaxes(&x, -1, -2).unwrap();
        let got = mx::matmul(&lhs, &b).unwrap();
        let want = mx::matmul(&mx::contiguous(&lhs).unwrap(), &b).unwrap();
        assert_eq!(got.shape(), want.shape());
        let (got, want) = (got.to_vec::<f32>().unwrap(), want.to_vec::<f32>().unwrap());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-3 + 1e-4 * w.abs(),
                "batch {batch:?} element {i}: {g} vs {w}"
            );
        }
    }
}
