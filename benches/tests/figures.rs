//! Every measured figure a README quotes from a record is in that record: a time (`ns`, `µs`, `ms`), a rate (`GB/s`,
//! `MB/s`, `kB/s`, `requests/s`, `inputs/s`), a cost per byte (`ps/B`) or a multiple (`18×`), in prose and in tables,
//! wherever a paragraph cites a record under `results/` (or follows one that does, under the same heading). A figure
//! matches when a number of the same kind in the record's files (its markdown as written, its JSON's raw values)
//! rounds to it as written: `19 ns` matches `19.1 ns`, `19.12 ns` does not match `19.1 ns` alone. The blocks that the
//! results writers generate between their markers are left out: they come from their records by construction.
//!
//! A figure the record does not hold (a difference, a ratio of two cells, a figure of another run) fails the test:
//! put it in the record's generated files, or cite the record that holds it, or leave it out.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("benches/ sits in the repository's root").to_path_buf()
}

/// The kinds of figure checked, each with the factor that brings a unit to the kind's base.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Nanoseconds.
    Time,
    /// Bytes per second.
    Rate,
    /// Requests or inputs per second.
    PerSecond,
    /// Picoseconds per byte.
    PerByte,
    /// A multiple of something.
    Multiple,
}

/// A number with its kind, in the kind's base, and how far from it a value may lie and still be written so.
#[derive(Debug, Clone, PartialEq)]
struct Figure {
    text: String,
    kind: Kind,
    value: f64,
    half: f64,
}

/// The unit `word` begins with, as a kind and a factor to its base.
fn unit(word: &str) -> Option<(Kind, f64)> {
    let word = word.trim_end_matches([')', ',', ';', '.', ':', '|', '*', '`']);
    Some(match word {
        "ns" => (Kind::Time, 1.0),
        "µs" | "us" => (Kind::Time, 1e3),
        "ms" => (Kind::Time, 1e6),
        "GB/s" => (Kind::Rate, 1e9),
        "MB/s" => (Kind::Rate, 1e6),
        "kB/s" => (Kind::Rate, 1e3),
        "requests/s" | "inputs/s" => (Kind::PerSecond, 1.0),
        "ps/B" => (Kind::PerByte, 1.0),
        _ => return None,
    })
}

/// `text` read as a number as the READMEs write them (`1,234.5`), and the half-width of its last digit.
fn number(text: &str) -> Option<(f64, f64)> {
    let digits: String = text.chars().filter(|c| *c != ',').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') || digits.starts_with('.') {
        return None;
    }
    let decimals = digits.split_once('.').map_or(0, |(_, d)| d.len());
    Some((digits.parse().ok()?, 0.5 * 10f64.powi(-(decimals as i32))))
}

/// Every figure of a kind in `text`: `12.5 ns`, `3-4 µs` and `3 to 4 µs` (both ends), `18×`, `(8.1×,`.
fn figures(text: &str) -> Vec<Figure> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut found = Vec::new();
    let mut push = |raw: &str, kind: Kind, factor: f64| {
        if let Some((value, half)) = number(raw) {
            found.push(Figure { text: raw.to_string(), kind, value: value * factor, half: half * factor });
        }
    };
    for (i, word) in words.iter().enumerate() {
        let bare = word.trim_start_matches(['(', '[', '*', '|', '~']);
        // A multiple: digits right before `×`.
        if let Some(at) = bare.find('×') {
            let before = &bare[..at];
            for part in before.split(['-', '–']) {
                push(part, Kind::Multiple, 1.0);
            }
            continue;
        }
        // `a ± b unit`: the value, then the interval.
        if words.get(i + 1) == Some(&"±")
            && let Some((kind, factor)) = words.get(i + 3).and_then(|w| unit(w))
        {
            push(bare, kind, factor);
            continue;
        }
        let Some(next) = words.get(i + 1) else { continue };
        let Some((kind, factor)) = unit(next) else { continue };
        // `a-b unit`, `a to b unit`, or `a unit`.
        for part in bare.split(['-', '–']) {
            push(part, kind, factor);
        }
        if i >= 2 && words[i - 1] == "to" {
            push(words[i - 2].trim_start_matches(['(', '[']), kind, factor);
        }
    }
    found
}

/// The figures a record holds: those its markdown writes, and its JSON's raw values, by the keys that name them.
fn record_figures(path: &Path) -> Vec<Figure> {
    let files: Vec<PathBuf> = if path.is_dir() {
        record_files(path)
    } else {
        // A file of a run's folder (named by its date) stands for the run: its siblings hold the same figures in
        // other forms.
        let dir = path.parent().expect("a record's file sits in a folder");
        let run = dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()));
        if run { record_files(dir) } else { vec![path.to_path_buf()] }
    };
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if file.extension().is_some_and(|e| e == "json") {
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
                json_figures("", &json, &mut out);
            }
        } else {
            out.extend(figures(&text));
        }
    }
    out
}

fn record_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md" || e == "json"))
        .collect();
    files.sort();
    files
}

/// The numbers of a record's JSON whose keys say what they are: nanoseconds (`..._ns`, `ns`), requests per second,
/// costs per byte (`per_byte_ns`, as picoseconds per byte).
fn json_figures(key: &str, value: &serde_json::Value, out: &mut Vec<Figure>) {
    match value {
        // A statistic of a figure (`{"p50_ns": {"median": ..}}`) is of the figure's kind.
        serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| {
            let statistic = ["median", "min", "max", "mean", "low", "high"].contains(&k.as_str());
            json_figures(if statistic { key } else { k }, v, out)
        }),
        serde_json::Value::Array(items) => items.iter().for_each(|v| json_figures(key, v, out)),
        serde_json::Value::Number(n) => {
            let Some(v) = n.as_f64() else { return };
            let (kind, value) = if key.starts_with("per_byte_ns") {
                (Kind::PerByte, v * 1e3)
            } else if key == "ns" || key.ends_with("_ns") || key.contains("_ns_") {
                (Kind::Time, v)
            } else if key.contains("per_second") {
                (Kind::PerSecond, v)
            } else {
                return;
            };
            out.push(Figure { text: v.to_string(), kind, value, half: 0.0 });
        }
        _ => {}
    }
}

