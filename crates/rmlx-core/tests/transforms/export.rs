//! export_function / import_function: round trips through a file and through bytes, and
//! corrupt files as errors.

use crate::common::rand;
use rmlx_core as mx;
use rmlx_core::{Array, Result};

fn model(x: &[Array], w: &Array, b: &Array) -> Result<Vec<Array>> {
    let h = mx::tanh(&mx::add(&mx::matmul(&x[0], w)?, b)?)?;
    let p = mx::softmax(&mx::multiply(&h, 2.0)?, [-1])?;
    Ok(vec![
        p.clone(),
        mx::argmax_axis(&p, -1, false)?,
        mx::sum(&h)?,
    ])
}

#[test]
fn exported_functions_compute_what_the_function_did() {
    let w = rand(&[4, 3], 1).astype(mx::float32).unwrap();
    let b = rand(&[3], 2).astype(mx::float32).unwrap();
    let path = std::env::temp_dir().join(format!("rmlx_export_{}.rmlxfn", std::process::id()));
    let (w2, b2) = (w.clone(), b.clone());
    let example = rand(&[5, 4], 3).astype(mx::float32).unwrap();
    mx::export_function(&path, move |x: &[Array]| model(x, &w2, &b2), &[example]).unwrap();
    let f = mx::import_function(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(f.input_specs()[0][0].shape, vec![5, 4]);
    // New data of the exported shape: the same outputs, bit for bit.
    let x = rand(&[5, 4], 4).astype(mx::float32).unwrap();
    let got = f.call(std::slice::from_ref(&x)).unwrap();
    let want = model(std::slice::from_ref(&x), &w, &b).unwrap();
    assert_eq!(got.len(), 3);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.dtype(), w.dtype());
        assert_eq!(g.shape(), w.shape());
        assert_eq!(
            g.astype(mx::float64).unwrap().to_vec::<f64>().unwrap(),
            w.astype(mx::float64).unwrap().to_vec::<f64>().unwrap()
        );
    }
    // An imported function can be differentiated and vmapped like any other.
    let g = mx::grad(|x: &[Array]| mx::sum(&f.call(x)?[0]), 0)(std::slice::from_ref(&x));
    assert!(g.is_ok());
    // Inputs of another shape or dtype are an error naming what it takes.
    let e = f
        .call(&[mx::zeros(&[2, 4], mx::float32).unwrap()])
        .unwrap_err();
    assert!(e.message().contains("[float32(5,4)]"), "{e}");
    let e = f.call(&[x.astype(mx::float16).unwrap()]).unwrap_err();
    assert!(e.message().contains("[import_function]"), "{e}");
}

#[test]
fn functions_with_user_closures_cannot_be_exported() {
    let ste = mx::custom_vjp(
        |x: &[Array]| mx::round(&x[0]),
        |_, c, _| Ok(vec![c[0].clone()]),
    );
    let e = mx::export_function_bytes(ste, &[mx::array![1.0]]).unwrap_err();
    assert!(e.message().contains("CustomTransforms"), "{e}");
}

