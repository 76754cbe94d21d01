//! What an engine resolved its configuration to: the wasm features it enables, every tunable, the code generator's
//! shared and target flags. `Config`'s `Debug` output names only what was set; the resolved values are what an
//! engine writes into each compiled artifact so that a later load can refuse an incompatible one (the
//! `.wasmtime.engine` section: a format byte, the wasmtime version, then the settings encoded with postcard). This
//! module compiles an empty module and reads that section back with wasmtime-environ's own types, the version this
//! crate is built on, so it reads what that version wrote: `boundary versions` compares two versions' defaults
//! through it.

use serde::{Deserialize, Serialize};
use wasmtime::{Config, Engine};
use wasmtime_environ::object::{Object as _, ObjectSection as _};
use wasmtime_environ::{FlagValue, Tunables};

/// One engine's resolved settings, each as `name = value` text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineSettings {
    /// The target the engine compiles for (`x86_64-unknown-linux-gnu`, `pulley64`).
    pub target: String,
    /// The wasm features the engine enables, by wasmparser's names (`SIMD`, `EXCEPTIONS`).
    pub features: Vec<String>,
    /// Every wasm feature this version's wasmparser names, enabled or not (a feature one version lacks is not "off").
    #[serde(default)]
    pub known_features: Vec<String>,
    /// Every tunable, `(name, value)`.
    pub tunables: Vec<(String, String)>,
    /// The code generator's settings shared by every target, `(name, value)`.
    pub shared_flags: Vec<(String, String)>,
    /// The target's own code-generation settings (CPU features among them), `(name, value)`.
    pub target_flags: Vec<(String, String)>,
}

/// The section's layout as wasmtime writes it (`wasmtime/src/engine/serialization.rs`, whose type is private):
/// the fields in order, with the types they are encoded from.
#[derive(Deserialize)]
struct EngineSection<'a> {
    target: String,
    #[serde(borrow)]
    shared_flags: Vec<(&'a str, FlagValue<'a>)>,
    #[serde(borrow)]
    isa_flags: Vec<(&'a str, FlagValue<'a>)>,
    tunables: Tunables,
    features: u64,
}

/// The settings an engine made from `config` resolves to; an error naming what could not be read.
pub fn resolved(config: &Config) -> Result<EngineSettings, String> {
    let engine = Engine::new(config).map_err(|e| format!("the configuration makes no engine: {e}"))?;
    // The smallest module: its artifact carries the engine's settings like any other.
    let artifact = engine
        .precompile_module(b"\0asm\x01\0\0\0")
        .map_err(|e| format!("the engine did not compile an empty module: {e}"))?;
    settings_of_artifact(&artifact)
}

/// The settings recorded in one compiled artifact (of this crate's wasmtime version).
pub fn settings_of_artifact(artifact: &[u8]) -> Result<EngineSettings, String> {
    let file = wasmtime_environ::object::File::parse(artifact)
        .map_err(|e| format!("the compiled artifact is not an object file: {e}"))?;
    let name = wasmtime_environ::obj::ELF_WASM_ENGINE;
    let section = file.section_by_name(name).ok_or(format!("the compiled artifact has no `{name}` section"))?;
    let data = section.data().map_err(|e| format!("the `{name}` section cannot be read: {e}"))?;
    // A format byte, then the version string's length and the string.
    let (&length, rest) =
        data.get(1..).and_then(<[u8]>::split_first).ok_or(format!("the `{name}` section is short"))?;
    let encoded = rest.get(usize::from(length)..).ok_or(format!("the `{name}` section is short"))?;
    let section: EngineSection<'_> = postcard::from_bytes(encoded)
        .map_err(|e| format!("the `{name}` section is not in this wasmtime's format: {e}"))?;
    let features = wasmtime_environ::wasmparser::WasmFeatures::from_bits_retain(section.features);
    Ok(EngineSettings {
        target: section.target,
        features: features.iter_names().map(|(name, _)| name.to_string()).collect(),
        known_features: wasmtime_environ::wasmparser::WasmFeatures::all()
            .iter_names()
            .map(|(name, _)| name.to_string())
            .collect(),
        tunables: debug_fields(&format!("{:#?}", section.tunables)),
        shared_flags: flags(&section.shared_flags),
        target_flags: flags(&section.isa_flags),
    })
}

fn flags(flags: &[(&str, FlagValue<'_>)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        flags.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
    out.sort();
    out
}

/// The top-level fields of a struct's pretty `Debug` text (`Name {\n    field: value,\n ...}`), a nested value
/// joined onto one line.
fn debug_fields(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines().skip(1) {
        let indent = line.len() - line.trim_start().len();
        let line = line.trim();
        if indent == 4
            && let Some((name, value)) = line.split_once(": ")
        {
            fields.push((name.to_string(), value.trim_end_matches(',').to_string()));
            continue;
        }
        // A nested value's later lines, up to its closing bracket at the field's indentation.
        if indent >= 4
            && let Some((_, value)) = fields.last_mut()
        {
            let part = line.trim_end_matches(',');
            if !value.ends_with(['(', '[', '{']) && !part.starts_with([')', ']', '}']) {
                value.push(' ');
            }
            value.push_str(part);
        }
    }
    fields.sort();
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineProfile;

    #[test]
    fn a_profiles_settings_are_read_back_from_its_artifact() {
        let settings = resolved(&EngineProfile::Cranelift.config().unwrap()).unwrap();
        assert_eq!(settings.target, crate::build_info::TARGET);
        assert!(settings.features.iter().any(|f| f == "EXCEPTIONS"), "{:?}", settings.features);
        assert!(!settings.features.iter().any(|f| f == "GC"), "the profiles turn GC off: {:?}", settings.features);
        let tunable = |name: &str| settings.tunables.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        assert_eq!(tunable("consume_fuel").as_deref(), Some("false"));
        assert!(
            settings.shared_flags.iter().any(|(n, v)| n == "opt_level" && v == "speed"),
            "{:?}",
            settings.shared_flags
        );
        assert!(!settings.target_flags.is_empty());
        assert!(settings.known_features.iter().any(|f| f == "GC"), "{:?}", settings.known_features);
    }

    #[test]
    fn each_profile_resolves_to_what_it_sets() {
        let fuel = resolved(&EngineProfile::Fuel.config().unwrap()).unwrap();
        assert!(fuel.tunables.contains(&("consume_fuel".to_string(), "true".to_string())), "{:?}", fuel.tunables);
        let epoch = resolved(&EngineProfile::Epoch.config().unwrap()).unwrap();
        assert!(epoch.tunables.contains(&("epoch_interruption".to_string(), "true".to_string())));
        let pulley = resolved(&EngineProfile::Pulley.config().unwrap()).unwrap();
        assert!(pulley.target.starts_with("pulley"), "{}", pulley.target);
        let winch = resolved(&EngineProfile::Winch.config().unwrap()).unwrap();
        assert!(!winch.features.iter().any(|f| f == "EXCEPTIONS"), "{:?}", winch.features);
    }

    #[test]
    fn a_nested_debug_value_is_kept_on_one_line() {
        let text = "Tunables {\n    a: 1,\n    b: Some(\n        2,\n    ),\n    c: false,\n}";
        let fields = debug_fields(text);
        assert_eq!(fields, [("a".into(), "1".into()), ("b".into(), "Some(2)".into()), ("c".into(), "false".into())]);
    }

    #[test]
    fn an_artifact_without_the_section_is_refused_with_its_name() {
        let err = settings_of_artifact(b"not an object").unwrap_err();
        assert!(err.contains("not an object file"), "{err}");
    }
}
