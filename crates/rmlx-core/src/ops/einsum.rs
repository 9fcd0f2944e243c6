//! Einstein summation: [`einsum`] and [`einsum_path`], as MLX does them.
//!
//! The subscripts follow NumPy: letters name axes, `,` separates operands, `->` gives the
//! output (without it the output is the ellipsis, then the letters seen once, in ASCII order),
//! `...` stands for the leading axes an operand has beyond its letters, and axes of size 1
//! broadcast. With more than two operands the contraction order is MLX's greedy path (NumPy's
//! and opt_einsum's "greedy"): at each step contract the pair that removes the most elements,
//! cheaper first on ties, skipping pairs whose result would be larger than the largest input or
//! output. Each step is a batched matrix product when something is summed, otherwise a
//! broadcast multiply and sum; repeated letters within an operand take its diagonal first.
//!
//! `einsum` is composed of existing primitives (diagonal, sum, transpose, reshape, matmul,
//! multiply), so transforms differentiate it through them, as MLX's does.

use crate::array::Array;
use crate::error::{Error, Result, fmt_shape};

/// A set of subscript letters (`a`–`z`, `A`–`Z`) as a bit mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Letters(u64);

impl Letters {
    fn bit(c: u8) -> u64 {
        match c {
            b'a'..=b'z' => 1 << (c - b'a'),
            _ => 1 << (26 + c - b'A'),
        }
    }
    fn of(s: &[u8]) -> Self {
        Letters(s.iter().fold(0, |m, &c| m | Self::bit(c)))
    }
    fn has(self, c: u8) -> bool {
        self.0 & Self::bit(c) != 0
    }
    fn union(self, o: Self) -> Self {
        Letters(self.0 | o.0)
    }
    fn and(self, o: Self) -> Self {
        Letters(self.0 & o.0)
    }
    fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    fn chars(self) -> impl Iterator<Item = u8> {
        (b'a'..=b'z')
            .chain(b'A'..=b'Z')
            .filter(move |&c| self.has(c))
    }
}

/// One operand's (or result's) subscripts: in axis order, and as a set.
#[derive(Clone, Debug)]
struct Term {
    s: Vec<u8>,
    set: Letters,
}

impl Term {
    fn new(s: Vec<u8>) -> Self {
        let set = Letters::of(&s);
        Term { s, set }
    }
}

/// A step of the contraction path: which of the current operands it consumes (increasing
/// positions), their terms, and the term of its result (appended to the operand list).
#[derive(Clone, Debug)]
struct Step {
    inputs: Vec<Term>,
    output: Term,
    positions: Vec<usize>,
}

/// The size of each letter (broadcast: the largest size seen).
struct Sizes([usize; 52]);

impl Sizes {
    fn of(&self, c: u8) -> usize {
        let i = match c {
            b'a'..=b'z' => c - b'a',
            _ => 26 + c - b'A',
        };
        self.0[i as usize]
    }
    fn set_max(&mut self, c: u8, d: usize) -> usize {
        let i = match c {
            b'a'..=b'z' => c - b'a',
            _ => 26 + c - b'A',
        } as usize;
        let old = self.0[i];
        self.0[i] = old.max(d);
        old
    }
    /// Elements of a term over these letters (saturating: only compared).
    fn size(&self, set: Letters) -> usize {
        set.chars()
            .fold(1usize, |p, c| p.saturating_mul(self.of(c)))
    }
    fn size_str(&self, s: &[u8]) -> usize {
        s.iter().fold(1usize, |p, &c| p.saturating_mul(self.of(c)))
    }
}

/// MLX's flop estimate of one contraction over the letters `set` of `terms` operands.
fn flop_count(sizes: &Sizes, set: Letters, inner: bool, terms: usize) -> usize {
    let factor = (terms.saturating_sub(1)).max(1) + usize::from(inner);
    sizes.size(set).saturating_mul(factor)
}

