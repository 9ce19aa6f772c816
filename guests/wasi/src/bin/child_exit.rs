//! `proc_exit(3)` from a child while the main thread and others still run.
fn main() {
    for _ in 0..3 {
        std::thread::spawn(|| loop {
            std::thread::sleep(std::time::Duration::from_millis(1));
        });
    }
    std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::process::exit(3);
    });
    loop {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
