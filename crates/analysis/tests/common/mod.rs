//! Test support: a generator of small well-formed traces and brute-force reference
//! definitions of each engine's partial order, computed by graph closure over all pairs.
#![allow(dead_code)]
// The references are relation algebra over index matrices; index loops say it plainest.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeSet;

use wasmgrind_trace::{Event, Op};

// The unit tests' generator, shared by source.
#[path = "../../src/test_rng.rs"]
mod test_rng;
pub use test_rng::XorShift;

/// Decodes random choices into a well-formed trace: locks properly nested per thread,
/// never held by two threads, fork before the child's first event, join after its last.
/// Each event's location is its index, so engines' location sets identify events.
pub fn decode_trace(choices: &[u32], threads: u32, locks: u64, vars: u64) -> Vec<Event> {
    let mut started = vec![false; threads as usize];
    let mut finished = vec![false; threads as usize];
    started[0] = true;
    let mut held: Vec<Vec<u64>> = vec![Vec::new(); threads as usize];
    let mut owner: Vec<Option<u32>> = vec![None; locks as usize];
    let mut out = Vec::new();
    let push = |out: &mut Vec<Event>, t: u32, op: Op, d: u64| {
        let loc = out.len() as u32;
        out.push(Event::new(t, op, d, loc));
    };
    for &c in choices {
        let alive: Vec<u32> = (0..threads)
            .filter(|&t| started[t as usize] && !finished[t as usize])
            .collect();
        let t = alive[(c as usize) % alive.len()];
        let ti = t as usize;
        let k = (c >> 8) % 10;
        let arg = u64::from(c >> 16);
        match k {
            0..=4 => {
                let op = if k % 2 == 0 { Op::Write } else { Op::Read };
                push(&mut out, t, op, arg % vars);
            }
            5 | 6 if locks > 0 => {
                let l = arg % locks;
                if owner[l as usize].is_none() {
                    owner[l as usize] = Some(t);
                    held[ti].push(l);
                    push(&mut out, t, Op::Acquire, l);
                } else if let Some(&top) = held[ti].last() {
                    held[ti].pop();
                    owner[top as usize] = None;
                    push(&mut out, t, Op::Release, top);
                }
            }
            7 => {
                if let Some(top) = held[ti].pop() {
                    owner[top as usize] = None;
                    push(&mut out, t, Op::Release, top);
                }
            }
            8 => {
                if let Some(u) = (0..threads).find(|&u| !started[u as usize]) {
                    started[u as usize] = true;
                    push(&mut out, t, Op::Fork, u.into());
                }
            }
            _ => {
                let cand = (0..threads).find(|&u| {
                    u != t
                        && started[u as usize]
                        && !finished[u as usize]
                        && u != 0
                        && held[u as usize].is_empty()
                });
                if let Some(u) = cand {
                    finished[u as usize] = true;
                    push(&mut out, t, Op::Join, u.into());
                }
            }
        }
    }
    for t in 0..threads {
        while let Some(l) = held[t as usize].pop() {
            push(&mut out, t, Op::Release, l);
        }
    }
    out
}

/// Dense boolean relation over event indices.
pub type Rel = Vec<Vec<bool>>;

fn conflicting(a: &Event, b: &Event) -> bool {
    a.op.is_access()
        && b.op.is_access()
        && a.decor == b.decor
        && a.thread != b.thread
        && (a.op == Op::Write || b.op == Op::Write)
}

