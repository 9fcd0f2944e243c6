//! `masked_scatter` rules (MLX's): vjp and jvp for the destination and the source against
//! finite differences, vmap against stacking slices for every combination of batched inputs.
use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Array, Index};

fn mask(v: &[bool], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

#[test]
fn masked_scatter_grads() {
    let m = mask(&[true, false, true, true, false, true], &[2, 3]);
    let mm = &m;
    // Element mask, one source element per masked position (and two extra, unused).
    check_grads(
        "masked_scatter elements",
        move |x| mx::masked_scatter(&x[0], mm, &x[1]),
        &[rand(&[2, 3], 1), rand(&[6], 2)],
        1e-6,
    );
    // Row mask with a block per selected row.
    let rows = &mask(&[true, false, true], &[3]);
    check_grads(
        "masked_scatter rows",
        move |x| mx::masked_scatter(&x[0], rows, &x[1]),
        &[rand(&[3, 4], 3), rand(&[2, 4], 4)],
        1e-6,
    );
    // One block broadcast to every selected row: its gradient sums over them.
    let rows = &mask(&[true, true, false], &[3]);
    check_grads(
        "masked_scatter broadcast block",
        move |x| mx::masked_scatter(&x[0], rows, &x[1]),
        &[rand(&[3, 4], 5), rand(&[4], 6)],
        1e-6,
    );
    // Through `index_put`, differentiating the source only (MLX's jvp test).
    let mm = m.clone();
    let (_, t) = mx::jvp(
        move |x: &[Array]| {
            let mut dst = mx::zeros(&[2, 3], mx::float32)?;
            dst.index_put([Index::Array(mm.clone())], &x[0])?;
            Ok(dst)
        },
        &[mx::ones(&[4], mx::float32).unwrap()],
        &[mx::ones(&[4], mx::float32).unwrap()],
    )
    .unwrap();
    assert_eq!(
        t[0].to_vec::<f32>().unwrap(),
        vec![1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    );
    // No gradient for the mask.
    let r = mx::vjp(
        |x: &[Array]| mx::masked_scatter(&x[0], &x[1], &x[2]),
        &[rand(&[2], 7), mask(&[true, false], &[2]), rand(&[1], 8)],
        &[rand(&[2], 9)],
    );
    assert!(r.is_err());
}

#[test]
fn masked_scatter_vmap() {
    let f = |x: &[Array]| mx::masked_scatter(&x[0], &x[1], &x[2]);
    let a = rand(&[2, 4], 10);
    let m = mask(&[false, true, true, true, true, false, true, true], &[2, 4]);
    let src = rand(&[2, 3], 11);
    check_vmap(
        "all batched",
        f,
        &[a.clone(), m.clone(), src.clone()],
        &[Some(0); 3],
        0.0,
    );
    // Shared source: every batch row restarts at its first element.
    let shared = rand(&[4], 12);
    check_vmap(
        "shared source",
        f,
        &[a.clone(), m.clone(), shared],
        &[Some(0), Some(0), None],
        0.0,
    );
    // Shared destination, shared mask, batch on axis 1.
    check_vmap(
        "shared destination",
        f,
        &[rand(&[4], 13), m.clone(), src.clone()],
        &[None, Some(0), Some(0)],
        0.0,
    );
    check_vmap(
        "shared mask",
        f,
        &[
            a.clone(),
            mask(&[true, false, true, false], &[4]),
            rand(&[2, 2], 14),
        ],
        &[Some(0), None, Some(0)],
        0.0,
    );
    check_vmap(
        "batch axis 1",
        f,
        &[
            mx::transpose(&a, None::<&[isize]>).unwrap(),
            m.clone(),
            mx::transpose(&src, None::<&[isize]>).unwrap(),
        ],
        &[Some(1), Some(0), Some(1)],
        0.0,
    );
    // A scalar source broadcast to uneven mask populations.
    check_vmap(
        "scalar source",
        f,
        &[a, m, Array::scalar(1.5f64)],
        &[Some(0), Some(0), None],
        0.0,
    );
}