/// Cost and scaling (number of distinct letters) of contracting `inputs` at once.
fn cost_and_scaling(inputs: &[Term], output: &Term, sizes: &Sizes) -> (usize, usize) {
    let all = inputs
        .iter()
        .fold(Letters::default(), |m, t| m.union(t.set));
    let inner = all.and(output.set) != all;
    (flop_count(sizes, all, inner, inputs.len()), all.len())
}

/// The parsed problem: operand terms, output term, letter sizes, and MLX's path with its info.
struct Plan {
    path: Vec<Step>,
    naive: (usize, usize),
    optimized: (usize, usize),
}

/// Splits the subscripts into operand strings and the output string (inferred without `->`).
fn parse(subscripts: &str) -> (Vec<Vec<u8>>, Vec<u8>) {
    let s: Vec<u8> = subscripts.bytes().filter(|&c| c != b' ').collect();
    let arrow = s.windows(2).position(|w| w == b"->");
    let (lhs, rhs) = match arrow {
        Some(p) => (s[..p].to_vec(), s[p + 2..].to_vec()),
        None => {
            // Implicit output: the ellipsis first, then letters seen exactly once, sorted.
            let mut counts = [0usize; 256];
            let mut ellipsis = false;
            for &c in s.iter().filter(|&&c| c != b',') {
                if c == b'.' {
                    ellipsis = true;
                } else {
                    counts[c as usize] += 1;
                }
            }
            let mut rhs: Vec<u8> = if ellipsis { b"...".to_vec() } else { vec![] };
            rhs.extend((0u8..=255).filter(|&c| counts[c as usize] == 1));
            (s.clone(), rhs)
        }
    };
    let inputs = lhs.split(|&c| c == b',').map(|t| t.to_vec()).collect();
    (inputs, rhs)
}

/// Checks the letters of `sub` and replaces its ellipsis by `len` letters from the end of
/// `spare` (`len` from the operand's rank, or the longest operand ellipsis for the output).
fn expand_ellipsis(
    sub: &mut Vec<u8>,
    ndim: Option<usize>,
    op_index: usize,
    operand_shape: &[usize],
    spare: &[u8],
    max_len: &mut usize,
    fname: &str,
) -> Result<()> {
    let mut at = None;
    let (mut before, mut after) = (0usize, 0usize);
    let mut i = 0;
    while i < sub.len() {
        let c = sub[i];
        if !c.is_ascii_alphabetic() {
            if i + 2 >= sub.len() || &sub[i..i + 3] != b"..." {
                return Err(Error::value(format!(
                    "[{fname}] Subscripts must be letters, but got '{}'.",
                    c as char
                )));
            }
            if at.is_some() {
                return Err(Error::value(format!(
                    "[{fname}] Only one ellipsis per subscript is allowed but found more in '{}'.",
                    String::from_utf8_lossy(sub)
                )));
            }
            at = Some(before);
            i += 3;
            continue;
        }
        if at.is_some() {
            after += 1;
        } else {
            before += 1;
        }
        i += 1;
    }
    let Some(pos) = at else { return Ok(()) };
    let len = match ndim {
        Some(nd) => {
            if nd < before + after {
                return Err(Error::value(format!(
                    "[{fname}] Operand {op_index} with shape {} has insufficient dimensions for \
                     subscript '{}'. The ellipsis requires at least {} dimensions but the operand \
                     has {nd} dimensions.",
                    fmt_shape(operand_shape),
                    String::from_utf8_lossy(sub),
                    before + after
                )));
            }
            let len = nd - before - after;
            *max_len = (*max_len).max(len);
            len
        }
        None => *max_len,
    };
    if len > spare.len() {
        return Err(Error::value(format!(
            "[{fname}] Not enough unused letters to expand the ellipsis to {len} dimensions."
        )));
    }
    sub.splice(pos..pos + 3, spare[spare.len() - len..].iter().copied());
    Ok(())
}

