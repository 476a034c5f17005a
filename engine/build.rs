//! Bundles the browser softphone (`web/phone`, served at `/phone`) into
//! `$OUT_DIR` with the esbuild that `npm ci --prefix web/phone` installs:
//! `phone.js` with JsSIP in it (minified, one IIFE), `phone.html` and
//! `phone.css` as they are. Nothing is fetched here, and nothing at run time.
//!
//! Without `web/phone/node_modules` the build goes on without the page: the
//! `dialtone_phone` cfg stays unset and `/phone` answers 503 saying how to
//! get it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rustc-check-cfg=cfg(dialtone_phone)");
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let web = manifest.join("..").join("web").join("phone");
    // The whole folder: its sources, package-lock.json, and node_modules
    // appearing or changing after an `npm ci`.
    for file in ["phone.js", "phone.html", "phone.css", "package-lock.json"] {
        println!("cargo:rerun-if-changed={}", web.join(file).display());
    }
    println!("cargo:rerun-if-changed={}", web.display());

    let esbuild = web
        .join("node_modules")
        .join("esbuild")
        .join("bin")
        .join("esbuild");
    if !esbuild.exists() {
        println!(
            "cargo:warning=the softphone (/phone) is not bundled: run npm ci --prefix web/phone before building"
        );
        return;
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    bundle(&esbuild, &web, &out);
    for file in ["phone.html", "phone.css"] {
        if let Err(e) = std::fs::copy(web.join(file), out.join(file)) {
            panic!("copying web/phone/{file}: {e}");
        }
    }
    println!("cargo:rustc-cfg=dialtone_phone");
}

/// `web/phone/phone.js` and what it imports, as one minified script.
fn bundle(esbuild: &Path, web: &Path, out: &Path) {
    let output = Command::new(esbuild)
        .current_dir(web)
        .arg("phone.js")
        .arg("--bundle")
        .arg("--minify")
        .arg("--format=iife")
        .arg("--platform=browser")
        .arg("--target=es2020")
        .arg("--log-level=warning")
        .arg(format!("--outfile={}", out.join("phone.js").display()))
        .output();
    match output {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "esbuild failed on web/phone/phone.js ({}):\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("running {}: {e}", esbuild.display()),
    }
}
