//! Checks of the user's modules that turn late, cryptic failures (a C
//! compiler error in frozen_content.c, a module that silently shadows or is
//! shadowed by another) into early errors naming the user's file.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::frozen::{FrozenFile, FrozenKind};

/// Compiles every Python file to be frozen with mpy-cross, before the long
/// C build, so a syntax error fails in seconds as `file:line: message` with
/// the file's own path (makemanifest.py would name only its frozen path).
pub fn check_syntax(mpy_cross: &Path, files: &[FrozenFile], scratch: &Path) -> Result<()> {
    fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let output = scratch.join("syntax-check.mpy");
    for file in files.iter().filter(|file| file.kind == FrozenKind::Py) {
        let result = Command::new(mpy_cross)
            .arg("-o")
            .arg(&output)
            .arg(&file.source)
            .output()
            .with_context(|| format!("running {}", mpy_cross.display()))?;
        if !result.status.success() {
            bail!("{}", syntax_error(&file.source, &String::from_utf8_lossy(&result.stderr)));
        }
    }
    Ok(())
}

/// mpy-cross prints a traceback ending in the exception:
/// `  File "x.py", line 3[, in <module>]` … `SyntaxError: invalid syntax`.
fn syntax_error(source: &Path, stderr: &str) -> String {
    let line = stderr
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("File \""))
        .and_then(|rest| rest.split_once("\", line "))
        .map(|(_, after)| after.chars().take_while(char::is_ascii_digit).collect::<String>())
        .filter(|digits| !digits.is_empty());
    let message = stderr.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("mpy-cross failed");
    match line {
        Some(line) => format!("{}:{line}: {message}", source.display()),
        None => format!("{}: {}", source.display(), stderr.trim()),
    }
}

/// A module registered in C with `MP_REGISTER_MODULE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub name: String,
    pub file: PathBuf,
}

/// The modules registered by each scanned C file, read from the combined
/// preprocessor output the qstr scan leaves (`qstr.i.last`), attributing
/// lines to the last `.c` file named by a line marker, as makeqstrdefs.py
/// does.
pub fn registered_modules(preprocessed: &str) -> Vec<Registered> {
    let mut current = PathBuf::new();
    let mut found = Vec::new();
    for line in preprocessed.lines() {
        if let Some(file) = line_marker_file(line) {
            if file.ends_with(".c") {
                current = PathBuf::from(file);
            }
            continue;
        }
        for macro_name in ["MP_REGISTER_MODULE(MP_QSTR_", "MP_REGISTER_EXTENSIBLE_MODULE(MP_QSTR_"] {
            if let Some(start) = line.find(macro_name) {
                let rest = &line[start + macro_name.len()..];
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                found.push(Registered { name, file: current.clone() });
            }
        }
    }
    found
}

/// `# 12 "path/file.c" 1` → `path/file.c`.
fn line_marker_file(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("# ")?;
    let (number, quoted) = rest.split_once(' ')?;
    if !number.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    quoted.strip_prefix('"')?.split('"').next()
}