/// Parses, validates and plans `subscripts` over `operands` (MLX's `einsum_path_helper`).
fn plan(subscripts: &str, operands: &[Array], fname: &str) -> Result<(Plan, Sizes)> {
    if operands.is_empty() {
        return Err(Error::value(format!(
            "[{fname}] At least one operand is required."
        )));
    }
    let (mut ins, mut out) = parse(subscripts);
    if ins.len() != operands.len() {
        return Err(Error::value(format!(
            "[{fname}] Number of operands, {}, does not match number of input subscripts, {}",
            operands.len(),
            ins.len()
        )));
    }
    let used = Letters::of(
        &subscripts
            .bytes()
            .filter(u8::is_ascii_alphabetic)
            .collect::<Vec<_>>(),
    );
    let spare: Vec<u8> = (b'a'..=b'z')
        .chain(b'A'..=b'Z')
        .filter(|&c| !used.has(c))
        .collect();
    let mut max_len = 0;
    for (i, (sub, op)) in ins.iter_mut().zip(operands).enumerate() {
        expand_ellipsis(
            sub,
            Some(op.ndim()),
            i,
            op.shape(),
            &spare,
            &mut max_len,
            fname,
        )?;
    }
    expand_ellipsis(&mut out, None, 0, &[], &spare, &mut max_len, fname)?;
    let output = Term::new(out);
    if output.set.len() != output.s.len() {
        return Err(Error::value(format!(
            "[{fname}] Repeat indices not allowed in output."
        )));
    }
    let mut sizes = Sizes([0; 52]);
    let mut seen = Letters::default();
    let mut inputs = Vec::with_capacity(ins.len());
    for (i, (sub, op)) in ins.into_iter().zip(operands).enumerate() {
        if sub.len() != op.ndim() {
            return Err(Error::value(format!(
                "[{fname}] Invalid number of subscripts {} for input {i} with {} dimensions.",
                sub.len(),
                op.ndim()
            )));
        }
        let term = Term::new(sub);
        if term.set.len() < term.s.len() {
            for (j, &c) in term.s.iter().enumerate() {
                if let Some(k) = term.s[..j].iter().position(|&p| p == c)
                    && op.shape()[k] != op.shape()[j]
                {
                    return Err(Error::value(format!(
                        "[{fname}] Dimensions of repeated subscripts do not have the same size \
                         ({} != {}).",
                        op.shape()[k],
                        op.shape()[j]
                    )));
                }
            }
        }
        for (j, &c) in term.s.iter().enumerate() {
            let d = op.shape()[j];
            let known = seen.has(c);
            let prev = sizes.set_max(c, d);
            if known && d != 1 && prev != 1 && prev != d {
                return Err(Error::value(format!(
                    "[{fname}] Cannot broadcast dimension {j} of input {i} with shape {} to size \
                     {prev}.",
                    fmt_shape(op.shape())
                )));
            }
            seen = seen.union(Letters::of(&[c]));
        }
        inputs.push(term);
    }
    // Output letters must come from the inputs (their size is otherwise unknown).
    if let Some(c) = output.s.iter().find(|&&c| !seen.has(c)) {
        return Err(Error::value(format!(
            "[{fname}] Output subscript '{}' does not appear in any input.",
            *c as char
        )));
    }
    let max_size = inputs
        .iter()
        .map(|t| sizes.size_str(&t.s))
        .fold(sizes.size_str(&output.s), usize::max);
    let naive = cost_and_scaling(&inputs, &output, &sizes);
    let plan = if inputs.len() <= 2 {
        let positions = (0..inputs.len()).collect();
        Plan {
            path: vec![Step {
                inputs,
                output,
                positions,
            }],
            naive,
            optimized: naive,
        }
    } else {
        let (mut path, cost, scaling) = greedy(inputs, &output, &sizes, naive.0, max_size);
        if let Some(last) = path.last_mut() {
            last.output = output;
        }
        Plan {
            path,
            naive,
            optimized: (cost, scaling),
        }
    };
    Ok((plan, sizes))
}

/// A candidate pairwise contraction of the greedy search.
struct Candidate {
    removed: i128,
    cost: usize,
    result: Letters,
    dims: usize,
    x: usize,
    y: usize,
}

