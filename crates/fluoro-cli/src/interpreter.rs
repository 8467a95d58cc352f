//! The interpreter options fluoro itself was started with (`python -X dev -m fluoro …`), so
//! that `fluoro run` starts the target's interpreter with the same ones and no others.

use std::ffi::OsString;

/// The options in `orig_argv` (CPython's `sys.orig_argv`) before the script, `-m` or `-c`,
/// as OS strings: an option's value need not be UTF-8.
pub fn interpreter_options(orig_argv: &[OsString]) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut args = orig_argv.iter().skip(1);
    while let Some(raw) = args.next() {
        let arg = raw.to_string_lossy();
        if arg == "--check-hash-based-pycs" {
            out.push(raw.clone());
            out.extend(args.next().cloned());
            continue;
        }
        if !arg.starts_with('-') || arg == "-" || arg.starts_with("--") {
            break;
        }
        let cluster = &arg[1..];
        let mut takes_next = false;
        for (i, c) in cluster.char_indices() {
            match c {
                'c' | 'm' => {
                    // The rest starts the program: keep only the flags before it.
                    if i > 0 {
                        out.push(format!("-{}", &cluster[..i]).into());
                    }
                    return out;
                }
                'X' | 'W' => {
                    takes_next = i + 1 == cluster.len();
                    break;
                }
                _ => {}
            }
        }
        out.push(raw.clone());
        if takes_next {
            out.extend(args.next().cloned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::interpreter_options;

    fn opts(argv: &[&str]) -> Vec<String> {
        let argv: Vec<std::ffi::OsString> = argv.iter().map(Into::into).collect();
        interpreter_options(&argv)
            .into_iter()
            .map(|o| o.into_string().unwrap())
            .collect()
    }

    #[test]
    fn console_script_has_none() {
        assert!(opts(&["/v/bin/python", "/v/bin/fluoro", "run", "-O", "a.py"]).is_empty());
    }

    #[test]
    fn options_before_dash_m() {
        assert_eq!(
            opts(&[
                "python",
                "-X",
                "dev",
                "-O",
                "-Wdefault",
                "-m",
                "fluoro",
                "run",
                "x.py"
            ]),
            vec!["-X", "dev", "-O", "-Wdefault"]
        );
    }

    #[test]
    fn clusters_and_attached_values() {
        assert_eq!(
            opts(&["python", "-bbO", "-Xutf8", "-Bm", "fluoro"]),
            vec!["-bbO", "-Xutf8", "-B"]
        );
        assert_eq!(
            opts(&[
                "python",
                "--check-hash-based-pycs",
                "always",
                "-W",
                "error",
                "s.py"
            ]),
            vec!["--check-hash-based-pycs", "always", "-W", "error"]
        );
    }
}
