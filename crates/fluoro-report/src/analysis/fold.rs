//! Folding interpreter start-up and import machinery into one `[startup/import]` frame, so
//! that the text summary leads with the program's own code. The data (files, exports) keeps
//! every frame; reports fold unless asked to show all (`--show-all`).

use fluoro_profile::{CodeId, CodeInfo, Frame, Profile, StackId, StackNode, ROOT};
use std::collections::HashMap;

/// The name the folded frames go by in tables and trees.
pub const STARTUP: &str = "[startup/import]";

/// The code id of the `[startup/import]` frame: one below the stand-in the recorder gives
/// stacks with no Python frame (`CodeId::MAX`), never a real code object's.
pub const STARTUP_CODE: CodeId = CodeId::MAX - 1;

/// What a frame is to the folding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The program's code, or a library it calls: kept.
    Program,
    /// Import machinery and interpreter start-up: this frame and what it runs fold into
    /// `[startup/import]` (the program's own modules, imported, come back out).
    Machinery,
    /// The launcher (`runpy`, IPython's and ipykernel's cell runners): left out between the
    /// program's frames; innermost, it folds into `[startup/import]`.
    Launcher,
    /// fluoro's own frames (`fluoro/_profile.py`, the magics, the pytest plugin): as the
    /// launcher, and what called them is left out too, so that a profiled function, cell or
    /// block is the root of its stacks.
    Fluoro,
}

/// Files of the import system and of start-up. Frozen standard modules that programs call
/// (`<frozen posixpath>`, `<frozen codecs>`, …) are the program's, not start-up.
const MACHINERY_FROZEN: [&str; 5] = [
    "<frozen importlib._bootstrap>",
    "<frozen importlib._bootstrap_external>",
    "<frozen zipimport>",
    "<frozen site>",
    "<frozen importlib.util>",
];
const MACHINERY_FILES: [&str; 5] = [
    "importlib/_bootstrap.py",
    "importlib/_bootstrap_external.py",
    "importlib/util.py",
    "zipimport.py",
    "site.py",
];

/// The role of a code object, from its file name.
pub fn role(code: &CodeInfo) -> Role {
    let file = code.filename.as_str();
    if is_fluoro(file) {
        return Role::Fluoro;
    }
    if file == "<frozen runpy>"
        || file.ends_with("/runpy.py")
        || file.contains("/IPython/core/")
        || file.contains("/ipykernel/")
    {
        return Role::Launcher;
    }
    let machinery = MACHINERY_FROZEN.contains(&file)
        || MACHINERY_FILES
            .iter()
            .any(|m| file.strip_suffix(m).is_some_and(|rest| rest.ends_with('/')))
        // The recorder's stand-in for an allocation with no Python frame (start-up, shutdown).
        || (file == "<native>" && code.firstlineno == 0);
    if machinery {
        Role::Machinery
    } else {
        Role::Program
    }
}

/// A file of fluoro's own machinery in its Python package (`…/fluoro/_profile.py`,
/// `…/fluoro/_boot.py`, the pytest plugin). The public helpers a program calls itself
/// (`fluoro/patterns.py`, `fluoro/heap.py`) are the program's.
fn is_fluoro(file: &str) -> bool {
    let mut parts = file.rsplit('/');
    let (name, dir) = (parts.next().unwrap_or(""), parts.next());
    dir == Some("fluoro")
        && name.ends_with(".py")
        && (name.starts_with('_') || name == "pytest_plugin.py")
}

/// Whether `file` is the program's own (under its working directory, not an installed
/// package): such a module imported comes back out of `[startup/import]`.
fn is_own(file: &str, cwd: &str) -> bool {
    let installed = file.contains("/site-packages/") || file.contains("/dist-packages/");
    let under_cwd = !cwd.is_empty()
        && file
            .strip_prefix(cwd)
            .is_some_and(|rest| rest.starts_with('/'));
    let relative = !file.starts_with('/') && !file.starts_with('<');
    !installed && (under_cwd || relative)
}

