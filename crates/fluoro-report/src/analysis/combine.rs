//! Profiles of several calls added up into one (what `@fluoro.profile` reports once, at exit,
//! for every call of a function): code objects and stacks re-interned, threads matched by
//! ident, samples and exact counts summed.

use super::fold::{role, Role};
use fluoro_profile::{
    CodeId, End, ExactEdge, ExactFunction, ExactStats, MemoryProfile, Profile, SiteBytes, StackId,
    StackNode, ThreadIdx, ROOT,
};
use std::collections::HashMap;

/// A running sum of profiles. Memory adds up as the calls' figures do: bytes allocated and
/// collections summed, the highest peak of any call with what was live then, and what each
/// call left live summed into the leak candidates; the heap and RSS timelines are not kept.
#[derive(Debug, Default)]
pub struct Combined {
    profile: Profile,
    calls: u64,
    codes: HashMap<(String, String, u32), CodeId>,
    nodes: HashMap<StackNode, StackId>,
    threads: HashMap<u64, ThreadIdx>,
    weights: HashMap<(ThreadIdx, StackId), usize>,
}

impl Combined {
    pub fn new() -> Self {
        Combined::default()
    }

    /// Profiles added so far.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// The sum so far.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Adds one call's profile.
    pub fn add(&mut self, other: &Profile) {
        self.add_where(other, |_| true);
    }

    /// Adds the samples of one call's profile taken inside the call: under fluoro's own frame
    /// that called the profiled function (`@fluoro.profile`'s wrapper). What other threads
    /// did meanwhile, and fluoro's own work around the call, are left out.
    pub fn add_call(&mut self, other: &Profile) {
        let roles: HashMap<CodeId, Role> = other
            .codes
            .iter()
            .map(|(&id, code)| (id, role(code)))
            .collect();
        let role = |f: &fluoro_profile::Frame| roles.get(&f.code).copied().unwrap_or(Role::Program);
        self.add_where(other, |stack| {
            let frames = other.frames(stack);
            frames
                .iter()
                .rposition(|f| role(f) == Role::Fluoro)
                .is_some_and(|at| frames[at + 1..].iter().any(|f| role(f) == Role::Program))
        });
    }

