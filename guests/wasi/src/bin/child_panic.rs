//! A child thread panics (panic = abort on wasm: the program ends with a trap).
fn main() {
    println!("before");
    let h = std::thread::spawn(|| {
        let v: Vec<u32> = Vec::new();
        if v.is_empty() {
            panic!("child thread gave up");
        }
    });
    let _ = h.join();
    println!("not reached");
}
