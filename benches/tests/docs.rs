//! The READMEs against the code and the records: the counts `benches/README.md` states, its tables of rows and
//! scenarios, the instruction counts it quotes, the files it lists, and every record under `results/` that it or
//! `fuzz/README.md` cites. Each failure says what to change.

use boundary_benches::gate::{self, Baseline};
use boundary_benches::matrix::rows;
use boundary_host::EngineProfile;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The `benches/` folder.
fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The repository's root, which holds `results/`.
fn root() -> PathBuf {
    crate_dir().parent().expect("benches/ sits in the repository's root").to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn benches_readme() -> String {
    read(&crate_dir().join("README.md"))
}

fn fuzz_readme() -> String {
    read(&root().join("fuzz").join("README.md"))
}

/// `text` with every run of whitespace, line breaks included, as one space: where a sentence wraps does not matter.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The number written as digits (with thousands separated by commas) at the start of `text`, and the rest.
fn leading_number(text: &str) -> Option<(u64, &str)> {
    let end = text.find(|c: char| !(c.is_ascii_digit() || c == ',')).unwrap_or(text.len());
    let digits: String = text[..end].chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    Some((digits.parse().ok()?, &text[end..]))
}

/// Every number that stands between `before` and `after` in `text` ("The gate counts " 35 " scenarios").
fn numbers_between(text: &str, before: &str, after: &str) -> Vec<u64> {
    text.match_indices(before)
        .filter_map(|(at, _)| leading_number(&text[at + before.len()..]))
        .filter(|(_, rest)| rest.starts_with(after))
        .map(|(n, _)| n)
        .collect()
}

/// Every number that stands right before `after` in `text` (26 " scenarios are counted in one process each").
fn numbers_before(text: &str, after: &str) -> Vec<u64> {
    text.match_indices(after)
        .filter_map(|(at, _)| {
            let head = &text[..at];
            let start = head
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_digit() || *c == ','))
                .map_or(0, |(i, c)| i + c.len_utf8());
            leading_number(&head[start..]).map(|(n, _)| n)
        })
        .collect()
}

/// Asserts that `benches/README.md` states `expected` wherever it writes the marker, and writes it at least once.
fn assert_stated(found: &[u64], expected: usize, marker: &str, source: &str) {
    assert!(
        !found.is_empty(),
        "benches/README.md no longer says \"{marker}\" (with N = {expected}, from {source}): say it again, the tests \
         read it"
    );
    for n in found {
        assert_eq!(
            *n, expected as u64,
            "benches/README.md says \"{marker}\" with N = {n}, but {source} gives {expected}: correct the README"
        );
    }
}

/// The cells of each row of the markdown table whose header line starts with `header` (header and separator
/// excluded; leading and trailing pipes dropped).
fn table<'a>(text: &'a str, header: &str) -> Vec<Vec<&'a str>> {
    let mut lines = text.lines().skip_while(|line| !line.starts_with(header));
    assert!(
        lines.next().is_some(),
        "benches/README.md has no table whose header starts with `{header}`: the tests read it, keep its header"
    );
    lines
        .skip(1)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
            inner.split('|').map(str::trim).collect()
        })
        .collect()
}

