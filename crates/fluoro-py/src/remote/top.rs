//! `fluoro top PID`: a live terminal view of a running CPython's hottest functions over the
//! last seconds, sampled from outside as `fluoro attach` samples it.

use super::process::{alive, command_line, Remote};
use crate::collectors::sampler::Jitter;
use crate::cpython::ThreadStack;
use crate::output::Failure;
use fluoro_cli::TopArgs;
use fluoro_profile::{CodeId, CodeInfo};
use fluoro_render::escape::for_terminal;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

/// How often the view is drawn again.
const REDRAW: Duration = Duration::from_millis(500);

/// What the window adds up: samples per function, one bucket a second.
#[derive(Default)]
struct Bucket {
    samples: u64,
    functions: HashMap<CodeId, (u64, u64)>,
}

/// The view's state: the last seconds of samples and how to show them.
pub struct View {
    buckets: VecDeque<Bucket>,
    window: usize,
    codes: HashMap<CodeId, CodeInfo>,
    pub by_total: bool,
    pub idle: bool,
    threads: usize,
    header: String,
    /// The process's resident memory, from `/proc`.
    memory: Option<String>,
    /// Why the process is over, once it is (the view then stays until `q`).
    ended: Option<String>,
}

impl View {
    pub fn new(header: String, window: usize, idle: bool) -> View {
        View {
            buckets: VecDeque::from([Bucket::default()]),
            window: window.max(1),
            codes: HashMap::new(),
            by_total: false,
            idle,
            threads: 0,
            header,
            memory: None,
            ended: None,
        }
    }

    /// Starts a new second: the oldest falls out of the window.
    pub fn next_second(&mut self) {
        self.buckets.push_back(Bucket::default());
        while self.buckets.len() > self.window {
            self.buckets.pop_front();
        }
    }

    pub fn add_codes(&mut self, codes: Vec<(CodeId, CodeInfo)>) {
        self.codes.extend(codes);
    }

    /// Counts one tick's stacks: each function once as self (the innermost frame) and once
    /// as total per stack it is in; idle threads only when they are shown.
    pub fn add(&mut self, stacks: &[ThreadStack]) {
        self.threads = stacks.len();
        let Some(bucket) = self.buckets.back_mut() else {
            return;
        };
        let mut seen = HashSet::new();
        for stack in stacks.iter().filter(|s| !s.torn && (self.idle || s.active)) {
            bucket.samples += 1;
            seen.clear();
            for (i, frame) in stack.frames.iter().enumerate() {
                let counts = bucket.functions.entry(frame.code).or_default();
                if i == 0 {
                    counts.0 += 1;
                }
                if seen.insert(frame.code) {
                    counts.1 += 1;
                }
            }
        }
    }

    /// The rows shown: share of self and total samples, function, where; hottest first.
    pub fn rows(&self) -> (u64, Vec<(f64, f64, String, String)>) {
        let mut sums: HashMap<CodeId, (u64, u64)> = HashMap::new();
        let mut samples = 0;
        for bucket in &self.buckets {
            samples += bucket.samples;
            for (code, (own, total)) in &bucket.functions {
                let sum = sums.entry(*code).or_default();
                sum.0 += own;
                sum.1 += total;
            }
        }
        let share = |n: u64| 100.0 * n as f64 / samples.max(1) as f64;
        let mut rows: Vec<_> = sums
            .into_iter()
            .map(|(code, (own, total))| {
                let (name, place) = match self.codes.get(&code) {
                    Some(info) => (
                        info.qualname.clone(),
                        format!("{}:{}", short_path(&info.filename), info.firstlineno),
                    ),
                    None => ("<unknown>".into(), String::new()),
                };
                (share(own), share(total), name, place)
            })
            .collect();
        let key = |r: &(f64, f64, String, String)| if self.by_total { r.1 } else { r.0 };
        rows.sort_by(|a, b| key(b).total_cmp(&key(a)).then_with(|| a.2.cmp(&b.2)));
        (samples, rows)
    }

