//! `Compiled`: a chain of float32 elementwise primitives fused by `compile` into one pass.
//!
//! The chain runs as a small register program over cache-sized tiles of the output: each
//! step applies one op's float32 tile kernel (the same functions the unfused primitives use,
//! so results are bit-identical) from registers or input tiles into a register. No
//! full-size intermediate buffer is ever allocated. Besides the chain's result (output 0),
//! the values of some steps can leave the node too (outputs 1..). Each output's step writes
//! straight into the output's tile when it can (see `Compiled::plan`), and inputs are
//! donated to the outputs whose steps come after their last reads, so an optimizer's update
//! reads each old value and writes each new one once, in place.

use crate::array::{Array, Data, buffer_elements_mut};
use crate::cpu::unary::{each, rsqrt32};
use crate::cpu::vmath;
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive};
use crate::transforms::program::Program;
use rayon::prelude::*;

/// Elements per tile: 1 KB of float32 per register, so the registers of both hyperthreads'
/// programs stay in L1 (Adam's update, 100M parameters: 100 ms with 4 KB tiles, 80 with 1 KB,
/// measured on this machine; 2 KB was as slow as 4 KB, 512 B no faster than 1 KB).
const TILE: usize = 256;

/// A float32 tile kernel.
#[derive(Clone, Copy)]
pub(crate) enum TileKernel {
    Unary(fn(&[f32], &mut [f32])),
    Binary(BinaryKernel),
}

/// A binary tile kernel `d = f(a, b)` over `len` elements, reading each operand as a
/// [`Lane`]. `d` may be the tile of one of its operands (a donated input written over by the
/// step that last reads it): each chunk of the operands is read before its results are stored.
#[derive(Clone, Copy)]
pub(crate) struct BinaryKernel {
    apply: unsafe fn(Lane, Lane, *mut f32, usize),
    /// `Multiply`: its product by a scalar can be folded into the step that reads it.
    multiply: bool,
}

/// How a binary kernel reads one operand.
#[derive(Clone, Copy)]
enum Lane {
    /// The tile's elements.
    Tile(*const f32),
    /// One value.
    Scalar(f32),
    /// `c * x` for the tile's elements `x`: a `Multiply` by a scalar folded into its reader.
    Scaled(f32, *const f32),
}

/// Reading `N` consecutive elements of an operand (the forms of [`Lane`] as types, so the
/// kernel's loop is compiled once per pair of forms).
trait Load: Copy {
    /// # Safety
    /// Elements `[i, i + N)` must be readable.
    unsafe fn load<const N: usize>(self, i: usize) -> [f32; N];
}

#[derive(Clone, Copy)]
struct Elements(*const f32);
#[derive(Clone, Copy)]
struct Splat(f32);
#[derive(Clone, Copy)]
struct Scaled(f32, *const f32);

impl Load for Elements {
    #[inline(always)]
    unsafe fn load<const N: usize>(self, i: usize) -> [f32; N] {
        // SAFETY: the caller's contract.
        unsafe { (self.0.add(i) as *const [f32; N]).read_unaligned() }
    }
}
impl Load for Splat {
    #[inline(always)]
    unsafe fn load<const N: usize>(self, _: usize) -> [f32; N] {
        [self.0; N]
    }
}
impl Load for Scaled {
    #[inline(always)]
    unsafe fn load<const N: usize>(self, i: usize) -> [f32; N] {
        // SAFETY: the caller's contract.
        let mut x: [f32; N] = unsafe { Elements(self.1).load(i) };
        // The product the folded `Multiply` step computed (IEEE products commute). A plain
        // loop: `map` is not inlined into the vector kernels.
        for x in &mut x {
            *x *= self.0;
        }
        x
    }
}