/// The backticked parts of a table cell.
fn backticked(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// `a/{b,c}/{d,e}` as `a/b/d`, `a/b/e`, `a/c/d`, `a/c/e`.
fn expand(pattern: &str) -> Vec<String> {
    match (pattern.find('{'), pattern.find('}')) {
        (Some(open), Some(close)) if open < close => {
            let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
            pattern[open + 1..close].split(',').flat_map(|alt| expand(&format!("{head}{alt}{tail}"))).collect()
        }
        _ => vec![pattern.to_string()],
    }
}

/// The ids the first column of a table names, brace patterns expanded; `invoke/<name>/WAY` ids are checked here
/// (WAY must be a way an `--invoke` export is called) and left out.
fn ids_in_first_column(rows_of_table: &[Vec<&str>], table_name: &str) -> BTreeSet<String> {
    let mut ways: Vec<&str> = rows::INVOKE_WAYS.iter().map(|(way, _)| *way).collect();
    ways.push("component");
    let mut ids = BTreeSet::new();
    for cells in rows_of_table {
        for pattern in backticked(cells[0]) {
            for id in expand(pattern) {
                if let Some(way) = id.strip_prefix("invoke/<name>/") {
                    assert!(
                        ways.contains(&way),
                        "benches/README.md's {table_name} names `{id}`, but an `--invoke` export is called only \
                         {ways:?}: correct the README"
                    );
                } else {
                    ids.insert(id);
                }
            }
        }
    }
    ids
}

#[test]
fn the_gate_counts_the_readme_states_are_the_codes() {
    let readme = flat(&benches_readme());
    let scenarios: &[gate::Scenario] = &gate::SCENARIOS;
    let source = "`gate::SCENARIOS` (benches/src/gate/scenarios.rs)";
    let found = numbers_between(&readme, "The gate counts ", " scenarios");
    assert_stated(&found, scenarios.len(), "The gate counts N scenarios", source);

    let under_all = scenarios.iter().filter(|s| s.profiles == gate::PROFILES).count();
    let found = numbers_before(&readme, " of them are counted under the gate's ");
    assert_stated(&found, under_all, "N of them are counted under the gate's … profiles", "`Scenario::profiles`");
    let found = numbers_between(&readme, "the gate's ", " profiles");
    assert_stated(&found, gate::PROFILES.len(), "the gate's N profiles", "`gate::PROFILES`");

    let counts: usize = scenarios.iter().map(|s| s.profiles.len()).sum();
    let found = numbers_before(&readme, " counts in all");
    assert_stated(&found, counts, "N counts in all", "the profiles of each scenario (`Kind::profiles`)");

    let one = scenarios.iter().filter(|s| s.processes == 1).count();
    let found = numbers_before(&readme, " scenarios are counted in one process each");
    assert_stated(&found, one, "N scenarios are counted in one process each", "`Kind::processes`");
    let three = scenarios.iter().filter(|s| s.processes == 3).count();
    assert_eq!(
        one + three,
        scenarios.len(),
        "some scenario is counted in neither one nor three processes (`Kind::processes`): benches/README.md says \
         one or three; say what it is now"
    );
    let found = numbers_before(&readme, " scenarios that create stores");
    assert_stated(&found, three, "The N scenarios that create stores …", "`Kind::processes`");

    // The sentence that names the gate's profiles names each of them (up to its first `;` or `.`).
    let at = readme.find(" of them are counted under the gate's ").expect("checked above");
    let clause = &readme[at..readme[at..].find([';', '.']).map_or(readme.len(), |end| at + end)];
    for profile in gate::PROFILES {
        assert!(
            clause.contains(&format!("`{}`", profile.name())),
            "benches/README.md's sentence on the gate's profiles does not name `{}` (in `gate::PROFILES`): add it",
            profile.name()
        );
    }
}

#[test]
fn the_profiles_the_readme_lists_are_the_codes() {
    let readme = benches_readme();
    let found = numbers_between(&flat(&readme), "runs under all ", " engine profiles");
    assert_stated(&found, EngineProfile::ALL.len(), "runs under all N engine profiles", "`EngineProfile::ALL`");
    let listed: BTreeSet<String> =
        table(&readme, "| profile |").iter().flat_map(|cells| backticked(cells[0])).map(str::to_string).collect();
    let known: BTreeSet<String> = EngineProfile::ALL.iter().map(|p| p.name().to_string()).collect();
    let missing: Vec<&String> = known.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "benches/README.md's profile table lacks {missing:?} (in `EngineProfile::ALL`): add them"
    );
    let unknown: Vec<&String> = listed.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "benches/README.md's profile table lists {unknown:?}, not in `EngineProfile::ALL`: remove them"
    );
}

#[test]
fn every_row_is_in_the_readmes_row_table_and_every_id_there_is_a_row() {
    let readme = benches_readme();
    let documented = ids_in_first_column(&table(&readme, "| rows |"), "row table");
    let mut rows_in_code: BTreeSet<String> = rows::ROWS.iter().map(|row| row.id.to_string()).collect();
    rows_in_code.extend(rows::native::ALL.iter().map(|native| native.id.to_string()));
    let missing: Vec<&String> = rows_in_code.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "the rows {missing:?} (in `rows::ROWS` or `rows::native::ALL`) are missing from benches/README.md's row \
         table: add each to the row of its family"
    );
    let unknown: Vec<&String> = documented.difference(&rows_in_code).collect();
    assert!(
        unknown.is_empty(),
        "benches/README.md's row table names {unknown:?}, which are no rows: add each to `rows::ROWS` \
         (benches/src/matrix/rows.rs), or correct the README"
    );
}

