//! The source layout the architecture promises, checked on `src/`: no two
//! modules import each other (directly or round a longer loop), and no
//! function outside tests is over 100 lines. A `use`, or a path in code,
//! naming an item of another module is an import of that module; `mod x;`
//! declarations and comments are not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/` but the binary, by module path
/// (`collect::gpu` for `src/collect/gpu/mod.rs`; the crate root is "").
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut out = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().with_extension("");
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        match parts.as_slice() {
            [only] if only == "main" => continue,
            [only] if only == "lib" => parts.clear(),
            _ => {}
        }
        out.insert(parts.join("::"), f);
    }
    out
}

/// The code of a file before its test module, without comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(i) => &text[..i],
        None => &text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if l[..i].matches('"').count() % 2 == 0 => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `a::{b, c::{d}}` → `a::b`, `a::c::d`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or("");
        return vec![path.replace(char::is_whitespace, "")];
    };
    let (prefix, body) = (&tree[..open], &tree[open + 1..tree.rfind('}').unwrap()]);
    let (mut parts, mut depth, mut cur) = (Vec::new(), 0, String::new());
    for ch in body.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if ch == ',' && depth == 0 {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(ch);
        }
    }
    parts.push(cur);
    parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand(p).into_iter().map(|e| format!("{prefix}{e}")))
        .collect()
}

/// The module a path names from inside `from`: the longest known module
/// prefix of it.
fn resolve(from: &str, path: &str, known: &BTreeMap<String, PathBuf>) -> Option<String> {
    let segs: Vec<&str> = path
        .split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let base: Vec<&str> = if from.is_empty() {
        vec![]
    } else {
        from.split("::").collect()
    };
    let (mut cur, rest): (Vec<&str>, &[&str]) = match segs.first().copied()? {
        "crate" => (vec![], &segs[1..]),
        "super" | "self" => {
            let mut cur = base.clone();
            let mut i = 0;
            while i < segs.len() && (segs[i] == "super" || segs[i] == "self") {
                if segs[i] == "super" {
                    cur.pop();
                }
                i += 1;
            }
            (cur, &segs[i..])
        }
        first => {
            let child = [base.as_slice(), &[first]].concat().join("::");
            if !known.contains_key(&child) {
                return None;
            }
            (base.clone(), &segs[..])
        }
    };
    let mut best = cur.join("::");
    for s in rest {
        cur.push(s);
        let joined = cur.join("::");
        if !known.contains_key(&joined) {
            break;
        }
        best = joined;
    }
    Some(best)
}

/// Each module's imports of other modules.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let known = modules();
    let mut edges = BTreeMap::new();
    for (module, path) in &known {
        let code = code(path);
        let mut paths: Vec<String> = Vec::new();
        for stmt in code.split("use ").skip(1) {
            if let Some(end) = stmt.find(';') {
                let tree: Vec<&str> = stmt[..end].split_whitespace().collect();
                paths.extend(expand(&tree.join(" ")));
            }
        }
        // Paths in code: `a::b::c` tokens.
        let bytes = code.as_bytes();
        let mut i = 0;
        while let Some(at) = code[i..].find("::") {
            let mid = i + at;
            let mut start = mid;
            while start > 0
                && (bytes[start - 1].is_ascii_alphanumeric()
                    || bytes[start - 1] == b'_'
                    || bytes[start - 1] == b':')
            {
                start -= 1;
            }
            let mut end = mid + 2;
            while end < bytes.len()
                && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_' || bytes[end] == b':')
            {
                end += 1;
            }
            // `super::{a, b}` is read from its `use`; a path ending in
            // `::` names no item.
            if !code[start..end].ends_with("::") {
                paths.push(code[start..end].to_owned());
            }
            i = end.max(mid + 2);
        }
        // A module naming its own submodules' items (a table of them) is
        // the module tree, not an import: only the child's `super::` use
        // counts.
        let own_child = format!("{module}::");
        let targets: BTreeSet<String> = paths
            .iter()
            .filter_map(|p| resolve(module, p, &known))
            .filter(|t| t != module && (module.is_empty() || !t.starts_with(&own_child)))
            .collect();
        edges.insert(module.clone(), targets);
    }
    edges
}

#[test]
fn regression_no_module_imports_another_that_imports_it() {
    let edges = imports();
    assert!(
        edges.contains_key("kinds::metrics") && edges["kinds::metrics"].contains("state"),
        "the walk sees imports"
    );
    // A module that can reach itself through the import graph is in a loop.
    let mut loops = Vec::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = edges[start].iter().collect();
        while let Some(m) = stack.pop() {
            if m == start {
                loops.push(start.clone());
                break;
            }
            if seen.insert(m.clone()) {
                stack.extend(edges.get(m).into_iter().flatten());
            }
        }
    }
    let detail: Vec<String> = loops
        .iter()
        .map(|m| format!("{m} → {:?}", edges[m]))
        .collect();
    assert!(
        loops.is_empty(),
        "modules in an import loop:\n{}",
        detail.join("\n")
    );
}