    pub fn draw(&self, frame: &mut Frame<'_>) {
        let [head, body] =
            Layout::vertical([Constraint::Length(3), Constraint::Min(1)]).areas(frame.area());
        let (samples, rows) = self.rows();
        let sort = if self.by_total { "total" } else { "self" };
        let shown = if self.idle {
            "all threads"
        } else {
            "active threads"
        };
        let keys = "s: sort by self  t: by total  i: idle threads  q: quit";
        let mut counts = Vec::from_iter(self.memory.clone());
        counts.push(format!(
            "{} thread{} · {samples} samples of {shown} in the last {} s · sorted by {sort}",
            self.threads,
            if self.threads == 1 { "" } else { "s" },
            self.buckets.len()
        ));
        let lines = vec![
            Line::from(self.header.clone()),
            Line::from(counts.join(" · ")),
            Line::from(match &self.ended {
                Some(ended) => format!("{ended} · {keys}"),
                None => keys.to_owned(),
            }),
        ];
        frame.render_widget(Paragraph::new(lines), head);
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let table = Table::new(
            rows.iter().map(|(own, total, name, place)| {
                Row::new(vec![
                    Cell::from(format!("{own:5.1}%")),
                    Cell::from(format!("{total:5.1}%")),
                    Cell::from(for_terminal(name)),
                    Cell::from(for_terminal(place)),
                ])
            }),
            [
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Percentage(45),
                Constraint::Fill(1),
            ],
        )
        .header(Row::new(vec!["  SELF", " TOTAL", "FUNCTION", "WHERE"]).style(bold));
        frame.render_widget(table, body);
    }
}

