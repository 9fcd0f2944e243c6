//! The GGUF format (llama.cpp's model files; MLX's `save_gguf` / `load`).
//!
//! A file is a header (magic `GGUF`, version, counts), typed metadata key/values, tensor
//! descriptions (name, dimensions in reverse order, type, offset) and an aligned data section.
//! Loading follows MLX: float32, float16 and int8/16/32 tensors come back as they are; `Q4_0`,
//! `Q4_1` and `Q8_0` tensors come back as MLX's affine-quantized triple (`NAME.weight` as packed
//! uint32, `NAME.scales`, `NAME.biases` in float16, group size 32; 4 or 8 bits), ready for
//! `dequantize` / `quantized_matmul`; bfloat16 and the k-quants `Q2_K`, `Q4_K` and `Q6_K`
//! are converted to float16; other types are an error, as in MLX. Metadata scalars become 0-d
//! arrays (float64 as float32, as MLX), arrays of numbers 1-D arrays, strings and lists of
//! strings stay strings.
//!
//! Every count, length and offset read from a file is checked against the bytes present before
//! anything is allocated: a corrupt file is an error, never a panic or a huge allocation.

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use half::{bf16, f16};
use std::path::Path;

/// A metadata value of a GGUF file.
#[derive(Clone, Debug)]
pub enum GgufValue {
    /// A number or bool (0-d) or a list of them (1-D).
    Array(Array),
    /// A string.
    String(String),
    /// A list of strings.
    Strings(Vec<String>),
}

impl From<&str> for GgufValue {
    fn from(s: &str) -> Self {
        GgufValue::String(s.to_string())
    }
}
impl From<Array> for GgufValue {
    fn from(a: Array) -> Self {
        GgufValue::Array(a)
    }
}
impl From<Vec<String>> for GgufValue {
    fn from(v: Vec<String>) -> Self {
        GgufValue::Strings(v)
    }
}

/// The tensors and metadata of a GGUF file.
#[derive(Clone, Debug, Default)]
pub struct Gguf {
    /// The tensors by name, in the file's order (a quantized tensor gives three entries).
    pub arrays: Vec<(String, Array)>,
    /// The metadata, in the file's order.
    pub metadata: Vec<(String, GgufValue)>,
}

impl Gguf {
    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&Array> {
        self.arrays.iter().find(|(k, _)| k == name).map(|(_, a)| a)
    }
    /// The metadata value called `key`.
    pub fn meta(&self, key: &str) -> Option<&GgufValue> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::runtime(format!(
        "[load_gguf] {what}. Perhaps an incomplete download or corrupt file?"
    ))
}

// Metadata value types.
const V_U8: u32 = 0;
const V_I8: u32 = 1;
const V_U16: u32 = 2;
const V_I16: u32 = 3;
const V_U32: u32 = 4;
const V_I32: u32 = 5;
const V_F32: u32 = 6;
const V_BOOL: u32 = 7;
const V_STRING: u32 = 8;
const V_ARRAY: u32 = 9;
const V_U64: u32 = 10;
const V_I64: u32 = 11;
const V_F64: u32 = 12;

// Tensor types (ggml's numbering).
const T_F32: u32 = 0;
const T_F16: u32 = 1;
const T_Q4_0: u32 = 2;
const T_Q4_1: u32 = 3;
const T_Q8_0: u32 = 8;
const T_Q2_K: u32 = 10;
const T_Q4_K: u32 = 12;
const T_Q6_K: u32 = 14;
const T_I8: u32 = 24;
const T_I16: u32 = 25;
const T_I32: u32 = 26;
const T_BF16: u32 = 30;

/// Weights per block and bytes per block of each tensor type ggml defines (None: unknown).
fn block_layout(ty: u32) -> Option<(u64, u64)> {
    Some(match ty {
        0 => (1, 4),
        1 => (1, 2),
        2 => (32, 18),
        3 => (32, 20),
        6 => (32, 22),
        7 => (32, 24),
        8 => (32, 34),
        9 => (32, 36),
        10 => (256, 84),
        11 => (256, 110),
        12 => (256, 144),
        13 => (256, 176),
        14 => (256, 210),
        15 => (256, 292),
        24 => (1, 1),
        25 => (1, 2),
        26 => (1, 4),
        27 => (1, 8),
        28 => (1, 8),
        30 => (1, 2),
        _ => return None,
    })
}

