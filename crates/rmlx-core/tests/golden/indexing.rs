//! Golden cases of the indexing family (take, take_along_axis, put_along_axis, dynamic
//! slices, slice_update, getitem, setitem, `.at[]` updates) recorded from MLX 0.32.4, plus
//! rmlx's own checks: out-of-range indices (errors where MLX reads garbage), views, large
//! gathers and scatters on the parallel paths, and the `s!` macro.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{Array, Ellipsis, ErrorKind, Index, NewAxis, Operand, s};
use serde_json::Value;

/// The axis kwarg: absent or null is `None`.
fn axis_kw(kw: &Value) -> Option<isize> {
    kw.get("axis").and_then(Value::as_i64).map(|a| a as isize)
}

/// The index of a getitem / setitem / at case; `arrays` are its index arrays.
fn build_index(kw: &Value, arrays: &[Operand]) -> Vec<Index> {
    kw["index"]
        .as_array()
        .expect("index")
        .iter()
        .map(|e| {
            if let Some(i) = e.get("int") {
                Index::Int(i.as_i64().unwrap() as isize)
            } else if let Some(s) = e.get("slice") {
                let f = |v: &Value| v.as_i64().map(|x| x as isize);
                let step = f(&s[2]).unwrap_or(1);
                Index::Slice(mx::AxisSlice::new(f(&s[0]), f(&s[1]), step))
            } else if e.get("none").is_some() {
                Index::NewAxis
            } else if e.get("ellipsis").is_some() {
                Index::Ellipsis
            } else {
                let k = e["array"].as_u64().unwrap() as usize;
                Index::Array(arr(&arrays[k]))
            }
        })
        .collect()
}

fn dispatch(op: &str, ins: &[Operand], kw: &Value) -> mx::Result<Vec<Array>> {
    let a = arr(&ins[0]);
    let axis = axis_kw(kw);
    let out = match op {
        "take" => match kw_i64(kw, "int_index") {
            Some(i) => mx::take(&a, i as isize, axis)?,
            None => mx::take(&a, arr(&ins[1]), axis)?,
        },
        "take_along_axis" => mx::take_along_axis(&a, &arr(&ins[1]), axis)?,
        "put_along_axis" => mx::put_along_axis(&a, &arr(&ins[1]), ins[2].clone(), axis)?,
        "slice_dynamic" => mx::slice_dynamic(
            &a,
            &arr(&ins[1]),
            kw_list(kw, "axes").unwrap(),
            kw_list(kw, "slice_size").unwrap(),
        )?,
        "slice_update_dynamic" => mx::slice_update_dynamic(
            &a,
            ins[1].clone(),
            &arr(&ins[2]),
            kw_list(kw, "axes").unwrap(),
        )?,
        "getitem" => a.index(build_index(kw, &ins[1..]))?,
        "setitem" => {
            let mut x = a.clone();
            x.index_put(build_index(kw, &ins[2..]), ins[1].clone())?;
            x
        }
        "at" => {
            let at = a.at(build_index(kw, &ins[2..]));
            let v = ins[1].clone();
            match kw["method"].as_str().unwrap() {
                "add" => at.add(v)?,
                "subtract" => at.subtract(v)?,
                "multiply" => at.multiply(v)?,
                "divide" => at.divide(v)?,
                "maximum" => at.maximum(v)?,
                "minimum" => at.minimum(v)?,
                m => panic!("unknown method {m}"),
            }
        }
        _ => panic!("unknown op {op}"),
    };
    Ok(vec![out])
}

#[test]
fn indexing_matches_mlx() {
    check_family("indexing", dispatch);
}

fn iota(shape: &[usize]) -> Array {
    let n: usize = shape.iter().product();
    mx::arange(0, n as i64, 1).unwrap().reshape(shape).unwrap()
}