/// `frames` (outermost first) with start-up folded: launcher frames left out, each run of
/// import machinery (with what it ran) one [`STARTUP_CODE`] frame, until the program's own
/// code resumes inside it.
pub fn fold_frames(
    profile: &Profile,
    frames: &[Frame],
    roles: &HashMap<CodeId, Role>,
) -> Vec<Frame> {
    let cwd = profile.meta.as_ref().map_or("", |m| m.cwd.as_str());
    let startup = Frame {
        code: STARTUP_CODE,
        offset: 0,
    };
    let role = |frame: &Frame| roles.get(&frame.code).copied().unwrap_or(Role::Program);
    // Under fluoro's innermost frame that called back into the program (a profiled function
    // or cell), the stack starts there.
    let start = frames
        .iter()
        .rposition(|f| role(f) == Role::Fluoro)
        .filter(|&at| frames[at + 1..].iter().any(|f| role(f) == Role::Program))
        .map_or(0, |at| at + 1);
    let mut out = Vec::with_capacity(frames.len());
    let mut folding = false;
    let mut last = Role::Program;
    for frame in &frames[start..] {
        let (frame, role) = (*frame, role(frame));
        last = role;
        if folding {
            let code = profile.code(frame);
            if role == Role::Program && is_own(&code.filename, cwd) {
                folding = false;
                out.push(frame);
            }
            continue;
        }
        match role {
            Role::Program => out.push(frame),
            Role::Launcher | Role::Fluoro => {}
            Role::Machinery => {
                folding = true;
                out.push(startup);
            }
        }
    }
    // Nothing of the program's (or fluoro's own code innermost): start-up.
    if !folding && (out.is_empty() || matches!(last, Role::Launcher | Role::Fluoro)) {
        out.push(startup);
    }
    out
}

