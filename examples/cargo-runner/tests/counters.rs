use cargo_runner_demo::{atomic_count, locked_count, racy_count};

#[test]
fn locked_counter_counts() {
    assert_eq!(locked_count(4, 100), 400);
}

#[test]
fn atomic_counter_counts() {
    assert_eq!(atomic_count(4, 100), 400);
}

#[test]
fn racy_counter_runs() {
    // Passes natively most of the time; only a race detector shows the bug.
    assert!(racy_count(2, 100) <= 200);
}
