//! Flags shared by every subcommand that executes a module (`run`, `check`, `trace`).

use std::path::PathBuf;

use anyhow::Context;
use std::sync::Arc;
use wasmgrind_report::{RawTrapFrame, Symbolizer};

use wasmgrind_runtime::{
    exit_code_for, DirMapping, LoadedModule, Outcome, RunOptions, Termination,
};

/// How to run the program: the module, its arguments, environment and directories.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Environment variable for the program (repeatable); nothing is inherited otherwise.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Pass the host's whole environment to the program (before any --env).
    #[arg(long)]
    pub inherit_env: bool,
    /// Preopen a host directory, optionally under another guest path (repeatable).
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    pub dirs: Vec<DirMapping>,
    /// Call this export (no parameters) instead of `_start`; its results are printed.
    /// Threadlink modules are run this way.
    #[arg(long, value_name = "EXPORT")]
    pub invoke: Option<String>,
    /// Most threads alive at once, the main thread included; spawning beyond it stops
    /// the program with an error.
    #[arg(long, value_name = "N", default_value_t = wasmgrind_runtime::RunOptions::default().max_threads)]
    pub max_threads: u32,
    /// The module: wasm binary or text (.wat).
    pub module: PathBuf,
    /// Arguments for the program (argv[1..]).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

impl ExecArgs {
    /// Loads the module (text or binary; threadlink modules threadified).
    pub fn load(&self) -> anyhow::Result<LoadedModule> {
        LoadedModule::from_file(&self.module).context("loading the module")
    }

    /// The runtime's options; argv[0] is the module's file name, as with wasmtime.
    pub fn options(&self) -> RunOptions {
        let argv0 = self
            .module
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.module.display().to_string());
        let mut env: Vec<(String, String)> = if self.inherit_env {
            std::env::vars().collect()
        } else {
            Vec::new()
        };
        env.extend(self.env.iter().cloned());
        RunOptions {
            args: std::iter::once(argv0)
                .chain(self.args.iter().cloned())
                .collect(),
            env,
            dirs: self.dirs.clone(),
            invoke: self.invoke.clone(),
            max_threads: self.max_threads,
        }
    }
}

/// Prints how the program ended (a trap with its symbolized backtrace, a threadlink
/// panic, a runtime error) to stderr; the default exit status of that outcome.
pub fn print_outcome(original: &[u8], outcome: &Outcome) -> i32 {
    match outcome {
        Outcome::Trapped {
            thread,
            trap,
            frames,
        } => {
            let raw: Vec<RawTrapFrame<'_>> = frames
                .iter()
                .map(|f| RawTrapFrame {
                    func_index: f.func_index,
                    name: f.name.as_deref(),
                    offset: f.offset,
                })
                .collect();
            let symbolizer = Symbolizer::new(original).ok();
            let frames = wasmgrind_report::symbolize_trap(&raw, symbolizer.as_ref());
            let _ =
                wasmgrind_report::write_trap(&mut std::io::stderr().lock(), *thread, trap, &frames);
        }
        other => other.print_diagnostic(&mut std::io::stderr()),
    }
    exit_code_for(outcome)
}

/// The program's termination: prints outcomes with [`print_outcome`]; `exit_override`
/// may replace the exit status at the very end (e.g. because findings were reported).
pub fn termination(
    module: &LoadedModule,
    exit_override: impl FnOnce(&Outcome) -> Option<i32> + Send + 'static,
) -> Termination {
    let original: Arc<[u8]> = module.original.clone().into();
    let for_diagnostics = original.clone();
    Termination::new(
        Box::new(move |outcome| {
            let code = print_outcome(&original, outcome);
            exit_override(outcome).unwrap_or(code)
        }),
        Box::new(move |outcome| {
            print_outcome(&for_diagnostics, outcome);
        }),
    )
}