#[test]
fn corrupt_files_are_errors() {
    let w = mx::array![[1.0f32, 2.0], [3.0, 4.0]];
    let bytes = mx::export_function_bytes(
        move |x: &[Array]| mx::add(&mx::matmul(&x[0], &w)?, 1.0),
        &[mx::zeros(&[1, 2], mx::float32).unwrap()],
    )
    .unwrap();
    assert!(mx::import_function_bytes(&bytes).is_ok());
    let err = |b: &[u8]| {
        mx::import_function_bytes(b)
            .err()
            .map(|e| e.message().to_string())
    };
    // Every truncation fails cleanly.
    for n in 0..bytes.len() {
        assert!(err(&bytes[..n]).is_some(), "truncated to {n} bytes");
    }
    // Wrong magic; a header length past the end.
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(err(&b).unwrap().contains("not an rmlx function file"));
    let mut b = bytes.clone();
    b[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(err(&b).unwrap().contains("header is longer"));
    // Edits of the header: a forward node reference, an unknown primitive, bad parameters,
    // a constant past the end, an absurd shape.
    let len = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[16..16 + len])
        .unwrap()
        .to_string();
    let edit = |from: &str, to: &str| -> Option<String> {
        assert!(header.contains(from), "{from} not in {header}");
        let h = header.replacen(from, to, 1);
        let mut b = bytes[..8].to_vec();
        b.extend_from_slice(&(h.len() as u64).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(&bytes[16 + len..]);
        err(&b)
    };
    assert!(
        edit("\"node\":[0,0]", "\"node\":[7,0]")
            .unwrap()
            .contains("points forward")
    );
    assert!(
        edit("\"primitive\":\"Matmul\"", "\"primitive\":\"Nope\"")
            .unwrap()
            .contains("Unknown primitive Nope")
    );
    assert!(
        edit("\"offset\":0", "\"offset\":99999")
            .unwrap()
            .contains("past the end")
    );
    assert!(edit("\"shape\":[1,2]", "\"shape\":[1e30]").is_some());
    assert!(
        edit(
            "\"shape\":[1,2]",
            "\"shape\":[4294967296,4294967296,4294967296]"
        )
        .unwrap()
        .contains("too large")
    );
}

#[test]
fn shapeless_exports_serve_new_shapes_of_the_traced_ranks() {
    let w = rand(&[4, 3], 5).astype(mx::float32).unwrap();
    let b = rand(&[3], 6).astype(mx::float32).unwrap();
    let (w2, b2) = (w.clone(), b.clone());
    let options = mx::ExportOptions {
        shapeless: true,
        metadata: String::new(),
    };
    let example = rand(&[5, 4], 7).astype(mx::float32).unwrap();
    let bytes = mx::export_function_bytes_with(
        move |x: &[Array]| model(x, &w2, &b2),
        &[example],
        &[],
        &options,
    )
    .unwrap();
    let f = mx::import_function_bytes(&bytes).unwrap();
    assert!(f.is_shapeless());
    for rows in [5, 2, 9] {
        let x = rand(&[rows, 4], 8).astype(mx::float32).unwrap();
        let got = f.call(std::slice::from_ref(&x)).unwrap();
        let want = model(&[x], &w, &b).unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.shape(), w.shape());
            let (g, w) = (
                g.astype(mx::float64).unwrap().to_vec::<f64>().unwrap(),
                w.astype(mx::float64).unwrap().to_vec::<f64>().unwrap(),
            );
            assert!(g.iter().zip(&w).all(|(a, b)| (a - b).abs() < 1e-5));
        }
    }
    // Another rank is no trace.
    assert!(f.call(&[mx::zeros(&[4], mx::float32).unwrap()]).is_err());
    // Not shapeless: only the exported shape.
    let g = mx::import_function_bytes(
        &mx::export_function_bytes(|x: &[Array]| mx::exp(&x[0]), &[mx::array![0.0]]).unwrap(),
    )
    .unwrap();
    assert!(!g.is_shapeless());
    assert!(g.call(&[mx::array![0.0, 1.0]]).is_err());
}

#[test]
fn exports_keep_metadata_and_keyword_names() {
    let options = mx::ExportOptions {
        shapeless: false,
        metadata: "{\"name\": \"model\"}".into(),
    };
    let kw = vec!["z".to_string()];
    let path = std::env::temp_dir().join(format!("rmlx_export_kw_{}.rmlxfn", std::process::id()));
    let mut ex = mx::exporter_with(&path, |x: &[Array]| mx::subtract(&x[0], &x[1]), options);
    ex.call(&[mx::array![1.0], mx::array![2.0]]).unwrap();
    ex.call_with_keywords(&[mx::array![1.0], mx::array![2.0]], &kw)
        .unwrap();
    ex.close().unwrap();
    let f = mx::import_function(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(f.metadata(), "{\"name\": \"model\"}");
    assert_eq!(f.keywords(), vec![&[][..], &kw[..]]);
    let (a, b) = (mx::array![5.0], mx::array![2.0]);
    let by_position = f.call(&[a.clone(), b.clone()]).unwrap();
    let by_name = f.call_with_keywords(&[a.clone(), b.clone()], &kw).unwrap();
    assert_eq!(by_position[0].item::<f32>().unwrap(), 3.0);
    assert_eq!(by_name[0].item::<f32>().unwrap(), 3.0);
    // A name the traces do not have.
    let e = f
        .call_with_keywords(&[a, b], &["y".to_string()])
        .unwrap_err();
    assert!(
        e.message()
            .starts_with("[import_function] No traced function")
    );
    // No metadata: an empty string.
    let bytes =
        mx::export_function_bytes(|x: &[Array]| mx::exp(&x[0]), &[mx::array![0.0]]).unwrap();
    assert_eq!(mx::import_function_bytes(&bytes).unwrap().metadata(), "");
}
