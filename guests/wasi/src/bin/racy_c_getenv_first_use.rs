//! Racy, inside wasi-libc: two threads call `getenv` and neither the program nor
//! wasi-libc ordered an earlier call. wasi-libc builds the environment lazily on first
//! use (`__wasilibc_ensure_environ`: if the global is still unset, initialize it),
//! with plain loads and stores and no lock, so the second thread's check reads the
//! global the first thread's initialization wrote, unordered. (Rust's
//! `std::env::var` takes std's environment lock around `getenv`, so Rust programs
//! never show this; C programs calling `getenv` from threads first do.) Both threads
//! then meet at a barrier, so neither ends (which would order it before the next
//! `pthread_create`) before the other has looked.
use std::ffi::c_void;
use std::ptr;

use wasi_guests::pthread::{
    getenv, pthread_barrier_init, pthread_barrier_wait, pthread_create, pthread_join, Global,
    PthreadBarrier,
};

static LOOKED: Global<PthreadBarrier> = Global::new(PthreadBarrier([0; 5]));

extern "C" fn look_up(_: *mut c_void) -> *mut c_void {
    // SAFETY: a NUL-terminated name; the result is only compared with null.
    let value = unsafe { getenv(c"WASMGRIND_GUEST".as_ptr()) }; // RACE: environ
                                                                // SAFETY: set up before the threads started.
    unsafe { pthread_barrier_wait(LOOKED.get()) };
    value.cast()
}

fn main() {
    // SAFETY: set up once, before any thread waits on it.
    assert_eq!(
        unsafe { pthread_barrier_init(LOOKED.get(), ptr::null(), 2) },
        0
    );
    let mut threads = [0usize; 2];
    for t in &mut threads {
        // SAFETY: `look_up` takes no argument and returns a pointer-sized value.
        assert_eq!(
            unsafe { pthread_create(t, ptr::null(), look_up, ptr::null_mut()) },
            0
        );
    }
    let mut found = 0;
    for t in threads {
        let mut value = ptr::null_mut();
        // SAFETY: a thread made above, joined once.
        assert_eq!(unsafe { pthread_join(t, &mut value) }, 0);
        found += usize::from(!value.is_null());
    }
    println!("found in {found} of 2 threads");
}
