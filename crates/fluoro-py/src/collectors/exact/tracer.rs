//! Exact mode's bookkeeping, plain Rust: what cProfile (`Modules/_lsprof.c`) counts, for
//! every thread's calls. A call event enters a function known by an address (a code object
//! or a C function's `PyMethodDef`); a return closes the innermost call. Per function and per
//! caller edge: calls, recursive calls, own time (`tottime`) and, for the outermost of
//! nested calls only, cumulative time (`cumtime`), less the hook's own cost for every call
//! completed inside the window.
//!
//! Per event: a direct-mapped cache or hash lookup from address to function, the same for
//! the caller edge, and the thread's stack of entries; nothing is allocated in steady state.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::marker::PhantomData;

/// Calls, recursive calls, own and cumulative time (ticks): one function's or one edge's.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Figures {
    pub calls: u64,
    pub recursive: u64,
    pub tottime: u64,
    pub cumtime: u64,
}

impl Figures {
    #[inline(always)]
    fn add(&mut self, total: u64, own: u64, outermost: bool) {
        self.calls = self.calls.wrapping_add(1);
        if outermost {
            self.cumtime = self.cumtime.wrapping_add(total);
        } else {
            self.recursive = self.recursive.wrapping_add(1);
        }
        self.tottime = self.tottime.wrapping_add(own);
    }
}

/// A function of the table: `C` is what names it (a code object, or a C function's label).
pub struct Function<C> {
    pub callee: C,
    /// The `ml_name` address of a C function (0 for code), checked on every hit.
    check: usize,
    pub figures: Figures,
}

/// Calls from one function to another, by index.
pub struct Edge {
    pub caller: u32,
    pub callee: u32,
    pub figures: Figures,
}

const NO_EDGE: u32 = u32::MAX;

/// A running call on a thread's stack.
struct Entry {
    func: u32,
    edge: u32,
    /// The address the call was entered with (code object or method definition).
    key: usize,
    t0: u64,
    /// Cumulative time of the calls it made, already corrected.
    child: u64,
    /// Calls completed inside it, at any depth (two hook events each).
    inner: u64,
}

#[derive(Default)]
struct ThreadStack {
    entries: Vec<Entry>,
    /// How many calls of each function are running on this thread.
    depth: Vec<u32>,
    /// The same per edge.
    edge_depth: Vec<u32>,
}