    /// Adds the weights, sites and collections of `other` whose stacks `keep` accepts.
    fn add_where(&mut self, other: &Profile, keep: impl Fn(StackId) -> bool) {
        if self.calls == 0 {
            self.profile.meta = other.meta.clone();
            self.profile.stacks = vec![StackNode {
                parent: ROOT,
                frame: fluoro_profile::Frame { code: 0, offset: 0 },
            }];
        }
        let offset_ns = self.profile.end.as_ref().map_or(0, |e| e.wall_ns);
        self.calls += 1;
        let codes = self.add_codes(other);
        let threads = self.add_threads(other);
        let mut stacks: HashMap<StackId, StackId> = HashMap::from([(ROOT, ROOT)]);
        let mut stack = |this: &mut Self, id: StackId| -> StackId {
            if let Some(&done) = stacks.get(&id) {
                return done;
            }
            let mut at = ROOT;
            for frame in other.frames(id) {
                let node = StackNode {
                    parent: at,
                    frame: fluoro_profile::Frame {
                        code: codes[&frame.code],
                        offset: frame.offset,
                    },
                };
                at = *this.nodes.entry(node).or_insert_with(|| {
                    this.profile.stacks.push(node);
                    (this.profile.stacks.len() - 1) as StackId
                });
            }
            stacks.insert(id, at);
            at
        };
        for w in other.weights.iter().filter(|w| keep(w.stack)) {
            self.profile.samples += w.samples;
            let (thread, stack) = (threads[w.thread as usize], stack(self, w.stack));
            let at = *self.weights.entry((thread, stack)).or_insert_with(|| {
                self.profile.weights.push(fluoro_profile::StackWeight {
                    thread,
                    stack,
                    ..Default::default()
                });
                self.profile.weights.len() - 1
            });
            let sum = &mut self.profile.weights[at];
            sum.samples += w.samples;
            sum.wall_ns += w.wall_ns;
            sum.cpu_ns += w.cpu_ns;
            sum.gil_samples += w.gil_samples;
            sum.active_samples += w.active_samples;
            sum.idle_wall_ns += w.idle_wall_ns;
            sum.alloc_bytes += w.alloc_bytes;
            sum.alloc_count += w.alloc_count;
            sum.peak_bytes += w.peak_bytes;
            sum.leak_bytes += w.leak_bytes;
        }
        if let Some(memory) = &other.memory {
            let mut site = |s: &SiteBytes| SiteBytes {
                thread: threads[s.thread as usize],
                stack: stack(self, s.stack),
                ..*s
            };
            let mut sites = |sites: &[SiteBytes]| -> Vec<SiteBytes> {
                sites
                    .iter()
                    .filter(|s| keep(s.stack))
                    .map(&mut site)
                    .collect()
            };
            let allocated = sites(&memory.allocated);
            let at_peak = sites(&memory.at_peak);
            let at_end = sites(&memory.at_end);
            let gc: Vec<_> = memory
                .gc
                .iter()
                .filter(|g| keep(g.stack))
                .map(|g| fluoro_profile::GcEvent {
                    thread: threads[g.thread as usize],
                    stack: stack(self, g.stack),
                    start_ns: g.start_ns + offset_ns,
                    ..*g
                })
                .collect();
            let sum = self.profile.memory.get_or_insert_with(|| MemoryProfile {
                settings: memory.settings.clone(),
                ..MemoryProfile::default()
            });
            sum.tracked |= memory.tracked;
            sum.allocated_bytes += memory.allocated_bytes;
            sum.allocated_count += memory.allocated_count;
            add_sites(&mut sum.allocated, allocated);
            if memory.peak_bytes > sum.peak_bytes {
                sum.peak_bytes = memory.peak_bytes;
                sum.peak_time_ns = memory.peak_time_ns + offset_ns;
                sum.at_peak = at_peak;
            }
            sum.live_end_bytes += memory.live_end_bytes;
            add_sites(&mut sum.at_end, at_end);
            for class in &memory.size_classes {
                match sum.size_classes.iter_mut().find(|c| c.upper == class.upper) {
                    Some(c) => {
                        c.count += class.count;
                        c.bytes += class.bytes;
                    }
                    None => sum.size_classes.push(*class),
                }
            }
            sum.gc.extend(gc);
        }
        if let Some(exact) = &other.exact {
            add_exact(
                self.profile.exact.get_or_insert_with(|| ExactStats {
                    functions: Vec::new(),
                    overhead_ns_per_event: exact.overhead_ns_per_event,
                }),
                exact,
            );
        }
        let end = other.end.clone().unwrap_or_default();
        let sum = self.profile.end.get_or_insert_with(End::default);
        sum.wall_ns += end.wall_ns;
        sum.cpu_ns += end.cpu_ns;
        sum.samples += end.samples;
        sum.failed_reads += end.failed_reads;
        sum.sampler_cpu_ns += end.sampler_cpu_ns;
        if end.exception.is_some() {
            sum.exception = end.exception;
        }
    }

    /// Maps `other`'s code ids to this sum's, adding the code objects not seen yet (a
    /// function's code is the same object in every call: same file, name and first line).
    fn add_codes(&mut self, other: &Profile) -> HashMap<CodeId, CodeId> {
        let mut ids: Vec<(&CodeId, &fluoro_profile::CodeInfo)> = other.codes.iter().collect();
        ids.sort_by_key(|(id, _)| **id);
        ids.into_iter()
            .map(|(&id, code)| {
                let key = (
                    code.filename.clone(),
                    code.qualname.clone(),
                    code.firstlineno,
                );
                let mine = *self.codes.entry(key).or_insert_with(|| {
                    // Fresh ids count up from 1; the recorder's stand-ins near CodeId::MAX
                    // keep theirs.
                    let fresh = if id >= CodeId::MAX - 16 {
                        id
                    } else {
                        self.profile.codes.len() as CodeId + 1
                    };
                    self.profile.codes.insert(fresh, code.clone());
                    fresh
                });
                (id, mine)
            })
            .collect()
    }

