//! Strided copies between buffers, written once: the kernels that place an input into a region
//! of a larger output (concatenate, pad, diag) hand these a destination view.

use crate::array::Data;
use crate::element::Element;
use crate::layout::for_each_row;

/// Copies the elements of `src` (laid out for `shape`) into `dst`, where the destination view
/// starts at element `dst_offset` with element strides `dst_strides` (same rank as `shape`).
///
/// The destination view must lie inside `dst`; rows that are dense on both sides are copied
/// with `copy_from_slice`.
pub(crate) fn copy_into<T: Element>(
    src: &Data,
    shape: &[usize],
    dst: &mut [T],
    dst_offset: usize,
    dst_strides: &[isize],
) {
    let sv = src.elements::<T>();
    for_each_row(
        shape,
        [&src.strides, dst_strides],
        [src.offset, dst_offset],
        |[s, d], [ts, td], len| {
            let (s, d) = (s as usize, d as usize);
            if ts == 1 && td == 1 {
                dst[d..d + len].copy_from_slice(&sv[s..s + len]);
            } else {
                for i in 0..len as isize {
                    dst[(d as isize + i * td) as usize] = sv[(s as isize + i * ts) as usize];
                }
            }
        },
    );
}

/// The first element of `src` (the one at its offset): the value of a scalar operand that
/// may have been given with a larger shape.
pub(crate) fn first_element<T: Element>(src: &Data) -> T {
    src.elements::<T>()[src.offset]
}