/// MLX's greedy path: returns the steps, the total cost and the largest scaling.
fn greedy(
    mut inputs: Vec<Term>,
    output: &Term,
    sizes: &Sizes,
    cost_limit: usize,
    memory_limit: usize,
) -> (Vec<Step>, usize, usize) {
    let mut pairs: Vec<(usize, usize)> = (0..inputs.len())
        .flat_map(|i| (i + 1..inputs.len()).map(move |j| (i, j)))
        .collect();
    let mut path = Vec::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    let (mut cost_total, mut scaling) = (0usize, 0usize);
    let n_in = inputs.len();
    for _ in 0..n_in - 1 {
        let consider = |p1: usize, p2: usize, inputs: &[Term], cost_total: usize| {
            let both = inputs[p1].set.union(inputs[p2].set);
            // Letters of the pair still needed: by another operand or by the output.
            let mut keep = Letters::default();
            for (i, t) in inputs.iter().enumerate() {
                if i != p1 && i != p2 {
                    keep = keep.union(t.set.and(both));
                }
            }
            keep = keep.union(output.set.and(both));
            let new_size = sizes.size(keep);
            if new_size > memory_limit {
                return None;
            }
            let removed = sizes.size(inputs[p1].set) as i128 + sizes.size(inputs[p2].set) as i128
                - new_size as i128;
            let inner = both.len() > keep.len();
            let cost = flop_count(sizes, both, inner, 2);
            if cost_total.saturating_add(cost) > cost_limit {
                return None;
            }
            Some(Candidate {
                removed,
                cost,
                result: keep,
                dims: both.len(),
                x: p1,
                y: p2,
            })
        };
        // Pairs sharing a letter first; outer products only when nothing else is left.
        for &(p1, p2) in &pairs {
            if inputs[p1].set.and(inputs[p2].set).len() > 0
                && let Some(c) = consider(p1, p2, &inputs, cost_total)
            {
                candidates.push(c);
            }
        }
        if candidates.is_empty() {
            for &(p1, p2) in &pairs {
                if let Some(c) = consider(p1, p2, &inputs, cost_total) {
                    candidates.push(c);
                }
            }
        }
        if candidates.is_empty() {
            // Contract everything that is left in one naive step.
            let positions = (0..inputs.len()).collect();
            let (cost, scale) = cost_and_scaling(&inputs, output, sizes);
            path.push(Step {
                inputs,
                output: output.clone(),
                positions,
            });
            cost_total = cost_total.saturating_add(cost);
            scaling = scaling.max(scale);
            break;
        }
        // The first candidate that no other beats (more removed, then cheaper).
        let mut best = 0;
        for (i, c) in candidates.iter().enumerate() {
            let b = &candidates[best];
            if c.removed > b.removed || (c.removed == b.removed && c.cost < b.cost) {
                best = i;
            }
        }
        // `remove`, not `swap_remove`: the order of the rest decides later ties.
        let best = candidates.remove(best);
        scaling = scaling.max(best.dims);
        let mut letters: Vec<u8> = best.result.chars().collect();
        letters.sort_by_key(|&c| sizes.of(c));
        let new_term = Term::new(letters);
        let (x, y) = (best.x, best.y);
        let ty = inputs.remove(y);
        let tx = inputs.remove(x);
        path.push(Step {
            inputs: vec![tx, ty],
            output: new_term.clone(),
            positions: vec![x, y],
        });
        inputs.push(new_term);
        candidates.retain(|c| c.x != x && c.x != y && c.y != x && c.y != y);
        for c in &mut candidates {
            c.x -= usize::from(c.x > x) + usize::from(c.x > y);
            c.y -= usize::from(c.y > x) + usize::from(c.y > y);
        }
        pairs = (0..inputs.len() - 1)
            .map(|i| (i, inputs.len() - 1))
            .collect();
        cost_total = cost_total.saturating_add(best.cost);
    }
    (path, cost_total, scaling)
}

