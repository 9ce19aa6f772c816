// Minimal wasm_threadlink host on Node worker_threads (test harness for threadify):
// node threadlink_host.mjs <threadified.wasm> <export> <initial pages> <maximum pages>
// prints the export's result; exit 3 on panic(code) (printing "panic <code>").

import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// Compile wasm with TurboFan only. V8's baseline compiler Liftoff (seen on Node v20.20.2,
// V8 11.3.244) loses updates to locals across `memory.atomic.wait32` inside a loop: after the
// wait, a local holds a stale value. A contended wasm-threadlink Mutex waits in exactly
// such a loop, so `mutex_counter` ran extra iterations (4285..9297 instead of 4000) in
// about 1 run of 20. tests/node_host.rs checks this host against a minimal reproducer.
// The flag is process-wide and must be set before the first compilation, so only the
// main thread sets it (workers get the already compiled module).
if (isMainThread) setFlagsFromString('--no-liftoff');

const MAX = 64;
function imports(module, memory, ctrl) {
  const u32 = () => new Uint32Array(memory.buffer);
  return {
    env: { memory },
    wasm_threadlink: {
      thread_create(tidPtr, start) {
        const tid = Atomics.add(ctrl, 0, 1) + 1;
        u32()[tidPtr >>> 2] = tid;
        new Worker(new URL(import.meta.url), { workerData: { module, memory, ctrl, tid, start } });
        return 0;
      },
      thread_join(tid) {
        if (tid <= 0 || tid > Atomics.load(ctrl, 0) || tid >= MAX) return 1;
        while (Atomics.load(ctrl, MAX + tid) === 0) Atomics.wait(ctrl, MAX + tid, 0);
        return Atomics.load(ctrl, MAX + tid) === 2 ? 2 : 0;
      },
      panic(code) { console.error(`panic ${code}`); process.exit(3); },
      start_lock() { Atomics.add(ctrl, 1, 1); }, finish_lock() {}, start_unlock() {}, finish_unlock() {},
    },
  };
}
if (isMainThread) {
  const [path, exportName, initial, maximum] = process.argv.slice(2);
  const module = new WebAssembly.Module(readFileSync(path));
  const memory = new WebAssembly.Memory({ initial: Number(initial), maximum: Number(maximum), shared: true });
  const ctrl = new Int32Array(new SharedArrayBuffer(4 * 2 * MAX));
  const instance = new WebAssembly.Instance(module, imports(module, memory, ctrl));
  console.log(String(instance.exports[exportName]()));
  console.error(`lock hooks: ${Atomics.load(ctrl, 1)}`);
  process.exit(0);
} else {
  const { module, memory, ctrl, tid, start } = workerData;
  let status = 1;
  try {
    const instance = new WebAssembly.Instance(module, imports(module, memory, ctrl));
    instance.exports.thread_start(start);
    instance.exports.__wasmgrind_thread_destroy();
  } catch (e) { status = 2; }
  Atomics.store(ctrl, MAX + tid, status);
  Atomics.notify(ctrl, MAX + tid);
}
