//! Rules of the indexing, linear algebra, convolution, fast and quantized primitives: vjp and
//! jvp against finite differences (and each other), vmap against stacking slices.
use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Array, QuantMode, Result, s};

fn vals(a: &Array) -> Vec<f64> {
    a.astype(mx::float64).unwrap().to_vec::<f64>().unwrap()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Finite-difference check with step `h` (for float32 kernels, whose inputs are cast inside
/// `f`): the dot-product test `<c, (f(x + h t) - f(x - h t)) / 2h> = <vjp(c), t>` and, with
/// `with_jvp`, the jvp against the same differences. For rules MLX defines without a jvp
/// (scatter, gather_mm, gather_qmm, convolution), `with_jvp` is false.
fn check_fd<F>(name: &str, f: F, inputs: &[Array], tol: f64, h: f64, with_jvp: bool)
where
    F: Fn(&[Array]) -> Result<Array> + Copy,
{
    let out = f(inputs).unwrap_or_else(|e| panic!("{name}: forward failed: {e}"));
    let tangents: Vec<Array> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| rand(x.shape(), 2000 + i as u64))
        .collect();
    let cot = rand(out.shape(), 91).astype(out.dtype()).unwrap();
    let (_, vjps) = mx::vjp(f, inputs, std::slice::from_ref(&cot))
        .unwrap_or_else(|e| panic!("{name}: vjp: {e}"));
    let shifted = |sign: f64| -> Vec<f64> {
        let xs: Vec<Array> = inputs
            .iter()
            .zip(&tangents)
            .map(|(x, t)| (x + &(t * (sign * h))).astype(x.dtype()).unwrap())
            .collect();
        vals(&f(&xs).unwrap())
    };
    let (p, m) = (shifted(1.0), shifted(-1.0));
    let fd: Vec<f64> = p.iter().zip(&m).map(|(a, b)| (a - b) / (2.0 * h)).collect();
    let lhs = dot(&vals(&cot), &fd);
    let rhs: f64 = vjps
        .iter()
        .zip(&tangents)
        .map(|(g, t)| {
            assert_eq!(g.shape(), t.shape(), "{name}: vjp shape");
            dot(&vals(g), &vals(t))
        })
        .sum();
    assert!(
        (lhs - rhs).abs() <= tol * (1.0 + lhs.abs().max(rhs.abs())),
        "{name}: <c, J t> = {lhs} (finite differences) but <J^T c, t> = {rhs}"
    );
    if with_jvp {
        let (_, jvps) =
            mx::jvp(f, inputs, &tangents).unwrap_or_else(|e| panic!("{name}: jvp: {e}"));
        let jt = vals(&jvps[0]);
        assert_eq!(jt.len(), fd.len(), "{name}: jvp shape");
        let scale = 1.0 + fd.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for (i, (a, b)) in jt.iter().zip(&fd).enumerate() {
            assert!(
                (a - b).abs() <= tol * scale,
                "{name}: jvp[{i}] = {a}, finite difference {b}"
            );
        }
    }
}

fn i32s(v: &[i32], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

// ------------------------------------------------------------------------------------------
// Gather / take

#[test]
fn take_grads_accumulate_duplicates() {
    let x = rand(&[5, 4], 1);
    let idx = i32s(&[3, 0, 3, -1, 3], &[5]);
    let g = mx::grad(|a: &[Array]| mx::sum(&mx::take(&a[0], &idx, Some(0))?), 0)(
        std::slice::from_ref(&x),
    )
    .unwrap();
    // Row 3 is taken three times, row 4 (index -1) once, rows 1 and 2 never.
    let want: Vec<f64> = [1.0, 0.0, 0.0, 3.0, 1.0]
        .iter()
        .flat_map(|&r| [r; 4])
        .collect();
    assert_eq!(vals(&g[0]), want);
    for axis in [Some(0), Some(1), Some(-1), None] {
        let idx2 = i32s(&[1, 1, 0, 3, 2, 1], &[2, 3]);
        let f = |a: &[Array]| mx::take(&a[0], &idx2, axis);
        check_grads(
            &format!("take axis {axis:?}"),
            f,
            std::slice::from_ref(&x),
            1e-6,
        );
        // Non-contiguous source.
        let xt = mx::transpose(&rand(&[4, 5], 2), None::<[usize; 0]>).unwrap();
        check_grads(
            &format!("take transposed {axis:?}"),
            f,
            std::slice::from_ref(&xt),
            1e-6,
        );
        check_vmap(
            &format!("vmap take {axis:?}"),
            f,
            &[rand(&[3, 5, 4], 3)],
            &[Some(0)],
            1e-12,
        );
        check_vmap(
            &format!("vmap take ax2 {axis:?}"),
            f,
            &[rand(&[5, 4, 3], 3)],
            &[Some(-1)],
            1e-12,
        );
    }
}

#[test]
fn gather_general_grads_and_vmap() {
    let x = rand(&[4, 3, 5], 4);
    let i0 = i32s(&[0, 3, 3, 1], &[4]);
    let i2 = i32s(&[3, 0, 1, 3], &[4]);
    let f = |a: &[Array]| mx::gather(&a[0], &[i0.clone(), i2.clone()], [0, 2], [1, 2, 2]);
    check_grads("gather", f, std::slice::from_ref(&x), 1e-6);
    // A slice running past the indexed axis (index 4, two elements, axis of 5) is an index
    // error, not a read of the next row's elements.
    let past = mx::gather(
        &x,
        &[i0.clone(), i32s(&[4, 0, 1, 1], &[4])],
        [0, 2],
        [1, 2, 2],
    )
    .unwrap()
    .eval()
    .unwrap_err();
    assert_eq!(past.kind(), mx::ErrorKind::Index);
    assert_eq!(
        past.message(),
        "[gather] Index 4 with a slice of size 2 is out of bounds for axis 2 with size 5."
    );
    // The same for a scatter of (1, 2, 2) blocks.
    let blocks = mx::ones(&[4, 1, 2, 2], x.dtype()).unwrap();
    let bad = i32s(&[4, 0, 1, 1], &[4]);
    let past = mx::scatter(
        &x,
        &[i0.clone(), bad],
        &blocks,
        [0, 2],
        mx::ScatterReduce::Sum,
    )
    .unwrap()
    .eval()
    .unwrap_err();
    assert_eq!(
        past.message(),
        "[scatter] Index 4 with a slice of size 2 is out of bounds for axis 2 with size 5."
    );
    for ax in [0isize, 1, 3] {
        let mut shape = vec![4, 3, 5];
        shape.insert(ax as usize, 2);
        check_vmap(
            &format!("vmap gather src {ax}"),
            f,
            &[rand(&shape, 5)],
            &[Some(ax)],
            1e-12,
        );
    }
    // Batched indices, with and without a batched source.
    let g = |a: &[Array]| mx::gather(&a[0], &[a[1].clone(), a[2].clone()], [0, 2], [1, 3, 1]);
    let idx0 = i32s(&[0, 1, 3, 2, 2, 0], &[3, 2]);
    let idx2 = i32s(&[4, 4, 0, 1, 2, 3], &[2, 3]);
    check_vmap(
        "vmap gather idx",
        g,
        &[x.clone(), idx0.clone(), idx2.clone()],
        &[None, Some(0), Some(1)],
        1e-12,
    );
    check_vmap(
        "vmap gather both",
        g,
        &[rand(&[4, 3, 3, 5], 6), idx0.clone(), idx2.clone()],
        &[Some(2), Some(0), Some(1)],
        1e-12,
    );
    check_vmap(
        "vmap gather one idx",
        g,
        &[x.clone(), idx0, i32s(&[1, 2], &[2])],
        &[None, Some(0), None],
        1e-12,
    );
}

#[test]
fn index_gradients_are_errors() {
    // Indices computed from an input depend on it: MLX refuses their gradient.
    let (x, xi) = (rand(&[3], 1), mx::array![0.0, 1.0]);
    let take = |a: &[Array]| mx::take(&a[0], &mx::astype(&a[1], mx::int32)?, Some(0));
    let e = mx::vjp(take, &[x.clone(), xi.clone()], &[mx::array![1.0, 1.0]]).unwrap_err();
    assert!(
        e.message()
            .starts_with("[gather] Cannot calculate VJP with respect to indices"),
        "{e}"
    );
    let along = |a: &[Array]| mx::take_along_axis(&a[0], &mx::astype(&a[1], mx::int32)?, Some(0));
    let e = mx::vjp(along, &[x, xi], &[mx::array![1.0, 1.0]]).unwrap_err();
    assert!(
        e.message()
            .starts_with("[gather_axis] Cannot calculate VJP"),
        "{e}"
    );
}

// ------------------------------------------------------------------------------------------
// Scatter

#[test]
fn scatter_vjps_each_reduction() {
    let idx = i32s(&[1, 3, 1], &[3]);
    let a = rand(&[5, 2], 7);
    let u = rand_in(&[3, 1, 2], 8, 2.0, 3.0); // above every value of a: max picks them
    let f_none = |x: &[Array]| {
        mx::scatter(
            &x[0],
            std::slice::from_ref(&idx),
            &x[1],
            [0],
            mx::ScatterReduce::None,
        )
    };
    let f_sum = |x: &[Array]| {
        mx::scatter(
            &x[0],
            std::slice::from_ref(&idx),
            &x[1],
            [0],
            mx::ScatterReduce::Sum,
        )
    };
    let f_max = |x: &[Array]| {
        mx::scatter(
            &x[0],
            std::slice::from_ref(&idx),
            &x[1],
            [0],
            mx::ScatterReduce::Max,
        )
    };
    let f_min = |x: &[Array]| {
        mx::scatter(
            &x[0],
            std::slice::from_ref(&idx),
            &x[1],
            [0],
            mx::ScatterReduce::Min,
        )
    };
    // No duplicates for the overwrite (which update wins is the kernel's order).
    let idx_u = i32s(&[1, 3, 0], &[3]);
    let f_none_u = |x: &[Array]| {
        mx::scatter(
            &x[0],
            std::slice::from_ref(&idx_u),
            &x[1],
            [0],
            mx::ScatterReduce::None,
        )
    };
    check_fd(
        "scatter none",
        f_none_u,
        &[a.clone(), u.clone()],
        1e-6,
        1e-6,
        false,
    );
    check_fd(
        "scatter sum",
        f_sum,
        &[a.clone(), u.clone()],
        1e-6,
        1e-6,
        false,
    );
    check_fd(
        "scatter max",
        f_max,
        &[a.clone(), u.clone()],
        1e-6,
        1e-6,
        false,
    );
    check_fd(
        "scatter min",
        f_min,
        &[a.clone(), (&u * -1.0)],
        1e-6,
        1e-6,
        false,
    );
    // The overwritten rows of `a` get no gradient; of duplicate updates every one gets its
    // row's cotangent (MLX's convention).
    let (_, g) = mx::vjp(
        f_none,
        &[a.clone(), u.clone()],
        &[mx::ones(&[5, 2], mx::float64).unwrap()],
    )
    .unwrap();
    assert_eq!(
        vals(&g[0]),
        vec![1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]
    );
    assert_eq!(vals(&g[1]), vec![1.0; 6]);
    // MLX has no scatter jvp and no vjp for scatter_prod.
    let e = mx::jvp(f_sum, &[a.clone(), u.clone()], &[a.clone(), u.clone()]).unwrap_err();
    assert_eq!(e.message(), "[scatter] JVP not yet implemented");
    let f_prod = |x: &[Array]| {
        mx::scatter(
            &x[0],
            std::slice::from_ref(&idx),
            &x[1],
            [0],
            mx::ScatterReduce::Prod,
        )
    };
    let e = mx::vjp(f_prod, &[a.clone(), u.clone()], std::slice::from_ref(&a)).unwrap_err();
    assert_eq!(
        e.message(),
        "[scatter] VJP not implemented for scatter_prod"
    );
    let _ = f_none;
}

#[test]
fn scatter_vmap() {
    let f = |x: &[Array]| {
        mx::scatter(
            &x[0],
            std::slice::from_ref(&x[1]),
            &x[2],
            [1],
            mx::ScatterReduce::Sum,
        )
    };
    let a = rand(&[3, 4, 2], 9);
    let idx = i32s(&[0, 3, 3], &[3]);
    let u = rand(&[3, 3, 1, 2], 10);
    check_vmap(
        "vmap scatter src",
        f,
        &[rand(&[3, 4, 2, 5], 11), idx.clone(), u.clone()],
        &[Some(3), None, None],
        1e-12,
    );
    check_vmap(
        "vmap scatter upd",
        f,
        &[a.clone(), idx.clone(), rand(&[3, 3, 1, 2, 5], 12)],
        &[None, None, Some(-1)],
        1e-12,
    );
    let idxb = i32s(&[0, 3, 3, 1, 1, 2, 2, 2, 0, 3, 1, 0], &[3, 4]);
    check_vmap(
        "vmap scatter idx",
        f,
        &[a.clone(), idxb.clone(), rand(&[3, 4, 3, 1, 2], 13)],
        &[None, Some(1), Some(1)],
        1e-12,
    );
    check_vmap(
        "vmap scatter all",
        f,
        &[rand(&[4, 3, 4, 2], 14), idxb, rand(&[4, 3, 3, 1, 2], 15)],
        &[Some(0), Some(1), Some(0)],
        1e-12,
    );
    let fm = |x: &[Array]| {
        mx::scatter(
            &x[0],
            std::slice::from_ref(&x[1]),
            &x[2],
            [0],
            mx::ScatterReduce::Max,
        )
    };
    check_vmap(
        "vmap scatter max",
        fm,
        &[rand(&[2, 5], 16), i32s(&[4, 0], &[2]), rand(&[2, 2, 1], 17)],
        &[Some(0), None, Some(1)],
        1e-12,
    );
}

#[test]
fn at_updates_grads() {
    let idx = i32s(&[0, 2, 2], &[3]);
    let f = |x: &[Array]| x[0].at(s![&idx]).add(&x[1]);
    check_fd(
        "at add",
        f,
        &[rand(&[4, 3], 18), rand(&[3, 3], 19)],
        1e-6,
        1e-6,
        false,
    );
    check_vmap(
        "vmap at add",
        f,
        &[rand(&[2, 4, 3], 18), rand(&[3, 3], 19)],
        &[Some(0), None],
        1e-12,
    );
}

// ------------------------------------------------------------------------------------------
// take_along_axis / put_along_axis

#[test]
fn along_axis_grads_and_vmap() {
    let x = rand(&[4, 5], 20);
    let idx = i32s(&[0, 4, 4, 1, 2, 2, 0, 3], &[4, 2]);
    for axis in [1isize, -1] {
        let f = |a: &[Array]| mx::take_along_axis(&a[0], &idx, Some(axis));
        check_grads("take_along_axis", f, std::slice::from_ref(&x), 1e-6);
        let xt = mx::transpose(&rand(&[5, 4], 21), None::<[usize; 0]>).unwrap();
        check_grads("take_along_axis transposed", f, &[xt], 1e-6);
        check_vmap(
            "vmap take_along_axis",
            f,
            &[rand(&[4, 3, 5], 22)],
            &[Some(1)],
            1e-12,
        );
    }
    let g = |a: &[Array]| mx::take_along_axis(&a[0], &a[1], Some(0));
    let idxb = i32s(&[0, 3, 1, 1, 2, 0], &[3, 1, 2]);
    check_vmap(
        "vmap take_along idx",
        g,
        &[rand(&[4, 2], 23), idxb.clone()],
        &[None, Some(0)],
        1e-12,
    );
    check_vmap(
        "vmap take_along both",
        g,
        &[rand(&[4, 2, 3], 24), idxb],
        &[Some(2), Some(0)],
        1e-12,
    );

    // put_along_axis (no duplicates: the winner of duplicates is the kernel's order) and
    // scatter_add_axis (duplicates accumulate).
    let pidx = i32s(&[2, 0, 4, 1], &[4, 1]);
    let put = |a: &[Array]| mx::put_along_axis(&a[0], &pidx, &a[1], Some(1));
    check_grads("put_along_axis", put, &[x.clone(), rand(&[4, 1], 25)], 1e-6);
    let didx = i32s(&[1, 1, 0, 3, 3, 3], &[2, 3]);
    let add = |a: &[Array]| mx::scatter_add_axis(&a[0], &didx, &a[1], Some(0));
    check_grads(
        "scatter_add_axis",
        add,
        &[rand(&[4, 3], 26), rand(&[2, 3], 27)],
        1e-6,
    );
    check_vmap(
        "vmap put_along_axis",
        put,
        &[rand(&[4, 5, 3], 28), rand(&[4, 1], 29)],
        &[Some(2), None],
        1e-12,
    );
    check_vmap(
        "vmap scatter_add_axis",
        add,
        &[rand(&[4, 3], 30), rand(&[2, 2, 3], 31)],
        &[None, Some(1)],
        1e-12,
    );
    let addi = |a: &[Array]| mx::scatter_add_axis(&a[0], &a[1], &a[2], Some(0));
    check_vmap(
        "vmap scatter_add_axis idx",
        addi,
        &[
            rand(&[4, 3], 30),
            i32s(&[0, 0, 1, 3, 3, 2, 1, 1, 1, 0, 2, 3], &[2, 2, 3]),
            rand(&[2, 2, 3], 31),
        ],
        &[None, Some(0), Some(0)],
        1e-12,
    );
}

// ------------------------------------------------------------------------------------------
// slice_update, dynamic slices

#[test]
fn slice_update_grads_and_vmap() {
    let f = |a: &[Array]| mx::slice_update(&a[0], &a[1], [1, 0], [4, 5], [2, 2]);
    check_grads(
        "slice_update",
        f,
        &[rand(&[5, 5], 32), rand(&[2, 3], 33)],
        1e-6,
    );
    let r = |a: &[Array]| mx::slice_update(&a[0], &a[1], [3, 4], [-6, -6], [-1, -2]);
    check_grads(
        "slice_update reversed",
        r,
        &[rand(&[5, 5], 34), rand(&[4, 3], 35)],
        1e-6,
    );
    check_vmap(
        "vmap slice_update src",
        f,
        &[rand(&[5, 3, 5], 36), rand(&[2, 3], 37)],
        &[Some(1), None],
        1e-12,
    );
    check_vmap(
        "vmap slice_update upd",
        f,
        &[rand(&[5, 5], 36), rand(&[2, 3, 3], 37)],
        &[None, Some(-1)],
        1e-12,
    );
    check_vmap(
        "vmap slice_update both",
        r,
        &[rand(&[2, 5, 5], 38), rand(&[4, 3, 2], 39)],
        &[Some(0), Some(2)],
        1e-12,
    );

    // The reducing forms: x.at[1:4].add / maximum / multiply.
    let add = |a: &[Array]| a[0].at(s![1..4]).add(&a[1]);
    check_grads(
        "slice_update sum",
        add,
        &[rand(&[5, 2], 40), rand(&[3, 2], 41)],
        1e-6,
    );
    let mx_ = |a: &[Array]| a[0].at(s![1..4]).maximum(&a[1]);
    check_fd(
        "slice_update max",
        mx_,
        &[rand(&[5, 2], 40), rand(&[3, 2], 41)],
        1e-6,
        1e-6,
        false,
    );
    let pr = |a: &[Array]| a[0].at(s![1..4]).multiply(&a[1]);
    check_fd(
        "slice_update prod",
        pr,
        &[rand(&[5, 2], 42), rand(&[3, 2], 43)],
        1e-6,
        1e-6,
        false,
    );
    let e = mx::jvp(
        pr,
        &[rand(&[5, 2], 42), rand(&[3, 2], 43)],
        &[rand(&[5, 2], 1), rand(&[3, 2], 1)],
    )
    .unwrap_err();
    assert_eq!(
        e.message(),
        "[SliceUpdate] JVP for product, minimum and maximum not implemented."
    );
    check_vmap(
        "vmap slice_update max",
        mx_,
        &[rand(&[3, 5, 2], 44), rand(&[3, 2], 45)],
        &[Some(0), None],
        1e-12,
    );
}

#[test]
fn dynamic_slice_grads_and_vmap() {
    let start = i32s(&[1, 2], &[2]);
    let f = |a: &[Array]| mx::slice_dynamic(&a[0], &start, [0, 1], [2, 3]);
    check_grads("slice_dynamic", f, &[rand(&[4, 6], 46)], 1e-6);
    check_vmap(
        "vmap slice_dynamic",
        f,
        &[rand(&[4, 3, 6], 47)],
        &[Some(1)],
        1e-12,
    );
    let u = |a: &[Array]| mx::slice_update_dynamic(&a[0], &a[1], &start, [0, 1]);
    check_grads(
        "slice_update_dynamic",
        u,
        &[rand(&[4, 6], 48), rand(&[2, 3], 49)],
        1e-6,
    );
    check_vmap(
        "vmap slice_update_dynamic src",
        u,
        &[rand(&[4, 6, 2], 50), rand(&[2, 3], 51)],
        &[Some(2), None],
        1e-12,
    );
    check_vmap(
        "vmap slice_update_dynamic upd",
        u,
        &[rand(&[4, 6], 50), rand(&[3, 2, 3], 51)],
        &[None, Some(0)],
        1e-12,
    );
    check_vmap(
        "vmap slice_update_dynamic both",
        u,
        &[rand(&[2, 4, 6], 52), rand(&[2, 3, 2], 53)],
        &[Some(0), Some(2)],
        1e-12,
    );
    let bad = |a: &[Array]| mx::slice_dynamic(&a[0], &a[1], [0], [2]);
    let e =
        mx::vmap(bad, &[None, Some(0)], &[])(&[rand(&[4], 1), i32s(&[0, 1], &[2, 1])]).unwrap_err();
    assert!(e.message().contains("vmap over start indices"), "{e}");
}

// ------------------------------------------------------------------------------------------
// Linear algebra

#[test]
fn addmm_vecdot_grads_and_vmap() {
    for (alpha, beta) in [(1.0f32, 1.0f32), (0.5, -2.0), (2.0, 0.0)] {
        let f = move |a: &[Array]| mx::addmm(&a[0], &a[1], &a[2], alpha, beta);
        let ins = [rand(&[3, 4], 54), rand(&[3, 2], 55), rand(&[2, 4], 56)];
        check_grads(&format!("addmm {alpha} {beta}"), f, &ins, 1e-6);
        // Broadcast c, batched operands, a transposed a.
        let ins = [
            rand(&[4], 57),
            rand(&[2, 3, 2], 58),
            mx::transpose(&rand(&[4, 2], 59), None::<[usize; 0]>).unwrap(),
        ];
        check_grads("addmm broadcast", f, &ins, 1e-6);
        check_vmap(
            "vmap addmm a",
            f,
            &[rand(&[3, 4], 60), rand(&[3, 2, 5], 61), rand(&[2, 4], 62)],
            &[None, Some(2), None],
            1e-12,
        );
        check_vmap(
            "vmap addmm c",
            f,
            &[rand(&[5, 3, 4], 60), rand(&[3, 2], 61), rand(&[2, 4], 62)],
            &[Some(0), None, None],
            1e-12,
        );
        check_vmap(
            "vmap addmm all",
            f,
            &[
                rand(&[3, 4, 5], 60),
                rand(&[5, 3, 2], 61),
                rand(&[2, 5, 4], 62),
            ],
            &[Some(2), Some(0), Some(1)],
            1e-12,
        );
    }
    let v = |a: &[Array]| mx::vecdot(&a[0], &a[1]);
    check_grads("vecdot", v, &[rand(&[3, 4], 63), rand(&[3, 4], 64)], 1e-6);
    let va = |a: &[Array]| mx::vecdot_axis(&a[0], &a[1], 0);
    check_grads(
        "vecdot axis 0 broadcast",
        va,
        &[rand(&[4, 3], 65), rand(&[4, 1], 66)],
        1e-6,
    );
    check_vmap(
        "vmap vecdot",
        v,
        &[rand(&[3, 4, 2], 67), rand(&[4, 2], 68)],
        &[Some(0), None],
        1e-12,
    );
    check_vmap(
        "vmap vecdot last",
        v,
        &[rand(&[4, 2, 3], 67), rand(&[3, 4, 2], 68)],
        &[Some(2), Some(0)],
        1e-12,
    );
}

#[test]
fn gather_mm_vjp() {
    let lhs = i32s(&[0, 1, 1, 0], &[4]);
    let rhs = i32s(&[2, 2, 0, 1], &[4]);
    let f = |a: &[Array]| mx::gather_mm(&a[0], &a[1], Some(&lhs), Some(&rhs), false);
    check_fd(
        "gather_mm",
        f,
        &[rand(&[2, 3, 4], 69), rand(&[3, 4, 2], 70)],
        1e-6,
        1e-6,
        false,
    );
    // A 2-D `a` (MLX fails here: it flattens a's missing batch axes).
    let g = |a: &[Array]| mx::gather_mm(&a[0], &a[1], None, Some(&rhs), false);
    check_fd(
        "gather_mm 2-D a",
        g,
        &[rand(&[3, 4], 71), rand(&[3, 4, 2], 72)],
        1e-6,
        1e-6,
        false,
    );
}

#[test]
fn hadamard_grads_and_vmap() {
    // float32 only: inputs are cast inside.
    for n in [8usize, 12] {
        let f = |a: &[Array]| {
            let y = mx::hadamard_transform(&mx::astype(&a[0], mx::float32)?, None)?;
            mx::astype(&y, mx::float64)
        };
        check_fd(
            &format!("hadamard {n}"),
            f,
            &[rand(&[3, n], 73)],
            1e-4,
            1e-2,
            true,
        );
        check_vmap(
            "vmap hadamard",
            f,
            &[rand(&[3, 2, n], 74)],
            &[Some(1)],
            1e-6,
        );
        check_vmap(
            "vmap hadamard last",
            f,
            &[rand(&[2, n, 3], 75)],
            &[Some(-1)],
            1e-6,
        );
    }
}

// ------------------------------------------------------------------------------------------
// Convolution

type ConvCase = (
    &'static str,
    [usize; 3],
    [usize; 3],
    usize,
    (i64, i64),
    usize,
    usize,
    i64,
    bool,
);

#[test]
fn conv1d_grads_every_setting() {
    // name, input (N, L, C), weight (O, K, C/g), stride, (pad lo, pad hi), kernel dil,
    // input dil, groups, flip.
    // (Negative padding is cropped from the input before the primitive: its gradient is the
    // slice's. Padding past the kernel gives the rule's own negative padding.)
    let cases: [ConvCase; 9] = [
        ("plain", [2, 9, 4], [3, 3, 4], 1, (0, 0), 1, 1, 1, false),
        (
            "stride 2 pad 1",
            [2, 9, 4],
            [3, 3, 4],
            2,
            (1, 1),
            1,
            1,
            1,
            false,
        ),
        (
            "stride 3 remainder",
            [1, 10, 2],
            [2, 3, 2],
            3,
            (0, 0),
            1,
            1,
            1,
            false,
        ),
        (
            "asymmetric pad",
            [2, 9, 4],
            [3, 2, 4],
            2,
            (3, 0),
            1,
            1,
            1,
            false,
        ),
        (
            "pad past kernel",
            [1, 7, 2],
            [2, 2, 2],
            2,
            (4, 5),
            1,
            1,
            1,
            false,
        ),
        (
            "kernel dilation",
            [2, 11, 2],
            [3, 3, 2],
            2,
            (2, 1),
            2,
            1,
            1,
            false,
        ),
        (
            "input dilation",
            [2, 6, 2],
            [3, 3, 2],
            1,
            (1, 2),
            1,
            2,
            1,
            false,
        ),
        ("groups", [2, 9, 6], [4, 3, 3], 2, (1, 1), 2, 1, 2, false),
        ("flip", [2, 9, 4], [4, 3, 2], 2, (2, 0), 1, 2, 2, true),
    ];
    for (name, xs, ws, stride, (lo, hi), kd, id, groups, flip) in cases {
        let f = move |a: &[Array]| {
            mx::conv_general(&a[0], &a[1], stride, ([lo], [hi]), kd, id, groups, flip)
        };
        let ins = [rand(&xs, 76), rand(&ws, 77)];
        check_fd(&format!("conv1d {name}"), f, &ins, 1e-6, 1e-6, false);
        let mut xb = xs.to_vec();
        xb.insert(1, 2);
        let mut wb = ws.to_vec();
        wb.insert(0, 2);
        let (xb, wb) = (rand(&xb, 78), rand(&wb, 79));
        check_vmap(
            &format!("vmap conv1d in {name}"),
            f,
            &[xb.clone(), ins[1].clone()],
            &[Some(1), None],
            1e-10,
        );
        check_vmap(
            &format!("vmap conv1d w {name}"),
            f,
            &[ins[0].clone(), wb.clone()],
            &[None, Some(0)],
            1e-10,
        );
        check_vmap(
            &format!("vmap conv1d both {name}"),
            f,
            &[xb, wb],
            &[Some(1), Some(0)],
            1e-10,
        );
    }
}

#[test]
fn conv2d_grads() {
    let f = |a: &[Array]| mx::conv2d(&a[0], &a[1], [2, 1], [1, 0], [1, 2], 2);
    let ins = [rand(&[2, 7, 6, 4], 80), rand(&[4, 3, 2, 2], 81)];
    check_fd("conv2d", f, &ins, 1e-6, 1e-6, false);
    let xt = mx::transpose(&rand(&[4, 6, 7, 2], 82), Some([3, 2, 1, 0])).unwrap();
    check_fd(
        "conv2d transposed input",
        f,
        &[xt, ins[1].clone()],
        1e-6,
        1e-6,
        false,
    );
    check_vmap(
        "vmap conv2d",
        f,
        &[rand(&[2, 7, 6, 4, 2], 83), ins[1].clone()],
        &[Some(-1), None],
        1e-10,
    );
    let t = |a: &[Array]| mx::conv_transpose2d(&a[0], &a[1], 2, 1, 1, 0, 1);
    check_fd(
        "conv_transpose2d",
        t,
        &[rand(&[1, 4, 3, 2], 84), rand(&[3, 3, 3, 2], 85)],
        1e-6,
        1e-6,
        false,
    );
    let c3 = |a: &[Array]| mx::conv3d(&a[0], &a[1], [1, 2, 1], 1, 1, 1);
    check_fd(
        "conv3d",
        c3,
        &[rand(&[1, 4, 5, 3, 2], 86), rand(&[2, 2, 3, 2, 2], 87)],
        1e-6,
        1e-6,
        false,
    );
    // MLX 0.32.4 has no jvp for Convolution.
    let e = mx::jvp(
        c3,
        &[rand(&[1, 4, 5, 3, 2], 86), rand(&[2, 2, 3, 2, 2], 87)],
        &[rand(&[1, 4, 5, 3, 2], 88), rand(&[2, 2, 3, 2, 2], 89)],
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("Not implemented for Convolution"),
        "{e}"
    );
}

// ------------------------------------------------------------------------------------------
// fast

#[test]
fn norm_grads_and_vmap() {
    let rms = |a: &[Array]| mx::fast::rms_norm(&a[0], Some(&a[1]), 1e-5);
    check_grads("rms_norm", rms, &[rand(&[3, 8], 88), rand(&[8], 89)], 1e-6);
    let rms0 = |a: &[Array]| mx::fast::rms_norm(&a[0], None, 1e-5);
    check_grads("rms_norm no weight", rms0, &[rand(&[2, 3, 8], 90)], 1e-6);
    let ln = |a: &[Array]| mx::fast::layer_norm(&a[0], Some(&a[1]), Some(&a[2]), 1e-5);
    check_grads(
        "layer_norm",
        ln,
        &[rand(&[3, 8], 91), rand(&[8], 92), rand(&[8], 93)],
        1e-6,
    );
    let ln0 = |a: &[Array]| mx::fast::layer_norm(&a[0], None, Some(&a[1]), 1e-5);
    check_grads(
        "layer_norm bias only",
        ln0,
        &[rand(&[3, 8], 94), rand(&[8], 95)],
        1e-6,
    );
    let xt = mx::transpose(&rand(&[8, 3], 96), None::<[usize; 0]>).unwrap();
    check_grads("rms_norm transposed", rms, &[xt, rand(&[8], 97)], 1e-6);
    check_vmap(
        "vmap rms_norm",
        rms,
        &[rand(&[3, 4, 8], 98), rand(&[8], 99)],
        &[Some(1), None],
        1e-10,
    );
    check_vmap(
        "vmap rms_norm last",
        rms,
        &[rand(&[3, 8, 2], 98), rand(&[8], 99)],
        &[Some(2), None],
        1e-10,
    );
    check_vmap(
        "vmap layer_norm",
        ln,
        &[rand(&[2, 3, 8], 100), rand(&[8], 101), rand(&[8], 102)],
        &[Some(0), None, None],
        1e-10,
    );
}

#[test]
fn rope_grads_and_vmap() {
    for traditional in [false, true] {
        let f =
            move |a: &[Array]| mx::fast::rope(&a[0], 6, traditional, Some(10000.0), 0.5, 3, None);
        check_grads("rope", f, &[rand(&[2, 3, 5, 8], 103)], 1e-6);
        check_vmap(
            "vmap rope",
            f,
            &[rand(&[2, 3, 5, 8, 2], 104)],
            &[Some(-1)],
            1e-10,
        );
        check_vmap(
            "vmap rope 0",
            f,
            &[rand(&[3, 2, 5, 8], 105)],
            &[Some(0)],
            1e-10,
        );
    }
    let freqs = rand_in(&[2], 106, 1.0, 3.0).astype(mx::float32).unwrap();
    let f = |a: &[Array]| mx::fast::rope(&a[0], 4, false, None, 1.0, &a[1], Some(&freqs));
    let offs = i32s(&[1, 4], &[2]);
    check_grads(
        "rope offsets",
        |a: &[Array]| mx::fast::rope(&a[0], 4, false, None, 1.0, &offs, Some(&freqs)),
        &[rand(&[2, 3, 6], 107)],
        1e-6,
    );
    check_vmap(
        "vmap rope offset",
        f,
        &[rand(&[2, 3, 6], 108), i32s(&[0, 5, 2], &[3])],
        &[None, Some(0)],
        1e-10,
    );
    check_vmap(
        "vmap rope offset x",
        f,
        &[rand(&[3, 2, 3, 6], 109), i32s(&[0, 5, 2], &[3])],
        &[Some(0), Some(0)],
        1e-10,
    );
}

#[test]
fn sdpa_grads_and_vmap() {
    use mx::fast::AttentionMask;
    let (b, nq, nkv, lq, lk, d) = (2, 4, 2, 3, 5, 4);
    let q = rand(&[b, nq, lq, d], 110);
    let k = rand(&[b, nkv, lk, d], 111);
    let v = rand(&[b, nkv, lk, d], 112);
    let plain = |a: &[Array]| {
        mx::fast::scaled_dot_product_attention(&a[0], &a[1], &a[2], 0.7, AttentionMask::None, None)
    };
    check_grads("sdpa", plain, &[q.clone(), k.clone(), v.clone()], 1e-6);
    let causal = |a: &[Array]| {
        mx::fast::scaled_dot_product_attention(
            &a[0],
            &a[1],
            &a[2],
            0.7,
            AttentionMask::Causal,
            None,
        )
    };
    check_grads(
        "sdpa causal",
        causal,
        &[q.clone(), k.clone(), v.clone()],
        1e-6,
    );
    let keep = rand(&[lq, lk], 113).greater(0.0).unwrap();
    let boolm = |a: &[Array]| {
        mx::fast::scaled_dot_product_attention(
            &a[0],
            &a[1],
            &a[2],
            0.7,
            AttentionMask::Array(keep.clone()),
            None,
        )
    };
    check_grads(
        "sdpa bool mask",
        boolm,
        &[q.clone(), k.clone(), v.clone()],
        1e-6,
    );
    let add = |a: &[Array]| {
        mx::fast::scaled_dot_product_attention(
            &a[0],
            &a[1],
            &a[2],
            0.7,
            AttentionMask::Array(a[3].clone()),
            Some(&a[4]),
        )
    };
    check_grads(
        "sdpa additive mask + sinks",
        add,
        &[
            q.clone(),
            k.clone(),
            v.clone(),
            rand(&[nq, lq, lk], 114),
            rand(&[nq], 115),
        ],
        1e-6,
    );
    check_vmap(
        "vmap sdpa q",
        plain,
        &[rand(&[b, nq, 2, lq, d], 116), k.clone(), v.clone()],
        &[Some(2), None, None],
        1e-10,
    );
    check_vmap(
        "vmap sdpa kv",
        causal,
        &[
            q.clone(),
            rand(&[2, b, nkv, lk, d], 117),
            rand(&[b, nkv, lk, d, 2], 118),
        ],
        &[None, Some(0), Some(-1)],
        1e-10,
    );
    check_vmap(
        "vmap sdpa mask",
        add,
        &[
            q.clone(),
            k.clone(),
            v.clone(),
            rand(&[2, nq, lq, lk], 119),
            rand(&[nq], 120),
        ],
        &[None, None, None, Some(0), None],
        1e-10,
    );
}

// ------------------------------------------------------------------------------------------
// quantized

#[test]
fn quantized_matmul_grads() {
    let w = rand(&[8, 64], 121).astype(mx::float32).unwrap();
    let (wq, s, bias) = mx::quantize(&w, Some(32), Some(4), QuantMode::Affine).unwrap();
    let bias = bias.unwrap();
    for transpose in [true, false] {
        let (wq2, s2, b2) = if transpose {
            (wq.clone(), s.clone(), bias.clone())
        } else {
            let wt = rand(&[64, 32], 130).astype(mx::float32).unwrap(); // (K, N)
            let (a, b, c) = mx::quantize(&wt, Some(32), Some(4), QuantMode::Affine).unwrap();
            (a, b, c.unwrap())
        };
        let k = 64;
        let f = |a: &[Array]| {
            let x = mx::astype(&a[0], mx::float32)?;
            let y = mx::quantized_matmul(
                &x,
                &wq2,
                &s2,
                Some(&b2),
                transpose,
                Some(32),
                Some(4),
                QuantMode::Affine,
            )?;
            mx::astype(&y, mx::float64)
        };
        check_fd("qmm x", f, &[rand(&[2, 3, k], 122)], 1e-4, 1e-2, true);
        let g = |a: &[Array]| {
            let (sc, bi) = (
                mx::astype(&a[0], mx::float32)?,
                mx::astype(&a[1], mx::float32)?,
            );
            let x = rand(&[3, 64], 123).astype(mx::float32)?;
            let y = mx::quantized_matmul(
                &x,
                &wq2,
                &sc,
                Some(&bi),
                transpose,
                Some(32),
                Some(4),
                QuantMode::Affine,
            )?;
            mx::astype(&y, mx::float64)
        };
        check_fd(
            "qmm scales biases",
            g,
            &[
                s2.astype(mx::float64).unwrap(),
                b2.astype(mx::float64).unwrap(),
            ],
            1e-4,
            1e-2,
            false,
        );
    }
    let deq = |a: &[Array]| {
        let (sc, bi) = (
            mx::astype(&a[0], mx::float32)?,
            mx::astype(&a[1], mx::float32)?,
        );
        let y = mx::dequantize(
            &wq,
            &sc,
            Some(&bi),
            Some(32),
            Some(4),
            QuantMode::Affine,
            None,
        )?;
        mx::astype(&y, mx::float64)
    };
    let sb = [
        s.astype(mx::float64).unwrap(),
        bias.astype(mx::float64).unwrap(),
    ];
    check_fd("dequantize", deq, &sb, 1e-4, 1e-2, true);
    check_vmap(
        "vmap dequantize",
        deq,
        &[
            mx::stack(&[sb[0].clone(), &sb[0] * 2.0], 1).unwrap(),
            sb[1].clone(),
        ],
        &[Some(1), None],
        1e-6,
    );
}

#[test]
fn gather_qmm_vjp() {
    let w = rand(&[3, 8, 64], 124).astype(mx::float32).unwrap();
    let (wq, s, bias) = mx::quantize(&w, Some(64), Some(4), QuantMode::Affine).unwrap();
    let bias = bias.unwrap();
    let rhs = i32s(&[2, 0, 2], &[3]);
    let lhs = i32s(&[1, 1, 0], &[3]);
    let f = |a: &[Array]| {
        let x = mx::astype(&a[0], mx::float32)?;
        let y = mx::gather_qmm(
            &x,
            &wq,
            &s,
            Some(&bias),
            Some(&lhs),
            Some(&rhs),
            true,
            Some(64),
            Some(4),
            QuantMode::Affine,
            false,
        )?;
        mx::astype(&y, mx::float64)
    };
    check_fd(
        "gather_qmm x",
        f,
        &[rand(&[2, 2, 64], 125)],
        1e-4,
        1e-2,
        false,
    );
    let g = |a: &[Array]| {
        let (sc, bi) = (
            mx::astype(&a[0], mx::float32)?,
            mx::astype(&a[1], mx::float32)?,
        );
        let x = rand(&[2, 2, 64], 126).astype(mx::float32)?;
        let y = mx::gather_qmm(
            &x,
            &wq,
            &sc,
            Some(&bi),
            Some(&lhs),
            Some(&rhs),
            true,
            Some(64),
            Some(4),
            QuantMode::Affine,
            false,
        )?;
        mx::astype(&y, mx::float64)
    };
    check_fd(
        "gather_qmm scales",
        g,
        &[
            s.astype(mx::float64).unwrap(),
            bias.astype(mx::float64).unwrap(),
        ],
        1e-4,
        1e-2,
        false,
    );
}
