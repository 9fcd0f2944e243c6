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

/// 8-bit float tensors load as their bytes (uint8), as MLX loads them; `from_fp8` decodes
/// E4M3 (the bytes and values of MLX's test_load_f8_e4m3).
#[test]
fn safetensors_fp8_loads_as_bytes() {
    let bytes = [0u8, 0x7e, 0xfe, 0xb6, 0x2e, 0x83, 0xba, 0xba, 0xbc, 0x82];
    for code in ["F8_E4M3", "F8_E8M0"] {
        let h = format!(r#"{{"tensor":{{"dtype":"{code}","shape":[10],"data_offsets":[0,10]}}}}"#);
        let mut b = (h.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(&bytes);
        let st = safetensors::from_bytes(&b).unwrap();
        let t = st.get("tensor").unwrap();
        assert_eq!(t.dtype(), mx::uint8, "{code}");
        assert_eq!(t.to_vec::<u8>().unwrap(), bytes.to_vec());
    }
    let h = r#"{"tensor":{"dtype":"F8_E4M3","shape":[10],"data_offsets":[0,10]}}"#;
    let mut b = (h.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(&bytes);
    let st = safetensors::from_bytes(&b).unwrap();
    let v = mx::from_fp8(st.get("tensor").unwrap(), mx::bfloat16)
        .unwrap()
        .astype(mx::float32)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let want = [
        0.0, 448.0, -448.0, -0.875, 0.4375, -0.005859, -1.25, -1.25, -1.5, -0.0039,
    ];
    for (g, w) in v.iter().zip(want) {
        assert!((g - w).abs() <= 1e-3 * (1.0 + w.abs()), "{g} vs {w}");
    }
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

fn same(a: &mx::Array, b: &mx::Array) -> bool {
    a.shape() == b.shape()
        && a.dtype() == b.dtype()
        && mx::array_equal(a, b, true).unwrap().item::<bool>().unwrap()
}

/// The 15 arrays of tools/goldens/gen_io.py, by name.
const NAMES: [(&str, mx::Dtype); 15] = [
    ("bool", mx::bool_),
    ("u8", mx::uint8),
    ("u16", mx::uint16),
    ("u32", mx::uint32),
    ("u64", mx::uint64),
    ("i8", mx::int8),
    ("i16", mx::int16),
    ("i32", mx::int32),
    ("i64", mx::int64),
    ("f16", mx::float16),
    ("bf16", mx::bfloat16),
    ("f32", mx::float32),
    ("c64", mx::complex64),
    ("scalar", mx::float32),
    ("empty", mx::float32),
];

fn dtype_of(name: &str) -> mx::Dtype {
    NAMES.iter().find(|(n, _)| *n == name).unwrap().1
}

#[test]
fn npz_written_by_mlx_and_numpy_loads() {
    use mx::io::npz;
    let stored = npz::load_npz(dir().join("mlx_savez.npz")).unwrap();
    assert_eq!(stored.len(), 10);
    for (name, a) in &stored {
        assert!(same(a, &expected(name, dtype_of(name))), "{name}");
    }
    let compressed = mx::io::load(dir().join("mlx_savez_compressed.npz")).unwrap();
    assert!(same(
        compressed.get("arr_0").unwrap(),
        &expected("i32", mx::int32)
    ));
    assert!(same(
        compressed.get("arr_1").unwrap(),
        &expected("f32", mx::float32)
    ));
    assert!(same(
        compressed.get("big").unwrap(),
        &expected("big", mx::int32)
    ));
    let np = npz::load_npz(dir().join("numpy_compressed.npz")).unwrap();
    assert_eq!(
        np[0].1.to_vec::<i64>().unwrap(),
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(np[1].1.shape(), &[2, 3]);
    assert_eq!(
        np[1].1.to_vec::<f64>().unwrap(),
        vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    );
    // Writing: duplicate names are refused; stored and compressed archives round-trip.
    let a = mx::array![1.0f32];
    assert!(npz::to_npz_bytes(&[("x", &a), ("x", &a)], false).is_err());
}

/// A GGUF metadata value as gen_io.py writes MLX's (arrays as {dtype, shape, values}).
fn gguf_json(v: &mx::io::GgufValue) -> serde_json::Value {
    use mx::io::GgufValue;
    match v {
        GgufValue::String(s) => serde_json::json!(s),
        GgufValue::Strings(v) => serde_json::json!(v),
        GgufValue::Array(a) => {
            let flat = mx::reshape(a, [-1]).unwrap();
            let values: Vec<serde_json::Value> = match a.dtype() {
                d if d == mx::bool_ => flat
                    .to_vec::<bool>()
                    .unwrap()
                    .into_iter()
                    .map(|x| x.into())
                    .collect(),
                d if d == mx::float32 => flat
                    .to_vec::<f32>()
                    .unwrap()
                    .into_iter()
                    .map(|x| (x as f64).into())
                    .collect(),
                d if d == mx::uint64 => flat
                    .to_vec::<u64>()
                    .unwrap()
                    .into_iter()
                    .map(|x| x.into())
                    .collect(),
                _ => flat
                    .astype(mx::int64)
                    .unwrap()
                    .to_vec::<i64>()
                    .unwrap()
                    .into_iter()
                    .map(|x| x.into())
                    .collect(),
            };
            let values = if a.ndim() == 0 {
                values[0].clone()
            } else {
                serde_json::Value::Array(values)
            };
            serde_json::json!({"dtype": a.dtype().to_string(), "shape": a.shape(), "values": values})
        }
    }
}

fn gguf_expected_metadata(file: &str) -> serde_json::Value {
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("gguf_metadata.json")).unwrap())
            .unwrap();
    all[file].clone()
}

fn metadata_json(meta: &[(String, mx::io::GgufValue)]) -> serde_json::Value {
    serde_json::Value::Object(
        meta.iter()
            .map(|(k, v)| (k.clone(), gguf_json(v)))
            .collect(),
    )
}

/// The metadata gen_io.py has MLX write (`gguf_meta`).
fn gguf_meta() -> Vec<(&'static str, mx::io::GgufValue)> {
    use mx::io::GgufValue;
    vec![
        ("m.str", "héllo".into()),
        (
            "m.strs",
            GgufValue::Strings(vec!["a".into(), "bb".into(), "".into()]),
        ),
        ("m.f32", mx::Array::scalar(1.5f32).into()),
        ("m.i64", mx::Array::scalar(-(1i64 << 40)).into()),
        ("m.u8s", mx::array![1u8, 2].into()),
        ("m.bool", mx::Array::scalar(true).into()),
        ("m.i32s", mx::array![1, -2, 3].into()),
        ("m.u64", mx::Array::scalar(1u64 << 40).into()),
        ("m.one", mx::array![7u16].into()),
    ]
}

const GGUF_TENSORS: [&str; 6] = ["f32", "f16", "i8", "i16", "i32", "scalar"];

#[test]
fn gguf_written_by_mlx_loads() {
    let g = mx::io::gguf::load_gguf(dir().join("mlx_all.gguf")).unwrap();
    assert_eq!(g.arrays.len(), GGUF_TENSORS.len());
    for name in GGUF_TENSORS {
        let got = g.get(name).unwrap();
        assert!(same(got, &expected(name, dtype_of(name))), "{name}");
    }
    assert_eq!(
        metadata_json(&g.metadata),
        gguf_expected_metadata("mlx_all.gguf")
    );
    // rmlx's writer gives back the same metadata and tensors.
    let ours: Vec<(String, mx::io::GgufValue)> = gguf_meta()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(metadata_json(&ours), gguf_expected_metadata("mlx_all.gguf"));
}

#[test]
fn gguf_quantized_and_every_value_type_load_as_mlx() {
    let (arrays, meta) = mx::io::load_with_metadata(dir().join("llama_quant.gguf"), None).unwrap();
    let mx::io::Metadata::Gguf(meta) = meta else {
        panic!("gguf metadata")
    };
    assert_eq!(
        metadata_json(&meta),
        gguf_expected_metadata("llama_quant.gguf")
    );
    let want = mx::io::npz::load_npz(dir().join("llama_quant_expected.npz")).unwrap();
    assert_eq!(arrays.len(), want.len());
    for (name, w) in &want {
        let got = &arrays.iter().find(|(k, _)| k == name).unwrap().1;
        assert!(
            same(got, w),
            "{name}: {got} vs {w}\n{:?}\n{:?}",
            got.astype(mx::float32)
                .unwrap()
                .to_vec::<f32>()
                .unwrap()
                .get(..40),
            w.astype(mx::float32)
                .unwrap()
                .to_vec::<f32>()
                .unwrap()
                .get(..40)
        );
    }
    // The quantized triples dequantize to the weights.
    let w = &arrays.iter().find(|(k, _)| k == "q8_0.weight").unwrap().1;
    let s = &arrays.iter().find(|(k, _)| k == "q8_0.scales").unwrap().1;
    let b = &arrays.iter().find(|(k, _)| k == "q8_0.biases").unwrap().1;
    let d = mx::dequantize(
        w,
        s,
        Some(b),
        Some(32),
        Some(8),
        mx::QuantMode::Affine,
        None,
    )
    .unwrap();
    assert_eq!(d.shape(), &[4, 64]);
}

#[test]
fn gguf_errors() {
    use mx::io::{GgufValue, gguf};
    let f64a = mx::array![1.0].astype(mx::float64).unwrap();
    let e = gguf::to_gguf_bytes(&[("x", &f64a)], &[]).unwrap_err();
    assert_eq!(e.message(), "[save_gguf] dtype float64 is not supported");
    let two_d = GgufValue::Array(mx::zeros(&[2, 2], mx::float32).unwrap());
    let e = gguf::to_gguf_bytes(&[], &[("m", two_d)]).unwrap_err();
    assert_eq!(
        e.message(),
        "[save_gguf] Cannot save arrays with more than one dimension."
    );
    let empty = GgufValue::Array(mx::zeros(&[0], mx::float32).unwrap());
    assert!(gguf::to_gguf_bytes(&[], &[("m", empty)]).is_err());
    let half = GgufValue::Array(mx::zeros(&[2], mx::float16).unwrap());
    let e = gguf::to_gguf_bytes(&[], &[("m", half)]).unwrap_err();
    assert_eq!(e.kind(), mx::ErrorKind::Value);
    // Corrupt files: every truncation, a bad magic, a bad version, absurd counts, a nested
    // array, a tensor past the end, an unknown tensor type.
    let good = gguf::to_gguf_bytes(
        &[("t", &mx::array![[1.0f32, 2.0]])],
        &[("s", "x".into()), ("a", mx::array![1, 2].into())],
    )
    .unwrap();
    assert!(gguf::from_bytes(&good).is_ok());
    for n in 0..good.len() {
        assert!(gguf::from_bytes(&good[..n]).is_err(), "truncated to {n}");
    }
    let patched = |at: usize, bytes: &[u8]| {
        let mut b = good.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        gguf::from_bytes(&b)
            .map(|_| ())
            .unwrap_err()
            .message()
            .to_string()
    };
    assert!(patched(0, b"GGUX").contains("gguf_init failed"));
    assert!(patched(4, &9u32.to_le_bytes()).contains("version"));
    assert!(patched(8, &u64::MAX.to_le_bytes()).contains("more entries"));
    assert!(patched(16, &(1u64 << 40).to_le_bytes()).contains("more entries"));
    // The second key "a": its value type (array) is followed by the element type.
    let a_elem = 24 + 8 + 1 + 4 + 8 + 1 + 8 + 1 + 4;
    assert!(patched(a_elem, &9u32.to_le_bytes()).contains("nested"));
    assert!(patched(a_elem + 4, &u64::MAX.to_le_bytes()).contains("too large"));
    // The tensor: name "t", ndim, dims, type, offset.
    let t_info = a_elem + 4 + 8 + 8 + 8 + 1;
    assert!(patched(t_info, &9u32.to_le_bytes()).contains("dimensions"));
    let mut dims = u64::MAX.to_le_bytes().to_vec();
    dims.extend_from_slice(&2u64.to_le_bytes());
    assert!(patched(t_info + 4, &dims).contains("absurd shape"));
    assert!(patched(t_info + 20, &99u32.to_le_bytes()).contains("unknown type"));
    assert!(patched(t_info + 24, &1024u64.to_le_bytes()).contains("past the end"));
}

/// Files written by rmlx that tools/goldens/gen_io.py checked MLX and numpy read back equal:
/// rmlx must still write exactly these bytes. `RMLX_WRITE_IO_FILES=1` rewrites them (then run
/// the generator to check them with MLX).
#[test]
fn files_written_by_rmlx_are_the_ones_mlx_and_numpy_read() {
    use mx::io;
    let out = dir().join("rmlx_written");
    let write = std::env::var_os("RMLX_WRITE_IO_FILES").is_some();
    let arrays: Vec<(&str, mx::Array)> = NAMES.iter().map(|&(n, d)| (n, expected(n, d))).collect();
    let refs: Vec<(&str, &mx::Array)> = arrays.iter().map(|(n, a)| (*n, a)).collect();
    let gguf_refs: Vec<(&str, &mx::Array)> = refs
        .iter()
        .filter(|(n, _)| GGUF_TENSORS.contains(n))
        .copied()
        .collect();
    let mut files: Vec<(String, Vec<u8>)> = arrays
        .iter()
        .map(|(n, a)| (format!("{n}.npy"), io::npy::to_npy_bytes(a).unwrap()))
        .collect();
    files.push((
        "all.npz".into(),
        io::npz::to_npz_bytes(&refs, false).unwrap(),
    ));
    files.push((
        "all_compressed.npz".into(),
        io::npz::to_npz_bytes(&refs, true).unwrap(),
    ));
    files.push((
        "all.safetensors".into(),
        io::safetensors::to_bytes(&refs, &[("writer", "rmlx")]).unwrap(),
    ));
    files.push((
        "all.gguf".into(),
        io::gguf::to_gguf_bytes(&gguf_refs, &gguf_meta()).unwrap(),
    ));
    if write {
        std::fs::create_dir_all(&out).unwrap();
    }
    for (name, bytes) in files {
        let path = out.join(&name);
        if write {
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(committed == bytes, "{name}: rmlx now writes other bytes");
        // And rmlx reads its own files back through `load`.
        let loaded = io::load(&path).unwrap().into_arrays();
        assert!(!loaded.is_empty(), "{name}");
    }
}

#[test]
fn load_dispatches_on_the_extension_as_mlx() {
    use mx::io;
    let e = io::load(dir().join("no_extension")).unwrap_err();
    assert_eq!(
        e.message(),
        "[load] Could not infer file format from extension"
    );
    let e = io::load(dir().join("x.bin")).unwrap_err();
    assert_eq!(e.message(), "[load] Unknown file format bin");
    let e = io::load_with_metadata(dir().join("mlx_savez.npz"), None).unwrap_err();
    assert_eq!(e.message(), "[load] metadata not supported for format npz");
    let a = io::load_format(dir().join("mlx_u8.npy"), Some("npy"))
        .unwrap()
        .into_array()
        .unwrap();
    assert_eq!(a.dtype(), mx::uint8);
    assert!(
        io::load(dir().join("mlx_all.gguf"))
            .unwrap()
            .into_array()
            .is_err()
    );
}

#[test]
fn safetensors_load_maps_the_file_without_copying() {
    use mx::io::safetensors;
    let path =
        std::env::temp_dir().join(format!("rmlx_mmap_test_{}.safetensors", std::process::id()));
    let big = mx::arange(0.0, (1 << 20) as f64, 1.0).unwrap(); // 4 MiB of float32
    let small = mx::array![1u8, 0, 1];
    safetensors::save_safetensors(&path, &[("big", &big), ("small", &small)], &[]).unwrap();
    let original = std::fs::read(&path).unwrap();
    let before = mx::get_active_memory();
    let st = safetensors::load_safetensors(&path).unwrap();
    let loaded = st.get("big").unwrap().clone();
    loaded.eval().unwrap();
    assert!(
        mx::get_active_memory() < before + (1 << 20),
        "loading allocated {} bytes",
        mx::get_active_memory() - before
    );
    assert!(same(&loaded, &big));
    assert!(same(st.get("small").unwrap(), &small));
    // An op that may reuse its input's buffer (the only reference) never writes to the file.
    drop(st);
    let doubled = mx::multiply(loaded, 2.0).unwrap();
    doubled.eval().unwrap();
    assert_eq!(doubled.to_vec::<f32>().unwrap()[3], 6.0);
    assert!(std::fs::read(&path).unwrap() == original);
    std::fs::remove_file(&path).ok();
}

/// Every input of the fuzz corpus (fuzz/corpus/TARGET) and every crash the fuzzers found
/// (fuzz/artifacts/TARGET, kept after the fix) goes through its parser again: arrays or an
/// error, never a panic.
#[test]
fn fuzz_corpus_and_past_crashes_parse_without_panicking() {
    use mx::io::{gguf, npy, npz, safetensors};
    type Parse = fn(&[u8]) -> mx::Result<Vec<(String, mx::Array)>>;
    let targets: [(&str, Parse); 4] = [
        ("npy", |b| {
            npy::parse_npy(b).map(|a| vec![(String::new(), a)])
        }),
        ("npz", npz::parse_npz),
        ("safetensors", |b| {
            safetensors::from_bytes(b).map(|s| s.arrays)
        }),
        ("gguf", |b| gguf::from_bytes(b).map(|g| g.arrays)),
    ];
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    for (target, parse) in targets {
        let mut seen = 0;
        for kind in ["corpus", "artifacts"] {
            let Ok(entries) = std::fs::read_dir(root.join(kind).join(target)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                if let Ok(arrays) = parse(&bytes) {
                    for (_, a) in arrays {
                        let _ = mx::sum(&a).and_then(|s| s.eval());
                    }
                }
                seen += 1;
            }
        }
        assert!(seen > 0, "no fuzz inputs for {target}");
    }
}
