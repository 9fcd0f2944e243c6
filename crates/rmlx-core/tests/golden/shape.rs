//! Golden cases for slicing, joining, rearranging and creation ops (tools/goldens/gen_shape.py).

use crate::common::*;
use mx::{Array, Operand};
use rmlx_core as mx;
use serde_json::Value;

fn kw_isize(kw: &Value, key: &str) -> isize {
    kw_i64(kw, key).unwrap_or_else(|| panic!("kwarg {key}")) as isize
}

fn kw_isizes(kw: &Value, key: &str) -> Vec<isize> {
    kw_list(kw, key)
        .unwrap_or_else(|| panic!("kwarg {key}"))
        .into_iter()
        .map(|x| x as isize)
        .collect()
}

fn kw_opt(kw: &Value, key: &str) -> Option<isize> {
    kw_i64(kw, key).map(|x| x as isize)
}

/// `pad_width` as Python wrote it: an int, `(n,)`, `(before, after)` or a list of pairs.
fn pad_width(v: &Value) -> mx::PadWidth {
    let int = |v: &Value| v.as_i64().expect("int") as isize;
    match v {
        Value::Number(_) => mx::PadWidth::All(int(v), int(v)),
        Value::Array(items) if items.is_empty() => mx::PadWidth::PerAxis(vec![]),
        Value::Array(items) if items.iter().all(Value::is_number) => match items.len() {
            1 => mx::PadWidth::All(int(&items[0]), int(&items[0])),
            2 => mx::PadWidth::All(int(&items[0]), int(&items[1])),
            n => panic!("pad width of {n} ints"),
        },
        Value::Array(items) => {
            mx::PadWidth::PerAxis(items.iter().map(|p| (int(&p[0]), int(&p[1]))).collect())
        }
        _ => panic!("pad width {v}"),
    }
}

/// A Python number as a `ScalarArg`.
fn scalar_arg(v: &Value) -> mx::ScalarArg {
    match v.as_i64() {
        Some(i) => i.into(),
        None => v.as_f64().expect("number").into(),
    }
}

