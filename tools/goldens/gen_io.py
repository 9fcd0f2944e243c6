"""Files written by MLX 0.32.4 for rmlx's file-format tests: a safetensors file holding every
dtype MLX saves (with metadata and non-contiguous sources), and the same arrays as .npy files
(bfloat16 as its uint16 bits) to compare against. rmlx must read MLX's file and write the same
bytes for the same arrays."""
import os

import mlx.core as mx
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "crates", "rmlx-core",
                   "tests", "goldens", "io")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(5)

arrays = {
    "bool": mx.array(rng.integers(0, 2, (3, 2)).astype(np.bool_)),
    "u8": mx.array(rng.integers(0, 255, (4,)).astype(np.uint8)),
    "u16": mx.array(rng.integers(0, 60000, (2, 2)).astype(np.uint16)),
    "u32": mx.array(rng.integers(0, 2**32 - 1, (3,)).astype(np.uint32)),
    "u64": mx.array(rng.integers(0, 2**63, (2,)).astype(np.uint64)),
    "i8": mx.array(rng.integers(-128, 127, (5,)).astype(np.int8)),
    "i16": mx.array(rng.integers(-3000, 3000, (2, 3)).astype(np.int16)),
    "i32": mx.arange(12).reshape(3, 4).T,  # a transposed (non-contiguous) source
    "i64": mx.array(rng.integers(-2**40, 2**40, (2,)).astype(np.int64)),
    "f16": mx.array(rng.standard_normal((2, 3)).astype(np.float16)),
    "bf16": mx.array(rng.standard_normal((3, 2)).astype(np.float32)).astype(mx.bfloat16),
    "f32": mx.array(rng.standard_normal((2, 2, 2)).astype(np.float32))[:, ::-1],
    "c64": mx.array((rng.standard_normal(3) + 1j * rng.standard_normal(3)).astype(np.complex64)),
    "scalar": mx.array(3.5),
    "empty": mx.zeros((0, 3)),
}
mx.save_safetensors(os.path.join(OUT, "mlx_all.safetensors"), arrays,
                    metadata={"format": "mlx", "note": "written by MLX 0.32.4"})
for k, v in arrays.items():
    a = np.array(np.array(v.view(mx.uint16)) if v.dtype == mx.bfloat16 else np.array(v), order="C")
    np.save(os.path.join(OUT, f"{k}.npy"), a)
print("io:", len(arrays), "arrays")

# .npy written by MLX (1-D and 0-D arrays come out with fortran_order True, bfloat16 as '<V2')
# and a Fortran-ordered 2-D array written by numpy.
for k in ["i32", "u8", "bf16", "scalar", "c64", "bool"]:
    mx.save(os.path.join(OUT, f"mlx_{k}.npy"), arrays[k])
np.save(os.path.join(OUT, "numpy_fortran.npy"), np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4)))

# ---- .npz: written by MLX (savez, savez_compressed) and by numpy (compressed) ----
npz_keys = ["bool", "u8", "i32", "i64", "f16", "bf16", "f32", "c64", "scalar", "empty"]
mx.savez(os.path.join(OUT, "mlx_savez.npz"), **{k: arrays[k] for k in npz_keys})
mx.savez_compressed(os.path.join(OUT, "mlx_savez_compressed.npz"),
                    arrays["i32"], arrays["f32"], big=mx.arange(3000) % 7)
np.save(os.path.join(OUT, "big.npy"), np.array(mx.arange(3000) % 7))
np.savez_compressed(os.path.join(OUT, "numpy_compressed.npz"), a=np.arange(10, dtype=np.int64),
                    b=np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)))

# ---- .gguf ----
# Written by MLX: tensors of every dtype MLX saves, metadata of every kind MLX saves.
gguf_tensors = {"f32": arrays["f32"], "f16": arrays["f16"], "i8": arrays["i8"],
                "i16": arrays["i16"], "i32": arrays["i32"], "scalar": arrays["scalar"]}
gguf_meta = {"m.str": "héllo", "m.strs": ["a", "bb", ""], "m.f32": mx.array(1.5),
             "m.i64": mx.array(-(2**40), dtype=mx.int64), "m.u8s": mx.array([1, 2], dtype=mx.uint8),
             "m.bool": mx.array(True), "m.i32s": mx.array([1, -2, 3]),
             "m.u64": mx.array(2**40, dtype=mx.uint64), "m.one": mx.array([7], dtype=mx.uint16)}
mx.save_gguf(os.path.join(OUT, "mlx_all.gguf"), gguf_tensors, gguf_meta)

import json  # noqa: E402

import gguf  # noqa: E402  (pip install gguf: llama.cpp's reference writer)
from gguf import GGMLQuantizationType as T  # noqa: E402


def meta_json(m):
    """MLX's metadata as JSON: arrays as {dtype, shape, values}."""
    out = {}
    for k, v in m.items():
        if isinstance(v, mx.array):
            out[k] = {"dtype": str(v.dtype).split(".")[-1], "shape": list(v.shape),
                      "values": v.tolist()}
        else:
            out[k] = v
    return out


