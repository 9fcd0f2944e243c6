//! Transform tests: autodiff and vmap machinery, and each family's rules checked against
//! finite differences and against stacking slices.
mod common;

mod compile;
mod complex_rules;
mod coverage;
mod custom;
mod export;
mod factor;
mod fft;
mod index_linalg;
mod machinery;
mod masked_scatter;
mod more_rules;
mod properties;
mod rules;
mod trees;
