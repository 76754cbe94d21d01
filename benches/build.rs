//! The wasmtime version shims of the host core's build script (`VERSION_SHIMS` in `host/build.rs`), set for this
//! crate too: the host core passes their names and those it set through its `links` metadata.

fn main() {
    let list = |var: &str| {
        println!("cargo:rerun-if-env-changed={var}");
        std::env::var(var)
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect::<Vec<_>>()
    };
    for cfg in list("DEP_BOUNDARY_HOST_SHIMS") {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    for cfg in list("DEP_BOUNDARY_HOST_SHIMS_SET") {
        println!("cargo:rustc-cfg={cfg}");
    }
}
