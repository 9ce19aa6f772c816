//! Runs threadified guests for real, on a tiny wasm_threadlink host written for Node's
//! worker_threads (`tests/node/threadlink_host.mjs`: one instance per thread on one shared
//! memory, like the wasmgrind runtime). This checks the patch's behaviour (fresh stack and
//! TLS per thread, destroy), not just its shape, and that the host's engine keeps locals
//! across `memory.atomic.wait32`. Skipped, with a message, when `node` is not installed.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{build_guests, repo_root};
use wasmgrind_threadify::threadify;
use wasmparser::{Parser, Payload, TypeRef};

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Memory 0's (initial, maximum) pages from the memory import.
fn memory_limits(wasm: &[u8]) -> (u64, u64) {
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::ImportSection(reader) = payload.unwrap() {
            for import in reader.into_imports() {
                if let TypeRef::Memory(m) = import.unwrap().ty {
                    return (m.initial, m.maximum.unwrap());
                }
            }
        }
    }
    panic!("no memory import")
}

/// Threadifies `guest` into `dir` and runs its `run` export on the Node host.
fn run_on_node(guests: &Path, dir: &Path, guest: &str, patch: bool) -> Output {
    let input = std::fs::read(guests.join(format!("{guest}.wasm"))).unwrap();
    let wasm = if patch {
        threadify(&input).unwrap()
    } else {
        input
    };
    run_module_on_node(dir, guest, &wasm)
}

/// Writes `wasm` to `dir/<name>.wasm` and runs its `run` export on the Node host.
fn run_module_on_node(dir: &Path, name: &str, wasm: &[u8]) -> Output {
    let (initial, maximum) = memory_limits(wasm);
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, wasm).unwrap();
    Command::new("node")
        .arg(repo_root().join("crates/threadify/tests/node/threadlink_host.mjs"))
        .arg(&path)
        .arg("run")
        .arg(initial.to_string())
        .arg(maximum.to_string())
        .output()
        .expect("running node")
}

fn value(output: &Output) -> String {
    assert!(
        output.status.success(),
        "host failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A local updated in a loop around `memory.atomic.wait32` (the shape of a contended
/// wasm-threadlink `Mutex::lock`) must keep its value: `run` waits `WAITS` times (each wait
/// times out at once; the trip count lives in memory, so a broken engine still stops) and
/// counts the waits in an i32 and an i64 local, returning `1000 * i64 count + i32 count`.
const WAIT_LOOP: &str = r#"
(module
  (import "env" "memory" (memory 1 1 shared))
  (func (export "run") (result i64)
    (local $n i32) (local $sum i64)
    i32.const 16
    i32.const 0
    i32.atomic.store
    loop $again
      ;; The word at 0 is 0, so this waits (for 0 ns) and returns 2, "timed out".
      i32.const 0
      i32.const 0
      i64.const 0
      memory.atomic.wait32
      drop
      local.get $n
      i32.const 1
      i32.add
      local.set $n
      local.get $sum
      i64.const 1000
      i64.add
      local.set $sum
      i32.const 16
      i32.const 1
      i32.atomic.rmw.add
      i32.const 1
      i32.add
      i32.const WAITS
      i32.lt_u
      br_if $again
    end
    local.get $sum
    local.get $n
    i64.extend_i32_u
    i64.add))
"#;

/// Deterministic check of the host's engine configuration: code from V8's Liftoff compiler
/// (Node v20.20.2) reads stale locals after such a wait (this returns 1005), which made
/// `mutex_counter` flaky (extra loop iterations whenever the mutex was contended). The host
/// therefore compiles with TurboFan only.
#[test]
fn host_keeps_locals_across_atomic_wait() {
    if !node_available() {
        eprintln!("skipping: `node` is not installed");
        return;
    }
    const WAITS: u64 = 5;
    let wasm = wat::parse_str(WAIT_LOOP.replace("WAITS", &WAITS.to_string())).unwrap();
    let dir = std::env::temp_dir().join(format!(
        "wasmgrind-threadify-node-wait-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let result = value(&run_module_on_node(&dir, "wait_loop", &wasm));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(result, (1000 * WAITS + WAITS).to_string());
}

#[test]
fn threadified_guests_run_correctly() {
    if !node_available() {
        eprintln!("skipping: `node` is not installed");
        return;
    }
    let guests = build_guests();
    let dir = std::env::temp_dir().join(format!("wasmgrind-threadify-node-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // Formulas from each guest's header comment.
    let tls = (7 + 1000 * 10_000) + (0..4i64).map(|i| 7 + (i + 1) * 10_000).sum::<i64>();
    assert_eq!(
        value(&run_on_node(&guests, &dir, "tls_counters", true)),
        tls.to_string()
    );
    let deep: i64 = [0x1000_0000i64, 0x2000_0000]
        .iter()
        .map(|seed| (0..2000).map(|d| seed + 97 * d).sum::<i64>())
        .sum();
    assert_eq!(
        value(&run_on_node(&guests, &dir, "deep_recursion", true)),
        deep.to_string()
    );
    assert_eq!(
        value(&run_on_node(&guests, &dir, "spawn_join", true)),
        (30 + 30 + 5050).to_string()
    );
    assert_eq!(
        value(&run_on_node(&guests, &dir, "mutex_counter", true)),
        "4000"
    );
    assert_eq!(
        value(&run_on_node(&guests, &dir, "join_unknown", true)),
        "1"
    );
    assert_eq!(
        value(&run_on_node(&guests, &dir, "join_trapped", true)),
        "2"
    );
    let panic = run_on_node(&guests, &dir, "guest_panic", true);
    assert_eq!(panic.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&panic.stderr).contains("panic 4"));

    // Without the patch, threads share the main thread's stack and TLS: the guests fail.
    let unpatched = run_on_node(&guests, &dir, "tls_counters", false);
    assert!(
        !unpatched.status.success()
            || String::from_utf8_lossy(&unpatched.stdout).trim() != tls.to_string(),
        "tls_counters must not pass unthreadified"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
