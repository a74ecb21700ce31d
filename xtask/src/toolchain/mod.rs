//! The pinned C toolchain: Debian's clang-19 and lld-19 with the wasm32
//! compiler-rt builtins and wasi-libc, or a wasi-sdk named by `WASI_SDK_PATH`.
//!
//! Everything that decides which compiler builds the module lives here, so the
//! build, `doctor` and `setup` agree on one answer.

mod doctor;
pub mod python;

pub use doctor::{doctor, ensure_installed, setup};

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Debian packages that provide the wasm toolchain; `cargo xtask setup`
/// installs exactly these.
pub const APT_PACKAGES: &[&str] = &["clang-19", "lld-19", "libclang-rt-19-dev-wasm32", "wasi-libc", "libclang1-19"];

/// The one command that installs everything the build needs on Debian.
pub fn install_hint() -> String {
    format!("apt-get update && apt-get install -y {}", APT_PACKAGES.join(" "))
}

/// A resolved toolchain: where the compiler and the WASI sysroot are.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// clang able to target wasm32-wasi (it finds wasm-ld beside itself).
    pub clang: PathBuf,
    /// Folder holding `include/wasm32-wasi` and `lib/wasm32-wasi`.
    pub sysroot: PathBuf,
    /// Where the description came from, for `doctor` and provenance.
    pub flavour: Flavour,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Debian,
    WasiSdk,
}

/// One thing the toolchain needs, and whether this machine has it.
pub struct Requirement {
    pub what: &'static str,
    pub found: Option<PathBuf>,
    pub fix: String,
}

impl Toolchain {
    /// Every requirement of the selected flavour, found or not.
    pub fn requirements() -> Vec<Requirement> {
        match std::env::var_os("WASI_SDK_PATH") {
            Some(sdk) => wasi_sdk_requirements(Path::new(&sdk)),
            None => debian_requirements(),
        }
    }

    /// The toolchain, or an error listing what is missing and the fix.
    pub fn detect() -> Result<Toolchain> {
        let requirements = Self::requirements();
        let missing: Vec<&Requirement> = requirements.iter().filter(|r| r.found.is_none()).collect();
        if !missing.is_empty() {
            let lines: Vec<String> = missing.iter().map(|r| format!("  - {} (fix: {})", r.what, r.fix)).collect();
            bail!(
                "the wasm32 C toolchain is incomplete:\n{}\nrun `cargo xtask setup` (as root) to install it, or `cargo xtask doctor` for details",
                lines.join("\n")
            );
        }
        let path_of = |i: usize| requirements[i].found.clone().expect("checked above");
        Ok(match std::env::var_os("WASI_SDK_PATH") {
            Some(sdk) => Toolchain {
                clang: path_of(0),
                sysroot: PathBuf::from(sdk).join("share/wasi-sysroot"),
                flavour: Flavour::WasiSdk,
            },
            None => Toolchain { clang: path_of(0), sysroot: PathBuf::from("/usr"), flavour: Flavour::Debian },
        })
    }

    /// `clang --version`'s first line, recorded in provenance and reports.
    pub fn clang_version(&self) -> String {
        std::process::Command::new(&self.clang)
            .arg("--version")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.lines().next().map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned())
    }
}

fn existing(path: impl Into<PathBuf>) -> Option<PathBuf> {
    let path = path.into();
    path.exists().then_some(path)
}

fn debian_requirements() -> Vec<Requirement> {
    let apt = |pkg: &str| format!("apt-get install -y {pkg}");
    vec![
        Requirement {
            what: "clang 19 (/usr/lib/llvm-19/bin/clang)",
            found: existing("/usr/lib/llvm-19/bin/clang"),
            fix: apt("clang-19"),
        },
        Requirement {
            what: "wasm-ld 19 (/usr/lib/llvm-19/bin/wasm-ld)",
            found: existing("/usr/lib/llvm-19/bin/wasm-ld"),
            fix: apt("lld-19"),
        },
        Requirement {
            what: "compiler-rt builtins for wasm32",
            found: existing("/usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a"),
            fix: apt("libclang-rt-19-dev-wasm32"),
        },
        Requirement {
            what: "wasi-libc (/usr/lib/wasm32-wasi/libc.a)",
            found: existing("/usr/lib/wasm32-wasi/libc.a"),
            fix: apt("wasi-libc"),
        },
        Requirement {
            what: "libclang 19, for bindgen (/usr/lib/llvm-19/lib/libclang-19.so.1)",
            found: existing("/usr/lib/llvm-19/lib/libclang-19.so.1"),
            fix: apt("libclang1-19"),
        },
        host_python(),
    ]
}

fn wasi_sdk_requirements(sdk: &Path) -> Vec<Requirement> {
    let fix = format!("point WASI_SDK_PATH at an unpacked wasi-sdk (now {})", sdk.display());
    vec![
        Requirement { what: "wasi-sdk clang", found: existing(sdk.join("bin/clang")), fix: fix.clone() },
        Requirement { what: "wasi-sdk wasm-ld", found: existing(sdk.join("bin/wasm-ld")), fix: fix.clone() },
        Requirement {
            what: "wasi-sdk sysroot",
            found: existing(sdk.join("share/wasi-sysroot/lib/wasm32-wasi/libc.a")),
            fix,
        },
        host_python(),
    ]
}

/// MicroPython's header generators are Python scripts.
fn host_python() -> Requirement {
    Requirement {
        what: "python3 (runs MicroPython's generators)",
        found: which("python3"),
        fix: "apt-get install -y python3".to_owned(),
    }
}

/// Looks a program up on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
}
