//! Walks every name of MLX 0.32.4's public Python API (docs/mlx_api.txt) and fails unless
//! docs/api_coverage.txt places it: implemented in rmlx (and the Rust item it names exists in
//! the source), not applicable (with the reason), or owned by a later issue.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).expect("read source"));
            out.push('\n');
        }
    }
}

/// Whether the Rust item `detail` (`fn NAME`, `type NAME`, `const NAME`, `op TRAIT`,
/// `macro NAME`, `method NAME`) is defined in `src`.
fn defined(src: &str, detail: &str) -> bool {
    let Some((kind, name)) = detail.split_once(' ') else {
        return false;
    };
    let ident_end = |rest: &str| rest.starts_with(|c: char| !(c.is_alphanumeric() || c == '_'));
    let found = |prefix: &str| {
        src.match_indices(prefix)
            .any(|(i, _)| ident_end(&src[i + prefix.len()..]))
    };
    match kind {
        "fn" => found(&format!("pub fn {name}")),
        "type" => ["struct", "enum", "trait", "type"]
            .iter()
            .any(|k| found(&format!("pub {k} {name}"))),
        "const" => found(&format!("pub const {name}")),
        "op" => {
            found(&format!("ops::{name}"))
                || found(&format!("operator!({name}"))
                || found(&format!("{name} for Array"))
                || src
                    .lines()
                    .any(|l| l.contains("derive(") && l.contains(name))
        }
        "macro" => found(&format!("macro_rules! {name}")),
        // A trait method (`fn NAME(` inside a trait or impl, without `pub`).
        "method" => found(&format!("fn {name}(")) || found(&format!("fn {name}<")),
        _ => false,
    }
}

#[test]
fn every_mlx_name_is_placed() {
    let root = repo();
    let api: Vec<String> = std::fs::read_to_string(root.join("docs/mlx_api.txt"))
        .expect("docs/mlx_api.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let table =
        std::fs::read_to_string(root.join("docs/api_coverage.txt")).expect("docs/api_coverage.txt");
    let mut src = String::new();
    rust_sources(&root.join("crates"), &mut src);

    let mut placed: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    let mut problems = Vec::new();
    for line in table
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (name, status, detail) = match cols.as_slice() {
            [n, s] => (*n, *s, ""),
            [n, s, d] => (*n, *s, *d),
            _ => {
                problems.push(format!("malformed line: {line:?}"));
                continue;
            }
        };
        if placed.insert(name, (status, detail)).is_some() {
            problems.push(format!("{name}: listed twice"));
        }
        match status {
            "rmlx" => {
                if !defined(&src, detail) {
                    problems.push(format!("{name}: `{detail}` not found in the source"));
                }
            }
            "n/a" => {
                if detail.len() < 10 {
                    problems.push(format!("{name}: n/a needs a reason"));
                }
            }
            s if s.starts_with("issue ") => {
                if s[6..].parse::<u32>().is_err() {
                    problems.push(format!("{name}: bad issue number in {s:?}"));
                }
            }
            other => problems.push(format!("{name}: unknown status {other:?}")),
        }
    }
    let api_set: BTreeSet<&str> = api.iter().map(String::as_str).collect();
    for name in &api_set {
        if !placed.contains_key(name) {
            problems.push(format!("{name}: not placed"));
        }
    }
    for name in placed.keys() {
        if !api_set.contains(name) {
            problems.push(format!("{name}: not an MLX name"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The core issues own every `core.op`: none may be left to a later issue.
#[test]
fn every_core_op_is_implemented_or_not_applicable() {
    let table = std::fs::read_to_string(repo().join("docs/api_coverage.txt")).expect("table");
    let pending: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("core.op:"))
        .filter(|l| {
            let status = l.split('\t').nth(1).unwrap_or("");
            status != "rmlx" && status != "n/a" && !l.contains("linalg")
        })
        .collect();
    assert!(
        pending.is_empty(),
        "core ops not placed:\n{}",
        pending.join("\n")
    );
}
