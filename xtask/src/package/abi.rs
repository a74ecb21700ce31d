//! The library module's API, as `ports/wasm/mpwasm_api.h` declares it.
//!
//! bindgen reads the header (with the same target and sysroot as the build,
//! so C types have their wasm32 sizes); the functions and integer constants
//! it finds are lowered to wasm value types, checked against what the built
//! module really exports, and turned into the hosts' side of the contract:
//! typed wasmtime bindings and constants for the Rust crate, constants for
//! the npm package. A change to the C API therefore reaches every host, and
//! a module that drifted from its header fails the packaging.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use wasmparser::{Parser, Payload, TypeRef, ValType};

use crate::toolchain::Toolchain;

/// Prefix of every name the header declares.
const PREFIX: &str = "mpwasm_";

/// What the header declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    pub constants: Vec<Constant>,
    pub functions: Vec<Function>,
}

/// An integer `#define` of the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constant {
    /// Without the `MPWASM_` prefix, e.g. `EXEC_QUIET`.
    pub name: String,
    pub value: i64,
    /// The Rust type bindgen gave it (`u32`, `i32`, ...).
    pub rust_type: String,
    pub doc: String,
}

/// A function the module exports under its C name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub export: String,
    pub params: Vec<(String, Scalar)>,
    pub result: Option<Scalar>,
    pub doc: String,
}

/// A C type as it crosses the wasm boundary: pointers are 32-bit offsets
/// into the module's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl Scalar {
    fn rust(self) -> &'static str {
        match self {
            Scalar::I32 => "i32",
            Scalar::U32 => "u32",
            Scalar::I64 => "i64",
            Scalar::U64 => "u64",
            Scalar::F32 => "f32",
            Scalar::F64 => "f64",
        }
    }

    fn wasm(self) -> ValType {
        match self {
            Scalar::I32 | Scalar::U32 => ValType::I32,
            Scalar::I64 | Scalar::U64 => ValType::I64,
            Scalar::F32 => ValType::F32,
            Scalar::F64 => ValType::F64,
        }
    }
}

/// Reads `header` with bindgen for wasm32-wasi.
pub fn read(header: &Path, toolchain: &Toolchain) -> Result<Api> {
    point_clang_sys_at_the_toolchain(toolchain);
    let bindings = bindgen::Builder::default()
        .header(header.to_string_lossy())
        .clang_args([
            "--target=wasm32-wasi".to_owned(),
            format!("--sysroot={}", toolchain.sysroot.display()),
            // Plain `//` comments are the docs, as everywhere in the port.
            "-fparse-all-comments".to_owned(),
            // wasm32 defaults to hidden visibility, and bindgen skips
            // functions it considers hidden.
            "-fvisibility=default".to_owned(),
        ])
        .allowlist_function(format!("{PREFIX}.*"))
        .allowlist_var(format!("{}.*", PREFIX.to_uppercase()))
        .layout_tests(false)
        .generate()
        .map_err(|err| anyhow!("{err}"))
        .with_context(|| format!("reading {} with bindgen", header.display()))?;
    parse_bindings(&bindings.to_string()).with_context(|| format!("lowering the declarations of {}", header.display()))
}

/// bindgen loads libclang at run time; prefer the one of the pinned
/// toolchain, beside its clang, over whatever else is installed.
fn point_clang_sys_at_the_toolchain(toolchain: &Toolchain) {
    if std::env::var_os("LIBCLANG_PATH").is_some() {
        return;
    }
    let beside_clang = std::fs::canonicalize(&toolchain.clang)
        .ok()
        .and_then(|clang| clang.parent().and_then(Path::parent).map(|prefix| prefix.join("lib")));
    if let Some(lib) = beside_clang.filter(|lib| lib.is_dir()) {
        std::env::set_var("LIBCLANG_PATH", lib);
    }
}

/// Turns bindgen's Rust output into an [`Api`].
fn parse_bindings(code: &str) -> Result<Api> {
    let file = syn::parse_file(code).context("bindgen's output does not parse")?;
    let mut api = Api { constants: Vec::new(), functions: Vec::new() };
    for item in file.items {
        match item {
            syn::Item::Const(constant) => api.constants.push(constant_of(&constant)?),
            syn::Item::ForeignMod(block) => {
                for item in block.items {
                    if let syn::ForeignItem::Fn(function) = item {
                        api.functions.push(function_of(&function)?);
                    }
                }
            }
            _ => {}
        }
    }
    if api.functions.is_empty() {
        bail!("no `{PREFIX}*` function is declared");
    }
    Ok(api)
}