#[test]
fn every_scenario_is_in_the_readmes_scenario_table_and_every_id_there_is_a_scenario() {
    let readme = benches_readme();
    let documented = ids_in_first_column(&table(&readme, "| scenarios |"), "scenario table");
    let in_code: BTreeSet<String> = gate::SCENARIOS.iter().map(|s| s.id.to_string()).collect();
    let missing: Vec<&String> = in_code.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "the gate scenarios {missing:?} (in `gate::SCENARIOS`) are missing from benches/README.md's scenario table: \
         add them, and update the counts stated below the gate's commands"
    );
    let unknown: Vec<&String> = documented.difference(&in_code).collect();
    assert!(
        unknown.is_empty(),
        "benches/README.md's scenario table names {unknown:?}, which are no gate scenarios: add each to \
         `gate::SCENARIOS` (benches/src/gate/scenarios.rs), or correct the README"
    );
}

#[test]
fn the_instruction_counts_the_readme_quotes_are_the_baselines() {
    let readme = benches_readme();
    let path = root().join("results").join("gate-baseline.json");
    let baseline: Baseline =
        serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{} is not a gate baseline: {e}", path.display()));
    let mut checked = 0;
    for cells in table(&readme, "| the same work |") {
        let (Some(quoted), Some(named)) = (cells.get(2), cells.get(3)) else {
            panic!("benches/README.md's component table has a row of fewer than four columns: {cells:?}");
        };
        let scenarios = backticked(named);
        if *quoted == "-" && scenarios.is_empty() {
            continue;
        }
        let numbers: Vec<u64> =
            quoted.split('/').filter_map(|part| leading_number(part.trim()).map(|(n, _)| n)).collect();
        assert_eq!(
            numbers.len(),
            scenarios.len(),
            "benches/README.md's component table: `{quoted}` should give one count per scenario named in `{named}`"
        );
        for (scenario, quoted) in scenarios.iter().zip(numbers) {
            let count =
                baseline.counts.iter().find(|c| c.scenario == *scenario && c.profile == "cranelift").unwrap_or_else(
                    || panic!("results/gate-baseline.json has no count of `{scenario}` under cranelift"),
                );
            let counted = count.instructions_per_op.round() as u64;
            assert_eq!(
                quoted, counted,
                "benches/README.md's component table quotes {quoted} instructions for `{scenario}` under cranelift, \
                 but results/gate-baseline.json counts {counted}: update the table (and the findings below it)"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "benches/README.md's component table quotes no counts: the tests expect some");
}

#[test]
fn the_files_the_readme_lists_exist() {
    let readme = benches_readme();
    for cells in table(&readme, "| file |") {
        for file in backticked(cells[0]) {
            assert!(
                crate_dir().join(file).exists(),
                "benches/README.md's file table lists `{file}`, which is not in benches/: correct the table"
            );
        }
    }
}

/// Every path under `results/` that `text` names ([`boundary_benches::record::cited_records`]).
fn cited_records(text: &str) -> Vec<String> {
    boundary_benches::record::cited_records(text)
}

#[test]
fn every_record_the_readmes_cite_exists() {
    for (name, text) in [("benches/README.md", benches_readme()), ("fuzz/README.md", fuzz_readme())] {
        let cited = cited_records(&text);
        assert!(!cited.is_empty(), "{name} cites no record under results/: the tests expect it to");
        for path in cited {
            assert!(
                root().join(&path).exists(),
                "{name} cites `{path}`, which does not exist: correct the path, or commit the record"
            );
        }
    }
}

#[test]
fn the_fuzz_readme_makes_the_corpus_folder_it_passes() {
    let readme = fuzz_readme();
    let corpus = "fuzz/corpus/memory_io";
    let Some(first_use) =
        readme.lines().position(|line| line.starts_with("cargo +nightly fuzz run") && line.contains(corpus))
    else {
        return;
    };
    let made = readme.lines().take(first_use).any(|line| line.contains(&format!("mkdir -p {corpus}")));
    assert!(
        made,
        "fuzz/README.md passes {corpus} to `cargo fuzz run`, which a fresh clone lacks: put `mkdir -p {corpus}` \
         before the first command"
    );
}

#[test]
fn the_helpers_read_what_they_should() {
    assert_eq!(numbers_between("The gate counts 35 scenarios (x)", "The gate counts ", " scenarios"), [35]);
    assert_eq!(numbers_before("so 1,234 counts in all.", " counts in all"), [1234]);
    assert_eq!(expand("a/{b,c}/{1,2}"), ["a/b/1", "a/b/2", "a/c/1", "a/c/2"]);
    assert_eq!(
        cited_records(
            "see `results/gate-baseline.json`, target/boundary-results/x, results/<date>/ and results/fuzz/."
        ),
        ["results/gate-baseline.json", "results/fuzz/"]
    );
}

/// The unit a figure is quoted in, at the start of `words`: its kind (what it may be compared with), the factor to
/// the kind's base (bytes, nanoseconds; 1 for a count) and the words it takes. `None` for a number that quotes no
/// record's figure (a count of pages, slots or regions).
fn unit_at(words: &[&str]) -> Option<(&'static str, f64, usize)> {
    let word = |i: usize| words.get(i).map_or("", |w| w.trim_end_matches([')', ',', ';', '.', ':']));
    let size = |power: i32| Some(("bytes", 1024f64.powi(power), 1));
    match word(0) {
        "requests/s" => Some(("requests/s", 1.0, 1)),
        "faults/request" => Some(("faults/request", 1.0, 1)),
        "faults" if word(1) == "per" && word(2) == "request" => Some(("faults/request", 1.0, 3)),
        "mappings" if word(1) == "per" && word(2) == "instance" => Some(("mappings/instance", 1.0, 3)),
        "instances" => Some(("instances", 1.0, 1)),
        "ns" => Some(("ns", 1.0, 1)),
        "µs" => Some(("ns", 1e3, 1)),
        "ms" => Some(("ns", 1e6, 1)),
        "B" => size(0),
        "KiB" => size(1),
        "MiB" => size(2),
        "GiB" => size(3),
        "TiB" => size(4),
        _ => None,
    }
}

/// The kind of figure a column of a serving record's table holds, by its header, for cells that write no unit.
fn column_unit(header: &str) -> Option<&'static str> {
    if header.contains("requests/s") {
        Some("requests/s")
    } else if header.contains("faults") {
        Some("faults/request")
    } else if header.contains("mappings per instance") {
        Some("mappings/instance")
    } else if header.contains("instances reached") {
        Some("instances")
    } else {
        None
    }
}

/// A number as a figure writes it ("15,744", "4.06", "(7.50"), without its thousands separators; `None` for a word
/// or a range ("25-30").
fn figure_number(word: &str) -> Option<String> {
    let word = word.trim_start_matches('(').trim_end_matches([')', ',', ';', '.', ':']);
    let digits: String = word.chars().filter(|c| *c != ',').collect();
    let is_number = digits.starts_with(|c: char| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.parse::<f64>().is_ok();
    is_number.then_some(digits)
}

/// Every figure of a serving record's markdown, by kind, in the kind's base unit: numbers written with a unit
/// anywhere, and the numbers of the table columns whose header says their unit.
fn record_figures(record: &str) -> Vec<(&'static str, f64)> {
    let mut figures = Vec::new();
    let mut header: Vec<Option<&'static str>> = Vec::new();
    for line in record.lines() {
        let is_row = line.starts_with('|');
        if !is_row {
            header.clear();
        }
        let cells: Vec<&str> = if is_row { line.trim().trim_matches('|').split('|').collect() } else { vec![line] };
        if is_row && header.is_empty() {
            header = cells.iter().map(|h| column_unit(h)).collect();
            continue;
        }
        for (column, cell) in cells.iter().enumerate() {
            let spaced = cell.replace(['–', '(', ')'], " ");
            let words: Vec<&str> = spaced.split_whitespace().collect();
            for (i, word) in words.iter().enumerate() {
                let Some(number) = figure_number(word) else { continue };
                let value: f64 = number.parse().expect("checked by figure_number");
                match unit_at(&words[i + 1..]) {
                    Some((kind, factor, _)) => figures.push((kind, value * factor)),
                    None => {
                        if let Some(kind) = header.get(column).copied().flatten() {
                            figures.push((kind, value));
                        }
                    }
                }
            }
        }
    }
    figures
}

/// The figures `prose` quotes: each number followed by a unit ([`unit_at`]), as written, with its kind and factor.
fn quoted_figures(prose: &str) -> Vec<(String, &'static str, f64, String)> {
    let words: Vec<&str> = prose.split_whitespace().collect();
    let mut quoted = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let Some(number) = figure_number(word) else { continue };
        if let Some((kind, factor, taken)) = unit_at(&words[i + 1..]) {
            quoted.push((number, kind, factor, words[i + 1..i + 1 + taken].join(" ")));
        }
    }
    quoted
}

/// Whether `number` (as written, in a unit `factor` times its kind's base) is one of `figures` of that kind, rounded
/// as written.
fn quotes(number: &str, kind: &str, factor: f64, figures: &[(&str, f64)]) -> bool {
    let decimals = number.split_once('.').map_or(0, |(_, d)| d.len());
    figures.iter().filter(|(k, _)| *k == kind).any(|(_, value)| format!("{:.decimals$}", value / factor) == number)
}

/// The serving section of benches/README.md (up to the isolation of recycled slots), by paragraph, each flattened.
fn serving_paragraphs() -> Vec<String> {
    let readme = benches_readme();
    let start = readme.find("## The serving path\n").expect("benches/README.md's serving section");
    let end =
        start + readme[start..].find("### The isolation of recycled slots").expect("the isolation section after it");
    readme[start..end].split("\n\n").map(flat).filter(|p| !p.is_empty()).collect()
}

/// The markdown of a serving record a README cites: its `serving.md`, or the file named.
fn serving_record(cited: &str) -> String {
    let path = root().join(cited);
    read(&if cited.ends_with(".md") { path } else { path.join("serving.md") })
}

/// Every paragraph of benches/README.md's serving section that cites a serving record quotes only figures of the
/// records it cites (`requests/s`, faults per request, instances, mappings per instance, times and sizes), as
/// written or rounded as written, in any unit of their kind; and the section cites a record, so that a section
/// quoting no figure still says where its figures are.
#[test]
fn the_serving_prose_quotes_its_record() {
    let mut citing = 0;
    let mut checked = 0;
    for paragraph in serving_paragraphs() {
        let cited: Vec<String> =
            cited_records(&paragraph).into_iter().filter(|c| c.starts_with("results/serving/")).collect();
        if cited.is_empty() {
            continue;
        }
        citing += 1;
        let figures: Vec<(&str, f64)> = cited.iter().flat_map(|c| record_figures(&serving_record(c))).collect();
        for (number, kind, factor, unit) in quoted_figures(&paragraph) {
            assert!(
                quotes(&number, kind, factor, &figures),
                "benches/README.md quotes {number} {unit} in its serving section, which {cited:?} does not hold: \
                 quote the record, or move a figure that is no record's out of the paragraph that cites one"
            );
            checked += 1;
        }
    }
    assert!(
        citing > 0,
        "benches/README.md's serving section cites no record under results/serving/: cite the one its figures come from"
    );
    println!("{checked} figures of the serving prose checked in {citing} paragraphs citing a record");
}

#[test]
fn the_serving_figure_check_reads_units_ranges_and_rounding() {
    let record = "Each window 200 ms, after 20 ms.\n\n| configuration | workload | requests/s | p50 | faults/request |\n\
                  |---|---|---:|---:|---:|\n| `pooled` | call | 113634 (105211–118002) | 7.67 µs (7.50 µs–8.10 µs) | 16.0 |\n\n\
                  | configuration | reserved | live instances reached |\n|---|---:|---:|\n| `pooled` | 80630.04 GiB | 15232 |\n";
    let figures = record_figures(record);
    let quoted = quoted_figures(
        "It served 113,634 requests/s (at least 105211 requests/s), a p50 of 7.7 µs, 16.0 faults per request, 15,232 \
         instances, 78.7 TiB reserved, in windows of 200 ms; 16 pages dirtied.",
    );
    assert_eq!(quoted.len(), 7, "{quoted:?}");
    for (number, kind, factor, unit) in &quoted {
        assert!(quotes(number, kind, factor.to_owned(), &figures), "{number} {unit} should be found in {figures:?}");
    }
    for wrong in ["113,635 requests/s", "7.6 µs", "16.5 faults per request", "78.8 TiB", "8.2 µs"] {
        let (number, kind, factor, _) = quoted_figures(wrong).remove(0);
        assert!(!quotes(&number, kind, factor, &figures), "{wrong} is no figure of the record");
    }
}