/// A bounds-checked little-endian reader over the file's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8]> {
        let n = usize::try_from(n).map_err(|_| corrupt(format!("{what} is too large")))?;
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| corrupt(format!("{what} extends past the end of the file")))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4"),
        ))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8"),
        ))
    }
    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.u64(what)?;
        let b = self.take(len, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| corrupt(format!("{what} is not UTF-8")))
    }
}

/// Size in bytes of a fixed-size metadata value type, its dtype as MLX loads it.
fn scalar_type(ty: u32) -> Option<(u64, Dtype)> {
    Some(match ty {
        V_U8 => (1, Dtype::Uint8),
        V_I8 => (1, Dtype::Int8),
        V_U16 => (2, Dtype::Uint16),
        V_I16 => (2, Dtype::Int16),
        V_U32 => (4, Dtype::Uint32),
        V_I32 => (4, Dtype::Int32),
        V_F32 => (4, Dtype::Float32),
        V_BOOL => (1, Dtype::Bool),
        V_U64 => (8, Dtype::Uint64),
        V_I64 => (8, Dtype::Int64),
        V_F64 => (8, Dtype::Float32),
        _ => return None,
    })
}

/// `n` values of a fixed-size type as an array (float64 narrowed to float32, as MLX).
fn numbers(raw: &[u8], ty: u32, shape: &[usize]) -> Result<Array> {
    if ty == V_F64 {
        let v: Vec<f32> = raw
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8")) as f32)
            .collect();
        return Array::from_slice(&v, shape);
    }
    if ty == V_BOOL && raw.iter().any(|&b| b > 1) {
        return Err(corrupt("A bool metadata value is neither 0 nor 1"));
    }
    let (_, dtype) = scalar_type(ty).expect("fixed-size type");
    crate::io::npy::from_bytes(raw, shape, dtype)
}

fn read_value(r: &mut Reader, ty: u32) -> Result<GgufValue> {
    if let Some((size, _)) = scalar_type(ty) {
        let raw = r.take(size, "Metadata value")?;
        return Ok(GgufValue::Array(numbers(raw, ty, &[])?));
    }
    match ty {
        V_STRING => Ok(GgufValue::String(r.string("String metadata value")?)),
        V_ARRAY => {
            let elem = r.u32("Array metadata value")?;
            let len = r.u64("Array metadata value")?;
            if let Some((size, _)) = scalar_type(elem) {
                let total = len
                    .checked_mul(size)
                    .ok_or_else(|| corrupt("Array metadata value is too large"))?;
                let raw = r.take(total, "Array metadata value")?;
                return Ok(GgufValue::Array(numbers(raw, elem, &[len as usize])?));
            }
            match elem {
                V_STRING => {
                    // Each string takes at least its 8-byte length.
                    if len > (r.bytes.len() - r.at) as u64 / 8 {
                        return Err(corrupt(
                            "Array metadata value extends past the end of the file",
                        ));
                    }
                    (0..len)
                        .map(|_| r.string("Array metadata value"))
                        .collect::<Result<Vec<_>>>()
                        .map(GgufValue::Strings)
                }
                V_ARRAY => Err(Error::value(
                    "[load_gguf] Only supports loading 1-layer of nested arrays.",
                )),
                _ => Err(Error::runtime("[load_gguf] Received unexpected type.")),
            }
        }
        _ => Err(Error::runtime("[load_gguf] Received unexpected type.")),
    }
}