/// `d[i] = f(a[i], b[i])` for `i < len`, a chunk of 32 at a time (vectorised: the chunks are
/// arrays, so `d` may be the tile of an operand).
///
/// # Safety
/// The operands' tiles must be readable and `d` writable for `len` elements; `d` may overlap
/// an operand only exactly (the same elements).
#[inline(always)]
unsafe fn zip_lanes<A: Load, B: Load>(
    f: impl Fn(f32, f32) -> f32,
    a: A,
    b: B,
    d: *mut f32,
    len: usize,
) {
    const N: usize = 32;
    let mut i = 0;
    // SAFETY: every index is below `len` (the caller's contract), and each chunk is read
    // whole before it is written.
    unsafe {
        while i + N <= len {
            let (x, y) = (a.load::<N>(i), b.load::<N>(i));
            let mut o = [0f32; N];
            for l in 0..N {
                o[l] = f(x[l], y[l]);
            }
            (d.add(i) as *mut [f32; N]).write_unaligned(o);
            i += N;
        }
        while i < len {
            let (x, y) = (a.load::<1>(i), b.load::<1>(i));
            d.add(i).write(f(x[0], y[0]));
            i += 1;
        }
    }
}

/// Runs `f` over the operands' forms (see [`zip_lanes`]), compiled for AVX-512 and AVX2 too
/// and picked at run time, as the unfused kernels are: only the vector width changes (no
/// contraction into FMA), so the results stay bit-identical.
///
/// # Safety
/// As [`zip_lanes`].
#[inline(always)]
unsafe fn binary_lanes<F: Fn(f32, f32) -> f32 + Copy>(
    f: F,
    a: Lane,
    b: Lane,
    d: *mut f32,
    len: usize,
) {
    #[inline(always)]
    unsafe fn by_form<F: Fn(f32, f32) -> f32 + Copy>(
        f: F,
        a: Lane,
        b: Lane,
        d: *mut f32,
        len: usize,
    ) {
        #[inline(always)]
        unsafe fn rhs<A: Load, F: Fn(f32, f32) -> f32 + Copy>(
            f: F,
            a: A,
            b: Lane,
            d: *mut f32,
            len: usize,
        ) {
            // SAFETY: the caller's contract.
            unsafe {
                match b {
                    Lane::Tile(p) => zip_lanes(f, a, Elements(p), d, len),
                    Lane::Scalar(c) => zip_lanes(f, a, Splat(c), d, len),
                    Lane::Scaled(c, p) => zip_lanes(f, a, Scaled(c, p), d, len),
                }
            }
        }
        // SAFETY: the caller's contract.
        unsafe {
            match a {
                Lane::Tile(p) => rhs(f, Elements(p), b, d, len),
                Lane::Scalar(c) => rhs(f, Splat(c), b, d, len),
                Lane::Scaled(c, p) => rhs(f, Scaled(c, p), b, d, len),
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        use crate::cpu::vmath::{Level, level};
        macro_rules! with_features {
            ($($name:ident: $features:literal),*) => {$(
                #[target_feature(enable = $features)]
                unsafe fn $name<F: Fn(f32, f32) -> f32 + Copy>(
                    f: F,
                    a: Lane,
                    b: Lane,
                    d: *mut f32,
                    len: usize,
                ) {
                    // SAFETY: the caller's contract.
                    unsafe { by_form(f, a, b, d, len) }
                }
            )*};
        }
        with_features!(avx512: "avx512f,avx2,fma", avx2: "avx2,fma");
        match level() {
            // SAFETY: the CPU has these features (checked at run time by `level`); the rest
            // is the caller's contract.
            Level::Avx512 => return unsafe { avx512(f, a, b, d, len) },
            // SAFETY: as above.
            Level::Avx2 => return unsafe { avx2(f, a, b, d, len) },
            Level::Portable => {}
        }
    }
    // SAFETY: the caller's contract.
    unsafe { by_form(f, a, b, d, len) }
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
    // results stay bit-identical. (Binary kernels: see `binary_lanes`.)
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
        (|$x:ident, $y:ident| $e:expr) => {
            bin!(false, |$x, $y| $e)
        };
        ($multiply:expr, |$x:ident, $y:ident| $e:expr) => {{
            /// # Safety
            /// As `zip_lanes`.
            unsafe fn apply(a: Lane, b: Lane, d: *mut f32, len: usize) {
                // SAFETY: the caller's contract.
                unsafe { binary_lanes(|$x: f32, $y: f32| $e, a, b, d, len) }
            }
            TileKernel::Binary(BinaryKernel {
                apply,
                multiply: $multiply,
            })
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
        "Multiply" => bin!(true, |x, y| x.mul(y)),
        "Divide" => bin!(|x, y| x.div(y)),
        "Maximum" => bin!(|x, y| x.max_nan(y)),
        "Minimum" => bin!(|x, y| x.min_nan(y)),
        "Power" => bin!(|x, y| x.power(y)),
        // A comparison only converted to float32 (see `transforms::fuse`): the mask as 1.0 or
        // 0.0, which its `AsType` then copies (also the kernel of a float32 -> float32 cast).
        "Greater" => bin!(|x, y| if x > y { 1.0 } else { 0.0 }),
        "AsType" => un!(|s: &[f32], d: &mut [f32]| d.copy_from_slice(s)),
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

/// A tile a planned step reads or writes.
#[derive(Clone, Copy, PartialEq)]
enum Tile {
    /// Input `i` (see [`Source`]; never a donated one, which reads as `Out`).
    Input(usize),
    /// Output `j`'s tile.
    Out(usize),
    /// Register `r` of the register file (the scalars' registers first).
    Reg(usize),
}

/// How a planned binary step reads an operand.
#[derive(Clone, Copy, PartialEq)]
enum Arg {
    Tile(Tile),
    /// A constant or a broadcast scalar input.
    Scalar(f32),
    /// `c * tile`: a `Multiply` by a scalar folded into the one step that reads its product
    /// (the same product, computed in registers instead of a tile of L1).
    Scaled(f32, Tile),
}

impl Arg {
    fn tile(self) -> Option<Tile> {
        match self {
            Arg::Tile(t) | Arg::Scaled(_, t) => Some(t),
            Arg::Scalar(_) => None,
        }
    }
}

/// One step of a [`Plan`]. A binary step's destination may be one of its operands' tiles
/// (see [`BinaryKernel`]); a unary step's never is.
enum PlannedStep {
    Unary {
        f: fn(&[f32], &mut [f32]),
        src: Tile,
        dst: Tile,
    },
    Binary {
        k: BinaryKernel,
        args: [Arg; 2],
        dst: Tile,
    },
}

impl PlannedStep {
    fn dst(&self) -> Tile {
        match *self {
            PlannedStep::Unary { dst, .. } | PlannedStep::Binary { dst, .. } => dst,
        }
    }
    /// How many of its operands read tile `t`.
    fn reads(&self, t: Tile) -> usize {
        match self {
            PlannedStep::Unary { src, .. } => usize::from(*src == t),
            PlannedStep::Binary { args, .. } => args.iter().filter(|a| a.tile() == Some(t)).count(),
        }
    }
}

/// The program's steps with the tiles they touch for one evaluation (which inputs were
/// donated to which outputs decides where values are read).
struct Plan {
    steps: Vec<PlannedStep>,
    /// `(output, register)` copied at the end of each tile: outputs the steps could not write
    /// in place.
    copies: Vec<(usize, usize)>,
}

impl Compiled {
    /// The step computing each output: the last step for output 0, the exported members'
    /// steps for the others (each the last writer of its register, which is never reused).
    fn writers(&self) -> Vec<usize> {
        let last = self.steps.len() - 1;
        let exported = self.exported.iter().map(|&r| {
            (0..self.steps.len())
                .rev()
                .find(|&i| self.steps[i].dst == r)
                .unwrap_or(last)
        });
        std::iter::once(last).chain(exported).collect()
    }

    /// Where each step reads and writes, given `donated_to` (per input, the output whose
    /// buffer it became).
    ///
    /// Output 0 is written by the last step, output `j >= 1` by its member's step, straight
    /// into the output tile, and later steps read that value from there; unless a step from
    /// there on reads an input donated to the same output (whose elements the tile holds until
    /// it is written), in which case the value goes to its register and is copied out after
    /// the tile's last step. Each element is read at its own index only, so overwriting the
    /// tiles after all reads gives the same result as fresh outputs (MLX's in-place
    /// elementwise semantics).
    ///
    /// `splat` holds the value of each input that is one value broadcast (binary steps read
    /// it as a scalar). Then each `Multiply` by a scalar whose product only one later binary
    /// step reads is folded into that step's operand (Adam's update: 12 steps become 7).
    fn plan(&self, donated_to: &[Option<usize>], splat: &[Option<f32>]) -> Plan {
        let nsc = self.scalars.len();
        let last = self.steps.len() - 1;
        // Output j's value: (the step computing it, its register).
        let writer: Vec<(usize, usize)> = (self.writers().into_iter())
            .map(|w| (w, self.steps[w].dst))
            .collect();
        // How many operands of step i are the input donated to output j.
        let reads_donated = |i: usize, j: usize| {
            (self.steps[i].args.iter())
                .filter(|o| matches!(**o, Operand::Input(k) if donated_to[k] == Some(j)))
                .count()
        };
        // The writer of output j may read the input donated to j itself only if it is binary
        // (which then runs over that operand's tile).
        let in_place: Vec<bool> = writer
            .iter()
            .enumerate()
            .map(|(j, &(step, _))| {
                let binary = matches!(self.steps[step].kernel, TileKernel::Binary(_));
                let own = reads_donated(step, j);
                (own == 0 || binary) && (step + 1..=last).all(|i| reads_donated(i, j) == 0)
            })
            .collect();
        let mut steps = Vec::with_capacity(self.steps.len());
        for (i, step) in self.steps.iter().enumerate() {
            let tile = |o: Operand| match o {
                Operand::Input(k) => match donated_to[k] {
                    Some(j) => Tile::Out(j),
                    None => Tile::Input(k),
                },
                Operand::Scalar(c) => Tile::Reg(c),
                Operand::Reg(r) => {
                    // A value already written into its output tile is read from there.
                    let out = writer
                        .iter()
                        .position(|&(w, reg)| reg == r && w < i)
                        .filter(|&j| in_place[j]);
                    match out {
                        Some(j) => Tile::Out(j),
                        None => Tile::Reg(nsc + r),
                    }
                }
            };
            let arg = |o: Operand| match o {
                Operand::Scalar(c) => Arg::Scalar(self.scalars[c]),
                Operand::Input(k) if donated_to[k].is_none() && splat[k].is_some() => {
                    Arg::Scalar(splat[k].unwrap_or_default())
                }
                _ => Arg::Tile(tile(o)),
            };
            let dst = writer
                .iter()
                .position(|&(w, _)| w == i)
                .filter(|&j| in_place[j])
                .map_or(Tile::Reg(nsc + step.dst), Tile::Out);
            steps.push(match step.kernel {
                TileKernel::Unary(f) => PlannedStep::Unary {
                    f,
                    src: tile(step.args[0]),
                    dst,
                },
                TileKernel::Binary(k) => PlannedStep::Binary {
                    k,
                    args: [arg(step.args[0]), arg(step.args[1])],
                    dst,
                },
            });
        }
        let mut folded = vec![false; steps.len()];
        for i in 0..steps.len() {
            let PlannedStep::Binary { k, args, dst } = steps[i] else {
                continue;
            };
            let (c, x) = match args {
                [Arg::Scalar(c), Arg::Tile(x)] | [Arg::Tile(x), Arg::Scalar(c)] => (c, x),
                _ => continue,
            };
            let writes_output = writer.iter().any(|&(w, _)| w == i);
            if !k.multiply || writes_output || !matches!(dst, Tile::Reg(_)) {
                continue;
            }
            // The product's readers, up to the next step that writes its register.
            let mut readers = Vec::new();
            for (s, step) in steps.iter().enumerate().skip(i + 1) {
                readers.extend(std::iter::repeat_n(s, step.reads(dst)));
                if step.dst() == dst {
                    break;
                }
            }
            // One reader, binary, reading it as a plain tile; and no step in between writes
            // `x`'s tile (a register reused, an output written in place).
            let &[s] = readers.as_slice() else { continue };
            let between_keep_x = (i + 1..s).all(|m| folded[m] || steps[m].dst() != x);
            if let PlannedStep::Binary { args, .. } = &mut steps[s]
                && between_keep_x
                && let Some(a) = args.iter_mut().find(|a| **a == Arg::Tile(dst))
            {
                *a = Arg::Scaled(c, x);
                folded[i] = true;
            }
        }
        let steps = (steps.into_iter().zip(folded))
            .filter(|&(_, f)| !f)
            .map(|(s, _)| s)
            .collect();
        let copies = writer
            .iter()
            .enumerate()
            .filter(|&(j, _)| !in_place[j])
            .map(|(j, &(_, r))| (j, nsc + r))
            .collect();
        Plan { steps, copies }
    }

    /// Runs the planned program on elements `[start, start + len)`: `outs` point at the
    /// outputs' tiles, `regs` at the registers (the scalars' first).
    ///
    /// # Safety
    /// Every pointer must be valid for `len` elements (registers for writes, outputs for reads
    /// and writes), no other reference to those elements may be alive, and the output tiles
    /// and registers must not overlap each other or the inputs.
    unsafe fn run_tile(
        plan: &Plan,
        inputs: &[Source<'_>],
        start: usize,
        len: usize,
        outs: &[*mut f32],
        regs: &[*mut f32],
    ) {
        let ptr = |t: Tile| -> *mut f32 {
            match t {
                Tile::Input(k) => match inputs[k] {
                    Source::Full(x) => x[start..start + len].as_ptr() as *mut f32,
                    Source::Splat(x) => x[..len].as_ptr() as *mut f32,
                    Source::Out(j) => outs[j],
                },
                Tile::Out(j) => outs[j],
                Tile::Reg(r) => regs[r],
            }
        };
        let lane = |a: Arg| match a {
            Arg::Tile(t) => Lane::Tile(ptr(t)),
            Arg::Scalar(c) => Lane::Scalar(c),
            Arg::Scaled(c, t) => Lane::Scaled(c, ptr(t)),
        };
        for step in &plan.steps {
            match *step {
                PlannedStep::Unary { f, src, dst } => {
                    debug_assert!(src != dst, "a unary step never runs in place");
                    // SAFETY: every tile is `len` valid elements of its own buffer (the
                    // caller's contract), and a unary step's source is not its destination.
                    unsafe {
                        let src = std::slice::from_raw_parts(ptr(src) as *const f32, len);
                        f(src, std::slice::from_raw_parts_mut(ptr(dst), len))
                    }
                }
                // SAFETY: as above; a binary kernel reads its operands through raw pointers,
                // and its destination overlaps an operand only as the same tile.
                PlannedStep::Binary { k, args, dst } => unsafe {
                    (k.apply)(lane(args[0]), lane(args[1]), ptr(dst), len)
                },
            }
        }
        for &(j, r) in &plan.copies {
            // SAFETY: as above; a register and an output tile are distinct buffers.
            unsafe { std::ptr::copy_nonoverlapping(regs[r], outs[j], len) };
        }
    }

    fn new_registers(&self) -> Vec<Vec<f32>> {
        let mut regs: Vec<Vec<f32>> = self.scalars.iter().map(|&v| vec![v; TILE]).collect();
        regs.extend((0..self.n_regs).map(|_| vec![0.0f32; TILE]));
        regs
    }
}

/// Asks for the cache lines of the `len` floats from `p` in the L2 cache (x86-64; elsewhere
/// nothing). A prefetch is a hint: it never faults, whatever the address.
#[inline]
fn prefetch_l2(p: *const f32, len: usize) {
    #[cfg(target_arch = "x86_64")]
    for line in (0..len).step_by(16) {
        use std::arch::x86_64::{_MM_HINT_T1, _mm_prefetch};
        // SAFETY: prefetching has no memory effects; `wrapping_add` computes the address
        // without asserting it is in bounds.
        unsafe { _mm_prefetch::<_MM_HINT_T1>(p.wrapping_add(line) as *const i8) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, len);
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
        let mut taken: Vec<Option<crate::allocator::Buffer>> =
            (0..outputs.len()).map(|_| None).collect();
        if !spec.shape.is_empty() && n > 0 {
            let writers = self.writers();
            let last_read: Vec<Option<usize>> = (0..inputs.len())
                .map(|k| (self.steps.iter()).rposition(|s| s.args.contains(&Operand::Input(k))))
                .collect();
            // Outputs in the order the program computes them; each prefers an input the
            // program has finished reading by then, so that its step can write the output
            // tile in place (see `plan`), then any input that fits.
            let mut order: Vec<usize> = (0..outputs.len()).collect();
            order.sort_by_key(|&j| writers[j]);
            for j in order {
                let fits = |a: &Array| {
                    a.shape() == spec.shape.as_slice() && a.itemsize() == spec.dtype.size()
                };
                let clean = |i: usize| last_read[i].is_none_or(|r| r < writers[j]);
                let mut donor = None;
                for want_clean in [true, false] {
                    donor = inputs.iter().enumerate().find_map(|(i, a)| {
                        let candidate =
                            donated_to[i].is_none() && fits(a) && (!want_clean || clean(i));
                        candidate
                            .then(|| a.try_donate(bytes))
                            .flatten()
                            .map(|b| (i, b))
                    });
                    if donor.is_some() {
                        break;
                    }
                }
                if let Some((i, b)) = donor {
                    donated_to[i] = Some(j);
                    taken[j] = Some(b);
                }
            }
        }
        let mut bufs = Vec::with_capacity(outputs.len());
        for b in taken {
            bufs.push(match b {
                Some(b) => b,
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
        let splat: Vec<Option<f32>> = (datas.iter().zip(&owned))
            .map(|(d, o)| match (d, o) {
                (Some(d), Some(v)) if is_splat(d) => Some(v[0]),
                _ => None,
            })
            .collect();
        let plan = self.plan(&donated_to, &splat);
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
            let reg_ptrs: Vec<*mut f32> = regs.iter_mut().map(|r| r.as_mut_ptr()).collect();
            let len = block[0].len();
            let bases: Vec<*mut f32> = block.iter_mut().map(|b| b.as_mut_ptr()).collect();
            let mut tiles = bases.clone();
            for at in (0..len).step_by(TILE) {
                let end = (at + TILE).min(len);
                // The next tile of every full-size stream is asked for while this one runs:
                // a tile's steps otherwise wait on memory in turn (an optimizer's update
                // reads four streams and writes three).
                let next = end..(end + TILE).min(len);
                for src in &slices {
                    if let Source::Full(x) = src {
                        prefetch_l2(x[first + next.start..].as_ptr(), next.len());
                    }
                }
                for (tile, &base) in tiles.iter_mut().zip(&bases) {
                    // SAFETY: `at` and `end` lie inside the block's outputs.
                    unsafe {
                        prefetch_l2(base.add(next.start), next.len());
                        *tile = base.add(at);
                    }
                }
                // SAFETY: the tiles are `end - at` elements of this block's outputs (owned
                // through `block`, which is not touched otherwise meanwhile) and registers of
                // TILE elements; outputs, registers and inputs are distinct buffers (a donated
                // input is read from its output only, as `Source::Out`).
                unsafe {
                    Compiled::run_tile(&plan, &slices, first + at, end - at, &tiles, &reg_ptrs)
                };
            }
            drop(regs);
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
