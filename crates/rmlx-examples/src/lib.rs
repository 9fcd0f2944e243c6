//! The pieces rmlx's examples share: fetching pinned assets from the package registries
//! ([`fetch`]), dataset readers ([`datasets`]), terminal progress bars ([`progress`]), charts
//! ([`plot`]), image classifiers and their training loop ([`classifier`]), and language models
//! with their tokenizer and generation loop, and a BERT sentence encoder ([`models`],
//! [`tokenizer`], [`generate`]).
//!
//! The examples themselves are in `examples/` (`cargo run --release -p rmlx-examples --example
//! NAME`); the README lists them with what they show.

pub mod charlm;
pub mod classifier;
pub mod cli;
pub mod datasets;
pub mod fetch;
pub mod generate;
pub mod models;
pub mod plot;
pub mod progress;
pub mod tokenizer;