/// The file's last two path parts: enough to tell `json/decoder.py` from `app/decoder.py`.
fn short_path(path: &str) -> String {
    let parts: Vec<&str> = path.rsplit('/').take(2).collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

/// What the view watches: a process it samples, until the process ends.
pub trait Watched {
    fn pid(&self) -> i32;
    /// Samples the process once into `view`; `Err(why)` once it has ended.
    fn sample(&mut self, view: &mut View) -> Result<(), String>;
    /// Whether the view stays up after the process ended, until `q`.
    fn stays(&self) -> bool;
}

/// `fluoro top PID`: a process fluoro did not start, sampled until it ends or `q`.
struct Attached {
    pid: i32,
    remote: Remote,
    stacks: Vec<ThreadStack>,
}

impl Watched for Attached {
    fn pid(&self) -> i32 {
        self.pid
    }

    fn sample(&mut self, view: &mut View) -> Result<(), String> {
        if !alive(self.pid) {
            return Err(format!("process {} has ended", self.pid));
        }
        sample_into(&mut self.remote, &mut self.stacks, view);
        Ok(())
    }

    fn stays(&self) -> bool {
        false
    }
}

/// Reads every thread's stack once and counts it in the view.
pub fn sample_into(remote: &mut Remote, stacks: &mut Vec<ThreadStack>, view: &mut View) {
    remote.walker.threads(stacks);
    view.add_codes(remote.walker.codes.take_fresh());
    view.add(stacks);
}

/// How the view was left.
pub enum Closed {
    /// `q` or Esc.
    Quit,
    /// Ctrl-C.
    Interrupt,
    /// The process ended, and the view does not stay: why.
    Ended(String),
}

pub fn command(args: &TopArgs) -> Result<i32, Failure> {
    let fail = |m: String| Failure::of("top", &m);
    let remote = Remote::open(args.pid).map_err(fail)?;
    let header = format!(
        "fluoro top · pid {} · CPython {} · {}",
        args.pid,
        remote.target.version_text(),
        for_terminal(&command_line(args.pid).join(" "))
    );
    let mut view = View::new(header, args.window as usize, args.idle);
    let mut watched = Attached {
        pid: args.pid,
        remote,
        stacks: Vec::new(),
    };
    match show(&mut watched, &mut view, args.rate) {
        Ok(Closed::Ended(why)) => {
            eprintln!("fluoro: top: {why}");
            Ok(0)
        }
        Ok(_) => Ok(0),
        Err(e) => Err(fail(e)),
    }
}

/// Takes the terminal, shows the view until it is closed, and gives the terminal back.
pub fn show(watched: &mut dyn Watched, view: &mut View, rate: u32) -> Result<Closed, String> {
    let mut terminal = ratatui::try_init().map_err(|e| format!("cannot use the terminal: {e}"))?;
    let result = run(&mut terminal, watched, view, rate);
    ratatui::restore();
    result.map_err(|e| format!("cannot draw on the terminal: {e}"))
}

/// The process's resident memory now and at its peak, from `/proc/PID/status`.
fn memory_line(pid: i32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    let (rss, peak) = (field("VmRSS:")?, field("VmHWM:")?);
    let mb = |kb: u64| kb as f64 / 1024.0;
    Some(format!("RSS {:.1} MiB (peak {:.1} MiB)", mb(rss), mb(peak)))
}

/// Samples and draws until the view is closed, or the process ends (and the view does not
/// stay).
fn run(
    terminal: &mut ratatui::DefaultTerminal,
    watched: &mut dyn Watched,
    view: &mut View,
    rate: u32,
) -> std::io::Result<Closed> {
    let interval = Duration::from_nanos(1_000_000_000 / u64::from(rate));
    let mut jitter = Jitter::seeded();
    let mut second = Instant::now();
    let mut drawn = Instant::now() - REDRAW;
    let mut next = Instant::now();
    view.memory = memory_line(watched.pid());
    loop {
        let now = Instant::now();
        if view.ended.is_none() && now >= next {
            next = now.max(next) + jitter.uniform(interval);
            if let Err(why) = watched.sample(view) {
                if !watched.stays() {
                    return Ok(Closed::Ended(why));
                }
                view.ended = Some(format!("{why} · q closes the view"));
                drawn = now - REDRAW;
            }
        }
        if view.ended.is_none() && now.duration_since(second) >= Duration::from_secs(1) {
            second = now;
            view.next_second();
            view.memory = memory_line(watched.pid()).or(view.memory.take());
        }
        if now.duration_since(drawn) >= REDRAW {
            drawn = now;
            terminal.draw(|f| view.draw(f))?;
        }
        let wait = if view.ended.is_some() {
            REDRAW
        } else {
            next.saturating_duration_since(Instant::now())
        };
        if event::poll(wait)? {
            if let Event::Key(key) = event::read()? {
                if key.kind != KeyEventKind::Press {
                    continue;
                }
                match key.code {
                    KeyCode::Char('q') | KeyCode::Esc => return Ok(Closed::Quit),
                    KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                        return Ok(Closed::Interrupt)
                    }
                    KeyCode::Char('s') => view.by_total = false,
                    KeyCode::Char('t') => view.by_total = true,
                    KeyCode::Char('i') => view.idle = !view.idle,
                    _ => {}
                }
                drawn = Instant::now() - REDRAW;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fluoro_profile::Frame as Sampled;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn stack(codes: &[CodeId], active: bool) -> ThreadStack {
        ThreadStack {
            tstate: 1,
            ident: 1,
            native_id: 1,
            frames: codes
                .iter()
                .map(|&code| Sampled { code, offset: 0 })
                .collect(),
            addresses: Vec::new(),
            torn: false,
            cpu: None,
            active,
        }
    }

    fn info(name: &str) -> CodeInfo {
        CodeInfo {
            filename: format!("/srv/app/{name}.py"),
            name: name.into(),
            qualname: name.into(),
            firstlineno: 3,
            lines: Vec::new(),
        }
    }

    #[test]
    fn ranks_functions_by_self_or_total_share_of_the_window() {
        let mut view = View::new("head".into(), 2, false);
        view.add_codes(vec![
            (0, info("main")),
            (1, info("work")),
            (2, info("wait")),
        ]);
        for _ in 0..3 {
            view.add(&[stack(&[1, 0], true)]);
        }
        view.add(&[stack(&[0], true), stack(&[2, 0], false)]);
        let (samples, rows) = view.rows();
        assert_eq!(samples, 4);
        assert_eq!(rows[0], (75.0, 75.0, "work".into(), "app/work.py:3".into()));
        assert_eq!(rows[1].2, "main");
        assert!(
            rows.iter().all(|r| r.2 != "wait"),
            "idle stacks are left out"
        );
        view.by_total = true;
        assert_eq!(
            view.rows().1[0],
            (25.0, 100.0, "main".into(), "app/main.py:3".into())
        );
        // Two seconds later the first is out of the window.
        view.next_second();
        view.next_second();
        assert_eq!(view.rows().0, 0);
    }

    #[test]
    fn draws_the_table_and_escapes_names() {
        let mut view = View::new("fluoro top · pid 7".into(), 10, true);
        view.add_codes(vec![(0, info("evil\u{1b}[2J"))]);
        view.add(&[stack(&[0], true)]);
        let mut terminal = Terminal::new(TestBackend::new(80, 8)).unwrap();
        terminal.draw(|f| view.draw(f)).unwrap();
        let text: String = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(text.contains("fluoro top · pid 7"), "{text}");
        assert!(text.contains("100.0%"), "{text}");
        assert!(text.contains("evil\\x1b[2J"), "{text}");
        assert!(!text.contains('\u{1b}'));
    }
}