fn constant_of(item: &syn::ItemConst) -> Result<Constant> {
    let full_name = item.ident.to_string();
    let value = match &*item.expr {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(int), .. }) => int.base10_parse::<i64>()?,
        syn::Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr, .. }) => match &**expr {
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(int), .. }) => -int.base10_parse::<i64>()?,
            _ => bail!("{full_name} is not an integer constant"),
        },
        _ => bail!("{full_name} is not an integer constant"),
    };
    let name = full_name.strip_prefix(&PREFIX.to_uppercase()).unwrap_or(&full_name).to_owned();
    Ok(Constant { name, value, rust_type: type_name(&item.ty), doc: doc_of(&item.attrs) })
}

fn function_of(item: &syn::ForeignItemFn) -> Result<Function> {
    let export = item.sig.ident.to_string();
    let mut params = Vec::new();
    for input in &item.sig.inputs {
        let syn::FnArg::Typed(arg) = input else { bail!("{export} has a receiver") };
        let name = match &*arg.pat {
            syn::Pat::Ident(ident) => ident.ident.to_string(),
            _ => format!("arg{}", params.len()),
        };
        let scalar = scalar_of(&arg.ty).with_context(|| format!("parameter `{name}` of {export}"))?;
        params.push((name, scalar));
    }
    let result = match &item.sig.output {
        syn::ReturnType::Default => None,
        syn::ReturnType::Type(_, ty) => Some(scalar_of(ty).with_context(|| format!("the result of {export}"))?),
    };
    Ok(Function { export, params, result, doc: doc_of(&item.attrs) })
}

/// The wasm32 lowering of a C type as bindgen spells it.
fn scalar_of(ty: &syn::Type) -> Result<Scalar> {
    if let syn::Type::Ptr(_) = ty {
        return Ok(Scalar::U32);
    }
    Ok(match type_name(ty).as_str() {
        "u8" | "u16" | "u32" | "usize" | "c_uchar" | "c_ushort" | "c_uint" | "c_ulong" => Scalar::U32,
        "i8" | "i16" | "i32" | "isize" | "c_char" | "c_schar" | "c_short" | "c_int" | "c_long" | "bool" => Scalar::I32,
        "u64" | "c_ulonglong" => Scalar::U64,
        "i64" | "c_longlong" => Scalar::I64,
        "f32" | "c_float" => Scalar::F32,
        "f64" | "c_double" => Scalar::F64,
        other => bail!("`{other}` has no wasm scalar form; pass it through memory"),
    })
}

/// The last path segment of a type (`::std::os::raw::c_int` → `c_int`).
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => path.path.segments.last().map(|segment| segment.ident.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

fn doc_of(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value: syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(text), .. }),
                ..
            }) => Some(text.value()),
            _ => None,
        })
        .collect();
    lines.join("\n").lines().map(str::trim).collect::<Vec<_>>().join("\n").trim().to_owned()
}

