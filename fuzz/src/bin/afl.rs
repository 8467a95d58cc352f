//! The AFL++ entry point, one binary for every target: `fluoro-fuzz TARGET` reads each input
//! from AFL (`scripts/fuzz TARGET MINUTES` runs it).

use fluoro_fuzz::Target;

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = Target::from_name(&name) else {
        eprintln!(
            "fluoro-fuzz: unknown target {name:?} (expected one of: {})",
            Target::names()
        );
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| target.run(data));
}
