//! `Compiled`: a chain of float32 elementwise primitives fused by `compile` into one pass.
//!
//! The chain runs as a small register program over cache-sized tiles of the output: each
//! step applies one op's float32 tile kernel (the same functions the unfused primitives use,
//! so results are bit-identical) from registers or input tiles into a register. No
//! full-size intermediate buffer is ever allocated. Besides the chain's result (output 0),
//! the values of some steps can leave the node too (outputs 1..): each such tile is copied
//! out of its register once the tile's program has run.

use crate::array::{Array, Data, buffer_elements_mut};
use crate::cpu::unary::{each, rsqrt32};
use crate::cpu::vmath;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive};
use crate::transforms::program::Program;
use rayon::prelude::*;

/// Elements per tile: 4 KB of float32 per register, so a program's registers stay in L1.
const TILE: usize = 1024;

/// A float32 tile kernel.
#[derive(Clone, Copy)]
pub(crate) enum TileKernel {
    Unary(fn(&[f32], &mut [f32])),
    Binary(fn(&[f32], &[f32], &mut [f32])),
}

/// The float32 tile kernel of a primitive, by name, when it has one that `compile` can fuse.
/// Each is the function the primitive's own float32 kernel applies.
pub(crate) fn tile_kernel(name: &str) -> Option<TileKernel> {
    use crate::cpu::binary::{Ordered, RealArith};
    use crate::cpu::num::Num;
    use crate::cpu::unary::UnaryNum;
    // Each kernel is compiled for AVX-512 and AVX2 too and picked at run time, as the
    // unfused kernels are: the plain build's SSE2 loops made a fused chain (Adam's update)
    // slower than memory. Only the vector width changes (no contraction into FMA), so the
    // results stay bit-identical.
    macro_rules! simd {
        (fn $k:ident($($a:ident: $t:ty),*) $body:block) => {
            fn $k($($a: $t),*) {
                #[inline(always)]
                fn body($($a: $t),*) $body
                #[cfg(target_arch = "x86_64")]
                {
                    use crate::cpu::vmath::{Level, level};
                    #[target_feature(enable = "avx512f,avx2,fma")]
                    fn avx512($($a: $t),*) {
                        body($($a),*)
                    }
                    #[target_feature(enable = "avx2,fma")]
                    fn avx2($($a: $t),*) {
                        body($($a),*)
                    }
                    match level() {
                        // SAFETY: the CPU has these features (checked at run time by `level`).
                        Level::Avx512 => return unsafe { avx512($($a),*) },
                        // SAFETY: as above.
                        Level::Avx2 => return unsafe { avx2($($a),*) },
                        Level::Portable => {}
                    }
                }
                body($($a),*)
            }
        };
    }
    macro_rules! un {
        ($f:expr) => {{
            simd!(
                fn k(s: &[f32], d: &mut [f32]) {
                    ($f)(s, d)
                }
            );
            TileKernel::Unary(k)
        }};
    }
    macro_rules! bin {
        (|$x:ident, $y:ident| $e:expr) => {{
            simd!(
                fn k(a: &[f32], b: &[f32], d: &mut [f32]) {
                    for ((o, &$x), &$y) in d.iter_mut().zip(a).zip(b) {
                        *o = $e;
                    }
                }
            );
            TileKernel::Binary(k)
        }};
    }
    Some(match name {
        "Negative" => un!(each(|v: f32| v.neg())),
        "Abs" => un!(each(<f32 as UnaryNum>::abs)),
        "Square" => un!(each(|v: f32| v.mul(v))),
        "Sqrt" => un!(each(f32::sqrt)),
        "Rsqrt" => un!(each(rsqrt32)),
        "Exp" => un!(vmath::exp_f32),
        "Expm1" => un!(each(f32::exp_m1)),
        "Log" => un!(vmath::log_f32),
        "Log1p" => un!(each(f32::ln_1p)),
        "Sin" => un!(each(f32::sin)),
        "Cos" => un!(each(f32::cos)),
        "Tan" => un!(each(f32::tan)),
        "Tanh" => un!(vmath::tanh_f32),
        "Sigmoid" => un!(vmath::sigmoid_f32),
        "Erf" => un!(vmath::erf_f32),
        "ErfMlx" => un!(vmath::erf_mlx_f32),
        "Add" => bin!(|x, y| x.add(y)),
        "Subtract" => bin!(|x, y| x.sub(y)),
        "Multiply" => bin!(|x, y| x.mul(y)),
        "Divide" => bin!(|x, y| x.div(y)),
        "Maximum" => bin!(|x, y| x.max_nan(y)),
        "Minimum" => bin!(|x, y| x.min_nan(y)),
        "Power" => bin!(|x, y| x.power(y)),
        _ => return None,
    })
}

