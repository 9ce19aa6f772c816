//! Racy: a bulk copy (`memory.copy`) into a 4 KiB buffer while another thread reads one
//! byte in the middle of the destination.
use std::hint::black_box;
use std::ptr::{addr_of, addr_of_mut, copy_nonoverlapping, read_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

const LEN: usize = 4096;
static mut SRC: [u8; LEN] = [7; LEN];
static mut DST: [u8; LEN] = [0; LEN];
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
    let reader = thread::spawn(|| {
        // black_box: a computed address keeps the read's own line in the debug info.
        let at = black_box(addr_of!(DST).cast::<u8>());
        rendezvous(2);
        // SAFETY: in-bounds read of plain bytes; racing with the copy is the point.
        let byte = unsafe { read_volatile(at.add(1000)) }; // RACE: copy
        black_box(byte)
    });
    // black_box: keep a real copy (LLVM would turn a copy of the constant SRC into a fill).
    let (src, dst) = black_box((addr_of!(SRC).cast::<u8>(), addr_of_mut!(DST).cast::<u8>()));
    rendezvous(2);
    // SAFETY: two distinct statics of LEN bytes; the destination is shared on purpose.
    unsafe { copy_nonoverlapping(src, dst, LEN) }; // RACE: copy
    let seen = reader.join().unwrap();
    println!("reader saw 0 or 7: {}", seen == 0 || seen == 7);
}
