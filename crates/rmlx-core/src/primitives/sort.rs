//! Sorting primitives: one type per op, each handing its lanes to the kernels in
//! [`crate::cpu::sort`].

use crate::array::{Array, Data};
use crate::cpu::sort::{self, IndexOp, UniqueWants, ValueOp};
use crate::error::Result;
use crate::primitive::{OutputSpec, Primitive, same_params};

/// `sort` along `axis` (stable; NaN last).
#[derive(Debug, PartialEq)]
pub(crate) struct Sort {
    pub(crate) axis: usize,
}

impl Primitive for Sort {
    fn name(&self) -> &'static str {
        "Sort"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![sort::values_along_axis(
            &inputs[0],
            self.axis,
            ValueOp::Sort,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `argsort` along `axis`: the stable sorting permutation as `uint32`.
#[derive(Debug, PartialEq)]
pub(crate) struct ArgSort {
    pub(crate) axis: usize,
}

impl Primitive for ArgSort {
    fn name(&self) -> &'static str {
        "ArgSort"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![sort::indices_along_axis(
            &inputs[0],
            self.axis,
            IndexOp::Sort,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `partition` along `axis` around rank `kth` (already normalised to `0..n`).
#[derive(Debug, PartialEq)]
pub(crate) struct Partition {
    pub(crate) kth: usize,
    pub(crate) axis: usize,
}

impl Primitive for Partition {
    fn name(&self) -> &'static str {
        "Partition"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![sort::values_along_axis(
            &inputs[0],
            self.axis,
            ValueOp::Partition(self.kth),
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `argpartition` along `axis` around rank `kth` (already normalised to `0..n`).
#[derive(Debug, PartialEq)]
pub(crate) struct ArgPartition {
    pub(crate) kth: usize,
    pub(crate) axis: usize,
}

impl Primitive for ArgPartition {
    fn name(&self) -> &'static str {
        "ArgPartition"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![sort::indices_along_axis(
            &inputs[0],
            self.axis,
            IndexOp::Partition(self.kth),
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `topk`: the `k` largest elements along `axis`, ascending.
#[derive(Debug, PartialEq)]
pub(crate) struct TopK {
    pub(crate) k: usize,
    pub(crate) axis: usize,
}

impl Primitive for TopK {
    fn name(&self) -> &'static str {
        "TopK"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![sort::values_along_axis(
            &inputs[0],
            self.axis,
            ValueOp::TopK(self.k),
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `searchsorted`: inputs are the 1-D sorted sequence and the values, in one dtype.
#[derive(Debug, PartialEq)]
pub(crate) struct SearchSorted {
    pub(crate) right: bool,
}

impl Primitive for SearchSorted {
    fn name(&self) -> &'static str {
        "SearchSorted"
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        Ok(vec![sort::searchsorted(
            &inputs[0],
            &inputs[1],
            self.right,
            &outputs[0],
        )?])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}

/// `unique`: inputs are the array and, when `has_fill`, the fill value (one element of the
/// array's dtype); outputs are the values, then the index, inverse and counts asked for.
#[derive(Debug, PartialEq)]
pub(crate) struct Unique {
    pub(crate) size: usize,
    pub(crate) index: bool,
    pub(crate) inverse: bool,
    pub(crate) counts: bool,
    pub(crate) has_fill: bool,
}

impl Primitive for Unique {
    fn name(&self) -> &'static str {
        "Unique"
    }
    fn eval_cpu(&self, inputs: &[Array], _outputs: &[OutputSpec]) -> Result<Vec<Data>> {
        let fill = if self.has_fill { inputs.get(1) } else { None };
        let wants = UniqueWants {
            index: self.index,
            inverse: self.inverse,
            counts: self.counts,
        };
        sort::unique(&inputs[0], fill, self.size, wants)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        same_params(self, other)
    }
}
