//! Dtype goldens: promotion tables, weak Python scalars, `can_cast`, `issubdtype`, `isdtype`,
//! `finfo`/`iinfo`, and `astype` between all pairs of dtypes, against MLX 0.32.4.

use crate::common::*;
use rmlx_core as mx;
use rmlx_core::{ALL_DTYPES, Dtype, DtypeCategory, DtypeKind, DtypeOrCategory};
use serde_json::{Value, json};

const CATEGORIES: [(&str, DtypeCategory); 8] = [
    ("complexfloating", mx::complexfloating),
    ("floating", mx::floating),
    ("inexact", mx::inexact),
    ("signedinteger", mx::signedinteger),
    ("unsignedinteger", mx::unsignedinteger),
    ("integer", mx::integer),
    ("number", mx::number),
    ("generic", mx::generic),
];

fn dtype(kw: &Value, key: &str) -> Dtype {
    kw_dtype(kw, key).unwrap_or_else(|| panic!("kwarg {key}"))
}

/// The dtypes, then the categories, in the generator's order.
fn everything() -> Vec<(String, DtypeOrCategory)> {
    let mut v: Vec<(String, DtypeOrCategory)> = ALL_DTYPES
        .iter()
        .map(|d| (d.name().to_string(), (*d).into()))
        .collect();
    v.extend(CATEGORIES.iter().map(|(n, c)| (n.to_string(), (*c).into())));
    v
}

fn kind(name: &str) -> mx::Result<DtypeKind> {
    match Dtype::from_name(name) {
        Ok(d) => Ok(DtypeKind::Dtype(d)),
        Err(_) => DtypeKind::from_name(name),
    }
}

fn names(dtypes: impl IntoIterator<Item = Dtype>) -> Value {
    json!(dtypes.into_iter().map(|d| d.name()).collect::<Vec<_>>())
}

#[test]
fn dtype_values_match_mlx() {
    check_values("dtype", |op, ins, kw| {
        Ok(match op {
            "result_type_row" => {
                names(ALL_DTYPES.map(|b| mx::result_type(&[dtype(kw, "a").into(), b.into()])))
            }
            "can_cast_row" => json!(ALL_DTYPES.map(|b| mx::can_cast(dtype(kw, "from"), b))),
            "result_type" => {
                let ds: Vec<mx::DtypeOrArray> = kw["dtypes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| Dtype::from_name(n.as_str().unwrap()).unwrap().into())
                    .collect();
                json!(mx::result_type(&ds).name())
            }
            "result_type_arrays" => {
                let (a, b) = (arr(&ins[0]), arr(&ins[1]));
                json!(
                    mx::result_type(&[(&a).into(), (&b).into(), dtype(kw, "dtype").into()]).name()
                )
            }
            "can_cast_array" => json!(ALL_DTYPES.map(|b| mx::can_cast(arr(&ins[0]).dtype(), b))),
            "issubdtype_columns" => {
                json!(everything().into_iter().map(|(n, _)| n).collect::<Vec<_>>())
            }
            "issubdtype_row" => {
                let all = everything();
                let a = all
                    .iter()
                    .find(|(n, _)| n == kw["a"].as_str().unwrap())
                    .expect("known name")
                    .1;
                json!(
                    all.iter()
                        .map(|(_, b)| mx::issubdtype(a, *b))
                        .collect::<Vec<_>>()
                )
            }
            "isdtype_columns" => {
                let kinds = [
                    "bool",
                    "signed integer",
                    "unsigned integer",
                    "integral",
                    "real floating",
                ];
                let mut v: Vec<&str> = kinds.to_vec();
                v.extend(["complex floating", "numeric"]);
                v.extend(ALL_DTYPES.iter().map(|d| d.name()));
                json!(v)
            }
            "isdtype_row" => {
                let d = dtype(kw, "dtype");
                let kinds = [
                    "bool",
                    "signed integer",
                    "unsigned integer",
                    "integral",
                    "real floating",
                ];
                let mut out: Vec<bool> = kinds
                    .iter()
                    .map(|k| mx::isdtype(d, &[kind(k).unwrap()]))
                    .collect();
                for k in ["complex floating", "numeric"] {
                    out.push(mx::isdtype(d, &[kind(k)?]));
                }
                out.extend(
                    ALL_DTYPES
                        .iter()
                        .map(|e| mx::isdtype(d, &[DtypeKind::Dtype(*e)])),
                );
                json!(out)
            }
            "isdtype_tuple" => {
                // MLX reads the kinds in order and stops at the first match, so an unknown kind
                // after a match is not an error.
                let d = dtype(kw, "dtype");
                let mut hit = false;
                for k in kw["kinds"].as_array().unwrap() {
                    if mx::isdtype(d, &[kind(k.as_str().unwrap())?]) {
                        hit = true;
                        break;
                    }
                }
                json!(hit)
            }
            "finfo" => {
                let f = mx::finfo(dtype(kw, "dtype"))?;
                json!({"min": f.min, "max": f.max, "eps": f.eps, "smallest_normal": f.smallest_normal,
                       "bits": f.bits, "dtype": f.dtype.name()})
            }
            "iinfo" => {
                let i = mx::iinfo(dtype(kw, "dtype"))?;
                let num = |x: i128| -> Value {
                    if let Ok(v) = i64::try_from(x) {
                        json!(v)
                    } else {
                        json!(u64::try_from(x).unwrap())
                    }
                };
                json!({"min": num(i.min), "max": num(i.max), "dtype": i.dtype.name()})
            }
            _ => panic!("unknown value op {op}"),
        })
    });
}

#[test]
fn dtype_arrays_match_mlx() {
    check_family("dtype", |op, ins, kw| match op {
        "add" => Ok(vec![mx::add(ins[0].clone(), ins[1].clone())?]),
        "astype" => Ok(vec![mx::astype(&arr(&ins[0]), dtype(kw, "dtype"))?]),
        _ => panic!("unknown op {op}"),
    });
}