    /// Maps `other`'s threads to this sum's by ident, keeping the first name known.
    fn add_threads(&mut self, other: &Profile) -> Vec<ThreadIdx> {
        other
            .threads
            .iter()
            .map(|t| {
                let at = *self.threads.entry(t.ident).or_insert_with(|| {
                    self.profile.threads.push(t.clone());
                    (self.profile.threads.len() - 1) as ThreadIdx
                });
                let mine = &mut self.profile.threads[at as usize];
                if mine.name.is_empty() {
                    mine.name.clone_from(&t.name);
                }
                at
            })
            .collect()
    }
}

/// Sums `more` into `sites` by (thread, stack), largest first.
fn add_sites(sites: &mut Vec<SiteBytes>, more: Vec<SiteBytes>) {
    for s in more {
        match sites
            .iter_mut()
            .find(|x| (x.thread, x.stack) == (s.thread, s.stack))
        {
            Some(x) => {
                x.bytes += s.bytes;
                x.count += s.count;
            }
            None => sites.push(s),
        }
    }
    sites.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.stack.cmp(&b.stack)));
}

/// Sums exact statistics by function (file, line, name), callers remapped.
fn add_exact(sum: &mut ExactStats, other: &ExactStats) {
    let key = |f: &ExactFunction| (f.filename.clone(), f.line, f.name.clone());
    let mut index: HashMap<(String, u32, String), usize> = sum
        .functions
        .iter()
        .enumerate()
        .map(|(i, f)| (key(f), i))
        .collect();
    let map: Vec<usize> = other
        .functions
        .iter()
        .map(|f| {
            *index.entry(key(f)).or_insert_with(|| {
                sum.functions.push(ExactFunction {
                    callers: Vec::new(),
                    calls: 0,
                    prim_calls: 0,
                    tottime_ns: 0,
                    cumtime_ns: 0,
                    ..f.clone()
                });
                sum.functions.len() - 1
            })
        })
        .collect();
    for (f, &at) in other.functions.iter().zip(&map) {
        let mine = &mut sum.functions[at];
        mine.calls += f.calls;
        mine.prim_calls += f.prim_calls;
        mine.tottime_ns += f.tottime_ns;
        mine.cumtime_ns += f.cumtime_ns;
        for e in &f.callers {
            let caller = map[e.caller as usize] as u32;
            match mine.callers.iter_mut().find(|x| x.caller == caller) {
                Some(x) => {
                    x.calls += e.calls;
                    x.prim_calls += e.prim_calls;
                    x.tottime_ns += e.tottime_ns;
                    x.cumtime_ns += e.cumtime_ns;
                }
                None => mine.callers.push(ExactEdge { caller, ..*e }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{check, function_table, Measure};
    use crate::testing;
    use fluoro_profile::Metric;

    #[test]
    fn two_calls_add_up_to_twice_one() {
        let one = testing::fixture_with_memory();
        let mut sum = Combined::new();
        sum.add(&one);
        sum.add(&one);
        let two = sum.profile();
        check(two).unwrap();
        assert_eq!(sum.calls(), 2);
        assert_eq!(two.samples, 2 * one.samples);
        assert_eq!(two.threads.len(), one.threads.len());
        assert_eq!(two.total(Metric::Wall), 2 * one.total(Metric::Wall));
        let rows = |p: &Profile| -> Vec<(String, u64)> {
            function_table(p, Measure::all(Metric::Wall))
                .iter()
                .map(|f| (f.key.qualname.to_string(), f.self_ns))
                .collect()
        };
        let doubled: Vec<(String, u64)> = rows(&one).into_iter().map(|(n, v)| (n, 2 * v)).collect();
        assert_eq!(rows(two), doubled);
        let (m1, m2) = (one.memory.as_ref().unwrap(), two.memory.as_ref().unwrap());
        assert_eq!(m2.allocated_bytes, 2 * m1.allocated_bytes);
        assert_eq!(m2.peak_bytes, m1.peak_bytes);
        assert_eq!(m2.gc.len(), 2 * m1.gc.len());
        let exact = two.exact.as_ref().unwrap();
        let fib = exact.functions.iter().find(|f| f.name == "fib").unwrap();
        assert_eq!(fib.calls, 2 * 21891);
        assert_eq!(fib.callers.len(), 2);
        assert_eq!(
            two.end.as_ref().unwrap().wall_ns,
            2 * one.end.as_ref().unwrap().wall_ns
        );
    }
}
