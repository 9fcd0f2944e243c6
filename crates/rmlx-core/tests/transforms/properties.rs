//! Property tests: the rules of the differentiable elementwise, reduction and shape primitives
//! checked against finite differences and stacked slices over random shapes (a seeded
//! generator, so failures reproduce), broadcasting and batch axes included.

use crate::common::{check_grads, check_vmap, rand, rand_in};
use rmlx_core as mx;
use rmlx_core::{Array, Result};

/// A small deterministic generator (splitmix64).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
    /// A shape of rank 1 to 3 with sides 1 to 4.
    fn shape(&mut self) -> Vec<usize> {
        let rank = 1 + self.below(3);
        (0..rank).map(|_| 1 + self.below(4)).collect()
    }
    /// `shape` with some sides replaced by 1 and some leading axes dropped: broadcastable.
    fn broadcastable(&mut self, shape: &[usize]) -> Vec<usize> {
        let drop = self.below(shape.len() as u64 + 1).min(shape.len() - 1);
        shape[drop..]
            .iter()
            .map(|&d| if self.below(3) == 0 { 1 } else { d })
            .collect()
    }
}

type Unary = (&'static str, fn(&[Array]) -> Result<Array>, f64, f64);
type Binary = (&'static str, fn(&[Array]) -> Result<Array>);

const UNARY: &[Unary] = &[
    ("exp", |a| mx::exp(&a[0]), -1.0, 1.0),
    ("log", |a| mx::log(&a[0]), 0.5, 2.0),
    ("sqrt", |a| mx::sqrt(&a[0]), 0.5, 2.0),
    ("sin", |a| mx::sin(&a[0]), -2.0, 2.0),
    ("tanh", |a| mx::tanh(&a[0]), -2.0, 2.0),
    ("sigmoid", |a| mx::sigmoid(&a[0]), -2.0, 2.0),
    ("erf", |a| mx::erf(&a[0]), -1.0, 1.0),
    ("arctan", |a| mx::arctan(&a[0]), -2.0, 2.0),
    ("square", |a| mx::square(&a[0]), -2.0, 2.0),
    ("softmax last", |a| mx::softmax(&a[0], [-1]), -2.0, 2.0),
    (
        "logsumexp last",
        |a| mx::logsumexp_axes(&a[0], [-1], true),
        -2.0,
        2.0,
    ),
    ("sum first", |a| mx::sum_axes(&a[0], [0], false), -1.0, 1.0),
    ("mean all", |a| mx::mean(&a[0]), -1.0, 1.0),
    ("cumsum last", |a| mx::cumsum(&a[0], Some(-1)), -1.0, 1.0),
    ("prod last", |a| mx::prod_axes(&a[0], [-1], false), 0.5, 1.5),
    ("transpose", |a| mx::exp(&a[0].transpose()?), -1.0, 1.0),
    (
        "flatten",
        |a| mx::sin(&mx::flatten(&a[0], 0, -1)?),
        -1.0,
        1.0,
    ),
];

const BINARY: &[Binary] = &[
    ("add", |a| mx::add(&a[0], &a[1])),
    ("multiply", |a| mx::multiply(&a[0], &a[1])),
    ("divide", |a| {
        mx::divide(&a[0], &mx::add(&mx::square(&a[1])?, 1.0)?)
    }),
    ("power", |a| {
        mx::power(&mx::add(&mx::square(&a[0])?, 0.5)?, &a[1])
    }),
    ("logaddexp", |a| mx::logaddexp(&a[0], &a[1])),
    ("arctan2", |a| mx::arctan2(&a[0], &mx::add(&a[1], 3.0)?)),
];

#[test]
fn unary_rules_over_random_shapes() {
    let mut g = Gen(20261124);
    for round in 0..4 {
        for &(name, f, lo, hi) in UNARY {
            let shape = g.shape();
            let seed = g.next() % 1000;
            let x = rand_in(&shape, seed, lo, hi);
            let label = format!("{name} {shape:?} (round {round})");
            check_grads(&label, f, std::slice::from_ref(&x), 1e-5);
            // vmap over a random axis of a stacked input.
            let axis = g.below(shape.len() as u64 + 1);
            let mut bshape = shape.clone();
            bshape.insert(axis, 1 + g.below(3));
            let xb = rand_in(&bshape, seed + 1, lo, hi);
            check_vmap(&label, f, &[xb], &[Some(axis as isize)], 1e-12);
        }
    }
}

#[test]
fn binary_rules_over_random_broadcast_shapes() {
    let mut g = Gen(7);
    for round in 0..4 {
        for &(name, f) in BINARY {
            let shape = g.shape();
            let other = g.broadcastable(&shape);
            let (a, b) = if g.below(2) == 0 {
                (rand(&shape, g.next() % 1000), rand(&other, g.next() % 1000))
            } else {
                (rand(&other, g.next() % 1000), rand(&shape, g.next() % 1000))
            };
            let label = format!(
                "{name} {:?} with {:?} (round {round})",
                a.shape(),
                b.shape()
            );
            check_grads(&label, f, &[a.clone(), b.clone()], 1e-5);
            // One argument batched, the other shared.
            let n = 1 + g.below(3);
            let mut ashape = a.shape().to_vec();
            ashape.insert(0, n);
            let ab = rand(&ashape, g.next() % 1000);
            check_vmap(&label, f, &[ab, b], &[Some(0), None], 1e-12);
        }
    }
}
