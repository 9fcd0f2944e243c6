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