/// Fails unless `module` exports every function of `api` with the
/// signature its C declaration lowers to.
pub fn check_exports(api: &Api, module: &[u8]) -> Result<()> {
    let signatures = exported_signatures(module)?;
    let mut problems = Vec::new();
    for function in &api.functions {
        let expected = (
            function.params.iter().map(|(_, scalar)| scalar.wasm()).collect::<Vec<_>>(),
            function.result.iter().map(|scalar| scalar.wasm()).collect::<Vec<_>>(),
        );
        match signatures.iter().find(|(name, _)| *name == function.export) {
            None => problems.push(format!("{} is declared but not exported", function.export)),
            Some((_, actual)) if *actual != expected => problems.push(format!(
                "{} is exported as {:?} -> {:?} but declared as {:?} -> {:?}",
                function.export, actual.0, actual.1, expected.0, expected.1
            )),
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        bail!("the library module does not match ports/wasm/mpwasm_api.h:\n  {}", problems.join("\n  "));
    }
    Ok(())
}

type Signature = (Vec<ValType>, Vec<ValType>);

/// Every exported function with its parameter and result types.
fn exported_signatures(module: &[u8]) -> Result<Vec<(String, Signature)>> {
    let mut types: Vec<Signature> = Vec::new();
    let mut function_types: Vec<u32> = Vec::new();
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        match payload.context("parsing the library module")? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty?;
                    types.push((ty.params().to_vec(), ty.results().to_vec()));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if let TypeRef::Func(index) = import?.ty {
                        function_types.push(index);
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for index in reader {
                    function_types.push(index?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    if export.kind == wasmparser::ExternalKind::Func {
                        exports.push((export.name.to_owned(), export.index));
                    }
                }
            }
            _ => {}
        }
    }
    exports
        .into_iter()
        .map(|(name, index)| {
            let ty = function_types.get(index as usize).and_then(|ty| types.get(*ty as usize));
            let ty = ty.with_context(|| format!("export {name} names a function the module lacks"))?;
            Ok((name, ty.clone()))
        })
        .collect()
}

/// `src/abi.rs` of the Rust crate: the constants and an `Api` of typed
/// functions, one field per declared export (named without the prefix).
pub fn rust_bindings(api: &Api) -> String {
    let mut out = String::from(
        "//! The library module's API, generated by `cargo xtask dist` from\n\
         //! `ports/wasm/mpwasm_api.h` with bindgen. Do not edit.\n\n\
         // The header's whole API; the crate uses what it needs of it (the\n\
         // async flag, for one, is the npm package's).\n\
         #![allow(dead_code)]\n\n\
         use wasmtime::TypedFunc;\n\n\
         use crate::error::Error;\n\
         use crate::instance::Instance;\n\n",
    );
    for constant in &api.constants {
        rust_doc(&mut out, &constant.doc, "");
        let _ = writeln!(out, "pub(crate) const {}: {} = {};", constant.name, constant.rust_type, constant.value);
    }
    out.push_str("\n/// The module's exports, typed as the header declares them.\npub(crate) struct Api {\n");
    for function in &api.functions {
        rust_doc(&mut out, &function.doc, "    ");
        let params: Vec<&str> = function.params.iter().map(|(_, scalar)| scalar.rust()).collect();
        let params = match params.as_slice() {
            [single] => single.to_string(),
            many => format!("({})", many.join(", ")),
        };
        let result = function.result.map_or("()", Scalar::rust);
        let _ = writeln!(out, "    pub(crate) {}: TypedFunc<{params}, {result}>,", field_name(function));
    }
    out.push_str(
        "}\n\nimpl Api {\n    /// Looks every export up, failing on a missing one or a wrong type.\n    \
         pub(crate) fn load(instance: &mut Instance) -> Result<Api, Error> {\n        Ok(Api {\n",
    );
    for function in &api.functions {
        let _ = writeln!(out, "            {}: instance.func(\"{}\")?,", field_name(function), function.export);
    }
    out.push_str("        })\n    }\n}\n");
    out
}

/// `abi.js` of the npm package: the constants, as ES module exports.
pub fn js_constants(api: &Api) -> String {
    let mut out = String::from(
        "// The library module's API constants, generated by `cargo xtask dist`\n\
         // from ports/wasm/mpwasm_api.h with bindgen. Do not edit.\n",
    );
    for constant in &api.constants {
        for line in constant.doc.lines() {
            let _ = writeln!(out, "// {line}");
        }
        let _ = writeln!(out, "export const {} = {};", constant.name, constant.value);
    }
    out
}

/// `_abi.py` of the Python package: the constants, as module globals.
pub fn python_constants(api: &Api) -> String {
    let mut out = String::from(
        "# The library module's API constants, generated by `cargo xtask dist`\n\
         # from ports/wasm/mpwasm_api.h with bindgen. Do not edit.\n",
    );
    for constant in &api.constants {
        for line in constant.doc.lines() {
            let _ = writeln!(out, "#{}{line}", if line.is_empty() { "" } else { " " });
        }
        let _ = writeln!(out, "{} = {}", constant.name, constant.value);
    }
    out
}