#[test]
fn static_out_of_range_is_an_index_error_at_build() {
    let a = iota(&[3, 4]);
    for idx in [
        s![3],
        s![-4],
        s![.., 4],
        s![Ellipsis, -5],
        s![NewAxis, 0, 9],
    ] {
        let e = a.index(idx).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Index, "{e}");
    }
    let e = a.index(s![.., 7]).unwrap_err();
    assert!(e.to_string().contains("7") && e.to_string().contains("axis 1"));
    assert!(e.to_string().contains("size 4"), "{e}");
    assert_eq!(mx::take(&a, 12, None).unwrap_err().kind(), ErrorKind::Index);
    assert_eq!(
        mx::take(&a, -4, Some(0)).unwrap_err().kind(),
        ErrorKind::Index
    );
    let mut x = a.clone();
    assert_eq!(x.index_put(s![5], 1).unwrap_err().kind(), ErrorKind::Index);
    assert_eq!(
        a.at(s![.., -5]).add(1).unwrap_err().kind(),
        ErrorKind::Index
    );
}

#[test]
fn out_of_range_in_index_arrays_fails_evaluation() -> mx::Result<()> {
    let a = iota(&[3, 4]);
    let bad = mx::array![0, 3];
    let cases: Vec<mx::Result<Array>> = vec![
        a.index(s![&bad]),
        a.index(s![.., mx::array![-5]]),
        mx::take(&a, &mx::array![12], None),
        mx::take(&a, &bad, Some(0)),
        mx::take_along_axis(&a, &mx::array![[4]], Some(1)),
        mx::put_along_axis(&a, &mx::array![[3]], 1, Some(0)),
        a.at(s![&bad]).add(1),
        {
            let mut x = a.clone();
            x.index_put(s![&mx::array![0, -4]], 1).map(|_| x)
        },
        mx::slice_dynamic(&a, &mx::array![2], [0], [2, 4]),
        mx::slice_dynamic(&a, &mx::array![-1], [1], [1, 1]),
        mx::slice_update_dynamic(&a, mx::array![[1, 2]], &mx::array![3], [1]),
    ];
    for (k, c) in cases.into_iter().enumerate() {
        let x = c.unwrap_or_else(|e| panic!("case {k} failed to build: {e}"));
        let e = x.eval().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Index, "case {k}: {e}");
    }
    // Unsigned indices never wrap: 255 is out of range, not -1.
    let e = mx::take(&a, &Array::from_slice(&[255u8], &[1])?, None)
        .unwrap()
        .eval()
        .unwrap_err();
    assert!(e.to_string().contains("255"), "{e}");
    Ok(())
}

#[test]
fn basic_indexing_gives_views() -> mx::Result<()> {
    let a = iota(&[4, 5, 6]);
    a.eval()?;
    for idx in [
        s![1],
        s![.., 2..5;2, NewAxis, -1],
        s![..;-1, Ellipsis, 1..],
        s![NewAxis, Ellipsis, NewAxis],
        s![0..=2, 3],
    ] {
        let v = a.index(idx)?;
        assert!(only_views(&v, &a), "{:?}", v.shape());
    }
    assert!(!only_views(&a.index(s![&mx::array![0]])?, &a));
    assert_eq!(a.index(s![..;-1, Ellipsis, 1..])?.shape(), &[4, 5, 5]);
    assert_eq!(
        a.index(s![1, .., 2..5;2, NewAxis])?.to_vec::<i32>()?,
        vec![32, 34, 38, 40, 44, 46, 50, 52, 56, 58]
    );
    Ok(())
}

/// Whether `v` reaches `base` through view primitives only (slice, reshape, transpose).
fn only_views(v: &Array, base: &Array) -> bool {
    let mut stack = vec![v.clone()];
    while let Some(x) = stack.pop() {
        if x.is_same(base) {
            continue;
        }
        match x.primitive_name() {
            Some("Slice" | "Reshape" | "Transpose") => stack.extend(x.inputs()),
            _ => return false,
        }
    }
    true
}

#[test]
fn macro_forms() -> mx::Result<()> {
    let a = iota(&[3, 4]);
    let i: usize = 2;
    let n: i64 = -1;
    assert_eq!(a.index(s![i, n])?.item::<i32>()?, 11);
    assert_eq!(a.index(s![.., ..=1])?.shape(), &[3, 2]);
    assert_eq!(a.index(s![..2, 1..])?.shape(), &[2, 3]);
    assert_eq!(a.index(s![1.., ..;-2])?.to_vec::<i32>()?, vec![7, 5, 11, 9]);
    assert_eq!(
        a.index(s![0..i;1, mx::AxisSlice::from(1..).step(2)])?
            .to_vec::<i32>()?,
        vec![1, 3, 5, 7]
    );
    assert_eq!(a.index(s![])?.shape(), &[3, 4]);
    let idx = mx::array![[0, 2]];
    assert_eq!(a.index(s![idx.clone(), -1])?.to_vec::<i32>()?, vec![3, 11]);
    Ok(())
}