/// Whether `figure` is what one of `held` is, as written.
fn holds(held: &[Figure], figure: &Figure) -> bool {
    held.iter().any(|h| {
        h.kind == figure.kind && {
            // Both may be rounded: the record's markdown as written, the quote from it or from the raw value.
            let slack = figure.half + h.half;
            (h.value - figure.value).abs() <= slack * (1.0 + 1e-9) + 1e-12
        }
    })
}

/// Every record under `results/` that `text` cites ([`boundary_benches::record::cited_records`]), folders without
/// their trailing `/`, and not the index of every run.
fn cited(text: &str) -> Vec<String> {
    boundary_benches::record::cited_records(text)
        .into_iter()
        .map(|path| path.trim_end_matches('/').to_string())
        .filter(|path| path != "results" && path != "results/README.md")
        .collect()
}

/// A README's blocks outside code and generated blocks: paragraphs, list items and tables, each with the records it
/// cites or, if it cites none, those the last block under the same heading that cited any cites.
fn blocks(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let (mut block, mut citing): (Vec<&str>, Vec<String>) = (Vec::new(), Vec::new());
    let (mut in_code, mut generated) = (false, false);
    let mut flush = |block: &mut Vec<&str>, citing: &mut Vec<String>| {
        if block.is_empty() {
            return;
        }
        let text = block.join("\n");
        let own = cited(&text);
        if !own.is_empty() {
            *citing = own;
        }
        out.push((text, citing.clone()));
        block.clear();
    };
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            flush(&mut block, &mut citing);
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        if trimmed.starts_with("<!--") && trimmed.contains("generated by") {
            flush(&mut block, &mut citing);
            generated = true;
            continue;
        }
        if trimmed.starts_with("<!-- end of") {
            generated = false;
            continue;
        }
        if generated {
            continue;
        }
        if trimmed.starts_with('#') {
            flush(&mut block, &mut citing);
            citing.clear();
            continue;
        }
        let item = trimmed.starts_with("- ")
            || trimmed.split_once(". ").is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if trimmed.is_empty() || item {
            flush(&mut block, &mut citing);
        }
        if !trimmed.is_empty() {
            block.push(line);
        }
    }
    flush(&mut block, &mut citing);
    out
}

/// What `readme` quotes that its records do not hold, one line each.
fn unquoted(readme: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(readme)).unwrap_or_else(|e| panic!("{readme}: {e}"));
    let mut wrong = Vec::new();
    for (block, records) in blocks(&text) {
        if records.is_empty() {
            continue;
        }
        let held: Vec<Figure> =
            records.iter().filter(|r| root().join(r).exists()).flat_map(|r| record_figures(&root().join(r))).collect();
        for figure in figures(&block) {
            if !holds(&held, &figure) {
                let start: String = block.split_whitespace().take(8).collect::<Vec<_>>().join(" ");
                wrong.push(format!(
                    "{readme}: `{}` ({:?}) in the block starting \"{start}...\" is in none of {}",
                    figure.text,
                    figure.kind,
                    records.join(", ")
                ));
            }
        }
    }
    wrong
}

#[test]
fn every_figure_a_readme_quotes_from_a_record_is_in_it() {
    let wrong: Vec<String> = ["README.md", "benches/README.md", "fuzz/README.md", "host/README.md"]
        .iter()
        .flat_map(|readme| unquoted(readme))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} figure(s) quoted from records that do not hold them (quote the record, or cite the one that holds \
         them):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn figures_are_read_with_their_units_ranges_and_precision() {
    let found = figures("costs 19.1 ns (8.1×, and 3-4 µs, from 2 to 3 ms, 5.3 GB/s, 1,200 requests/s, 40 ps/B) 7 s");
    let interval: Vec<f64> = figures("fixed 37.2 ± 4.6 ns").iter().map(|f| f.value).collect();
    assert_eq!(interval, vec![37.2, 4.6]);
    let summary: Vec<(f64, Kind)> = found.iter().map(|f| (f.value, f.kind)).collect();
    assert_eq!(
        summary,
        vec![
            (19.1, Kind::Time),
            (8.1, Kind::Multiple),
            (3e3, Kind::Time),
            (4e3, Kind::Time),
            (3e6, Kind::Time),
            (2e6, Kind::Time),
            (5.3e9, Kind::Rate),
            (1200.0, Kind::PerSecond),
            (40.0, Kind::PerByte),
        ]
    );
    assert!((found[0].half - 0.05).abs() < 1e-12);
    let record = figures("| `calls/typed` | 19.1 ns | 4.93 µs |");
    let quote = |text: &str| figures(text).remove(0);
    assert!(holds(&record, &quote("19 ns")));
    assert!(holds(&record, &quote("19.1 ns")));
    assert!(!holds(&record, &quote("19.3 ns")));
    assert!(holds(&record, &quote("4.9 µs")));
    assert!(!holds(&record, &quote("4.93 ns")));
    // A block cites what it names, or what the block before it under the same heading named.
    let text = "# A\n\nFrom `results/x/summary.md`:\n\n1. first 2 ns\n2. second\n\n# B\n\nno citation 3 ns\n";
    let found = blocks(text);
    assert_eq!(found[1].1, vec!["results/x/summary.md".to_string()]);
    assert!(found[3].1.is_empty());
}