/// Direct predecessors of event `j` under thread order, fork, join, and (when `locks`)
/// release→later acquire of the same lock.
fn preds(ev: &[Event], j: usize, locks: bool) -> Vec<usize> {
    let e = &ev[j];
    let mut p = Vec::new();
    if let Some(i) = (0..j).rev().find(|&i| ev[i].thread == e.thread) {
        p.push(i);
    } else if let Some(i) =
        (0..j).find(|&i| ev[i].op == Op::Fork && ev[i].decor == u64::from(e.thread))
    {
        p.push(i);
    }
    if e.op == Op::Join {
        // The child's last event; a child without events still started at its fork.
        let child_last = (0..j).rev().find(|&i| u64::from(ev[i].thread) == e.decor);
        let fork = (0..j).find(|&i| ev[i].op == Op::Fork && ev[i].decor == e.decor);
        p.extend(child_last.or(fork));
    }
    if locks && e.op == Op::Acquire {
        p.extend((0..j).filter(|&i| ev[i].op == Op::Release && ev[i].decor == e.decor));
    }
    p
}

fn last_write(ev: &[Event], j: usize) -> Option<usize> {
    (0..j)
        .rev()
        .find(|&i| ev[i].op == Op::Write && ev[i].decor == ev[j].decor)
}

/// `before[j][i]`: `i` strictly precedes `j`. With `rf`, each read also gets its last
/// write as a predecessor, except when deciding the read's own races (`check`).
fn closure(ev: &[Event], rf: bool) -> (Rel, Rel) {
    let n = ev.len();
    let mut full = vec![vec![false; n]; n];
    let mut check = vec![vec![false; n]; n];
    for j in 0..n {
        let mut c = vec![false; n];
        for p in preds(ev, j, true) {
            c[p] = true;
            for i in 0..n {
                c[i] |= full[p][i];
            }
        }
        check[j] = c.clone();
        if rf && ev[j].op == Op::Read {
            if let Some(w) = last_write(ev, j) {
                c[w] = true;
                for i in 0..n {
                    c[i] |= full[w][i];
                }
            }
        }
        full[j] = c;
    }
    (full, check)
}

fn racy_under(ev: &[Event], ordered: impl Fn(usize, usize) -> bool) -> BTreeSet<usize> {
    (0..ev.len())
        .filter(|&j| (0..j).any(|i| conflicting(&ev[i], &ev[j]) && !ordered(i, j)))
        .collect()
}

/// Racy events under happens-before.
pub fn hb_racy(ev: &[Event]) -> BTreeSet<usize> {
    let (_, check) = closure(ev, false);
    racy_under(ev, |i, j| check[j][i])
}

/// Racy events under schedulable happens-before.
pub fn shb_racy(ev: &[Event]) -> BTreeSet<usize> {
    let (_, check) = closure(ev, true);
    racy_under(ev, |i, j| check[j][i])
}

/// Critical sections: (lock, acquire index, release index, member indices).
fn critical_sections(ev: &[Event]) -> Vec<(u64, usize, usize, Vec<usize>)> {
    let mut out = Vec::new();
    for (a, e) in ev.iter().enumerate() {
        if e.op != Op::Acquire {
            continue;
        }
        let mut depth = 0;
        for r in a + 1..ev.len() {
            let f = &ev[r];
            if f.thread != e.thread || f.decor != e.decor {
                continue;
            }
            match f.op {
                Op::Acquire => depth += 1,
                Op::Release if depth == 0 => {
                    let members = (a..=r).filter(|&k| ev[k].thread == e.thread).collect();
                    out.push((e.decor, a, r, members));
                    break;
                }
                Op::Release => depth -= 1,
                _ => {}
            }
        }
    }
    out
}

