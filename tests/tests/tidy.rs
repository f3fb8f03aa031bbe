//! Tidy: conventions checked mechanically.
//!
//! - The chaincode stays pure: no clock, randomness, hash-map iteration
//!   order, async runtime, I/O crate or float in `chaincode/`.
//! - Every Rust source file opens with a `//!` overview.
//! - No leftover `dbg!`, `todo!` or `unimplemented!`.
//! - The validation-code table in the chaincode's crate docs lists exactly
//!   the codes the enum defines.
//! - Modules depend one way, down the data flow: in the chaincode and at the
//!   node's top level (by `crate::` paths), inside the node's `service/`
//!   (by `super::` paths).
//! - Only the node's `storage/rocks.rs` names RocksDB: the ledger and the
//!   Raft storage reach it through the `KvStore` seam.

use std::fs;
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code part of a line: string contents and `//` comments removed.
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => in_string = !in_string,
            '\\' if in_string => {
                chars.next();
            }
            '/' if !in_string && chars.peek() == Some(&'/') => break,
            _ if !in_string => out.push(c),
            _ => {}
        }
    }
    out
}

fn has_word(code: &str, word: &str) -> bool {
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        boundary(before) && boundary(after)
    })
}

fn has_float_literal(code: &str) -> bool {
    let bytes = code.as_bytes();
    (1..bytes.len().saturating_sub(1)).any(|i| {
        if bytes[i] != b'.' || !bytes[i - 1].is_ascii_digit() || !bytes[i + 1].is_ascii_digit() {
            return false;
        }
        // The digits before the dot must start a token (not `v1.2`, not `t.0.1`).
        let mut start = i - 1;
        while start > 0 && bytes[start - 1].is_ascii_digit() {
            start -= 1;
        }
        start == 0
            || !(bytes[start - 1].is_ascii_alphanumeric()
                || matches!(bytes[start - 1], b'_' | b'.'))
    })
}

#[test]
fn chaincode_uses_no_clock_randomness_hash_maps_async_or_floats() {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("chaincode"), &mut files);
    assert!(!files.is_empty());
    let forbidden = [
        "std::time",
        "SystemTime",
        "Instant",
        "rand",
        "rand_core",
        "getrandom",
        "HashMap",
        "HashSet",
        "tokio",
        "f32",
        "f64",
        "thread_rng",
        "OsRng",
    ];
    let mut problems = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line);
            for word in forbidden {
                if has_word(&code, word) {
                    problems.push(format!("{}:{}: uses `{word}`", file.display(), n + 1));
                }
            }
            if has_float_literal(&code) {
                problems.push(format!("{}:{}: float literal", file.display(), n + 1));
            }
        }
    }
    let manifest = fs::read_to_string(root.join("chaincode/Cargo.toml")).expect("manifest");
    for krate in
        ["tokio", "rand", "getrandom", "rocksdb", "sqlx", "tonic", "axum", "libp2p", "openraft"]
    {
        if manifest.lines().any(|l| {
            l.trim_start().starts_with(&format!("{krate} "))
                || l.trim_start().starts_with(&format!("{krate}."))
        }) {
            problems.push(format!("chaincode/Cargo.toml depends on {krate}"));
        }
    }
    assert!(problems.is_empty(), "the chaincode must stay pure:\n{}", problems.join("\n"));
}

#[test]
fn tidy_catches_what_it_claims_to_catch() {
    assert!(has_word(&code_of("let m: HashMap<u8, u8> = x;"), "HashMap"));
    assert!(!has_word(&code_of("let s = \"HashMap\"; // HashMap"), "HashMap"));
    assert!(!has_word("random_thing()", "rand"));
    assert!(has_float_literal("let x = 1.5;"));
    assert!(!has_float_literal("tuple.0.1"));
    assert!(!has_float_literal("v1.2"));
}

