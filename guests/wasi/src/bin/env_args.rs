//! Prints argv and one environment variable, seen from a child thread.
fn main() {
    let seen = std::thread::spawn(|| {
        let args: Vec<String> = std::env::args().collect();
        let var = std::env::var("GREETING").unwrap_or_else(|_| "<unset>".into());
        let home = std::env::var("HOME").unwrap_or_else(|_| "<unset>".into());
        format!("args {args:?} GREETING={var} HOME={home}")
    })
    .join()
    .unwrap();
    println!("{seen}");
}
