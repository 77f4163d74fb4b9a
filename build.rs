//! Fetches the page's one library, TradingView lightweight-charts, at the version pinned in
//! `web/package-lock.json`, so the binary can embed it (no CDN at run time).
//!
//! `npm ci` runs in `OUT_DIR`, never in `web/`, and only when the library is missing or the
//! pinned versions changed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

const LIBRARY: &str =
    "node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=web/package.json");
    println!("cargo:rerun-if-changed=web/package-lock.json");

    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let deps = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo")).join("web-deps");
    if let Err(message) = install(&manifest_dir.join("web"), &deps) {
        eprintln!("error: {message}");
        panic!("{message}");
    }
}

fn install(web: &Path, deps: &Path) -> Result<(), String> {
    fs::create_dir_all(deps).map_err(|e| format!("cannot create {}: {e}", deps.display()))?;
    let mut changed = false;
    for name in ["package.json", "package-lock.json"] {
        let source = web.join(name);
        let wanted =
            fs::read(&source).map_err(|e| format!("cannot read {}: {e}", source.display()))?;
        let target = deps.join(name);
        if fs::read(&target).ok().as_deref() != Some(&wanted[..]) {
            fs::write(&target, &wanted)
                .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
            changed = true;
        }
    }
    if deps.join(LIBRARY).is_file() && !changed {
        return Ok(());
    }

    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    // Dev dependencies (the browser test's driver) are not needed to build the binary.
    let args = [
        "ci",
        "--omit=dev",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
    ];
    let output = Command::new(npm).args(args).current_dir(deps).output().map_err(|e| {
        format!(
            "could not run `{npm} {}` ({e}). Building orderflow embeds the web page's chart \
             library from the npm registry: install Node.js and npm (e.g. `apt-get install nodejs npm`) and build again.",
            args.join(" ")
        )
    })?;
    if !output.status.success() || !deps.join(LIBRARY).is_file() {
        return Err(format!(
            "`{npm} {}` in {} failed ({}). Building orderflow embeds the web page's chart library \
             (lightweight-charts, pinned in web/package-lock.json): install Node.js and npm and make sure \
             the npm registry is reachable, then build again.\n--- npm stdout ---\n{}\n--- npm stderr ---\n{}",
            args.join(" "),
            deps.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        ));
    }
    Ok(())
}
