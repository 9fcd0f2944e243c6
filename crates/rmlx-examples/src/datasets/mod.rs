//! Dataset readers: the IDX format ([`idx`]) and MNIST / Fashion-MNIST ([`mnist`]).

pub mod idx;
pub mod mnist;
