//! Binaryen through the `wasm-opt` crate: the profile's optimisation passes.

use std::path::Path;

use anyhow::{Context, Result};
use wasm_opt::{Feature, OptimizationOptions};

use super::profile::Profile;

/// Binaryen release the `wasm-opt` crate bundles (recorded in provenance).
pub const BINARYEN_VERSION: &str = "116";

pub fn optimize(input: &Path, output: &Path, profile: Profile) -> Result<()> {
    let mut options = match profile {
        Profile::Size => OptimizationOptions::new_optimize_for_size_aggressively(),
        Profile::Speed => OptimizationOptions::new_opt_level_3(),
        Profile::Debug => OptimizationOptions::new_opt_level_0(),
    };
    // Names survive Binaryen so the symbol map can attribute sizes; release
    // profiles strip them afterwards.
    options.debug_info(true);
    // The features clang-19 emits for wasm32 with the flags of
    // build::wasm_compiler (its target_features section).
    for feature in [
        Feature::BulkMemory,
        Feature::ExceptionHandling,
        Feature::Multivalue,
        Feature::MutableGlobals,
        Feature::ReferenceTypes,
        Feature::SignExt,
    ] {
        options.enable_feature(feature);
    }
    options
        .run(input, output)
        .with_context(|| format!("optimising {} with Binaryen ({profile} profile)", input.display()))
}