/// Where a step reads an operand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Operand {
    /// Input `i` of the fused node (full size).
    Input(usize),
    /// A register.
    Reg(usize),
    /// A float32 constant (held in its own register, filled once per worker).
    Scalar(usize),
}

/// Where the fused node reads one input's elements.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// Row-major, the whole output's size.
    Full(&'a [f32]),
    /// One value broadcast everywhere (a traced scalar such as a learning rate): a tile of it.
    Splat(&'a [f32]),
    /// A donated input: its buffer became output `j`, so its elements are read from that
    /// output's tile, which still holds them until the program writes it (output 0 by the
    /// last step, the others after it).
    Out(usize),
}

/// One step: a kernel from operands into a register.
#[derive(Clone)]
pub(crate) struct Step {
    pub(crate) kernel: TileKernel,
    pub(crate) args: Vec<Operand>,
    pub(crate) dst: usize,
}

/// A fused float32 elementwise chain.
pub(crate) struct Compiled {
    pub(crate) steps: Vec<Step>,
    pub(crate) n_regs: usize,
    pub(crate) scalars: Vec<f32>,
    /// The registers holding outputs 1.. at the end of a tile.
    pub(crate) exported: Vec<usize>,
    /// The unfused chain over this node's inputs (its outputs this node's): what the
    /// transform rules differentiate.
    pub(crate) original: Program,
}

impl Compiled {
    /// Runs the program on elements `[start, start + len)`, where `outs` are the outputs'
    /// tiles (all of length `len`); the last step (output 0) writes straight into `outs[0]`.
    ///
    /// When an input was donated to output `j` (`Source::Out(j)`), `outs[j]` holds that
    /// input's elements on entry: steps read them from there, output 0 is written by the last
    /// step (into its own register first if that step reads them too) and the other outputs
    /// after it. Each element is read at its own index only, so overwriting the tiles after
    /// all reads gives the same result as fresh outputs (MLX's in-place elementwise
    /// semantics), with no aliasing borrows.
    fn run_tile(
        &self,
        inputs: &[Source<'_>],
        start: usize,
        regs: &mut [Vec<f32>],
        outs: &mut [&mut [f32]],
    ) {
        let len = outs[0].len();
        let nsc = self.scalars.len();
        let last = self.steps.len() - 1;
        for (i, step) in self.steps.iter().enumerate() {
            let reads_out = step
                .args
                .iter()
                .any(|o| matches!(*o, Operand::Input(k) if matches!(inputs[k], Source::Out(0))));
            let to_out = i == last && !reads_out;
            // The destination is taken out of the register file so operands can be borrowed.
            let mut reg = if to_out {
                Vec::new()
            } else {
                std::mem::take(&mut regs[nsc + step.dst])
            };
            {
                let (first, rest) = outs.split_first_mut().expect("one output at least");
                let (dst, tile): (&mut [f32], &[f32]) = if to_out {
                    (&mut **first, &[])
                } else {
                    (&mut reg[..len], &**first)
                };
                let rest: &[&mut [f32]] = rest;
                let arg = |o: &Operand| -> &[f32] {
                    match *o {
                        Operand::Input(i) => match inputs[i] {
                            Source::Full(x) => &x[start..start + len],
                            Source::Splat(x) => &x[..len],
                            Source::Out(0) => tile,
                            Source::Out(j) => &rest[j - 1][..],
                        },
                        Operand::Reg(r) => &regs[nsc + r][..len],
                        Operand::Scalar(s) => &regs[s][..len],
                    }
                };
                match step.kernel {
                    TileKernel::Unary(f) => f(arg(&step.args[0]), dst),
                    TileKernel::Binary(f) => f(arg(&step.args[0]), arg(&step.args[1]), dst),
                }
            }
            if !to_out {
                if i == last {
                    outs[0].copy_from_slice(&reg[..len]);
                }
                regs[nsc + step.dst] = reg;
            }
        }
        for (out, &r) in outs[1..].iter_mut().zip(&self.exported) {
            out.copy_from_slice(&regs[nsc + r][..len]);
        }
    }

    fn new_registers(&self) -> Vec<Vec<f32>> {
        let mut regs: Vec<Vec<f32>> = self.scalars.iter().map(|&v| vec![v; TILE]).collect();
        regs.extend((0..self.n_regs).map(|_| vec![0.0f32; TILE]));
        regs
    }
}

impl Primitive for Compiled {
    fn is_elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "Compiled"
    }
    fn label(&self) -> String {
        let mut s = String::from("Compiled");
        for node in &self.original.nodes {
            s.push_str(node.primitive.name());
        }
        s
    }

    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        // Every output has the chain's shape and dtype.
        let spec = &outputs[0];
        let n = spec.size();
        let bytes = n * spec.dtype.size();
        // As MLX's compiled kernels: each output takes the buffer of the first input not yet
        // taken that can give it (the output's shape and item size, row-major from offset 0,
        // not a 0-d scalar, and nothing else holding the array or its buffer: see
        // `try_donate`). Captured constants are held by the program, so they are never donated.
        let mut donated_to: Vec<Option<usize>> = vec![None; inputs.len()];
        let mut bufs = Vec::with_capacity(outputs.len());
        for j in 0..outputs.len() {
            let donor = if spec.shape.is_empty() || n == 0 {
                None
            } else {
                inputs.iter().enumerate().find_map(|(i, a)| {
                    if donated_to[i].is_none()
                        && a.shape() == spec.shape.as_slice()
                        && a.itemsize() == spec.dtype.size()
                    {
                        a.try_donate(bytes).map(|b| (i, b))
                    } else {
                        None
                    }
                })
            };
            bufs.push(match donor {
                Some((i, b)) => {
                    donated_to[i] = Some(j);
                    b
                }
                None => Data::alloc(spec)?.0,
            });
        }
        // Inputs as row-major float32 slices (a strided input is gathered once); an input of
        // a smaller shape (a fused broadcast's source) is read broadcast to the output's.
        let datas: Vec<Option<Data>> = inputs
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if donated_to[i].is_some() {
                    return Ok(None);
                }
                let d = a.ready_data()?;
                if a.shape() == spec.shape.as_slice() {
                    return Ok(Some(d));
                }
                let lead = spec.shape.len() - a.ndim();
                let strides = (0..spec.shape.len())
                    .map(|i| {
                        if i < lead || a.shape()[i - lead] != spec.shape[i] {
                            0
                        } else {
                            d.strides[i - lead]
                        }
                    })
                    .collect();
                Ok(Some(Data::view(
                    d.buffer.clone(),
                    &spec.shape,
                    d.offset,
                    strides,
                )))
            })
            .collect::<Result<_>>()?;
        // A broadcast of one value (every stride 0) is read from one tile of it.
        let is_splat = |d: &Data| n > 0 && !d.row_contiguous && d.strides.iter().all(|&s| s == 0);
        let owned: Vec<Option<Vec<f32>>> = datas
            .iter()
            .map(|d| {
                d.as_ref().filter(|d| !d.row_contiguous).map(|d| {
                    let src = d.elements::<f32>();
                    if is_splat(d) {
                        return vec![src[d.offset]; TILE];
                    }
                    // Row by row (broadcast rows and transposes copy whole runs at once).
                    let mut v = vec![0f32; n];
                    let strides = crate::array::row_major_strides(&spec.shape);
                    crate::cpu::copy::copy_into::<f32>(d, &spec.shape, &mut v, 0, &strides);
                    v
                })
            })
            .collect();
        let slices: Vec<Source<'_>> = datas
            .iter()
            .zip(&owned)
            .zip(&donated_to)
            .map(|((d, o), to)| match (d, o) {
                (None, _) => Source::Out(to.unwrap_or_default()),
                (Some(d), Some(v)) if is_splat(d) => Source::Splat(v.as_slice()),
                (_, Some(v)) => Source::Full(v.as_slice()),
                (Some(d), None) => Source::Full(&d.elements::<f32>()[d.offset..d.offset + n]),
            })
            .collect();
        let mut outs: Vec<&mut [f32]> = bufs
            .iter_mut()
            .map(|b| &mut buffer_elements_mut::<f32>(b)[..n])
            .collect();
        // A few large blocks per core, each with its own registers, walked tile by tile.
        let run_block = |first: usize, block: &mut [&mut [f32]]| {
            let mut regs = self.new_registers();
            let len = block[0].len();
            for at in (0..len).step_by(TILE) {
                let end = (at + TILE).min(len);
                let mut tiles: Vec<&mut [f32]> =
                    block.iter_mut().map(|b| &mut b[at..end]).collect();
                self.run_tile(&slices, first + at, &mut regs, &mut tiles);
            }
        };
        // Two tiles or fewer per core: one worker. Otherwise blocks in parallel.
        let blocks = 4 * rayon::current_num_threads();
        let block = n.div_ceil(blocks).div_ceil(TILE).max(1) * TILE;
        if n <= 2 * TILE {
            run_block(0, &mut outs);
        } else {
            // Block `b` of every output, together.
            let mut per_block: Vec<Vec<&mut [f32]>> = Vec::new();
            for out in outs {
                for (b, chunk) in out.chunks_mut(block).enumerate() {
                    if per_block.len() <= b {
                        per_block.push(Vec::with_capacity(outputs.len()));
                    }
                    per_block[b].push(chunk);
                }
            }
            per_block
                .into_par_iter()
                .enumerate()
                .for_each(|(b, mut chunks)| run_block(b * block, &mut chunks));
        }
        Ok(bufs
            .into_iter()
            .map(|buf| Data::from_buffer(buf, &spec.shape))
            .collect())
    }

    // Transformed through the unfused chain (its outputs, the fused root's first).
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let f = |xs: &[Array]| self.original.replay_shapeless(xs);
        Ok(crate::transforms::vjp_argnums(f, primals, cotangents, argnums)?.1)
    }

    fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let mut all = primals
            .iter()
            .map(crate::ops::zeros_like)
            .collect::<Result<Vec<_>>>()?;
        for (&i, t) in argnums.iter().zip(tangents) {
            all[i] = t.clone();
        }
        let f = |xs: &[Array]| self.original.replay_shapeless(xs);
        Ok(crate::transforms::jvp(f, primals, &all)?.1)
    }

    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
        outputs: &[OutputSpec],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let f = |xs: &[Array]| self.original.replay_shapeless(xs);
        if axes.iter().all(Option::is_none) {
            return Ok((f(inputs)?, vec![None; outputs.len()]));
        }
        let in_axes: Vec<Option<isize>> = axes.iter().map(|a| a.map(|a| a as isize)).collect();
        let out = crate::transforms::vmap_uniform_out(f, &in_axes, Some(0))(inputs)?;
        Ok((out, vec![Some(0); outputs.len()]))
    }
}