/// Reads a GGUF file held in memory.
///
/// ```
/// use rmlx_core::{self as mx, io::gguf};
/// let w = mx::array![[1.0f32, 2.0], [3.0, 4.0]];
/// let bytes = gguf::to_gguf_bytes(&[("w", &w)], &[("name", "demo".into())])?;
/// let g = gguf::from_bytes(&bytes)?;
/// assert_eq!(g.get("w").unwrap().to_vec::<f32>()?, vec![1.0, 2.0, 3.0, 4.0]);
/// assert!(matches!(g.meta("name"), Some(gguf::GgufValue::String(s)) if s == "demo"));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn from_bytes(bytes: &[u8]) -> Result<Gguf> {
    let mut r = Reader { bytes, at: 0 };
    if bytes.len() < 4 || &bytes[..4] != b"GGUF" {
        return Err(Error::runtime("[load_gguf] gguf_init failed"));
    }
    r.at = 4;
    let version = r.u32("The header")?;
    if !(2..=3).contains(&version) {
        return Err(Error::runtime(format!(
            "[load_gguf] Unsupported GGUF version {version}."
        )));
    }
    let n_tensors = r.u64("The header")?;
    let n_kv = r.u64("The header")?;
    let room = bytes.len() as u64;
    // A key/value takes at least 13 bytes and a tensor description at least 24.
    if n_kv > room / 13 || n_tensors > room / 24 {
        return Err(corrupt(
            "The header claims more entries than the file holds",
        ));
    }
    let mut out = Gguf::default();
    let mut alignment = 32u64;
    for _ in 0..n_kv {
        let key = r.string("A metadata key")?;
        let ty = r.u32("Metadata value")?;
        let value = read_value(&mut r, ty)?;
        if key == "general.alignment"
            && let GgufValue::Array(a) = &value
            && a.dtype() == Dtype::Uint32
            && a.ndim() == 0
        {
            alignment = a.item::<u32>()? as u64;
            if alignment == 0 || !alignment.is_power_of_two() {
                return Err(corrupt("general.alignment is not a power of two"));
            }
        }
        out.metadata.push((key, value));
    }
    struct Info {
        name: String,
        shape: Vec<usize>,
        ty: u32,
        offset: u64,
        nbytes: u64,
    }
    let mut infos = Vec::with_capacity(n_tensors as usize);
    for _ in 0..n_tensors {
        let name = r.string("A tensor name")?;
        let ndim = r.u32("A tensor description")?;
        if ndim > 8 {
            return Err(corrupt(format!("Tensor '{name}' has {ndim} dimensions")));
        }
        let mut dims = Vec::with_capacity(ndim as usize);
        for _ in 0..ndim {
            dims.push(r.u64("A tensor description")?);
        }
        let ty = r.u32("A tensor description")?;
        let offset = r.u64("A tensor description")?;
        let count = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| corrupt(format!("Tensor '{name}' has an absurd shape")))?;
        let (per_block, block_bytes) = block_layout(ty)
            .ok_or_else(|| corrupt(format!("Tensor '{name}' has unknown type {ty}")))?;
        if count % per_block != 0 {
            return Err(corrupt(format!(
                "Tensor '{name}' has {count} weights, not a whole number of blocks"
            )));
        }
        let nbytes = (count / per_block)
            .checked_mul(block_bytes)
            .filter(|&n| n <= room)
            .ok_or_else(|| corrupt(format!("Tensor '{name}' extends past the end of the file")))?;
        let shape = dims
            .iter()
            .rev()
            .map(|&d| usize::try_from(d))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| corrupt(format!("Tensor '{name}' has an absurd shape")))?;
        infos.push(Info {
            name,
            shape,
            ty,
            offset,
            nbytes,
        });
    }
    let data_off = (r.at as u64).div_ceil(alignment) * alignment;
    for info in infos {
        let name = &info.name;
        let start = data_off
            .checked_add(info.offset)
            .filter(|&s| s <= room)
            .ok_or_else(|| {
                corrupt(format!(
                    "Tensor '{name}' has a data offset past the end of the file"
                ))
            })?;
        if info.nbytes > room - start {
            return Err(corrupt(format!(
                "Tensor '{name}' extends past the end of the file"
            )));
        }
        let raw = &bytes[start as usize..(start + info.nbytes) as usize];
        let loaded = load_tensor(name, &info.shape, info.ty, raw)?;
        for (k, a) in loaded {
            if out.arrays.iter().any(|(n, _)| *n == k) {
                return Err(Error::runtime(format!(
                    "[load_gguf] Duplicate parameter name {k} this can happend when loading \
                     quantized tensors."
                )));
            }
            out.arrays.push((k, a));
        }
    }
    Ok(out)
}

