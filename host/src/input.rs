//! A wasm binary (or WAT text) as a command was given it, with the name that stands for it in messages: the input
//! every loader of the harness takes, whether the module is the project's guest or the user's.

use crate::error::{Error, escape_controls};
use crate::guest;
use std::path::Path;

/// A wasm binary or WAT text to load, with the name that stands for it in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wasm {
    pub name: String,
    pub bytes: Vec<u8>,
    pub is_text: bool,
}

impl Wasm {
    /// The project's quiet guest as a core module.
    pub fn quiet_guest() -> Self {
        Wasm { name: "the quiet guest".into(), bytes: guest::QUIET_WASM.to_vec(), is_text: false }
    }

    /// The project's quiet guest as a component.
    pub fn quiet_component() -> Self {
        Wasm { name: "the quiet guest component".into(), bytes: guest::COMPONENT_QUIET_WASM.to_vec(), is_text: false }
    }

    /// WAT text, named `name`.
    pub fn wat(name: &str, text: &str) -> Self {
        Wasm { name: name.to_string(), bytes: text.as_bytes().to_vec(), is_text: true }
    }

    /// The file at `path`: binary, or WAT text if its name ends in `.wat`; named by its path, escaped.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::ReadModule { path: path.to_path_buf(), source })?;
        let is_text = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("wat"));
        Ok(Wasm { name: escape_controls(&path.display().to_string()).into_owned(), bytes, is_text })
    }

    /// A content fingerprint of the bytes (64-bit FNV-1a), for naming result folders: not a security measure.
    pub fn fingerprint(&self) -> u64 {
        self.bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    }
}