/// A deterministic pseudo-random sequence.
fn lcg(n: usize, modulo: u64) -> Vec<i32> {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) % modulo) as i32
        })
        .collect()
}

#[test]
fn large_gathers_and_scatters() -> mx::Result<()> {
    // Embedding lookup and its gradient-style scatter_add, with many duplicate ids.
    let (vocab, dim, n) = (50usize, 300usize, 2000usize);
    let w: Vec<f32> = (0..vocab * dim).map(|x| x as f32).collect();
    let weight = Array::from_slice(&w, &[vocab, dim])?;
    let ids = lcg(n, vocab as u64);
    let id_arr = Array::from_slice(&ids, &[n])?;
    let e = mx::take(&weight, &id_arr, Some(0))?.to_vec::<f32>()?;
    for (k, &id) in ids.iter().enumerate() {
        assert_eq!(
            &e[k * dim..(k + 1) * dim],
            &w[id as usize * dim..(id as usize + 1) * dim]
        );
    }
    // Transposed source: not a row copy.
    let wt = weight.T();
    let et = mx::take(&wt, &id_arr, Some(1))?.to_vec::<f32>()?;
    for r in 0..dim {
        for (k, &id) in ids.iter().enumerate().take(50) {
            assert_eq!(et[r * n + k], w[id as usize * dim + r]);
        }
    }
    let g: Vec<f32> = (0..n * dim).map(|x| (x % 7) as f32).collect();
    let grads = Array::from_slice(&g, &[n, dim])?;
    let zeros = mx::zeros(&[vocab, dim], mx::float32)?;
    let acc = zeros.at(s![&id_arr]).add(&grads)?.to_vec::<f32>()?;
    let mut want = vec![0f32; vocab * dim];
    for (k, &id) in ids.iter().enumerate() {
        for j in 0..dim {
            want[id as usize * dim + j] += g[k * dim + j];
        }
    }
    assert_eq!(acc, want);
    // Max with duplicates and last-wins assignment on the parallel path.
    let mx_acc = zeros.at(s![&id_arr]).maximum(&grads)?.to_vec::<f32>()?;
    let mut want_max = vec![0f32; vocab * dim];
    let mut want_set = w.clone();
    for (k, &id) in ids.iter().enumerate() {
        for j in 0..dim {
            let y = &mut want_max[id as usize * dim + j];
            *y = y.max(g[k * dim + j]);
            want_set[id as usize * dim + j] = g[k * dim + j];
        }
    }
    assert_eq!(mx_acc, want_max);
    let mut set = weight.clone();
    set.index_put(s![&id_arr], &grads)?;
    assert_eq!(set.to_vec::<f32>()?, want_set);
    // take_along_axis over a large array.
    let big = iota(&[300, 400]);
    let ii = Array::from_slice(&lcg(300 * 400, 400), &[300, 400])?;
    let got = mx::take_along_axis(&big, &ii, Some(1))?.to_vec::<i32>()?;
    let iv = ii.to_vec::<i32>()?;
    for r in 0..300 {
        for c in 0..400 {
            assert_eq!(got[r * 400 + c], (r * 400) as i32 + iv[r * 400 + c]);
        }
    }
    Ok(())
}

#[test]
fn static_slice_update_and_scatter() -> mx::Result<()> {
    let a = iota(&[3, 4]);
    let upd = mx::array![[-1], [-2], [-3]];
    let b = mx::slice_update(&a, &upd, [2, 3], [-4, -5], [-1, -3])?;
    assert_eq!(
        b.to_vec::<i32>()?,
        vec![-3, 1, 2, -3, -2, 5, 6, -2, -1, 9, 10, -1]
    );
    assert!(mx::slice_update(&a, mx::array![1, 2, 3], [0, 0], [1, 4], [1, 1]).is_err());
    let s = mx::scatter(
        &a,
        &[mx::array![0, 0]],
        &mx::array![[[10, 20]], [[30, 40]]],
        0,
        mx::ScatterReduce::Sum,
    )?;
    assert_eq!(&s.to_vec::<i32>()?[..4], &[40, 61, 2, 3]);
    Ok(())
}