/// Every file under `src/` as rustfmt would write it: a file rustfmt
/// cannot see (a module declared inside a macro) would be measured as
/// written, so each must already be formatted.
#[test]
fn every_file_in_src_is_formatted() {
    let unformatted: Vec<String> = modules()
        .values()
        .filter(|path| {
            let out = std::process::Command::new("rustfmt")
                .args(["--edition", "2024", "--check"])
                .arg(path)
                .output()
                .unwrap();
            !out.status.success()
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(unformatted.is_empty(), "not formatted: {unformatted:?}");
}

#[test]
fn no_function_in_src_is_over_100_lines() {
    let mut long = Vec::new();
    let mut measured = Vec::new();
    for path in modules().values() {
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text
            .lines()
            .take_while(|l| !l.starts_with("#[cfg(test)]"))
            .collect();
        let mut i = 0;
        while i < lines.len() {
            let l = lines[i];
            let indent = &l[..l.len() - l.trim_start().len()];
            let t = l.trim_start();
            let is_fn = [
                "fn ",
                "pub fn ",
                "async fn ",
                "pub async fn ",
                "pub(crate) fn ",
                "const fn ",
                "pub const fn ",
            ]
            .iter()
            .any(|p| t.starts_with(p));
            if !is_fn {
                i += 1;
                continue;
            }
            let mut open = i;
            while open < lines.len()
                && !lines[open].trim_end().ends_with('{')
                && !lines[open].trim_end().ends_with(';')
            {
                open += 1;
            }
            if open >= lines.len() || lines[open].trim_end().ends_with(';') {
                i = open + 1;
                continue;
            }
            let close = format!("{indent}}}");
            let end = (open + 1..lines.len())
                .find(|&k| lines[k] == close)
                .unwrap_or(lines.len() - 1);
            measured.push(format!("{}:{}", path.display(), t));
            if end - i + 1 > 100 {
                long.push(format!(
                    "{}:{} {} lines",
                    path.display(),
                    i + 1,
                    end - i + 1
                ));
            }
            i = end + 1;
        }
    }
    // Positive control: the walk finds the functions it claims to check,
    // a long one among them.
    assert!(
        measured.len() > 500,
        "only {} functions found",
        measured.len()
    );
    assert!(
        measured
            .iter()
            .any(|f| f.contains("src/node/timex.rs:pub fn families(")),
        "the walk misses a known function"
    );
    assert!(
        long.is_empty(),
        "functions over 100 lines:\n{}",
        long.join("\n")
    );
}

/// The modules of `src/` as units: a folder (`kinds`, `node`, `server`,
/// `collect`) or a top-level file. The picture of the house is layers:
/// no unit imports one that imports it back, however far round.
#[test]
fn no_two_folders_of_src_import_each_other() {
    let unit = |m: &str| m.split("::").next().unwrap_or_default().to_owned();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, targets) in imports() {
        let from = unit(&module);
        for t in targets {
            let to = unit(&t);
            if to != from && !from.is_empty() && !to.is_empty() {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // The walk must see the folders' imports (a positive control).
    assert!(
        edges.get("kinds").is_some_and(|t| t.contains("collect")),
        "{edges:?}"
    );
    let mut loops = Vec::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(&String, Vec<String>)> = edges[start]
            .iter()
            .map(|t| (t, vec![start.clone(), t.clone()]))
            .collect();
        while let Some((m, path)) = stack.pop() {
            if m == start {
                loops.push(path.join(" → "));
                break;
            }
            if seen.insert(m.clone()) {
                for next in edges.get(m).into_iter().flatten() {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next, p));
                }
            }
        }
    }
    assert!(
        loops.is_empty(),
        "units in an import loop:\n{}",
        loops.join("\n")
    );
}

/// The layout doc in `lib.rs` listed 12 of 16 kinds: a newcomer reading
/// it could not find the other four. Every module of `src/` must be named
/// there (its name in backticks, alone or in a path).
#[test]
fn regression_the_lib_rs_layout_doc_left_out_modules() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let doc: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .collect::<Vec<_>>()
        .join(" ");
    let named: BTreeSet<&str> = doc
        .split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|t| t.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .chain(
            doc.split("[`")
                .skip(1)
                .filter_map(|t| t.split('`').next())
                .flat_map(|t| t.split("::")),
        )
        .collect();
    let modules = modules();
    assert!(
        modules.len() > 100,
        "the walk finds the modules: {}",
        modules.len()
    );
    let missing: Vec<&String> = modules
        .keys()
        .filter(|m| !m.is_empty())
        .filter(|m| !named.contains(m.rsplit("::").next().unwrap_or_default()))
        .collect();
    assert!(
        missing.is_empty(),
        "modules the lib.rs doc does not name: {missing:?}"
    );
}
