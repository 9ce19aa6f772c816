//! Racy: message passing through a plain (non-atomic) flag. The reader spins until it sees
//! the flag and then reads the data, but plain accesses give no happens-before, so both
//! the flag and the data are raced on.
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::thread;

static mut DATA: u64 = 0;
static mut FLAG: u32 = 0;

fn main() {
    let reader = thread::spawn(|| {
        // SAFETY: plain statics; volatile keeps the spin from being hoisted.
        unsafe {
            loop {
                let flag = read_volatile(addr_of_mut!(FLAG)); // RACE: flag
                if flag != 0 {
                    break;
                }
                thread::yield_now();
            }
            read_volatile(addr_of_mut!(DATA)) // RACE: data
        }
    });
    // SAFETY: plain statics, written without synchronization (the bug).
    unsafe {
        write_volatile(addr_of_mut!(DATA), 42); // RACE: data
        write_volatile(addr_of_mut!(FLAG), 1); // RACE: flag
    }
    println!("reader saw {}", reader.join().unwrap());
}