/// The contraction order MLX would use (`mx.einsum_path`): for each step the positions, in
/// the current operand list, of the operands it contracts (the result is appended to the
/// list), and a text summary with the naive and optimized scaling and FLOP counts, worded as
/// MLX words it.
///
/// ```
/// use rmlx_core as mx;
/// let (a, b, c) = (mx::ones(&[2, 3], mx::float32)?, mx::ones(&[3, 4], mx::float32)?,
///                  mx::ones(&[4, 5], mx::float32)?);
/// let (path, info) = mx::einsum_path("ij,jk,kl->il", &[a, b, c])?;
/// assert_eq!(path, vec![vec![1, 2], vec![0, 1]]);
/// assert!(info.contains("Optimized FLOP count:  180"));
/// # Ok::<(), mx::Error>(())
/// ```
pub fn einsum_path(subscripts: &str, operands: &[Array]) -> Result<(Vec<Vec<usize>>, String)> {
    let (plan, _) = plan(subscripts, operands, "einsum_path")?;
    let path = plan.path.iter().map(|s| s.positions.clone()).collect();
    let info = format!(
        "  Complete contraction:  {subscripts}\n         Naive scaling:  {}\n     Optimized \
         scaling:  {}\n      Naive FLOP count:  {}\n  Optimized FLOP count:  {}\n",
        plan.naive.1, plan.optimized.1, plan.naive.0, plan.optimized.0
    );
    Ok((path, info))
}

/// Einstein summation over `operands` (`mx.einsum`); see the module docs for the rules.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1.0, 2.0], [3.0, 4.0]];
/// let b = mx::array![[5.0, 6.0], [7.0, 8.0]];
/// let ab = mx::einsum("ij,jk->ik", &[a.clone(), b])?;
/// assert_eq!(ab.to_vec::<f32>()?, vec![19.0, 22.0, 43.0, 50.0]);
/// assert_eq!(mx::einsum("ii", &[a.clone()])?.item::<f32>()?, 5.0); // trace
/// assert_eq!(mx::einsum("ij->ji", &[a])?.to_vec::<f32>()?, vec![1.0, 3.0, 2.0, 4.0]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn einsum(subscripts: &str, operands: &[Array]) -> Result<Array> {
    let (plan, sizes) = plan(subscripts, operands, "einsum")?;
    let mut list: Vec<Array> = operands.to_vec();
    for step in plan.path {
        let Step {
            mut inputs,
            output,
            positions,
        } = step;
        let mut arrays: Vec<Array> = positions.iter().map(|&p| list[p].clone()).collect();
        prepare(&mut inputs, &output, &mut arrays)?;
        let result = if inputs.len() == 2 && inputs[0].set.and(output.set) != inputs[0].set {
            dot_step(&inputs, &output, &arrays, &sizes)?
        } else {
            naive_step(&inputs, &output, &arrays)?
        };
        for &p in positions.iter().rev() {
            list.remove(p);
        }
        list.push(result);
    }
    Ok(list.pop().expect("einsum leaves one result"))
}

/// Takes the diagonal of repeated letters and sums letters that appear in one operand only
/// (and not in the step's output), updating the terms.
fn prepare(inputs: &mut [Term], output: &Term, arrays: &mut [Array]) -> Result<()> {
    for (t, a) in inputs.iter_mut().zip(arrays.iter_mut()) {
        // Each diagonal merges two equal letters into one axis at the end.
        while let Some((i, j)) = first_repeat(&t.s) {
            *a = super::diagonal(a, 0, i as isize, j as isize)?;
            let c = t.s[i];
            t.s.remove(j);
            t.s.remove(i);
            t.s.push(c);
        }
    }
    let mut counts = [0usize; 52];
    let idx = |c: u8| match c {
        b'a'..=b'z' => (c - b'a') as usize,
        _ => (26 + c - b'A') as usize,
    };
    for t in inputs.iter() {
        t.set.chars().for_each(|c| counts[idx(c)] += 1);
    }
    output.set.chars().for_each(|c| counts[idx(c)] += 1);
    for (t, a) in inputs.iter_mut().zip(arrays.iter_mut()) {
        let lone: Vec<usize> = (0..t.s.len())
            .filter(|&k| counts[idx(t.s[k])] == 1)
            .collect();
        if !lone.is_empty() {
            *a = super::sum_axes(&*a, &lone[..], false)?;
            for &k in lone.iter().rev() {
                t.s.remove(k);
            }
            t.set = Letters::of(&t.s);
        }
    }
    Ok(())
}

