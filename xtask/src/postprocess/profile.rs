//! Build profiles: how hard clang and Binaryen optimise, and what is kept.

use std::fmt;

use serde::Serialize;

/// Optimisation profile of a build; part of the build folder's name, the
/// provenance and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Smallest module: clang -Oz with LTO, Binaryen -Oz, names stripped.
    Size,
    /// Fastest module: clang -Os with LTO, Binaryen -O3, names stripped.
    Speed,
    /// No optimisation, debug info and names kept.
    Debug,
}

impl Profile {
    /// clang's `-O` level for this profile.
    pub fn c_opt_level(self) -> &'static str {
        match self {
            Profile::Size => "z",
            // With LTO, -O2 inlines so much more that the module grows by a
            // third (215 kB gzip against 158 kB) for 1% less time.
            Profile::Speed => "s",
            Profile::Debug => "0",
        }
    }

    /// Whether clang optimises the whole program at link time (LTO): calls
    /// between MicroPython's files are inlined like calls within one
    /// (0.91× the wasm instructions executed, and smaller). Debug builds
    /// keep one object per file, quick to rebuild.
    pub fn links_whole_program(self) -> bool {
        self != Profile::Debug
    }

    /// Whether function names and debug sections are removed from the
    /// shipped module (a separate symbol map keeps them for size reports).
    pub fn strips_names(self) -> bool {
        self != Profile::Debug
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Size => "size",
            Profile::Speed => "speed",
            Profile::Debug => "debug",
        })
    }
}

/// How the garbage collector finds pointers held by C code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GcStrategy {
    /// The spill pass (postprocess/spill/) keeps every i32 a function
    /// still needs during a call that may collect on the shadow stack, where
    /// the collector scans.
    Spill,
    /// Scan only the shadow stack as clang left it: values kept in wasm
    /// locals are invisible, so collection during deep C calls can free live
    /// objects. Kept for measurement only.
    Scan,
}

impl fmt::Display for GcStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GcStrategy::Spill => "spill",
            GcStrategy::Scan => "scan",
        })
    }
}