/// Racy events under WCP, from its definition: rules (a), (b) (between critical sections
/// of two threads), composition with HB on both sides, iterated to a fixpoint; fork/join
/// extend program order.
pub fn wcp_racy(ev: &[Event]) -> BTreeSet<usize> {
    let n = ev.len();
    let (hb_strict, _) = closure(ev, false);
    // hb[i][j]: i ≤HB j (reflexive).
    let hb = |i: usize, j: usize| i == j || hb_strict[j][i];
    let mut w = vec![vec![false; n]; n];
    // Program order extended by fork/join: orders the race check, is not a ≺ fact.
    let mut po = vec![vec![false; n]; n];
    for j in 0..n {
        for p in preds(ev, j, false) {
            po[j][p] = true;
            for i in 0..n {
                if po[p][i] {
                    po[j][i] = true;
                }
            }
        }
    }
    let cs = critical_sections(ev);
    loop {
        let mut changed = false;
        let mut set = |w: &mut Rel, i: usize, j: usize| {
            if !w[i][j] {
                w[i][j] = true;
                changed = true;
            }
        };
        for (l1, a1, r1, m1) in &cs {
            for (l2, a2, r2, m2) in &cs {
                if l1 != l2 || r1 >= a2 {
                    continue;
                }
                for &e2 in m2 {
                    if m1.iter().any(|&e1| {
                        conflicting(&ev[e1], &ev[e2]) || same_thread_conflict(ev, e1, e2)
                    }) {
                        set(&mut w, *r1, e2);
                    }
                }
                // Rule (b) between critical sections of two threads, as in the paper's
                // algorithm (per-thread queues of the other threads' acquires) and RAPID.
                if ev[*a1].thread != ev[*a2].thread && w[*a1][*r2] {
                    set(&mut w, *r1, *r2);
                }
            }
        }
        // Composition with HB on both sides: next = HB ∘ W ∘ HB (two boolean products).
        let mut left = vec![vec![false; n]; n];
        for i in 0..n {
            for k in 0..n {
                if hb(i, k) {
                    for l in 0..n {
                        left[i][l] |= w[k][l];
                    }
                }
            }
        }
        let mut next = vec![vec![false; n]; n];
        for i in 0..n {
            for l in 0..n {
                if left[i][l] {
                    for j in 0..n {
                        next[i][j] |= hb(l, j);
                    }
                }
            }
        }
        if next != w {
            changed = true;
            w = next;
        }
        if !changed {
            break;
        }
    }
    racy_under(ev, |i, j| w[i][j] || po[j][i])
}

fn same_thread_conflict(ev: &[Event], a: usize, b: usize) -> bool {
    let (x, y) = (&ev[a], &ev[b]);
    x.op.is_access()
        && y.op.is_access()
        && x.decor == y.decor
        && (x.op == Op::Write || y.op == Op::Write)
}

/// The sync-preserving closure of a set of events, from its definition.
fn sp_closure(ev: &[Event], seeds: &[usize]) -> Vec<bool> {
    let n = ev.len();
    let mut s = vec![false; n];
    for &x in seeds {
        s[x] = true;
    }
    loop {
        let mut changed = false;
        for j in (0..n).rev() {
            if !s[j] {
                continue;
            }
            let mut need = preds(ev, j, false);
            if ev[j].op == Op::Read {
                need.extend(last_write(ev, j));
            }
            for p in need {
                if !s[p] {
                    s[p] = true;
                    changed = true;
                }
            }
        }
        for (l1, a1, r1, _) in critical_sections(ev) {
            if !s[a1] || s[r1] {
                continue;
            }
            let later =
                (a1 + 1..n).any(|a2| s[a2] && ev[a2].op == Op::Acquire && ev[a2].decor == l1);
            if later {
                s[r1] = true;
                changed = true;
            }
        }
        if !changed {
            return s;
        }
    }
}

/// Racy events under sync-preserving races, from the definition. An event's
/// predecessor is the previous event of its thread, or for a first event its fork.
pub fn syncp_racy(ev: &[Event]) -> BTreeSet<usize> {
    let pred = |j: usize| {
        (0..j)
            .rev()
            .find(|&i| ev[i].thread == ev[j].thread)
            .or_else(|| {
                (0..j).find(|&i| ev[i].op == Op::Fork && ev[i].decor == u64::from(ev[j].thread))
            })
    };
    racy_under(ev, |i, j| {
        let seeds: Vec<usize> = pred(i).into_iter().chain(pred(j)).collect();
        sp_closure(ev, &seeds)[i]
    })
}