/// One tensor's arrays: itself, or a quantized triple, or its float16 conversion.
fn load_tensor(name: &str, shape: &[usize], ty: u32, raw: &[u8]) -> Result<Vec<(String, Array)>> {
    let plain = |dtype| -> Result<Vec<(String, Array)>> {
        Ok(vec![(
            name.to_string(),
            crate::io::npy::from_bytes(raw, shape, dtype)?,
        )])
    };
    let halves = |v: Vec<f16>| -> Result<Vec<(String, Array)>> {
        Ok(vec![(name.to_string(), Array::from_slice(&v, shape)?)])
    };
    match ty {
        T_F32 => plain(Dtype::Float32),
        T_F16 => plain(Dtype::Float16),
        T_I8 => plain(Dtype::Int8),
        T_I16 => plain(Dtype::Int16),
        T_I32 => plain(Dtype::Int32),
        T_Q4_0 | T_Q4_1 | T_Q8_0 => quantized(name, shape, ty, raw),
        T_BF16 => halves(
            raw.chunks_exact(2)
                .map(|c| f16::from_f32(bf16::from_le_bytes([c[0], c[1]]).to_f32()))
                .collect(),
        ),
        T_Q2_K => halves(kquants::q2_k(raw)),
        T_Q4_K => halves(kquants::q4_k(raw)),
        T_Q6_K => halves(kquants::q6_k(raw)),
        _ => Err(Error::runtime("[load_gguf] gguf_tensor_to_f16 failed")),
    }
}

fn f16_at(b: &[u8], at: usize) -> f16 {
    f16::from_le_bytes([b[at], b[at + 1]])
}

/// A `Q4_0` / `Q4_1` / `Q8_0` tensor as MLX's (packed weights, scales, biases), group size 32.
fn quantized(name: &str, shape: &[usize], ty: u32, raw: &[u8]) -> Result<Vec<(String, Array)>> {
    let last = shape.last().copied().unwrap_or(1);
    if shape.is_empty() || last % 32 != 0 {
        return Err(Error::runtime(format!(
            "[load_gguf] tensor {name} has incompatible last dim shape: {last}"
        )));
    }
    let block_bytes = if ty == T_Q8_0 {
        34
    } else if ty == T_Q4_0 {
        18
    } else {
        20
    };
    let blocks = raw.len() / block_bytes;
    let mut packed: Vec<u8> = Vec::with_capacity(blocks * if ty == T_Q8_0 { 32 } else { 16 });
    let (mut scales, mut biases) = (Vec::with_capacity(blocks), Vec::with_capacity(blocks));
    for b in raw.chunks_exact(block_bytes) {
        let d = f16_at(b, 0);
        scales.push(d);
        match ty {
            T_Q4_0 | T_Q4_1 => {
                let q = if ty == T_Q4_0 { &b[2..18] } else { &b[4..20] };
                biases.push(if ty == T_Q4_0 {
                    f16::from_f32(-8.0 * d.to_f32())
                } else {
                    f16_at(b, 2)
                });
                // ggml keeps weights 0..16 in the low nibbles and 16..32 in the high ones; MLX
                // packs them in order, two per byte, low nibble first.
                for half in [0u32, 4] {
                    for pair in q.chunks_exact(2) {
                        packed.push(((pair[0] >> half) & 0xF) | (((pair[1] >> half) & 0xF) << 4));
                    }
                }
            }
            _ => {
                biases.push(f16::from_f32(-128.0 * d.to_f32()));
                // int8 weights become unsigned by flipping the sign bit (adding 128).
                packed.extend(b[2..34].iter().map(|&x| x ^ 0x80));
            }
        }
    }
    let per_word = if ty == T_Q8_0 { 4 } else { 8 };
    let mut wshape = shape.to_vec();
    *wshape.last_mut().expect("rank >= 1") = last / per_word;
    let weights = crate::io::npy::from_bytes(&packed, &wshape, Dtype::Uint32)?;
    let mut sshape = shape.to_vec();
    *sshape.last_mut().expect("rank >= 1") = last / 32;
    // MLX drops the last 7 bytes of the name (".weight") for the scales and biases.
    let prefix = if name.len() >= 7 && name.is_char_boundary(name.len() - 7) {
        &name[..name.len() - 7]
    } else {
        name
    };
    Ok(vec![
        (name.to_string(), weights),
        (
            format!("{prefix}.scales"),
            Array::from_slice(&scales, &sshape)?,
        ),
        (
            format!("{prefix}.biases"),
            Array::from_slice(&biases, &sshape)?,
        ),
    ])
}

/// ggml's k-quants that MLX converts to float16 (256 weights per super-block).
mod kquants {
    use super::f16_at;
    use half::f16;