expect = {}
_, m = mx.load(os.path.join(OUT, "mlx_all.gguf"), return_metadata=True)
expect["mlx_all.gguf"] = meta_json(m)

# Written by llama.cpp's gguf package: every metadata value type (float64 left out: MLX 0.32.4
# misreads it and crashes, see the test), quantized tensors, bfloat16, and k-quant blocks of
# random bytes (with finite float16 scales) that MLX converts to float16.
w = gguf.GGUFWriter(os.path.join(OUT, "llama_quant.gguf"), "llama")
w.add_uint8("k.u8", 7)
w.add_int8("k.i8", -3)
w.add_uint16("k.u16", 600)
w.add_int16("k.i16", -600)
w.add_uint32("k.u32", 70000)
w.add_int32("k.i32", -70000)
w.add_float32("k.f32", 1.25)
w.add_bool("k.bool", True)
w.add_string("k.str", "héllo")
w.add_uint64("k.u64", 2**40)
w.add_int64("k.i64", -(2**40))
w.add_array("k.arr_i32", [1, 2, 3])
w.add_array("k.arr_f32", [1.5, 2.5])
w.add_array("k.arr_str", ["a", "bb", ""])
w.add_array("k.arr_bool", [True, False])
w.add_key_value("k.arr_u8", [1, 2], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.UINT8)
x = rng.standard_normal((4, 64)).astype(np.float32)
for t in [T.Q4_0, T.Q4_1, T.Q8_0]:
    w.add_tensor(f"{t.name.lower()}.weight", gguf.quants.quantize(x, t), raw_dtype=t)
w.add_tensor("bf16", gguf.quants.quantize(x[:2] * 1000, T.BF16), raw_dtype=T.BF16)


def kquant_blocks(n_blocks, block_bytes, scale_at):
    b = rng.integers(0, 256, (n_blocks, block_bytes)).astype(np.uint8)
    for off in scale_at:  # float16 scales in [-2, 2]: finite
        s = (rng.uniform(-2, 2, n_blocks)).astype(np.float16).view(np.uint8).reshape(n_blocks, 2)
        b[:, off:off + 2] = s
    return b


w.add_tensor("q2_k", kquant_blocks(2, 84, [80, 82]), raw_dtype=T.Q2_K)
w.add_tensor("q4_k", kquant_blocks(2, 144, [0, 2]), raw_dtype=T.Q4_K)
w.add_tensor("q6_k", kquant_blocks(2, 210, [208]), raw_dtype=T.Q6_K)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
loaded, m = mx.load(os.path.join(OUT, "llama_quant.gguf"), return_metadata=True)
expect["llama_quant.gguf"] = meta_json(m)
mx.savez(os.path.join(OUT, "llama_quant_expected.npz"), **loaded)
with open(os.path.join(OUT, "gguf_metadata.json"), "w") as f:
    json.dump(expect, f, indent=1, ensure_ascii=False, sort_keys=True)
print("gguf:", len(loaded), "arrays loaded by MLX from llama_quant.gguf")

# ---- files written by rmlx, read back by MLX and numpy ----
# `RMLX_WRITE_IO_FILES=1 cargo test -p rmlx-core --test golden io::` writes them (the test
# otherwise checks that rmlx still writes exactly these bytes); here MLX and numpy read them.
RM = os.path.join(OUT, "rmlx_written")
if os.path.isdir(RM):
    ref = {k: arrays[k] for k in arrays}

    def same(a, b):
        return a.dtype == b.dtype and a.shape == b.shape and mx.array_equal(a, b, equal_nan=True).item()

    for k in ref:
        got = mx.load(os.path.join(RM, f"{k}.npy"))
        assert same(got, ref[k]), k
        if ref[k].dtype != mx.bfloat16:
            assert np.array_equal(np.load(os.path.join(RM, f"{k}.npy")), np.array(ref[k])), k
    for name in ["all.npz", "all_compressed.npz"]:
        got = mx.load(os.path.join(RM, name))
        assert set(got) == set(ref), name
        for k in ref:
            assert same(got[k], ref[k]), (name, k)
        with np.load(os.path.join(RM, name)) as z:
            for k in ref:
                if ref[k].dtype != mx.bfloat16:
                    assert np.array_equal(z[k], np.array(ref[k])), (name, k)
    got, meta = mx.load(os.path.join(RM, "all.safetensors"), return_metadata=True)
    assert meta == {"writer": "rmlx"}, meta
    for k in ref:
        if ref[k].dtype != mx.float64:
            assert same(got[k], ref[k]), ("safetensors", k)
    got, meta = mx.load(os.path.join(RM, "all.gguf"), return_metadata=True)
    for k in gguf_tensors:
        assert same(got[k], gguf_tensors[k]), ("gguf", k)
    assert meta_json(meta) == meta_json(gguf_meta), meta
    print("rmlx-written files: MLX and numpy read them back equal")
else:
    print("no rmlx-written files yet: run the io golden test with RMLX_WRITE_IO_FILES=1")
