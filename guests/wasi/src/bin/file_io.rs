//! One WASI state for all threads: main opens a file in the preopened dir, a child
//! writes through the same handle, another child reads it back from a new handle.
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "/data".into());
    let path = format!("{dir}/out.txt");
    let file = Arc::new(Mutex::new(std::fs::File::create(&path).expect("create")));
    let f = file.clone();
    std::thread::spawn(move || {
        f.lock()
            .unwrap()
            .write_all(b"written by a child thread\n")
            .unwrap()
    })
    .join()
    .unwrap();
    drop(file);
    let p = path.clone();
    let text = std::thread::spawn(move || {
        let mut s = String::new();
        std::fs::File::open(&p)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    })
    .join()
    .unwrap();
    print!("read back: {text}");
}
