//! Where fluoro's own options end and the target's arguments begin in `fluoro run …`.
//!
//! `python` stops reading options at the script name, `-m MODULE` or `-c CODE`; so does
//! `fluoro run`, so that `fluoro run -m pytest -x` hands `-x` to pytest.

use std::ffi::OsString;

/// `fluoro run`'s arguments, split: fluoro's options (with `-m X`/`-c X`) and the rest, as
/// OS strings (the target's arguments need not be UTF-8).
#[derive(Debug, PartialEq, Eq)]
pub struct RunSplit<'a> {
    pub fluoro: &'a [OsString],
    pub target: &'a [OsString],
}

/// Splits the arguments that follow `run`; `cli` is the top-level command, used to learn
/// which of `run`'s options take a value.
pub fn split_run_args<'a>(cli: &clap::Command, args: &'a [OsString]) -> RunSplit<'a> {
    let run = cli.find_subcommand("run");
    let takes_value = |flag: &str| -> bool {
        let Some(run) = run else { return false };
        run.get_arguments().any(|a| {
            let named = match flag.strip_prefix("--") {
                Some(long) => a.get_long() == Some(long),
                None => flag.len() == 2 && a.get_short() == flag.chars().nth(1),
            };
            // `--html=FILE` carries its value in the same argument: `--html app.py` runs app.py.
            named && a.get_action().takes_values() && !a.is_require_equals_set()
        })
    };
    let mut i = 0;
    while i < args.len() {
        // Options are ASCII: an argument that is not UTF-8 is no option of fluoro's.
        let arg = args[i].to_string_lossy();
        let arg = arg.as_ref();
        if arg == "--" {
            return RunSplit {
                fluoro: &args[..i],
                target: &args[i + 1..],
            };
        }
        if arg == "-m" || arg == "-c" {
            let end = (i + 2).min(args.len());
            return RunSplit {
                fluoro: &args[..end],
                target: &args[end..],
            };
        }
        if (arg.starts_with("-m") || arg.starts_with("-c")) && arg.len() > 2 {
            return RunSplit {
                fluoro: &args[..=i],
                target: &args[i + 1..],
            };
        }
        if !arg.starts_with('-') || arg == "-" {
            return RunSplit {
                fluoro: &args[..i],
                target: &args[i..],
            };
        }
        i += if !arg.contains('=') && takes_value(arg) {
            2
        } else {
            1
        };
    }
    RunSplit {
        fluoro: args,
        target: &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn split(args: &[&str]) -> (Vec<String>, Vec<String>) {
        let owned: Vec<OsString> = args.iter().map(Into::into).collect();
        let s = split_run_args(&crate::Cli::command(), &owned);
        let strings = |a: &[OsString]| -> Vec<String> {
            a.iter().map(|o| o.to_string_lossy().into_owned()).collect()
        };
        (strings(s.fluoro), strings(s.target))
    }

    #[test]
    fn stops_at_script() {
        assert_eq!(
            split(&["-q", "a.py", "-q"]),
            (vec!["-q".into()], vec!["a.py".into(), "-q".into()])
        );
    }

    #[test]
    fn module_value_stays_with_fluoro() {
        assert_eq!(
            split(&["-m", "pkg", "-x"]),
            (vec!["-m".into(), "pkg".into()], vec!["-x".into()])
        );
    }

    #[test]
    fn double_dash_is_dropped() {
        assert_eq!(split(&["--", "-a.py"]), (vec![], vec!["-a.py".into()]));
    }

    #[test]
    fn an_option_whose_value_needs_an_equals_sign_takes_no_next_argument() {
        assert_eq!(
            split(&["--html", "a.py", "-x"]),
            (vec!["--html".into()], vec!["a.py".into(), "-x".into()])
        );
        assert_eq!(
            split(&["--html=r.html", "a.py"]),
            (vec!["--html=r.html".into()], vec!["a.py".into()])
        );
    }

    #[test]
    fn no_target() {
        assert_eq!(split(&["-q"]), (vec!["-q".into()], vec![]));
    }
}
