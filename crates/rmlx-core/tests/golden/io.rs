//! File formats against files written by MLX 0.32.4 (tools/goldens/gen_io.py): rmlx reads
//! MLX's safetensors file, writes the same bytes for the same arrays, and rejects corrupt files.

use rmlx_core as mx;
use rmlx_core::io::{npy, safetensors};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/goldens/io")
}

/// The expected array `name` (bfloat16 is stored as its bits).
fn expected(name: &str, dtype: mx::Dtype) -> mx::Array {
    let bytes = std::fs::read(dir().join(format!("{name}.npy"))).unwrap();
    let a = npy::parse_npy(&bytes).unwrap();
    if dtype == mx::bfloat16 {
        mx::view(&a, mx::bfloat16).unwrap()
    } else {
        a
    }
}

#[test]
fn safetensors_written_by_mlx_load_and_rewrite_byte_for_byte() {
    let file = std::fs::read(dir().join("mlx_all.safetensors")).unwrap();
    let st = safetensors::from_bytes(&file).unwrap();
    assert_eq!(
        st.metadata,
        vec![
            ("format".to_string(), "mlx".to_string()),
            ("note".to_string(), "written by MLX 0.32.4".to_string())
        ]
    );
    assert_eq!(st.arrays.len(), 15);
    for (name, a) in &st.arrays {
        let want = expected(name, a.dtype());
        assert_eq!(a.shape(), want.shape(), "{name}");
        assert_eq!(a.dtype(), want.dtype(), "{name}");
        assert!(
            mx::array_equal(a, &want, true)
                .unwrap()
                .item::<bool>()
                .unwrap(),
            "{name}: {a} vs {want}"
        );
    }
    // The same arrays (from non-contiguous views too) written by rmlx: the same header fields
    // (MLX lays the data out in hash-map order, rmlx in key order) and the same arrays back.
    let arrays: Vec<(&str, &mx::Array)> = st.arrays.iter().map(|(k, a)| (k.as_str(), a)).collect();
    let i32_view = expected("i32", mx::int32)
        .transpose()
        .unwrap()
        .transpose()
        .unwrap();
    let mut with_view = arrays.clone();
    for entry in with_view.iter_mut() {
        if entry.0 == "i32" {
            entry.1 = &i32_view;
        }
    }
    let ours = safetensors::to_bytes(
        &with_view,
        &[("format", "mlx"), ("note", "written by MLX 0.32.4")],
    )
    .unwrap();
    let header = |b: &[u8]| -> serde_json::Value {
        let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
        let mut h: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
        for (_, v) in h.as_object_mut().unwrap().iter_mut() {
            if let Some(o) = v.as_object_mut() {
                o.remove("data_offsets");
            }
        }
        h
    };
    assert_eq!(header(&ours), header(&file));
    let back = safetensors::from_bytes(&ours).unwrap();
    assert_eq!(back.metadata, st.metadata);
    for (name, a) in &st.arrays {
        let b = back.get(name).unwrap();
        assert!(
            mx::array_equal(a, b, true).unwrap().item::<bool>().unwrap(),
            "{name}"
        );
        assert_eq!(a.dtype(), b.dtype(), "{name}");
    }
}

#[test]
fn safetensors_errors() {
    // MLX refuses float64 and so does rmlx; duplicate names are an error.
    let f64 = mx::array![1.0].astype(mx::float64).unwrap();
    let e = safetensors::to_bytes(&[("x", &f64)], &[]).unwrap_err();
    assert_eq!(e.message(), "[save_safetensors] received invalid dtype.");
    let a = mx::array![1.0f32];
    assert!(safetensors::to_bytes(&[("x", &a), ("x", &a)], &[]).is_err());
    // Corrupt files: every truncation, a huge header length, bad JSON, a tensor past the end,
    // a size that does not match the shape, an unknown dtype, non-string metadata.
    let good = safetensors::to_bytes(&[("a", &mx::array![1i32, 2, 3])], &[("k", "v")]).unwrap();
    assert!(safetensors::from_bytes(&good).is_ok());
    for n in 0..good.len() {
        assert!(
            safetensors::from_bytes(&good[..n]).is_err(),
            "truncated to {n}"
        );
    }
    let mut b = good.clone();
    b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(safetensors::from_bytes(&b).is_err());
    let with_header = |h: &str, data: &[u8]| {
        let mut b = (h.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(data);
        safetensors::from_bytes(&b)
            .map(|_| ())
            .unwrap_err()
            .message()
            .to_string()
    };
    let data = [0u8; 12];
    assert!(with_header("{not json", &data).contains("not JSON"));
    assert!(
        with_header(
            r#"{"a":{"dtype":"I32","shape":[3],"data_offsets":[0,16]}}"#,
            &data
        )
        .contains("claims bytes")
    );
    assert!(
        with_header(
            r#"{"a":{"dtype":"I32","shape":[2],"data_offsets":[0,12]}}"#,
            &data
        )
        .contains("claims bytes")
    );
    assert!(
        with_header(
            r#"{"a":{"dtype":"Q4","shape":[3],"data_offsets":[0,12]}}"#,
            &data
        )
        .contains("not supported")
    );
    assert!(with_header(r#"{"a":{"dtype":"I32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,12]}}"#, &data).contains("absurd"));
    assert!(with_header(r#"{"__metadata__":{"k":1}}"#, &data).contains("not a string"));
    assert!(with_header(r#"[1,2]"#, &data).contains("not a JSON object"));
}

#[test]
fn npy_written_by_mlx_and_numpy_loads_and_round_trips() {
    for (name, dtype) in [
        ("i32", mx::int32),
        ("u8", mx::uint8),
        ("bf16", mx::bfloat16),
        ("scalar", mx::float32),
        ("c64", mx::complex64),
        ("bool", mx::bool_),
    ] {
        let a = npy::load(dir().join(format!("mlx_{name}.npy"))).unwrap();
        let want = expected(name, dtype);
        assert_eq!(
            (a.shape(), a.dtype()),
            (want.shape(), want.dtype()),
            "{name}"
        );
        assert!(
            mx::array_equal(&a, &want, true)
                .unwrap()
                .item::<bool>()
                .unwrap(),
            "{name}"
        );
        // rmlx's bytes load back to the same array.
        let back = npy::parse_npy(&npy::to_npy_bytes(&a).unwrap()).unwrap();
        assert!(
            mx::array_equal(&a, &back, true)
                .unwrap()
                .item::<bool>()
                .unwrap(),
            "{name}"
        );
        assert_eq!(back.dtype(), a.dtype());
    }
    let f = npy::load(dir().join("numpy_fortran.npy")).unwrap();
    assert_eq!(f.shape(), &[3, 4]);
    assert_eq!(f.to_vec::<i16>().unwrap(), (0..12).collect::<Vec<i16>>());
    // NumPy's 64-byte alignment of the data.
    let bytes = npy::to_npy_bytes(&mx::array![[1.0f32, 2.0]]).unwrap();
    assert_eq!((bytes.len() - 8) % 64, 0);
    assert!(
        std::str::from_utf8(&bytes[10..bytes.len() - 8])
            .unwrap()
            .starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }")
    );
}