    /// The 6-bit scale and min of sub-block `j` of a `Q4_K` super-block (12 packed bytes).
    fn scale_min(j: usize, q: &[u8]) -> (u8, u8) {
        if j < 4 {
            (q[j] & 63, q[j + 4] & 63)
        } else {
            (
                (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
                (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
            )
        }
    }

    /// `Q4_K`: d, dmin (f16), 12 bytes of 6-bit scales/mins, 128 bytes of 4-bit weights.
    ///
    /// As MLX (through gguflib) does it: each 32-byte run holds two sub-blocks of 32 weights
    /// (low nibbles, then high nibbles), and both take the scale and min of the first one. ggml
    /// gives the second sub-block its own scale; matching MLX's numbers wins here.
    pub(super) fn q4_k(raw: &[u8]) -> Vec<f16> {
        let mut out = Vec::with_capacity(raw.len() / 144 * 256);
        for b in raw.chunks_exact(144) {
            let (d, dmin) = (f16_at(b, 0).to_f32(), f16_at(b, 2).to_f32());
            let (sc, qs) = (&b[4..16], &b[16..144]);
            for (chunk, q) in qs.chunks_exact(32).enumerate() {
                let (s, m) = scale_min(2 * chunk, sc);
                let (scale, min) = (d * s as f32, dmin * m as f32);
                out.extend(
                    q.iter()
                        .map(|&x| f16::from_f32((x & 0xF) as f32 * scale - min)),
                );
                out.extend(
                    q.iter()
                        .map(|&x| f16::from_f32((x >> 4) as f32 * scale - min)),
                );
            }
        }
        out
    }

    /// `Q6_K`: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8 scales, d (f16).
    pub(super) fn q6_k(raw: &[u8]) -> Vec<f16> {
        let mut out = Vec::with_capacity(raw.len() / 210 * 256);
        for b in raw.chunks_exact(210) {
            let d = f16_at(b, 208).to_f32();
            let mut block = [0f32; 256];
            for half in 0..2 {
                let ql = &b[64 * half..64 * half + 64];
                let qh = &b[128 + 32 * half..128 + 32 * half + 32];
                let sc = &b[192 + 8 * half..192 + 8 * half + 8];
                for l in 0..32 {
                    let is = l / 16;
                    let q = [
                        ((ql[l] & 0xF) | (qh[l] & 3) << 4) as i32 - 32,
                        ((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) as i32 - 32,
                        ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) as i32 - 32,
                        ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) as i32 - 32,
                    ];
                    for (k, &qk) in q.iter().enumerate() {
                        let s = sc[is + 2 * k] as i8 as f32;
                        block[128 * half + l + 32 * k] = d * s * qk as f32;
                    }
                }
            }
            out.extend(block.iter().map(|&v| f16::from_f32(v)));
        }
        out
    }

    /// `Q2_K`: 16 bytes of 4-bit scale/min pairs, 64 bytes of 2-bit weights, d, dmin (f16).
    pub(super) fn q2_k(raw: &[u8]) -> Vec<f16> {
        let mut out = Vec::with_capacity(raw.len() / 84 * 256);
        for b in raw.chunks_exact(84) {
            let (sc, qs) = (&b[0..16], &b[16..80]);
            let (d, dmin) = (f16_at(b, 80).to_f32(), f16_at(b, 82).to_f32());
            let mut is = 0;
            for q in qs.chunks_exact(32) {
                for shift in [0u32, 2, 4, 6] {
                    for part in 0..2 {
                        let s = sc[is];
                        is += 1;
                        let (dl, ml) = (d * (s & 0xF) as f32, dmin * (s >> 4) as f32);
                        out.extend(
                            q[16 * part..16 * part + 16]
                                .iter()
                                .map(|&x| f16::from_f32(dl * ((x >> shift) & 3) as f32 - ml)),
                        );
                    }
                }
            }
        }
        out
    }
}

fn tensor_type(dtype: Dtype) -> Option<u32> {
    Some(match dtype {
        Dtype::Float32 => T_F32,
        Dtype::Float16 => T_F16,
        Dtype::Int8 => T_I8,
        Dtype::Int16 => T_I16,
        Dtype::Int32 => T_I32,
        _ => return None,
    })
}

fn metadata_type(dtype: Dtype) -> Option<u32> {
    Some(match dtype {
        Dtype::Float32 => V_F32,
        Dtype::Int64 => V_I64,
        Dtype::Int32 => V_I32,
        Dtype::Int16 => V_I16,
        Dtype::Int8 => V_I8,
        Dtype::Uint64 => V_U64,
        Dtype::Uint32 => V_U32,
        Dtype::Uint16 => V_U16,
        Dtype::Uint8 => V_U8,
        Dtype::Bool => V_BOOL,
        _ => return None,
    })
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The bytes of a GGUF file (version 3, alignment 32) holding `arrays` and `metadata`, as MLX's
/// `save_gguf` writes them. Tensors must be float32, float16, int8, int16 or int32; metadata
/// arrays must be 0-d or 1-D, non-empty, of an integer type, bool or float32 (MLX's rules and
/// errors). See [`from_bytes`] for an example.
pub fn to_gguf_bytes(arrays: &[(&str, &Array)], metadata: &[(&str, GgufValue)]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.extend_from_slice(b"GGUF");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(arrays.len() as u64).to_le_bytes());
    out.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (key, value) in metadata {
        put_string(&mut out, key);
        match value {
            GgufValue::String(s) => {
                out.extend_from_slice(&V_STRING.to_le_bytes());
                put_string(&mut out, s);
            }
            GgufValue::Strings(v) => {
                out.extend_from_slice(&V_ARRAY.to_le_bytes());
                out.extend_from_slice(&V_STRING.to_le_bytes());
                out.extend_from_slice(&(v.len() as u64).to_le_bytes());
                for s in v {
                    put_string(&mut out, s);
                }
            }
            GgufValue::Array(a) => {
                if a.ndim() > 1 {
                    return Err(Error::runtime(
                        "[save_gguf] Cannot save arrays with more than one dimension.",
                    ));
                }
                if a.size() == 0 {
                    return Err(Error::runtime("[save_gguf] Cannot save empty arrays."));
                }
                let ty = metadata_type(a.dtype()).ok_or_else(|| {
                    Error::value(format!(
                        "[save_gguf] array type {} not support for metadata.",
                        a.dtype()
                    ))
                })?;
                let data = crate::io::array_bytes(a)?;
                if a.ndim() == 1 {
                    out.extend_from_slice(&V_ARRAY.to_le_bytes());
                    out.extend_from_slice(&ty.to_le_bytes());
                    out.extend_from_slice(&(a.size() as u64).to_le_bytes());
                } else {
                    out.extend_from_slice(&ty.to_le_bytes());
                }
                out.extend_from_slice(&data);
            }
        }
    }
    let mut offset = 0u64;
    let mut datas = Vec::with_capacity(arrays.len());
    for (name, a) in arrays {
        let ty = tensor_type(a.dtype()).ok_or_else(|| {
            Error::runtime(format!("[save_gguf] dtype {} is not supported", a.dtype()))
        })?;
        offset = offset.div_ceil(32) * 32;
        put_string(&mut out, name);
        out.extend_from_slice(&(a.ndim() as u32).to_le_bytes());
        for &d in a.shape().iter().rev() {
            out.extend_from_slice(&(d as u64).to_le_bytes());
        }
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        let data = crate::io::array_bytes(a)?;
        offset += data.len() as u64;
        datas.push(data);
    }
    for data in datas {
        out.resize(out.len().div_ceil(32) * 32, 0);
        out.extend_from_slice(&data);
    }
    Ok(out)
}

/// Writes a GGUF file (MLX's `save_gguf`; `.gguf` is appended to the path when missing).
///
/// ```
/// use rmlx_core::{self as mx, io::gguf};
/// let path = std::env::temp_dir().join(format!("rmlx_doc_{}.gguf", std::process::id()));
/// let meta = [("n", gguf::GgufValue::Array(mx::array![1, 2, 3]))];
/// gguf::save_gguf(&path, &[("t", &mx::array![0.5f32])], &meta)?;
/// let g = gguf::load_gguf(&path)?;
/// assert_eq!(g.get("t").unwrap().to_vec::<f32>()?, vec![0.5]);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), mx::Error>(())
/// ```
pub fn save_gguf(
    path: impl AsRef<Path>,
    arrays: &[(&str, &Array)],
    metadata: &[(&str, GgufValue)],
) -> Result<()> {
    let bytes = to_gguf_bytes(arrays, metadata)?;
    let path = super::with_suffix(path.as_ref(), ".gguf");
    super::write_file(&path, &bytes, "save_gguf")
}

/// Reads a GGUF file (MLX's `load` of a `.gguf` file, with its metadata).
pub fn load_gguf(path: impl AsRef<Path>) -> Result<Gguf> {
    from_bytes(&super::read_file(path.as_ref(), "load_gguf")?)
}