/// The first pair of equal letters in `s`.
fn first_repeat(s: &[u8]) -> Option<(usize, usize)> {
    (0..s.len()).find_map(|j| s[..j].iter().position(|&c| c == s[j]).map(|i| (i, j)))
}

/// Two operands with a summed letter: one batched matrix product.
fn dot_step(inputs: &[Term], output: &Term, arrays: &[Array], sizes: &Sizes) -> Result<Array> {
    let (ta, tb) = (&inputs[0], &inputs[1]);
    let (mut contract, mut batch, mut a_free) = (vec![], vec![], vec![]);
    for (i, &c) in ta.s.iter().enumerate() {
        if !output.set.has(c) {
            contract.push(i);
        } else if tb.set.has(c) {
            batch.push(i);
        } else {
            a_free.push(i);
        }
    }
    let pos_b = |i: &usize| {
        tb.s.iter()
            .position(|&c| c == ta.s[*i])
            .expect("shared letter")
    };
    let b_contract: Vec<usize> = contract.iter().map(pos_b).collect();
    let b_batch: Vec<usize> = batch.iter().map(pos_b).collect();
    let b_free: Vec<usize> = (0..tb.s.len())
        .filter(|&i| output.set.has(tb.s[i]) && !ta.set.has(tb.s[i]))
        .collect();
    // Broadcast the shared axes to their full size.
    let full = |t: &Term, a: &Array, shared: &[usize]| -> Result<Array> {
        let mut shape = a.shape().to_vec();
        for &i in shared {
            shape[i] = sizes.of(t.s[i]);
        }
        super::broadcast_to(a, &shape[..])
    };
    let a_shared: Vec<usize> = contract.iter().chain(&batch).copied().collect();
    let b_shared: Vec<usize> = b_contract.iter().chain(&b_batch).copied().collect();
    let a = full(ta, &arrays[0], &a_shared)?;
    let b = full(tb, &arrays[1], &b_shared)?;
    // a -> batch + [free, contract], b -> batch + [contract, free].
    let group = |x: &Array, first: &[usize], mid: &[usize], last: &[usize]| -> Result<Array> {
        let order: Vec<usize> = first.iter().chain(mid).chain(last).copied().collect();
        let t = super::transpose(x, Some(&order[..]))?;
        let mut shape: Vec<usize> = first.iter().map(|&i| x.shape()[i]).collect();
        shape.push(mid.iter().map(|&i| x.shape()[i]).product());
        shape.push(last.iter().map(|&i| x.shape()[i]).product());
        super::reshape(&t, &shape[..])
    };
    let mut out_shape: Vec<usize> = batch.iter().map(|&i| a.shape()[i]).collect();
    out_shape.extend(a_free.iter().map(|&i| a.shape()[i]));
    out_shape.extend(b_free.iter().map(|&i| b.shape()[i]));
    let am = group(&a, &batch, &a_free, &contract)?;
    let bm = group(&b, &b_batch, &b_contract, &b_free)?;
    let prod = super::reshape(&super::matmul(&am, &bm)?, &out_shape[..])?;
    // The product's letters: batch, a's free, b's free; reorder to the step's output.
    let letters: Vec<u8> = batch
        .iter()
        .chain(&a_free)
        .map(|&i| ta.s[i])
        .chain(b_free.iter().map(|&i| tb.s[i]))
        .collect();
    reorder(&prod, &letters, &output.s)
}