/// A multiply-fold hash for addresses and index pairs: one multiplication per lookup.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    #[inline(always)]
    fn write_u64(&mut self, n: u64) {
        let m = u128::from(n ^ self.0) * 0x9e37_79b9_7f4a_7c15;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
    #[inline(always)]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

type AddrMap<K> = HashMap<K, u32, BuildHasherDefault<AddrHasher>>;

/// Where the tracer reads the time and the calling thread (the hook's clock in a session,
/// a scripted one in tests).
pub trait Clock {
    fn ticks() -> u64;
    fn thread_id() -> usize;
}

/// The call accounting: functions and edges with cProfile's figures, and every thread's stack
/// of running calls.
pub struct Tracer<C, K> {
    functions: Vec<Function<C>>,
    by_key: AddrMap<usize>,
    /// `key → function`, direct-mapped, in front of `by_key` (an empty slot never matches:
    /// no code object or method definition lives at address 0).
    function_cache: Box<[(usize, u32)]>,
    edges: Vec<Edge>,
    by_pair: AddrMap<u64>,
    /// `pair(caller, callee) → edge`, direct-mapped, in front of `by_pair` (empty slots
    /// hold a pair of two missing functions, which no call makes).
    edge_cache: Box<[(u64, u32)]>,
    threads: Vec<ThreadStack>,
    /// Thread id → its stack index, and the last thread seen (most events come from the
    /// thread that caused the previous one).
    by_thread: AddrMap<usize>,
    last_thread: (usize, usize),
    overhead_ticks: u64,
    clock: PhantomData<K>,
}

#[inline(always)]
fn pair(caller: u32, callee: u32) -> u64 {
    (u64::from(caller) << 32) | u64::from(callee)
}

/// One more running call of `i`.
#[inline(always)]
fn raise(depths: &mut Vec<u32>, i: u32) {
    let i = i as usize;
    if i >= depths.len() {
        depths.resize(i + 1, 0);
    }
    if let Some(d) = depths.get_mut(i) {
        *d = d.saturating_add(1);
    }
}

/// One fewer running call of `i`; whether none is left (the call was the outermost).
#[inline(always)]
fn lower(depths: &mut [u32], i: u32) -> bool {
    match depths.get_mut(i as usize) {
        Some(d) => {
            *d = d.saturating_sub(1);
            *d == 0
        }
        None => true,
    }
}

impl<C, K: Clock> Tracer<C, K> {
    pub fn new(overhead_ticks: u64) -> Self {
        Self {
            functions: Vec::new(),
            by_key: AddrMap::default(),
            function_cache: vec![(0, 0); CACHE_SLOTS].into_boxed_slice(),
            edges: Vec::new(),
            by_pair: AddrMap::default(),
            edge_cache: vec![(u64::MAX, NO_EDGE); CACHE_SLOTS].into_boxed_slice(),
            threads: Vec::new(),
            by_thread: AddrMap::default(),
            last_thread: (0, 0),
            overhead_ticks,
            clock: PhantomData,
        }
    }

    /// The calling thread's stack index, made on its first event in this session.
    ///
    /// Threads are told apart by [`Clock::thread_id`]; a thread that starts where an ended
    /// one was gets its stack, which the ended thread left empty (every call it entered
    /// returned or unwound before it ended).
    #[inline(always)]
    fn thread(&mut self) -> Option<usize> {
        let id = K::thread_id();
        if id == self.last_thread.0 {
            return Some(self.last_thread.1);
        }
        let index = match self.by_thread.get(&id) {
            Some(&i) => i as usize,
            None => {
                self.threads.push(ThreadStack::default());
                let i = self.threads.len() - 1;
                self.by_thread.insert(id, i as u32);
                i
            }
        };
        self.last_thread = (id, index);
        Some(index)
    }

    /// Enters the function known under `key`; false if it is not known yet.
    #[inline(always)]
    pub fn enter_known(&mut self, key: usize, check: usize) -> bool {
        let slot = cache_slot(key as u64);
        let f = match self.function_cache.get(slot) {
            Some(&(k, f)) if k == key => f,
            _ => match self.by_key.get(&key) {
                Some(&f) => {
                    if let Some(c) = self.function_cache.get_mut(slot) {
                        *c = (key, f);
                    }
                    f
                }
                None => return false,
            },
        };
        if self
            .functions
            .get(f as usize)
            .is_none_or(|x| x.check != check)
        {
            return false;
        }
        self.push(f, key);
        true
    }

    /// Adds a function; returns its index and the callee if it was not needed (to be
    /// dropped by the caller outside the borrow).
    pub fn intern(&mut self, key: usize, check: usize, callee: C) -> (u32, Option<C>) {
        if let Some(&f) = self.by_key.get(&key) {
            if self
                .functions
                .get(f as usize)
                .is_some_and(|x| x.check == check)
            {
                return (f, Some(callee));
            }
        }
        let f = self.functions.len() as u32;
        self.functions.push(Function {
            callee,
            check,
            figures: Figures::default(),
        });
        self.by_key.insert(key, f);
        if let Some(c) = self.function_cache.get_mut(cache_slot(key as u64)) {
            *c = (key, f);
        }
        (f, None)
    }

    #[inline(always)]
    pub fn push(&mut self, func: u32, key: usize) {
        let Some(t) = self.thread() else { return };
        let Self {
            edges,
            by_pair,
            edge_cache,
            threads,
            ..
        } = self;
        let Some(stack) = threads.get_mut(t) else {
            return;
        };
        let edge = match stack.entries.last() {
            Some(parent) => edge_between(edges, by_pair, edge_cache, parent.func, func),
            None => NO_EDGE,
        };
        raise(&mut stack.depth, func);
        if edge != NO_EDGE {
            raise(&mut stack.edge_depth, edge);
        }
        stack.entries.push(Entry {
            func,
            edge,
            key,
            t0: 0,
            child: 0,
            inner: 0,
        });
        if let Some(e) = stack.entries.last_mut() {
            e.t0 = K::ticks();
        }
    }

    #[inline(always)]
    pub fn pop(&mut self, key: usize, now: u64) {
        if let Some(t) = self.thread() {
            self.pop_on(t, key, now);
        }
    }

    /// Ends the innermost call of thread `t` at `now`, by cProfile's rules: a return of the
    /// running function closes its call; an unmatched return (possible only around the
    /// session's edges) still closes the innermost call, counted to the returning function
    /// if it is known and dropped if not.
    #[inline(always)]
    fn pop_on(&mut self, t: usize, key: usize, now: u64) {
        let overhead = self.overhead_ticks;
        let Self {
            functions,
            edges,
            by_key,
            by_pair,
            threads,
            ..
        } = self;
        let Some(stack) = threads.get_mut(t) else {
            return;
        };
        let Some(entry) = stack.entries.pop() else {
            return;
        };
        let (func, edge) = if entry.key == key {
            (entry.func, entry.edge)
        } else {
            let Some(&f) = by_key.get(&key) else { return };
            let edge = stack
                .entries
                .last()
                .and_then(|p| by_pair.get(&pair(p.func, f)).copied())
                .unwrap_or(NO_EDGE);
            (f, edge)
        };
        let hooks = overhead.saturating_mul(2).saturating_mul(entry.inner);
        let total = now.saturating_sub(entry.t0).saturating_sub(hooks);
        let own = total.saturating_sub(entry.child);
        if let Some(parent) = stack.entries.last_mut() {
            parent.child = parent.child.saturating_add(total);
            parent.inner = parent.inner.saturating_add(entry.inner.saturating_add(1));
        }
        let outermost = lower(&mut stack.depth, func);
        if let Some(f) = functions.get_mut(func as usize) {
            f.figures.add(total, own, outermost);
        }
        if edge != NO_EDGE {
            let outermost = lower(&mut stack.edge_depth, edge);
            if let Some(e) = edges.get_mut(edge as usize) {
                e.figures.add(total, own, outermost);
            }
        }
    }

    /// Closes every call still running, on every thread, at `now` (as cProfile does when
    /// disabled: the calls that were running count, with their time so far).
    pub fn flush(&mut self, now: u64) {
        for t in 0..self.threads.len() {
            while let Some(key) = self
                .threads
                .get(t)
                .and_then(|s| s.entries.last())
                .map(|e| e.key)
            {
                self.pop_on(t, key, now);
            }
        }
    }
}

/// Entries of the direct-mapped caches in front of the function and edge maps.
const CACHE_SLOTS: usize = 1 << CACHE_BITS;
const CACHE_BITS: u32 = 10;

/// The cache slot of an address or an index pair (multiplicative hashing, top bits).
#[inline(always)]
fn cache_slot(key: u64) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - CACHE_BITS)) as usize
}