fn field_name(function: &Function) -> &str {
    function.export.strip_prefix(PREFIX).unwrap_or(&function.export)
}

fn rust_doc(out: &mut String, doc: &str, indent: &str) {
    for line in doc.lines() {
        let _ = writeln!(out, "{indent}///{}{line}", if line.is_empty() { "" } else { " " });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository_api() -> Api {
        let toolchain = Toolchain::detect().expect("the build toolchain is installed");
        let header = crate::project::repo_root().join("ports/wasm/mpwasm_api.h");
        read(&header, &toolchain).unwrap()
    }

    #[test]
    fn the_repository_header_lowers_to_wasm_scalars() {
        let api = repository_api();
        let exec = api.functions.iter().find(|f| f.export == "mpwasm_exec").unwrap();
        let params: Vec<Scalar> = exec.params.iter().map(|(_, scalar)| *scalar).collect();
        assert_eq!(params, [Scalar::U32, Scalar::U32, Scalar::U32], "a pointer and two uint32_t");
        assert_eq!(exec.result, Some(Scalar::I32));
        assert!(exec.doc.contains("SystemExit"), "comments become docs: {:?}", exec.doc);
        let free = api.functions.iter().find(|f| f.export == "mpwasm_free").unwrap();
        assert_eq!(free.result, None);
        let quiet = api.constants.iter().find(|c| c.name == "EXEC_QUIET").unwrap();
        assert_eq!(quiet.value, 2);
        let forced = api.constants.iter().find(|c| c.name == "FORCED_EXIT").unwrap();
        assert_eq!(forced.value, 0x100);
    }

    #[test]
    fn generated_rust_types_each_export() {
        let code = rust_bindings(&repository_api());
        assert!(code.contains("pub(crate) exec: TypedFunc<(u32, u32, u32), i32>,"), "{code}");
        assert!(code.contains("pub(crate) alloc: TypedFunc<u32, u32>,"), "{code}");
        assert!(code.contains("pub(crate) error_json_len: TypedFunc<(), u32>,"), "{code}");
        assert!(code.contains("exec: instance.func(\"mpwasm_exec\")?,"), "{code}");
        syn::parse_file(&code).expect("the generated Rust parses");
    }

    #[test]
    fn a_struct_parameter_is_refused_with_its_name() {
        let code = "pub struct big { pub a: u32 }\nunsafe extern \"C\" { pub fn mpwasm_take(value: big); }";
        let err = format!("{:#}", parse_bindings(code).unwrap_err());
        assert!(err.contains("parameter `value` of mpwasm_take") && err.contains("`big`"), "{err}");
    }

    /// A module whose export disagrees with the header is named with both
    /// signatures; one that agrees passes.
    #[test]
    fn exports_are_checked_against_the_declarations() {
        let api =
            parse_bindings("unsafe extern \"C\" { pub fn mpwasm_exec(code: *const u8, len: u32) -> i32; }").unwrap();
        let good = wat::parse_str(r#"(module (func (export "mpwasm_exec") (param i32 i32) (result i32) i32.const 0))"#)
            .unwrap();
        check_exports(&api, &good).unwrap();
        let wrong =
            wat::parse_str(r#"(module (func (export "mpwasm_exec") (param i32) (result i32) i32.const 0))"#).unwrap();
        let err = check_exports(&api, &wrong).unwrap_err().to_string();
        assert!(err.contains("mpwasm_exec is exported as"), "{err}");
        let missing = wat::parse_str("(module)").unwrap();
        let err = check_exports(&api, &missing).unwrap_err().to_string();
        assert!(err.contains("mpwasm_exec is declared but not exported"), "{err}");
    }

    #[test]
    fn python_constants_are_module_globals() {
        let py = python_constants(&repository_api());
        assert!(py.contains("\nEXEC_QUIET = 2\n"), "{py}");
        assert!(py.contains("\nFORCED_EXIT = 256\n"), "{py}");
    }

    #[test]
    fn js_constants_are_module_exports() {
        let js = js_constants(&repository_api());
        assert!(js.contains("export const EXEC_SINGLE = 1;"), "{js}");
        assert!(js.contains("export const FORCED_EXIT = 256;"), "{js}");
    }
}