/// Rejects user modules whose top-level name another module already has:
/// the user's C modules against the built-in ones and each other, the
/// user's frozen modules against all C modules and the port's frozen ones.
/// Files of manifest 0 are the port's; the rest are the user's.
pub fn check_names(frozen: &[FrozenFile], registered: &[Registered], user_c_sources: &[PathBuf]) -> Result<()> {
    let is_user = |file: &Path| user_c_sources.iter().any(|source| source == file);
    let mut builtin: BTreeMap<&str, &Path> = BTreeMap::new();
    let mut user_c: BTreeMap<&str, &Path> = BTreeMap::new();
    for module in registered.iter().filter(|module| !is_user(&module.file)) {
        builtin.insert(&module.name, &module.file);
    }
    for module in registered.iter().filter(|module| is_user(&module.file)) {
        if builtin.contains_key(module.name.as_str()) {
            bail!(
                "C module `{}` ({}) has the name of a built-in module; rename it",
                module.name,
                module.file.display()
            );
        }
        if let Some(first) = user_c.insert(&module.name, &module.file) {
            bail!(
                "C module `{}` is registered twice: in {} and in {}",
                module.name,
                first.display(),
                module.file.display()
            );
        }
    }
    let port_frozen: BTreeMap<&str, &Path> = frozen
        .iter()
        .filter(|file| file.manifest == 0)
        .map(|file| (file.top_level_name(), file.source.as_path()))
        .collect();
    for file in frozen.iter().filter(|file| file.manifest > 0) {
        let name = file.top_level_name();
        let clash = if builtin.contains_key(name) {
            "a built-in module"
        } else if user_c.contains_key(name) {
            "one of your C modules"
        } else if port_frozen.contains_key(name) {
            "a module the port already freezes"
        } else {
            continue;
        };
        bail!("frozen module `{name}` ({}) has the name of {clash}; rename it", file.source.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frozen(manifest: usize, target: &str) -> FrozenFile {
        FrozenFile {
            manifest,
            source: PathBuf::from("/app").join(target),
            target: target.to_owned(),
            kind: FrozenKind::Py,
        }
    }

    #[test]
    fn syntax_errors_become_file_line_message() {
        let stderr = "Traceback (most recent call last):\n  File \"/x/app/bad.py\", line 7, in <module>\nSyntaxError: 'return' outside function\n";
        assert_eq!(
            syntax_error(Path::new("/x/app/bad.py"), stderr),
            "/x/app/bad.py:7: SyntaxError: 'return' outside function"
        );
        let stderr = "Traceback (most recent call last):\n  File \"bad.py\", line 2\nSyntaxError: invalid syntax\n";
        assert_eq!(syntax_error(Path::new("/x/bad.py"), stderr), "/x/bad.py:2: SyntaxError: invalid syntax");
    }

    #[test]
    fn registrations_are_attributed_to_the_c_file_not_its_headers() {
        let text = "# 1 \"/mp/extmod/modjson.c\"\n# 1 \"/mp/py/obj.h\" 1\nint x;\n# 40 \"/mp/extmod/modjson.c\" 2\n\
                    MP_REGISTER_EXTENSIBLE_MODULE(MP_QSTR_json, mp_module_json);\n\
                    # 1 \"/me/fastmath.c\"\n  MP_REGISTER_MODULE(MP_QSTR_fastmath, fastmath_module);\n";
        assert_eq!(
            registered_modules(text),
            vec![
                Registered { name: "json".into(), file: "/mp/extmod/modjson.c".into() },
                Registered { name: "fastmath".into(), file: "/me/fastmath.c".into() },
            ]
        );
    }

    #[test]
    fn names_that_shadow_other_modules_are_rejected() {
        let registered = vec![
            Registered { name: "json".into(), file: "/mp/extmod/modjson.c".into() },
            Registered { name: "fastmath".into(), file: "/me/fastmath.c".into() },
        ];
        let user_c = vec![PathBuf::from("/me/fastmath.c")];
        let port = frozen(0, "asyncio/core.py");
        assert!(check_names(&[port.clone(), frozen(1, "app/__init__.py")], &registered, &user_c).is_ok());
        for (target, clash) in [
            ("json.py", "a built-in module"),
            ("fastmath/__init__.py", "one of your C modules"),
            ("asyncio/extra.py", "a module the port already freezes"),
        ] {
            let message =
                check_names(&[port.clone(), frozen(1, target)], &registered, &user_c).unwrap_err().to_string();
            assert!(message.contains(clash) && message.contains(&format!("/app/{target}")), "{message}");
        }
        let shadowing_c = [PathBuf::from("/me/json.c")];
        let registered = vec![
            Registered { name: "json".into(), file: "/mp/extmod/modjson.c".into() },
            Registered { name: "json".into(), file: "/me/json.c".into() },
        ];
        let message = check_names(&[], &registered, &shadowing_c).unwrap_err().to_string();
        assert!(message.contains("C module `json` (/me/json.c) has the name of a built-in module"), "{message}");
    }
}