/// The edge `caller → callee`, made on first sight.
#[inline(always)]
fn edge_between(
    edges: &mut Vec<Edge>,
    by_pair: &mut AddrMap<u64>,
    cache: &mut [(u64, u32)],
    caller: u32,
    callee: u32,
) -> u32 {
    let key = pair(caller, callee);
    let slot = cache_slot(key);
    if let Some(&(k, e)) = cache.get(slot) {
        if k == key {
            return e;
        }
    }
    let edge = match by_pair.get(&key) {
        Some(&e) => e,
        None => {
            edges.push(Edge {
                caller,
                callee,
                figures: Figures::default(),
            });
            let e = (edges.len() - 1) as u32;
            by_pair.insert(key, e);
            e
        }
    };
    if let Some(c) = cache.get_mut(slot) {
        *c = (key, edge);
    }
    edge
}

impl<C, K> Tracer<C, K> {
    /// Every function seen, by index.
    pub fn functions(&self) -> &[Function<C>] {
        &self.functions
    }

    /// Every caller → callee edge seen.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The hook's own cost per event this tracer subtracts, in ticks.
    pub fn overhead_ticks(&self) -> u64 {
        self.overhead_ticks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;
    use std::collections::BTreeMap;

    thread_local! {
        static NOW: Cell<u64> = const { Cell::new(0) };
    }

    /// A clock the test sets by hand, on one thread.
    struct Scripted;

    impl Clock for Scripted {
        fn ticks() -> u64 {
            NOW.with(Cell::get)
        }
        fn thread_id() -> usize {
            1
        }
    }

    /// Enters function `key` at `now`, as a session's call event does.
    fn enter(t: &mut Tracer<usize, Scripted>, key: usize, now: u64) {
        NOW.with(|c| c.set(now));
        if !t.enter_known(key, 0) {
            let (f, _) = t.intern(key, 0, key);
            t.push(f, key);
        }
    }

    /// cProfile's figures of a call sequence, computed the plain way: every call's span, its
    /// own time (less its direct callees' spans), and cumulative time counted only for the
    /// outermost running call of a function (or of a caller → callee edge).
    #[derive(Default)]
    struct Model {
        functions: BTreeMap<usize, Figures>,
        edges: BTreeMap<(usize, usize), Figures>,
    }

    impl Model {
        fn run(events: &[(bool, usize, u64)]) -> Model {
            let mut model = Model::default();
            // (function, start, time of its completed direct callees)
            let mut stack: Vec<(usize, u64, u64)> = Vec::new();
            for &(is_enter, key, now) in events {
                if is_enter {
                    stack.push((key, now, 0));
                    continue;
                }
                let (f, start, children) = stack.pop().unwrap();
                let total = now - start;
                let own = total - children;
                let outer_f = !stack.iter().any(|e| e.0 == f);
                add(model.functions.entry(f).or_default(), total, own, outer_f);
                if let Some(parent) = stack.last_mut() {
                    parent.2 += total;
                }
                if let Some(&(caller, _, _)) = stack.last() {
                    let outer_e = !stack.windows(2).any(|w| w[0].0 == caller && w[1].0 == f);
                    add(
                        model.edges.entry((caller, f)).or_default(),
                        total,
                        own,
                        outer_e,
                    );
                }
            }
            model
        }
    }

    fn add(fig: &mut Figures, total: u64, own: u64, outermost: bool) {
        fig.calls += 1;
        fig.tottime += own;
        if outermost {
            fig.cumtime += total;
        } else {
            fig.recursive += 1;
        }
    }

    /// A well-nested call sequence from random steps: enter one of five functions, or return.
    fn sequence(steps: &[(bool, usize, u64)]) -> Vec<(bool, usize, u64)> {
        let mut events = Vec::new();
        let mut depth: Vec<usize> = Vec::new();
        let mut now = 0;
        for &(enter, key, dt) in steps {
            now += dt;
            if enter || depth.is_empty() {
                depth.push(key);
                events.push((true, key, now));
            } else {
                events.push((false, depth.pop().unwrap(), now));
            }
        }
        while let Some(key) = depth.pop() {
            now += 1;
            events.push((false, key, now));
        }
        events
    }

    fn traced(events: &[(bool, usize, u64)]) -> Model {
        let mut t: Tracer<usize, Scripted> = Tracer::new(0);
        for &(is_enter, key, now) in events {
            if is_enter {
                enter(&mut t, key, now);
            } else {
                t.pop(key, now);
            }
        }
        let mut model = Model::default();
        for f in t.functions() {
            model.functions.insert(f.callee, f.figures);
        }
        for e in t.edges() {
            let key = |i: u32| t.functions()[i as usize].callee;
            model
                .edges
                .insert((key(e.caller), key(e.callee)), e.figures);
        }
        model
    }

    #[test]
    fn recursion_counts_cumulative_time_once() {
        // f → f → g: f's cumulative time is its outer call's span only.
        let events = [
            (true, 1, 0),
            (true, 1, 10),
            (true, 2, 20),
            (false, 2, 50),
            (false, 1, 60),
            (false, 1, 100),
        ];
        let t = traced(&events);
        let f = t.functions[&1];
        assert_eq!(
            (f.calls, f.recursive, f.cumtime, f.tottime),
            (2, 1, 100, 70)
        );
        let g = t.functions[&2];
        assert_eq!((g.calls, g.cumtime, g.tottime), (1, 30, 30));
        assert_eq!(t.edges[&(1, 1)].calls, 1);
        assert_eq!(t.edges[&(1, 2)].cumtime, 30);
    }

    #[test]
    fn calls_still_running_are_closed_at_the_flush() {
        let mut t: Tracer<usize, Scripted> = Tracer::new(0);
        enter(&mut t, 7, 5);
        enter(&mut t, 8, 15);
        t.flush(40);
        let figures: Vec<(u64, u64, u64)> = t
            .functions()
            .iter()
            .map(|f| (f.figures.calls, f.figures.cumtime, f.figures.tottime))
            .collect();
        assert_eq!(figures, vec![(1, 35, 10), (1, 25, 25)]);
    }

    #[test]
    fn the_hook_cost_of_inner_calls_is_taken_off() {
        let mut t: Tracer<usize, Scripted> = Tracer::new(3);
        enter(&mut t, 1, 0);
        for i in 0..4 {
            enter(&mut t, 2, 10 + 20 * i);
            t.pop(2, 20 + 20 * i);
        }
        t.pop(1, 100);
        // Four completed calls inside f, two events of 3 ticks each.
        let f = t.functions()[0].figures;
        assert_eq!(f.cumtime, 100 - 4 * 2 * 3);
        assert_eq!(f.tottime, 100 - 24 - 40);
    }

    proptest! {
        #[test]
        fn figures_match_a_model_of_cprofile(
            steps in prop::collection::vec((any::<bool>(), 1usize..6, 0u64..50), 1..400)
        ) {
            let events = sequence(&steps);
            let model = Model::run(&events);
            let traced = traced(&events);
            prop_assert_eq!(&traced.functions, &model.functions);
            prop_assert_eq!(&traced.edges, &model.edges);
        }
    }
}
