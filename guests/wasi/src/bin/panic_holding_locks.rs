//! A child thread panics inside the critical sections of a mutex and a read lock
//! (panic = abort on wasm: the program ends with a trap). No thread outlives the
//! locks it left held, so that is no lock misuse; the trap is the finding.
use std::sync::{Mutex, RwLock};

static STATE: Mutex<u32> = Mutex::new(0);
static CONFIG: RwLock<u32> = RwLock::new(1);

fn main() {
    let h = std::thread::spawn(|| {
        let config = CONFIG.read().unwrap();
        let mut state = STATE.lock().unwrap();
        *state += *config;
        if *state > 0 {
            panic!("child thread gave up inside its critical sections");
        }
    });
    let _ = h.join();
    println!("not reached");
}