fn dispatch(op: &str, ins: &[Operand], kw: &Value) -> mx::Result<Vec<Array>> {
    let arrays: Vec<Array> = ins.iter().map(arr).collect();
    let a = || arr(&ins[0]);
    let dtype = || kw_dtype(kw, "dtype").expect("dtype");
    let one = |x: mx::Result<Array>| x.map(|x| vec![x]);
    match op {
        "slice" => one(mx::slice(
            &a(),
            kw_isizes(kw, "start"),
            kw_isizes(kw, "stop"),
            kw_isizes(kw, "strides"),
        )),
        "slice_axis" => {
            let s = mx::AxisSlice::new(
                kw_opt(kw, "start"),
                kw_opt(kw, "stop"),
                kw_opt(kw, "step").unwrap_or(1),
            );
            one(a().slice_axis(kw_isize(kw, "axis"), s))
        }
        "concatenate" => one(match kw_opt(kw, "axis") {
            Some(ax) => mx::concatenate(&arrays, ax),
            None => mx::concatenate_flat(&arrays),
        }),
        "stack" => one(mx::stack(&arrays, kw_isize(kw, "axis"))),
        "split" => match kw_opt(kw, "sections") {
            Some(n) => mx::split(&a(), n, kw_isize(kw, "axis")),
            None => mx::split(&a(), kw_isizes(kw, "indices"), kw_isize(kw, "axis")),
        },
        "unstack" => mx::unstack(&a(), kw_isize(kw, "axis")),
        "pad" => {
            let mode = mx::PadMode::from_name(kw["mode"].as_str().expect("mode"))?;
            one(mx::pad_with(
                &a(),
                pad_width(&kw["pad_width"]),
                mode,
                ins[1].clone(),
            ))
        }
        "repeat" => {
            let r = kw_isize(kw, "repeats") as usize;
            one(match kw_opt(kw, "axis") {
                Some(ax) => mx::repeat_axis(&a(), r, ax),
                None => mx::repeat(&a(), r),
            })
        }
        "tile" => one(mx::tile(&a(), kw_isizes(kw, "reps"))),
        "roll" => {
            let shift: mx::RollShift = match &kw["shift"] {
                Value::Array(_) => kw_isizes(kw, "shift").into(),
                _ => kw_isize(kw, "shift").into(),
            };
            one(match kw["axis"] {
                Value::Null => mx::roll(&a(), shift),
                _ => mx::roll_axes(&a(), shift, kw_isizes(kw, "axis")),
            })
        }
        "flip" => one(match kw["axis"] {
            Value::Null => mx::flip(&a()),
            _ => mx::flip_axes(&a(), kw_isizes(kw, "axis")),
        }),
        "diag" => one(mx::diag(&a(), kw_isize(kw, "k"))),
        "diagonal" => one(a().diagonal(
            kw_isize(kw, "offset"),
            kw_isize(kw, "axis1"),
            kw_isize(kw, "axis2"),
        )),
        "view" => one(mx::view(ins[0].clone(), dtype())),
        "diff" => one(mx::diff(
            &a(),
            kw_isize(kw, "n") as usize,
            kw_isize(kw, "axis"),
        )),
        "tril" => one(mx::tril(&a(), kw_isize(kw, "k"))),
        "triu" => one(mx::triu(&a(), kw_isize(kw, "k"))),
        "meshgrid" => mx::meshgrid(
            &arrays,
            kw_bool(kw, "sparse").expect("sparse"),
            kw["indexing"].as_str().expect("indexing"),
        ),
        "atleast_1d" => one(mx::atleast_1d(&a())),
        "atleast_2d" => one(mx::atleast_2d(&a())),
        "atleast_3d" => one(mx::atleast_3d(&a())),
        "linspace" => one(mx::linspace_with(
            scalar_arg(&kw["start"]),
            scalar_arg(&kw["stop"]),
            kw_isize(kw, "num") as usize,
            kw_bool(kw, "endpoint").expect("endpoint"),
            dtype(),
        )),
        "eye" => one(mx::eye(
            kw_isize(kw, "n") as usize,
            kw_opt(kw, "m").map(|m| m as usize),
            kw_isize(kw, "k"),
            dtype(),
        )),
        "identity" => one(mx::identity(kw_isize(kw, "n") as usize, dtype())),
        "tri" => one(mx::tri(
            kw_isize(kw, "n") as usize,
            kw_opt(kw, "m").map(|m| m as usize),
            kw_isize(kw, "k"),
            dtype(),
        )),
        _ => panic!("unknown op {op}"),
    }
}

#[test]
fn shape_matches_mlx() {
    check_family("shape", dispatch);
}

/// Step 0 is an error (MLX divides by it); NumPy's rules everywhere else.
#[test]
fn slice_errors() {
    let a = mx::zeros(&[3, 4], mx::float32).unwrap();
    assert_eq!(
        mx::slice(&a, [0, 0], [3, 4], [0, 1]).unwrap_err().kind(),
        mx::ErrorKind::Value
    );
    assert_eq!(
        mx::slice(&a, [0], [3], [1]).unwrap_err().kind(),
        mx::ErrorKind::Value
    );
    assert_eq!(
        a.slice_axis(2, ..).unwrap_err().kind(),
        mx::ErrorKind::Index
    );
    assert_eq!(a.slice_axis(0, 1..).unwrap().shape(), &[2, 4]);
    assert_eq!(a.slice_axis(-1, ..-1).unwrap().shape(), &[3, 3]);
    assert_eq!(
        a.slice_axis(1, mx::AxisSlice::from(0..=2).step(2))
            .unwrap()
            .shape(),
        &[3, 2]
    );
}

/// `view` to bool maps bytes to 0/1 (a documented deviation: MLX keeps the raw byte).
#[test]
fn view_as_bool_normalises() {
    let a = Array::from_slice(&[0u8, 1, 2, 255], &[4]).unwrap();
    let b = mx::view(&a, mx::bool_).unwrap();
    assert_eq!(b.to_vec::<bool>().unwrap(), vec![false, true, true, true]);
    assert_eq!(
        mx::view(&b, mx::uint8).unwrap().to_vec::<u8>().unwrap(),
        vec![0, 1, 1, 1]
    );
}
