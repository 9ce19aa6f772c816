//! Racy: an unaligned 4-byte write spanning bytes 3..7 and an unaligned 2-byte write of
//! bytes 6..8 overlap in one byte.
use std::hint::black_box;
use std::ptr::{addr_of_mut, read_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

/// Sixteen bytes on an 8-byte boundary, so offsets 3 and 6 are really unaligned.
#[repr(C, align(8))]
struct Bytes([u8; 16]);

static mut BYTES: Bytes = Bytes([0; 16]);
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
    let other = thread::spawn(|| {
        rendezvous(2);
        // SAFETY: address computation inside BYTES only.
        // SAFETY: address computation inside BYTES only.
        let at = black_box(unsafe { addr_of_mut!(BYTES.0).cast::<u8>().add(6) });
        // SAFETY: bytes 6..8 of BYTES; unaligned on purpose.
        unsafe { at.cast::<u16>().write_unaligned(black_box(0xbbbb)) }; // RACE: unaligned
    });
    rendezvous(2);
    let at = black_box(unsafe { addr_of_mut!(BYTES.0).cast::<u8>().add(3) });
    // SAFETY: bytes 3..7 of BYTES; unaligned on purpose.
    unsafe { at.cast::<u32>().write_unaligned(black_box(0xaaaa_aaaa)) }; // RACE: unaligned
    other.join().unwrap();
    // SAFETY: joined; no other thread is left.
    let byte6 = unsafe { read_volatile(addr_of_mut!(BYTES.0).cast::<u8>().add(6)) };
    println!("byte 6 is aa or bb: {}", byte6 == 0xaa || byte6 == 0xbb);
}