/// A copy of `profile` whose stacks have start-up folded ([`fold_frames`]): every weight,
/// allocation site, collection and snapshot points at its folded stack, and the code table
/// has the `[startup/import]` entry. Stacks that fold the same stay separate entries (the
/// analyses sum them).
pub fn fold_startup(profile: &Profile) -> Profile {
    let roles: HashMap<CodeId, Role> = profile
        .codes
        .iter()
        .map(|(&id, code)| (id, role(code)))
        .collect();
    let mut folded = profile.clone();
    folded.codes.insert(
        STARTUP_CODE,
        CodeInfo {
            filename: String::new(),
            name: STARTUP.into(),
            qualname: STARTUP.into(),
            firstlineno: 0,
            lines: Vec::new(),
        },
    );
    let mut nodes: HashMap<StackNode, StackId> = profile
        .stacks
        .iter()
        .enumerate()
        .skip(1)
        .map(|(id, node)| (*node, id as StackId))
        .collect();
    let mut map: HashMap<StackId, StackId> = HashMap::from([(ROOT, ROOT)]);
    let mut remap = |stack: StackId| -> StackId {
        if let Some(&done) = map.get(&stack) {
            return done;
        }
        let frames = fold_frames(profile, &profile.frames(stack), &roles);
        let mut at = ROOT;
        for frame in frames {
            let node = StackNode { parent: at, frame };
            at = *nodes.entry(node).or_insert_with(|| {
                folded.stacks.push(node);
                (folded.stacks.len() - 1) as StackId
            });
        }
        map.insert(stack, at);
        at
    };
    for w in &mut folded.weights {
        w.stack = remap(w.stack);
    }
    if let Some(memory) = &mut folded.memory {
        let sites = memory
            .allocated
            .iter_mut()
            .chain(memory.at_peak.iter_mut())
            .chain(memory.at_end.iter_mut())
            .chain(memory.snapshots.iter_mut().flat_map(|s| s.live.iter_mut()));
        for site in sites {
            site.stack = remap(site.stack);
        }
        for g in &mut memory.gc {
            g.stack = remap(g.stack);
        }
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{call_tree, function_table, Measure};
    use fluoro_profile::{Meta, Metric, StackWeight};

    fn code(filename: &str, qualname: &str) -> CodeInfo {
        CodeInfo {
            filename: filename.into(),
            name: qualname.into(),
            qualname: qualname.into(),
            firstlineno: 1,
            lines: Vec::new(),
        }
    }

    /// A `-m json.tool`-like run: runpy at the root, an import of json, the module's work, a
    /// user module imported through the machinery, and fluoro's own wrapper between frames.
    fn profile() -> Profile {
        let codes = [
            (1, code("<frozen runpy>", "_run_module_as_main")),
            (2, code("<frozen importlib._bootstrap>", "_find_and_load")),
            (3, code("/usr/lib/python3.11/json/__init__.py", "<module>")),
            (4, code("/usr/lib/python3.11/json/tool.py", "main")),
            (
                5,
                code("/usr/lib/python3.11/json/decoder.py", "JSONDecoder.decode"),
            ),
            (6, code("/work/app/mine.py", "<module>")),
            (7, code("/work/app/mine.py", "heavy")),
            (
                8,
                code(
                    "/venv/lib/python3.11/site-packages/fluoro/_profile.py",
                    "wrapper",
                ),
            ),
            (9, code("<frozen site>", "main")),
            (10, code("<frozen posixpath>", "join")),
        ];
        let mut profile = Profile {
            meta: Some(Meta {
                target: "-m json.tool".into(),
                argv: Vec::new(),
                python: "3.11.7".into(),
                pid: 1,
                rate_hz: 100,
                sampler: "memory-reader".into(),
                exact: false,
                start_unix_ns: 0,
                cwd: "/work/app".into(),
                sys_path: Vec::new(),
            }),
            codes: codes.into_iter().collect(),
            stacks: vec![StackNode {
                parent: ROOT,
                frame: Frame { code: 0, offset: 0 },
            }],
            ..Profile::default()
        };
        let mut stack = |codes: &[CodeId]| {
            let mut at = ROOT;
            for &c in codes {
                profile.stacks.push(StackNode {
                    parent: at,
                    frame: Frame { code: c, offset: 0 },
                });
                at = (profile.stacks.len() - 1) as StackId;
            }
            at
        };
        let stacks = [
            (stack(&[1, 2, 3]), 30),       // importing json before running json.tool
            (stack(&[1, 4, 5]), 50),       // json.tool decoding
            (stack(&[1, 4, 2, 6, 7]), 40), // json.tool importing the user's module
            (stack(&[1, 4, 8, 7]), 20),    // heavy called through fluoro's wrapper
            (stack(&[9]), 5),              // site, at start-up
            (stack(&[1, 4, 10]), 7),       // a frozen stdlib module the program calls
            (stack(&[1, 4, 8]), 3),        // fluoro's own code innermost
        ];
        for (stack, samples) in stacks {
            profile.weights.push(StackWeight {
                stack,
                samples,
                wall_ns: samples * 10_000_000,
                active_samples: samples,
                ..StackWeight::default()
            });
        }
        profile
    }

    fn names(profile: &Profile, stack: StackId) -> Vec<String> {
        profile
            .frames(stack)
            .iter()
            .map(|&f| profile.code(f).qualname.clone())
            .collect()
    }

    #[test]
    fn start_up_folds_and_the_program_stays() {
        let original = profile();
        let folded = fold_startup(&original);
        let stacks: Vec<Vec<String>> = folded
            .weights
            .iter()
            .map(|w| names(&folded, w.stack))
            .collect();
        assert_eq!(
            stacks,
            [
                vec![STARTUP],
                vec!["main", "JSONDecoder.decode"],
                vec!["main", STARTUP, "<module>", "heavy"],
                vec!["heavy"],
                vec![STARTUP],
                vec!["main", "join"],
                vec!["main", STARTUP],
            ]
        );
        // The data is untouched: the original still has every frame.
        assert_eq!(names(&original, original.weights[0].stack).len(), 3);
    }

    #[test]
    fn folded_tables_have_one_startup_row_and_keep_the_totals() {
        let folded = fold_startup(&profile());
        let measure = Measure::all(Metric::Wall);
        let rows = function_table(&folded, measure);
        let startup: Vec<_> = rows.iter().filter(|r| r.key.qualname == STARTUP).collect();
        assert_eq!(startup.len(), 1, "{rows:?}");
        // 30 (json import) + 5 (site) + 3 (fluoro innermost) samples of self time.
        assert_eq!(startup[0].self_ns, 380_000_000);
        assert!(!rows.iter().any(|r| r.key.filename.contains("importlib")
            || r.key.filename.contains("runpy")
            || r.key.filename.contains("fluoro")));
        assert_eq!(measure.total(&folded), measure.total(&profile()));
        let tree = call_tree(&folded, measure, |_| true);
        let top: Vec<&str> = tree
            .children
            .iter()
            .map(|c| c.key.map_or("", |k| k.qualname))
            .collect();
        // The call through fluoro's wrapper is rooted at `heavy`, the profiled function.
        assert_eq!(top, ["main", STARTUP, "heavy"]);
    }

    #[test]
    fn roles_follow_the_file_names() {
        let role_of = |file: &str| role(&code(file, "f"));
        assert_eq!(
            role_of("/usr/lib/python3.10/importlib/_bootstrap_external.py"),
            Role::Machinery
        );
        assert_eq!(role_of("/usr/lib/python3.10/site.py"), Role::Machinery);
        assert_eq!(role_of("/usr/lib/python3.10/runpy.py"), Role::Launcher);
        assert_eq!(role_of("/work/wt/python/fluoro/_boot.py"), Role::Fluoro);
        assert_eq!(
            role_of("/venv/lib/python3.11/site-packages/IPython/core/interactiveshell.py"),
            Role::Launcher
        );
        assert_eq!(role_of("/work/app/mysite.py"), Role::Program);
        assert_eq!(role_of("<frozen codecs>"), Role::Program);
        assert_eq!(role_of("/work/fluoro/app.py"), Role::Program);
        assert_eq!(
            role_of("/venv/site-packages/fluoro/patterns.py"),
            Role::Program
        );
        assert_eq!(
            role_of("/venv/site-packages/fluoro/pytest_plugin.py"),
            Role::Fluoro
        );
    }
}