#[test]
fn every_rust_file_opens_with_a_module_doc_and_has_no_leftovers() {
    let root = workspace_root();
    let mut files = Vec::new();
    for krate in ["chaincode", "proto", "client-sdk", "network-config", "tests", "node"] {
        rust_files(&root.join(krate), &mut files);
    }
    let mut problems = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("readable source");
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        if !first.starts_with("//!") {
            problems.push(format!("{}: does not open with a `//!` overview", file.display()));
        }
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line);
            for leftover in ["dbg!", "todo!", "unimplemented!"] {
                if code.contains(leftover) {
                    problems.push(format!("{}:{}: leftover {leftover}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_crate_docs_list_every_validation_code() {
    let lib = fs::read_to_string(workspace_root().join("chaincode/src/lib.rs")).expect("lib.rs");
    let rows: Vec<(u32, String)> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//! | "))
        .filter_map(|row| {
            let mut cells = row.split(" | ");
            let number = cells.next()?.trim().parse().ok()?;
            let name = cells.next()?.trim().trim_matches('`').to_owned();
            Some((number, name))
        })
        .collect();
    let expected: Vec<(u32, String)> = reciprocity_chaincode::ValidationCode::ALL
        .iter()
        .map(|c| (c.number(), c.name().to_owned()))
        .collect();
    assert_eq!(rows, expected, "the code table in chaincode/src/lib.rs is out of date");
}

/// The modules of `dir` (files and folders, `mod.rs`/`lib.rs`/`main.rs`
/// aside) and, for each, the sibling modules its source names: through
/// `crate::<module>` for a crate's top level, `super::<module>` inside a
/// folder.
fn module_references(dir: &Path, via: &str) -> Vec<(String, Vec<String>)> {
    let mut modules: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter_map(|path| {
            let name = path.file_stem()?.to_str()?.to_owned();
            (path.is_dir() || path.extension().is_some_and(|e| e == "rs")).then_some(name)
        })
        .filter(|name| !matches!(name.as_str(), "mod" | "lib" | "main"))
        .collect();
    modules.sort();
    modules.dedup();
    modules
        .iter()
        .map(|module| {
            let mut files = Vec::new();
            let folder = dir.join(module);
            if folder.is_dir() {
                rust_files(&folder, &mut files);
            }
            let file = dir.join(format!("{module}.rs"));
            if file.exists() {
                files.push(file);
            }
            let mut named: Vec<String> = Vec::new();
            for file in files {
                let text = fs::read_to_string(&file).expect("read source");
                for line in text.lines() {
                    let code = code_of(line);
                    for other in &modules {
                        let path = format!("{via}::{other}");
                        if other != module && has_word(&code, &path) && !named.contains(other) {
                            named.push(other.clone());
                        }
                    }
                }
            }
            named.sort();
            (module.clone(), named)
        })
        .collect()
}

/// A module that names one listed after it in `order` (or one not listed)
/// is an edge pointing up the data flow.
fn upward_references(references: &[(String, Vec<String>)], order: &[&str]) -> Vec<String> {
    let rank = |m: &str| order.iter().position(|o| *o == m);
    let mut wrong = Vec::new();
    for (module, named) in references {
        let Some(own) = rank(module) else {
            wrong.push(format!("{module} is not in the layering order"));
            continue;
        };
        for other in named {
            if rank(other).is_none_or(|r| r <= own) {
                wrong.push(format!("{module} names {other}, which is not below it"));
            }
        }
    }
    wrong
}

#[test]
fn node_modules_depend_one_way_down_the_data_flow() {
    let src = workspace_root().join("node/src");
    // Top level: each may name only those after it (cli is the binary's).
    let top = [
        "cli",
        "provision",
        "api",
        "cards",
        "service",
        "records",
        "index",
        "network",
        "consensus",
        "ledger",
        "storage",
        "config",
        "clock",
        "refusal",
        "words",
        "error",
    ];
    let wrong = upward_references(&module_references(&src, "crate"), &top);
    assert!(wrong.is_empty(), "node/src:\n{}", wrong.join("\n"));
    // Inside service: start-up wires the jobs; the jobs share the handle.
    let service = [
        "startup",
        "import",
        "sweeper",
        "precheck",
        "peers",
        "handoff",
        "producer",
        "membership",
        "status",
        "forwarded",
        "submit",
        "forward",
        "node",
        "admission",
        "verifier",
        "mempool",
        "snapshot_chunks",
        "metrics",
    ];
    let wrong = upward_references(&module_references(&src.join("service"), "super"), &service);
    assert!(wrong.is_empty(), "node/src/service:\n{}", wrong.join("\n"));
}

/// The files under `dir` whose code (not comments or strings) names `word`.
fn files_naming(dir: &Path, word: &str) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    let mut naming: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = fs::read_to_string(path).expect("read source");
            text.lines().any(|line| has_word(&code_of(line), word))
        })
        .map(|path| path.strip_prefix(dir).expect("under dir").display().to_string())
        .collect();
    naming.sort();
    naming
}

#[test]
fn only_the_rocksdb_store_names_rocksdb_in_the_node() {
    let src = workspace_root().join("node/src");
    assert_eq!(files_naming(&src, "rocksdb"), ["storage/rocks.rs"]);
}

#[test]
fn chaincode_modules_depend_one_way() {
    let src = workspace_root().join("chaincode/src");
    let order = [
        "apply", "query", "rules", "decode", "hash", "state", "envelope", "keys", "store",
        "merkle", "calendar", "context", "event", "code", "model", "error",
    ];
    let wrong = upward_references(&module_references(&src, "crate"), &order);
    assert!(wrong.is_empty(), "chaincode/src:\n{}", wrong.join("\n"));
}

#[test]
fn the_layering_check_finds_an_upward_reference() {
    let references = vec![
        ("ledger".to_owned(), vec!["error".to_owned()]),
        ("error".to_owned(), vec!["ledger".to_owned()]),
    ];
    let wrong = upward_references(&references, &["ledger", "error"]);
    assert_eq!(wrong, ["error names ledger, which is not below it"]);
}