/// Transposes `x`, whose axes carry `have`, to the order `want` (the same letters).
fn reorder(x: &Array, have: &[u8], want: &[u8]) -> Result<Array> {
    let perm: Vec<usize> = want
        .iter()
        .map(|c| have.iter().position(|h| h == c).expect("same letters"))
        .collect();
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(x.clone());
    }
    super::transpose(x, Some(&perm[..]))
}

/// Any number of operands: align every operand to one letter order (size-1 axes where a
/// letter is missing), multiply with broadcasting, sum the letters not in the output.
fn naive_step(inputs: &[Term], output: &Term, arrays: &[Array]) -> Result<Array> {
    let mut order: Vec<u8> = Vec::new();
    for t in inputs {
        for &c in &t.s {
            if !order.contains(&c) {
                order.push(c);
            }
        }
    }
    let mut prod: Option<Array> = None;
    for (t, a) in inputs.iter().zip(arrays) {
        let present: Vec<u8> = order.iter().copied().filter(|c| t.set.has(*c)).collect();
        let aligned = reorder(a, &t.s, &present)?;
        let shape: Vec<usize> = order
            .iter()
            .map(|&c| match present.iter().position(|&p| p == c) {
                Some(k) => aligned.shape()[k],
                None => 1,
            })
            .collect();
        let x = super::reshape(&aligned, &shape[..])?;
        prod = Some(match prod {
            None => x,
            Some(p) => super::multiply(&p, &x)?,
        });
    }
    let prod = prod.expect("at least one operand");
    let summed: Vec<usize> = (0..order.len())
        .filter(|&k| !output.set.has(order[k]))
        .collect();
    let (res, left) = if summed.is_empty() {
        (prod, order)
    } else {
        let left: Vec<u8> = order
            .iter()
            .copied()
            .filter(|&c| output.set.has(c))
            .collect();
        (super::sum_axes(&prod, &summed[..], false)?, left)
    };
    reorder(&res, &left, &output.s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate as mx;

    #[test]
    fn implicit_output_is_sorted_single_letters() {
        let (ins, out) = parse("ba, ac");
        assert_eq!(ins, vec![b"ba".to_vec(), b"ac".to_vec()]);
        assert_eq!(out, b"bc".to_vec());
        let (_, out) = parse("...ij,...jk");
        assert_eq!(out, b"...ik".to_vec());
        let (_, out) = parse("Ba,ab");
        assert_eq!(out, b"Bb".to_vec());
    }

    #[test]
    fn greedy_matches_mlx_chain() {
        let ops = [
            mx::ones(&[2, 3], mx::float32).unwrap(),
            mx::ones(&[3, 4], mx::float32).unwrap(),
            mx::ones(&[4, 5], mx::float32).unwrap(),
        ];
        let (path, info) = einsum_path("ij,jk,kl->il", &ops).unwrap();
        assert_eq!(path, vec![vec![1, 2], vec![0, 1]]);
        assert_eq!(
            info,
            "  Complete contraction:  ij,jk,kl->il\n         Naive scaling:  4\n     Optimized \
             scaling:  3\n      Naive FLOP count:  360\n  Optimized FLOP count:  180\n"
        );
        let r = einsum("ij,jk,kl->il", &ops).unwrap();
        assert_eq!(r.to_vec::<f32>().unwrap(), vec![12.0; 10]);
    }

    #[test]
    fn errors_name_the_problem() {
        let a = mx::ones(&[2, 3], mx::float32).unwrap();
        let msg = |r: Result<Array>| r.unwrap_err().to_string();
        assert!(msg(einsum("ij->ii", std::slice::from_ref(&a))).contains("Repeat indices"));
        assert!(msg(einsum("ij", &[])).contains("At least one operand"));
        assert!(msg(einsum("i.j", std::slice::from_ref(&a))).contains("must be letters"));
        assert!(msg(einsum("ij->k", std::slice::from_ref(&a))).contains("does not appear"));
        assert!(msg(einsum("ijk", &[a])).contains("Invalid number of subscripts"));
    }
}
