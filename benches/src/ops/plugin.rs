//! A user's plugin serving its request file (`--request`), as every measuring command drives it: loaded under a
//! profile, instantiated, and served once as a trial whose output is checked against the request's expectations
//! before anything is timed (timing a wrong answer tells nothing). Then `serve` is the measured operation.

use crate::guard::Failure;
use boundary_host::plugin::{self, Plugin, PluginInstance, Request, Served};
use boundary_host::wasmtime::Engine;
use boundary_host::{EngineProfile, HostOptions, Wasm};

impl Failure for plugin::Failure {
    fn text(&self) -> String {
        self.to_string()
    }
    fn over_budget(&self) -> bool {
        matches!(self, plugin::Failure::Guest(e) if e.is_memory_limit())
    }
}

/// A plugin instance ready to serve its request, its inputs made once.
#[derive(Debug)]
pub struct PreparedRequest {
    pub plugin: Plugin,
    pub instance: PluginInstance,
    pub inputs: Vec<Vec<u8>>,
}

/// The inputs of `request`, made once.
pub fn inputs(request: &Request) -> Vec<Vec<u8>> {
    (0..request.inputs.len()).map(|i| plugin::input_bytes(request, i)).collect()
}

/// What is wrong with `served` as `request` checks it, if anything: one line.
pub fn verify(request: &Request, served: &Served, profile: EngineProfile) -> Result<(), String> {
    let failed: Vec<String> = plugin::check(request, &served.output)
        .into_iter()
        .filter_map(|c| c.failed.map(|found| format!("the output {}: {found}", c.expectation)))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("the request's output is wrong under `{profile}`: {}", failed.join("; ")))
    }
}

impl PreparedRequest {
    /// Loads `wasm` for `request` under `profile` (on `engine`), instantiates it and serves the request once,
    /// checked.
    pub fn new(
        profile: EngineProfile,
        engine: &Engine,
        wasm: &Wasm,
        request: &Request,
        options: HostOptions,
    ) -> Result<Self, String> {
        let plugin = Plugin::load_with_engine(wasm, profile, engine, options, request).map_err(|e| e.to_string())?;
        let mut instance = plugin.instantiate().map_err(|e| e.to_string())?;
        let inputs = inputs(request);
        let served = instance.serve(&inputs).map_err(|e| format!("the trial request: {e}"))?;
        verify(request, &served, profile)?;
        Ok(PreparedRequest { plugin, instance, inputs })
    }

    /// Serves the request once on this instance.
    #[inline]
    pub fn serve(&mut self) -> Result<Served, plugin::Failure> {
        self.instance.serve(&self.inputs)
    }

    /// The loaded plugin and its inputs without this instance: what serves the request on a fresh instance each
    /// time, from any number of threads.
    pub fn fresh(self) -> FreshRequest {
        FreshRequest { plugin: self.plugin, inputs: self.inputs }
    }
}

/// A plugin that serves its request on a fresh instance each time: the serving path's request.
#[derive(Debug)]
pub struct FreshRequest {
    pub plugin: Plugin,
    pub inputs: Vec<Vec<u8>>,
}

impl FreshRequest {
    /// Serves the request once on a fresh instance, made from the loaded plugin and dropped after.
    #[inline]
    pub fn serve(&self) -> Result<Served, plugin::Failure> {
        let mut instance = self.plugin.instantiate()?;
        instance.serve(&self.inputs)
    }
}
