//! Racy: two threads use one struct; the disjoint fields they each write are fine, but
//! both touch `balance` (one writes, one reads).
use std::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

/// A record whose fields are used by different threads.
#[repr(C)]
struct Account {
    id: u32,
    balance: u64,
    flags: u16,
}

static mut ACCOUNT: Account = Account {
    id: 0,
    balance: 10,
    flags: 0,
};
static ARRIVED: AtomicU32 = AtomicU32::new(0);

/// Lets `parties` threads enter the racing part together; its atomics order only what each
/// thread did before arriving, never the accesses after it.
fn rendezvous(parties: u32) {
    ARRIVED.fetch_add(1, Ordering::SeqCst);
    while ARRIVED.load(Ordering::SeqCst) < parties {
        thread::yield_now();
    }
}

fn main() {
    let auditor = thread::spawn(|| {
        rendezvous(2);
        // SAFETY: plain fields of a static; `flags` is only written by this thread.
        unsafe {
            write_volatile(addr_of_mut!(ACCOUNT.flags), 1);
            read_volatile(addr_of!(ACCOUNT.balance)) // RACE: field
        }
    });
    rendezvous(2);
    // SAFETY: plain fields of a static; `id` is only written by this thread.
    unsafe {
        write_volatile(addr_of_mut!(ACCOUNT.id), 7);
        write_volatile(addr_of_mut!(ACCOUNT.balance), 20); // RACE: field
    }
    let seen = auditor.join().unwrap();
    println!("auditor saw 10 or 20: {}", seen == 10 || seen == 20);
}
