//! Flags shared by every subcommand that executes a module (`run`, `check`, `trace`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use std::sync::Arc;
use wasmgrind_report::{
    Finding, Hang, HangKind, HungThread, RawTrapFrame, Symbolizer, TextRenderer, ThreadState,
};

use wasmgrind_runtime::{
    exit_code_for, DirMapping, HangReport, LoadedModule, Outcome, RunOptions, Termination,
    ThreadActivity, TrapFrame,
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
    /// Stop the program after SECONDS (fractions allowed) and report what every thread
    /// is doing, with its stack; exit status 124. Deadlocks (every thread blocked for
    /// good) are stopped without it, with exit status 123.
    #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Compile the module afresh instead of through wasmtime's compilation cache, which
    /// is on by default as in the wasmtime CLI: a module compiled before (the same
    /// bytes, wasmgrind and wasmtime version) is loaded from
    /// `$XDG_CACHE_HOME/wasmtime` (`~/.cache/wasmtime`; its limits are set in
    /// `~/.config/wasmtime/config.toml`). Without a usable cache the run compiles as
    /// with this flag.
    #[arg(long)]
    pub no_cache: bool,
    /// The module (wasm binary or text, .wat), then the program's arguments (argv[1..]).
    /// Everything after the module is the program's, options included, as with
    /// `wasmtime run`: `wasmgrind check app.wasm --format terse` gives the program its
    /// `--format`.
    #[arg(
        value_names = ["MODULE", "ARGS"],
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    module_and_args: Vec<String>,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(format!(
            "the timeout must be a positive number of seconds, got `{s}`"
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("`{s}`: {e}"))
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

impl ExecArgs {
    /// The module's path.
    pub fn module(&self) -> &Path {
        Path::new(&self.module_and_args[0])
    }

    /// The program's arguments (argv[1..]).
    pub fn program_args(&self) -> &[String] {
        &self.module_and_args[1..]
    }

    /// Keeps the first `keep` of the program's arguments (for options of wasmgrind's
    /// that a subcommand takes from their end).
    pub fn truncate_program_args(&mut self, keep: usize) {
        self.module_and_args.truncate(1 + keep);
    }

    /// Loads the module (text or binary; threadlink modules threadified).
    pub fn load(&self) -> anyhow::Result<LoadedModule> {
        LoadedModule::from_file(self.module()).context("loading the module")
    }

    /// The runtime's options; `argv[0]` is the module's file name, as with wasmtime.
    pub fn options(&self) -> RunOptions {
        let module = self.module();
        let argv0 = module
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| module.display().to_string());
        let mut env: Vec<(String, String)> = if self.inherit_env {
            std::env::vars().collect()
        } else {
            Vec::new()
        };
        env.extend(self.env.iter().cloned());
        RunOptions {
            args: std::iter::once(argv0)
                .chain(self.program_args().iter().cloned())
                .collect(),
            env,
            dirs: self.dirs.clone(),
            invoke: self.invoke.clone(),
            max_threads: self.max_threads,
            timeout: self.timeout,
            compile_cache: !self.no_cache,
        }
    }
}

/// Where and how a hang report (deadlock, all threads blocked, timeout) is written.
#[derive(Debug, Clone, Default)]
pub struct HangOutput {
    /// JSON Lines (`check --format json`) instead of text.
    pub json: bool,
    /// Append to this file instead of writing to stderr (`check --log-file`).
    pub log_file: Option<PathBuf>,
}

fn raw_frames(frames: &[TrapFrame]) -> Vec<RawTrapFrame<'_>> {
    frames
        .iter()
        .map(|f| RawTrapFrame {
            func_index: f.func_index,
            name: f.name.as_deref(),
            offset: f.offset,
        })
        .collect()
}

/// The runtime's hang report as a finding, its stacks symbolized.
pub fn hang_finding(report: &HangReport, symbolizer: Option<&Symbolizer>) -> Finding {
    let threads = report
        .threads
        .iter()
        .map(|t| HungThread {
            thread: t.thread,
            state: match t.activity {
                ThreadActivity::Running => ThreadState::Running,
                ThreadActivity::Waiting { addr, owner, timed } => {
                    ThreadState::Waiting { addr, owner, timed }
                }
                ThreadActivity::Joining { thread } => ThreadState::Joining { thread },
            },
            stack: wasmgrind_report::symbolize_trap(&raw_frames(&t.stack), symbolizer),
            holds: t.holds.clone(),
        })
        .collect();
    Finding::Hang(Hang {
        hang: match report.kind {
            wasmgrind_runtime::HangKind::Deadlock => HangKind::Deadlock,
            wasmgrind_runtime::HangKind::AllBlocked => HangKind::AllBlocked,
            wasmgrind_runtime::HangKind::Timeout => HangKind::Timeout,
        },
        cycle: report.cycle.clone(),
        timeout_ms: report.timeout_ms,
        threads,
    })
}

/// Writes the hang report as `output` says.
fn write_hang(original: &[u8], report: &HangReport, output: &HangOutput) {
    let symbolizer = Symbolizer::new(original).ok();
    let finding = hang_finding(report, symbolizer.as_ref());
    let bytes = if output.json {
        let mut line = Vec::new();
        if wasmgrind_report::write_json_line(&mut line, &finding).is_err() {
            return;
        }
        line
    } else {
        TextRenderer::default().render(&finding).into_bytes()
    };
    let written = output.log_file.as_ref().map(|path| {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .and_then(|mut f| f.write_all(&bytes))
    });
    if !matches!(written, Some(Ok(()))) {
        let _ = std::io::stderr().write_all(&bytes);
    }
}

/// Prints how the program ended (a trap with its symbolized backtrace, a threadlink
/// panic, a runtime error) to stderr; the default exit status of that outcome.
pub fn print_outcome(original: &[u8], outcome: &Outcome) -> i32 {
    print_outcome_to(original, outcome, &HangOutput::default())
}

/// [`print_outcome`], with hang reports written as `hang_output` says.
pub fn print_outcome_to(original: &[u8], outcome: &Outcome, hang_output: &HangOutput) -> i32 {
    match outcome {
        Outcome::Hung(report) => write_hang(original, report, hang_output),
        Outcome::Trapped {
            thread,
            trap,
            frames,
        } => {
            let raw = raw_frames(frames);
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
    termination_with(module, HangOutput::default(), exit_override)
}

/// [`termination`] writing hang reports as `hang_output` says. `exit_override` runs
/// first (it may flush the caller's own reports), then the outcome is printed.
pub fn termination_with(
    module: &LoadedModule,
    hang_output: HangOutput,
    exit_override: impl FnOnce(&Outcome) -> Option<i32> + Send + 'static,
) -> Termination {
    let original: Arc<[u8]> = module.original.clone().into();
    let for_diagnostics = original.clone();
    Termination::new(
        Box::new(move |outcome| {
            let code_override = exit_override(outcome);
            let code = print_outcome_to(&original, outcome, &hang_output);
            code_override.unwrap_or(code)
        }),
        Box::new(move |outcome| {
            print_outcome(&for_diagnostics, outcome);
        }),
    )
}
