//! `Compiled`: a chain of float32 elementwise primitives fused by `compile` into one pass.
//!
//! The chain runs as a small register program over cache-sized tiles of the output: each
//! step applies one op's float32 tile kernel (the same functions the unfused primitives use,
//! so results are bit-identical) from registers or input tiles into a register. No
//! full-size intermediate buffer is ever allocated.

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
    macro_rules! un {
        ($f:expr) => {{
            fn k(s: &[f32], d: &mut [f32]) {
                ($f)(s, d)
            }
            TileKernel::Unary(k)
        }};
    }
    macro_rules! bin {
        (|$x:ident, $y:ident| $e:expr) => {{
            fn k(a: &[f32], b: &[f32], d: &mut [f32]) {
                for ((o, &$x), &$y) in d.iter_mut().zip(a).zip(b) {
                    *o = $e;
                }
            }
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
    /// The donated input: its buffer became the output, so its elements are read from the
    /// output tile, which still holds them until the program's last step writes it.
    Out,
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
    /// The unfused chain over this node's inputs: what the transform rules differentiate.
    pub(crate) original: Program,
}

impl Compiled {
    /// Runs the program on elements `[start, start + out.len())`; the last step (the result)
    /// writes straight into `out`.
    ///
    /// When an input was donated (`Source::Out`), `out` holds that input's elements on entry:
    /// every step before the last reads them from `out`, and a last step that reads them too
    /// computes into its own register, copied into `out` afterwards. Each element is read at
    /// its own index only, so overwriting the tile after all reads gives the same result as a
    /// fresh output (MLX's in-place elementwise semantics), with no aliasing borrows.
    fn run_tile(
        &self,
        inputs: &[Source<'_>],
        start: usize,
        regs: &mut [Vec<f32>],
        out: &mut [f32],
    ) {
        let len = out.len();
        let nsc = self.scalars.len();
        let last = self.steps.len() - 1;
        for (i, step) in self.steps.iter().enumerate() {
            let reads_out = step
                .args
                .iter()
                .any(|o| matches!(*o, Operand::Input(k) if matches!(inputs[k], Source::Out)));
            let to_out = i == last && !reads_out;
            // The destination is taken out of the register file so operands can be borrowed.
            let mut reg = if to_out {
                Vec::new()
            } else {
                std::mem::take(&mut regs[nsc + step.dst])
            };
            {
                let (dst, tile): (&mut [f32], &[f32]) = if to_out {
                    (&mut *out, &[])
                } else {
                    (&mut reg[..len], &*out)
                };
                let arg = |o: &Operand| -> &[f32] {
                    match *o {
                        Operand::Input(i) => match inputs[i] {
                            Source::Full(x) => &x[start..start + len],
                            Source::Splat(x) => &x[..len],
                            Source::Out => tile,
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
                    out.copy_from_slice(&reg[..len]);
                }
                regs[nsc + step.dst] = reg;
            }
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
        let spec = &outputs[0];
        let n = spec.size();
        let bytes = n * spec.dtype.size();
        // As MLX's compiled kernels: the output takes the buffer of the first input that can
        // give it (the output's shape and item size, row-major from offset 0, not a 0-d
        // scalar, and nothing else holding the array or its buffer: see `try_donate`).
        // Captured constants are held by the program, so they are never donated.
        let donor = if spec.shape.is_empty() || n == 0 {
            None
        } else {
            inputs.iter().enumerate().find_map(|(i, a)| {
                if a.shape() == spec.shape.as_slice() && a.itemsize() == spec.dtype.size() {
                    a.try_donate(bytes).map(|b| (i, b))
                } else {
                    None
                }
            })
        };
        let donated = donor.as_ref().map(|(i, _)| *i);
        // Inputs as row-major float32 slices (a strided input is gathered once); an input of
        // a smaller shape (a fused broadcast's source) is read broadcast to the output's.
        let datas: Vec<Option<Data>> = inputs
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if donated == Some(i) {
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
            .map(|(d, o)| match (d, o) {
                (None, _) => Source::Out,
                (Some(d), Some(v)) if is_splat(d) => Source::Splat(v.as_slice()),
                (_, Some(v)) => Source::Full(v.as_slice()),
                (Some(d), None) => Source::Full(&d.elements::<f32>()[d.offset..d.offset + n]),
            })
            .collect();
        let mut buf = match donor {
            Some((_, b)) => b,
            None => Data::alloc(spec)?.0,
        };
        let out = &mut buffer_elements_mut::<f32>(&mut buf)[..n];
        // Two tiles or fewer per core: one worker. Otherwise tiles in parallel, each worker
        // with its own registers.
        // A few large blocks per core, each with its own registers, walked tile by tile.
        let run_block = |first: usize, block: &mut [f32]| {
            let mut regs = self.new_registers();
            for (t, chunk) in block.chunks_mut(TILE).enumerate() {
                self.run_tile(&slices, first + t * TILE, &mut regs, chunk);
            }
        };
        let blocks = 4 * rayon::current_num_threads();
        let block = n.div_ceil(blocks).div_ceil(TILE).max(1) * TILE;
        if n <= 2 * TILE {
            run_block(0, out);
        } else {
            out.par_chunks_mut(block)
                .enumerate()
                .for_each(|(b, chunk)| run_block(b * block, chunk));
        }
        Ok(vec![Data::from_buffer(buf, &spec.shape)])
    }

    // Transformed through the unfused chain (one output: the fused root).
    crate::transforms::rules::rules_via_fallback!(|c, xs| Ok(c
        .original
        .replay_shapeless(xs)?
        .remove(0)));
}
