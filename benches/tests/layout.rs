//! No circles of imports between the files of `host/src` or of `benches/src`: a file that names another (through
//! `crate::`, `super::`, a child module's name, or a re-export) depends on it, and no file may depend on itself
//! through others. The graph is read from the source text, as a reader follows it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, by module path (`["ops", "raw"]` for `ops/raw.rs`, `[]` for `lib.rs`).
fn modules(dir: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(dir).unwrap();
            let mut parts: Vec<String> =
                relative.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                parts.pop();
            }
            found.insert(parts, path);
        }
    }
    found
}

/// The source with comments, string literals (raw, byte and multi-line ones too) and character literals blanked
/// out, so that a path in a doc comment or a `'{'` is not code. Line breaks are kept.
fn code(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            // Block comments nest.
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == 'r' && matches!(next, Some('"' | '#')) && (i == 0 || !ident(chars[i - 1])) {
            // A raw string: r"..." or r#"..."#, ended by the quote and as many hashes.
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            i += 2 + hashes;
            while i < chars.len() {
                if chars[i] == '"' && chars[i + 1..].iter().take(hashes).filter(|c| **c == '#').count() == hashes {
                    i += 1 + hashes;
                    break;
                }
                if chars[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if chars.get(i) == Some(&'\n') {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{7f}'), not a lifetime ('a followed by no quote).
            let end = if next == Some('\\') {
                chars[i + 2..].iter().position(|c| *c == '\'').map(|p| i + 2 + p)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => i = end + 1,
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Every path in `code`, with grouped imports spelled out: `crate::{a::B, c::{D, E}}` is `crate::a::B`,
/// `crate::c::D` and `crate::c::E`. Each path comes with the number of inline modules (`mod tests { .. }`) it is
/// inside, for `super::` there names the file's own module, not its parent.
fn paths_in(code: &str) -> Vec<(String, usize)> {
    let mut paths = Vec::new();
    // For each open brace: a group's path (`crate::c::`), or nothing for any other block; and whether it opens an
    // inline module.
    let mut prefixes: Vec<(String, bool)> = Vec::new();
    let mut word = String::new();
    let mut last_words: [String; 2] = Default::default();
    for c in code.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
            continue;
        }
        let top = prefixes.last().map(|(p, _)| p.clone()).unwrap_or_default();
        let depth = prefixes.iter().filter(|(_, inline)| *inline).count();
        if c == '{' {
            let group = if word.ends_with("::") { format!("{top}{word}") } else { String::new() };
            let inline = word.is_empty() && last_words[0] == "mod";
            prefixes.push((group, inline));
        } else if c == '*' && word.ends_with("::") {
            paths.push((format!("{top}{word}*"), depth));
        } else if !word.is_empty() && !word.ends_with("::") {
            paths.push((format!("{top}{word}"), depth));
        }
        if !word.is_empty() && !word.ends_with("::") {
            last_words = [std::mem::take(&mut last_words[1]), word.clone()];
        }
        if c == '}' {
            prefixes.pop();
        }
        if !c.is_whitespace() || !word.ends_with("::") {
            word.clear();
        }
    }
    paths
}

/// The module paths `text` (the file of module `at`) names: `crate::a::b`, `super::a`, `self::a`, and `a::b`
/// where `a` is a child of `at`, each as far as it goes.
fn named(text: &str, at: &[String], known: &BTreeMap<Vec<String>, PathBuf>) -> BTreeSet<Vec<String>> {
    let found = paths_in(&code(text));
    // Modules brought into scope by name (`use crate::ops;`, `use crate::ops::{self, raw};`): a later `ops::raw::f`
    // names `ops/raw.rs`, not only `ops`.
    let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (word, depth) in &found {
        if let Some((module, true)) = resolve(word, *depth, at, known, &BTreeMap::new()) {
            let last = word.rsplit("::").find(|s| !s.is_empty() && *s != "self");
            if let Some(name) = last.filter(|name| module.last().map(String::as_str) == Some(*name)) {
                aliases.insert(name.to_string(), module);
            }
        }
    }
    found.iter().filter_map(|(word, depth)| resolve(word, *depth, at, known, &aliases)).map(|(m, _)| m).collect()
}

/// The module the path `word` (in module `at`, inside `depth` inline modules) names, as far as it goes, and whether
/// every segment of it is a module (`self` aside); none if it does not start at a module of this crate.
fn resolve(
    word: &str,
    depth: usize,
    at: &[String],
    known: &BTreeMap<Vec<String>, PathBuf>,
    aliases: &BTreeMap<String, Vec<String>>,
) -> Option<(Vec<String>, bool)> {
    let segments: Vec<&str> = word.split("::").filter(|s| !s.is_empty()).collect();
    // `pub(crate)` and `pub(super)` name no path.
    let [first, _, ..] = segments[..] else { return None };
    // Where the path starts: the crate's root, this module's parent, this module, a child of it, or a module
    // brought into scope by name.
    let (mut base, rest): (Vec<String>, &[&str]) = match first {
        "crate" => (Vec::new(), &segments[1..]),
        "super" => {
            let ups = segments.iter().take_while(|s| **s == "super").count();
            if ups <= depth {
                return None;
            }
            let mut parent = at.to_vec();
            parent.truncate(at.len().saturating_sub(ups - depth));
            (parent, &segments[ups..])
        }
        "self" => (at.to_vec(), &segments[1..]),
        child if known.contains_key(&[at, &[child.to_string()]].concat()) => (at.to_vec(), &segments[..]),
        alias if aliases.contains_key(alias) => (aliases[alias].clone(), &segments[1..]),
        _ => return None,
    };
    let mut whole = true;
    for segment in rest.iter().filter(|s| **s != "self") {
        let mut next = base.clone();
        next.push(segment.to_string());
        if known.contains_key(&next) {
            base = next;
        } else {
            whole = false;
            break;
        }
    }
    Some((base, whole))
}

/// The graph of the files under `dir`: each file and the files it names. A re-export (`pub use a::B;`) is an edge
/// like any other, so a name reached through a re-export depends on the re-exporting file, and that on the file the
/// name comes from.
fn graph(dir: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let known = modules(dir);
    let mut edges = BTreeMap::new();
    for (module, path) in &known {
        let text = std::fs::read_to_string(path).unwrap();
        // `mod x;` declares a child: that is not an import.
        let declares = |l: &str| {
            let l = l.trim();
            l.ends_with(';') && (l.starts_with("mod ") || l.starts_with("pub mod ") || l.starts_with("pub(crate) mod "))
        };
        let without_mods: String = text.lines().filter(|l| !declares(l)).collect::<Vec<_>>().join("\n");
        let mut to = named(&without_mods, module, &known);
        to.remove(module);
        edges.insert(module.clone(), to);
    }
    edges
}

/// A circle in `edges`, if there is one: the files along it.
fn circle(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<Vec<String>>> {
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next) {
                Some(1) => {
                    let from = stack.iter().position(|n| n == next).unwrap();
                    return Some(stack[from..].to_vec());
                }
                Some(_) => {}
                None => {
                    if let Some(found) = visit(next, edges, state, stack) {
                        return Some(found);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node)
            && let Some(found) = visit(node, edges, &mut state, &mut Vec::new())
        {
            return Some(found);
        }
    }
    None
}

fn shown(circle: &[Vec<String>]) -> String {
    circle
        .iter()
        .map(|m| if m.is_empty() { "(root)".to_string() } else { m.join("::") })
        .collect::<Vec<_>>()
        .join(" -> ")
}

#[test]
fn no_file_of_the_host_core_or_the_bench_library_imports_itself_through_others() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    for dir in ["host/src", "benches/src"] {
        let edges = graph(&root.join(dir));
        assert!(edges.len() > 5, "{dir}: too few files read: {edges:?}");
        if let Some(found) = circle(&edges) {
            panic!("{dir}: a circle of imports: {} (move what both need into a file of its own)", shown(&found));
        }
    }
}

/// The test finds what it looks for: a circle made on purpose is reported.
#[test]
fn a_circle_is_found() {
    let dir = std::env::temp_dir().join(format!("boundary-layout-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("b")).unwrap();
    std::fs::write(dir.join("lib.rs"), "mod a;\nmod b;\n").unwrap();
    std::fs::write(dir.join("a.rs"), "pub(crate) fn f() {}\nuse crate::{b::{thing}, a};\n").unwrap();
    std::fs::write(dir.join("b/mod.rs"), "mod c;\npub use c::thing;\n").unwrap();
    std::fs::write(dir.join("b/c.rs"), "use super::super::a::other; // crate::z is a comment\n").unwrap();
    let edges = graph(&dir);
    let found = circle(&edges).expect("the circle a -> b -> b::c -> a");
    assert_eq!(found.len(), 3, "{}", shown(&found));
    // A test module's `super::` is its own file, `pub(crate)` names nothing, and a string is not code.
    let c = "pub(crate) fn thing() {}\nmod tests {\n    use super::*;\n    const S: &str = \"crate::a\";\n}\n";
    std::fs::write(dir.join("b/c.rs"), c).unwrap();
    assert_eq!(circle(&graph(&dir)), None);
    std::fs::write(dir.join("b/c.rs"), "mod tests {\n    use super::super::*;\n}\n").unwrap();
    assert_eq!(circle(&graph(&dir)).map(|c| c.len()), Some(2), "b::c's tests module names b");
    // A path through a module imported by name: `b::c::f` after `use crate::b;` names b::c, whose `'{'` and
    // block comment hide nothing, and whose raw string is not code.
    std::fs::write(dir.join("a.rs"), "use crate::b;\nfn f() { b::c::g(); }\n").unwrap();
    std::fs::write(dir.join("b/mod.rs"), "mod c;\n").unwrap();
    let c = "const B: char = '{';\n/* crate::z */ const R: &str = r#\"crate::b\"#;\npub fn g() { crate::a::f(); }\n";
    std::fs::write(dir.join("b/c.rs"), c).unwrap();
    let found = circle(&graph(&dir)).map(|c| shown(&c));
    assert_eq!(found.as_deref(), Some("a -> b::c"), "the circle through an imported module");
    let _ = std::fs::remove_dir_all(&dir);
}
