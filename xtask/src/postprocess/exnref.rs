//! Translation of legacy WebAssembly exception handling (`try`, `catch`,
//! `catch_all`, `rethrow`, `delegate`) into the standardised exnref form
//! (`try_table`, `throw_ref`).
//!
//! clang 19 lowers setjmp/longjmp to the legacy form, which browsers and Node
//! run but wasmtime does not; neither LLVM 19 nor the Binaryen behind the
//! `wasm-opt` crate can emit exnref for it, so the bundle for wasmtime is
//! rewritten here.
//!
//! Every legacy construct keeps its `InstrSeq`s, so branches (which walrus
//! records as sequence ids, not depths) stay correct without renumbering. The
//! legacy instructions that do count depths, `rethrow` and `delegate`, are
//! resolved against the original nesting before anything moves.

use std::collections::{HashMap, HashSet};

use anyhow::{bail, Context, Result};
use walrus::ir::{
    Block, Br, IfElse, Instr, InstrLocId, InstrSeqId, InstrSeqType, LegacyCatch, LocalGet, LocalSet, Loop, ThrowRef,
    Try, TryTable, TryTableCatch,
};
use walrus::{FunctionKind, LocalFunction, LocalId, Module, ModuleLocals, ModuleTags, ModuleTypes, RefType, ValType};

const EXNREF: ValType = ValType::Ref(RefType::EXNREF);

/// Rewrites every legacy try/catch/rethrow/delegate in `module` into
/// try_table/throw_ref. Returns how many `try` blocks were rewritten.
pub fn translate_legacy_to_exnref(module: &mut Module) -> Result<usize> {
    let Module { funcs, types, locals, tags, .. } = module;
    let mut rewritten = 0;
    for function in funcs.iter_mut() {
        let FunctionKind::Local(func) = &mut function.kind else {
            continue;
        };
        rewritten += Lowering { func, types, locals, tags }.run().with_context(|| match &function.name {
            Some(name) => format!("translating exception handling in function `{name}`"),
            None => format!("translating exception handling in function {:?}", function.id()),
        })?;
    }
    Ok(rewritten)
}

/// True if the module still contains any legacy exception-handling instruction.
pub fn has_legacy_eh(module: &Module) -> bool {
    module.funcs.iter_local().any(|(_, func)| {
        let mut pending = vec![func.entry_block()];
        while let Some(seq) = pending.pop() {
            for (instr, _) in &func.block(seq).instrs {
                match instr {
                    Instr::Try(_) | Instr::Rethrow(_) => return true,
                    Instr::Block(Block { seq }) | Instr::Loop(Loop { seq }) => pending.push(*seq),
                    Instr::TryTable(TryTable { seq, .. }) => pending.push(*seq),
                    Instr::IfElse(IfElse { consequent, alternative }) => pending.extend([*consequent, *alternative]),
                    _ => {}
                }
            }
        }
        false
    })
}

/// How a sequence treats an exception that propagates out of it, which is
/// what decides whether a `delegate` jumping over it changes behaviour.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Exceptions pass straight through: blocks, loops, arms of `if`, the
    /// function body and `try` without any clause.
    Transparent,
    /// Exceptions may be caught or redirected: a `try` body with clauses
    /// (including `delegate`) or a `try_table` body.
    Intercepting,
    /// A legacy `catch`/`catch_all` handler: the only label a `rethrow` may name.
    Handler,
}

/// What the original nesting says about the depth-relative instructions,
/// gathered before any sequence is restructured.
#[derive(Default)]
struct Plan {
    /// Every sequence reachable from the function body, each before its children.
    seqs: Vec<InstrSeqId>,
    /// Legacy `try` instructions found.
    tries: usize,
    /// `(sequence, index)` of each `rethrow`, mapped to the handler it names.
    rethrows: HashMap<(InstrSeqId, usize), InstrSeqId>,
    /// Handlers named by some `rethrow`: these need the exnref of what they caught.
    rethrown_handlers: HashSet<InstrSeqId>,
    /// Body of each `try ... delegate`, mapped to the sequence where the
    /// exception must be thrown again, or `None` when no handler lies in
    /// between and plain propagation already reaches the same place.
    delegates: HashMap<InstrSeqId, Option<InstrSeqId>>,
}

/// A sequence whose instructions are being scanned. The open sequences,
/// outermost first, are exactly the labels in scope.
struct Open {
    seq: InstrSeqId,
    role: Role,
    /// Index of the next instruction to scan.
    next: usize,
    /// Child sequences of the instruction just scanned, last one first.
    children: Vec<(InstrSeqId, Role)>,
}

impl Open {
    fn new(seq: InstrSeqId, role: Role) -> Open {
        Open { seq, role, next: 0, children: Vec::new() }
    }
}

impl Plan {
    /// Scans the function with an explicit stack, as walrus does, so that
    /// deeply nested code (large `switch`es become long block chains) cannot
    /// overflow the native stack.
    fn of(func: &LocalFunction) -> Result<Plan> {
        let mut plan = Plan::default();
        let mut open = vec![Open::new(func.entry_block(), Role::Transparent)];
        plan.seqs.push(func.entry_block());
        while let Some(top) = open.last_mut() {
            if let Some((child, role)) = top.children.pop() {
                plan.seqs.push(child);
                open.push(Open::new(child, role));
                continue;
            }
            let (seq, index) = (top.seq, top.next);
            let Some((instr, _)) = func.block(seq).instrs.get(index) else {
                open.pop();
                continue;
            };
            top.next += 1;
            let children = match instr {
                Instr::Block(Block { seq }) | Instr::Loop(Loop { seq }) => {
                    vec![(*seq, Role::Transparent)]
                }
                Instr::IfElse(IfElse { consequent, alternative }) => {
                    vec![(*alternative, Role::Transparent), (*consequent, Role::Transparent)]
                }
                Instr::TryTable(TryTable { seq, .. }) => vec![(*seq, Role::Intercepting)],
                Instr::Try(Try { seq: body, catches }) => {
                    plan.tries += 1;
                    plan.try_children(&open, *body, catches)?
                }
                Instr::Rethrow(rethrow) => {
                    let target = resolve(&open, rethrow.relative_depth)
                        .context("`rethrow` names a label outside the function")?;
                    let Open { seq: handler, role, .. } = open[target];
                    if role != Role::Handler {
                        bail!("`rethrow {}` names a label that is not a catch handler", rethrow.relative_depth);
                    }
                    plan.rethrows.insert((seq, index), handler);
                    plan.rethrown_handlers.insert(handler);
                    Vec::new()
                }
                _ => Vec::new(),
            };
            if let Some(top) = open.last_mut() {
                top.children = children;
            }
        }
        Ok(plan)
    }

    /// Records what a `try` needs and returns its sequences, last one first.
    fn try_children(
        &mut self,
        open: &[Open],
        body: InstrSeqId,
        catches: &[LegacyCatch],
    ) -> Result<Vec<(InstrSeqId, Role)>> {
        if let [LegacyCatch::Delegate { relative_depth }] = *catches {
            // The delegate label is counted from outside the try, so depth 0
            // is the sequence holding the `try` itself.
            let target = resolve(open, relative_depth).context("`delegate` names a label outside the function")?;
            let skips_handler = open[target + 1..].iter().any(|o| o.role == Role::Intercepting);
            self.delegates.insert(body, skips_handler.then_some(open[target].seq));
            return Ok(vec![(body, Role::Intercepting)]);
        }
        let mut children = Vec::with_capacity(catches.len() + 1);
        for catch in catches.iter().rev() {
            match catch {
                LegacyCatch::Catch { handler, .. } | LegacyCatch::CatchAll { handler } => {
                    children.push((*handler, Role::Handler))
                }
                LegacyCatch::Delegate { .. } => bail!("`delegate` combined with catch clauses"),
            }
        }
        let role = if catches.is_empty() { Role::Transparent } else { Role::Intercepting };
        children.push((body, role));
        Ok(children)
    }
}

/// Index into `open` of the label `depth` levels out from the innermost one.
fn resolve(open: &[Open], depth: u32) -> Option<usize> {
    let depth = usize::try_from(depth).ok()?;
    open.len().checked_sub(depth.checked_add(1)?)
}

/// Where the exceptions delegated to one sequence are thrown again: `outer`
/// takes the sequence's place and `landing` receives the exnref.
#[derive(Clone, Copy)]
struct Landing {
    outer: InstrSeqId,
    landing: InstrSeqId,
}

struct Lowering<'a> {
    func: &'a mut LocalFunction,
    types: &'a mut ModuleTypes,
    locals: &'a mut ModuleLocals,
    tags: &'a ModuleTags,
}

impl Lowering<'_> {
    fn run(mut self) -> Result<usize> {
        let plan = Plan::of(self.func)?;
        if plan.tries == 0 && plan.rethrows.is_empty() {
            return Ok(0);
        }

        // One exnref local per rethrown handler: a handler's exception stays
        // live exactly while that handler runs, and nothing else writes it.
        let exn_locals: HashMap<InstrSeqId, LocalId> = plan
            .seqs
            .iter()
            .filter(|seq| plan.rethrown_handlers.contains(seq))
            .map(|&handler| (handler, self.locals.add(EXNREF)))
            .collect();
        let mut landings: HashMap<InstrSeqId, Landing> = HashMap::new();

        for &seq in &plan.seqs {
            let instrs = std::mem::take(&mut self.func.block_mut(seq).instrs);
            let mut lowered = Vec::with_capacity(instrs.len());
            for (index, (instr, loc)) in instrs.into_iter().enumerate() {
                match instr {
                    Instr::Rethrow(_) => {
                        let local = exn_locals[&plan.rethrows[&(seq, index)]];
                        lowered.push((LocalGet { local }.into(), loc));
                        lowered.push((ThrowRef {}.into(), loc));
                    }
                    Instr::Try(Try { seq: body, catches }) => {
                        let instr = match plan.delegates.get(&body) {
                            Some(Some(target)) => {
                                let label =
                                    landings.entry(*target).or_insert_with(|| self.new_landing(*target)).landing;
                                TryTable { seq: body, catches: vec![TryTableCatch::CatchAllRef { label }] }.into()
                            }
                            // A catch-less try, or a delegate that no handler
                            // could tell apart from ordinary propagation.
                            Some(None) => Block { seq: body }.into(),
                            None if catches.is_empty() => Block { seq: body }.into(),
                            None => self.lower_catches(body, &catches, &exn_locals, loc)?,
                        };
                        lowered.push((instr, loc));
                    }
                    instr => lowered.push((instr, loc)),
                }
            }
            self.func.block_mut(seq).instrs = lowered;
        }

        for (target, landing) in landings {
            self.fill_landing(target, landing);
        }
        Ok(plan.tries)
    }

    /// The parameter and result types of a sequence, whatever its encoding.
    fn signature(&self, ty: InstrSeqType) -> (Vec<ValType>, Vec<ValType>) {
        match ty {
            InstrSeqType::Simple(result) => (Vec::new(), result.into_iter().collect()),
            InstrSeqType::MultiValue(ty) => {
                let (params, results) = self.types.params_results(ty);
                (params.to_vec(), results.to_vec())
            }
        }
    }

    fn new_seq(&mut self, params: &[ValType], results: &[ValType]) -> InstrSeqId {
        // `InstrSeqType::new` registers an ordinary type; reusing a function
        // body's own type would name an entry type that is never emitted.
        let ty = InstrSeqType::new(self.types, params, results);
        self.func.builder_mut().dangling_instr_seq(ty).id()
    }

    /// Turns `try (P -> T) body catch.. end` into
    ///
    /// ```text
    /// block $outer (P -> T)
    ///   block $c_n (P -> payload_n [exnref])
    ///     ...
    ///       block $c_1 (P -> payload_1 [exnref])
    ///         try_table (P -> T) (catch[_ref] tag_1 $c_1) ... body end
    ///         br $outer
    ///       end
    ///       [local.set $exn_1]  handler_1 (payload_1 -> T)  br $outer
    ///     ...
    ///   end
    ///   [local.set $exn_n]  handler_n (payload_n -> T)
    /// end
    /// ```
    ///
    /// The try_table branches out with the payload, exactly what the legacy
    /// handler found on its stack, so each handler stays an intact block (its
    /// own label now ends it, and the `br $outer` after it completes what used
    /// to be the end of the `try`). The try's parameters flow through the
    /// nested blocks as block parameters instead of being spilled. Handlers run
    /// outside the try_table, so as before they are not covered by their own
    /// clauses.
    fn lower_catches(
        &mut self,
        body: InstrSeqId,
        catches: &[LegacyCatch],
        exn_locals: &HashMap<InstrSeqId, LocalId>,
        loc: InstrLocId,
    ) -> Result<Instr> {
        let (params, results) = self.signature(self.func.block(body).ty);
        let outer = self.new_seq(&params, &results);

        let mut clauses = Vec::with_capacity(catches.len());
        let mut handlers = Vec::with_capacity(catches.len());
        for catch in catches {
            let (tag, handler) = match *catch {
                LegacyCatch::Catch { tag, handler } => (Some(tag), handler),
                LegacyCatch::CatchAll { handler } => (None, handler),
                LegacyCatch::Delegate { .. } => bail!("`delegate` combined with catch clauses"),
            };
            // Only a handler that rethrows needs the exnref; plain `catch`
            // keeps the label's type identical to the legacy handler's stack.
            let exn_local = exn_locals.get(&handler).copied();
            let mut label_types = match tag {
                Some(tag) => self.types.params(self.tags.get(tag).ty()).to_vec(),
                None => Vec::new(),
            };
            if exn_local.is_some() {
                label_types.push(EXNREF);
            }
            let label = self.new_seq(&params, &label_types);
            clauses.push(match (tag, exn_local.is_some()) {
                (Some(tag), false) => TryTableCatch::Catch { tag, label },
                (Some(tag), true) => TryTableCatch::CatchRef { tag, label },
                (None, false) => TryTableCatch::CatchAll { label },
                (None, true) => TryTableCatch::CatchAllRef { label },
            });
            handlers.push((label, exn_local, handler));
        }

        let mut enclosed: Vec<(Instr, InstrLocId)> =
            vec![(TryTable { seq: body, catches: clauses }.into(), loc), (Br { block: outer }.into(), loc)];
        let last = handlers.len() - 1;
        for (i, (label, exn_local, handler)) in handlers.into_iter().enumerate() {
            self.func.block_mut(label).instrs = enclosed;
            enclosed = vec![(Block { seq: label }.into(), loc)];
            if let Some(local) = exn_local {
                enclosed.push((LocalSet { local }.into(), loc));
            }
            enclosed.push((Block { seq: handler }.into(), loc));
            if i != last {
                enclosed.push((Br { block: outer }.into(), loc));
            }
        }
        self.func.block_mut(outer).instrs = enclosed;
        Ok(Block { seq: outer }.into())
    }

    fn new_landing(&mut self, target: InstrSeqId) -> Landing {
        let (params, results) = self.signature(self.func.block(target).ty);
        Landing { outer: self.new_seq(&params, &results), landing: self.new_seq(&params, &[EXNREF]) }
    }

    /// `delegate L` means "throw again as if from L's own level", skipping
    /// every handler between. Wrapping L's contents as
    ///
    /// ```text
    /// block $outer (P -> R)
    ///   block $landing (P -> exnref)  <L's instructions>  br $outer  end
    ///   throw_ref
    /// end
    /// ```
    ///
    /// puts that level in one place: each delegating try becomes a try_table
    /// whose `catch_all_ref` branches to `$landing`, and the `throw_ref` then
    /// meets exactly the handlers that enclose L (L's own clauses if L is a
    /// try body; the caller if L is the function body). Branches to L keep
    /// their meaning because L itself still encloses everything, which matters
    /// for loops where `br L` restarts rather than exits.
    fn fill_landing(&mut self, target: InstrSeqId, Landing { outer, landing }: Landing) {
        let loc = InstrLocId::default();
        let mut contents = std::mem::take(&mut self.func.block_mut(target).instrs);
        contents.push((Br { block: outer }.into(), loc));
        self.func.block_mut(landing).instrs = contents;
        self.func.block_mut(outer).instrs = vec![(Block { seq: landing }.into(), loc), (ThrowRef {}.into(), loc)];
        self.func.block_mut(target).instrs = vec![(Block { seq: outer }.into(), loc)];
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use wasmparser::{Validator, WasmFeatures};

    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests-data/exnref")
    }

    /// One `expect EXPORT ARGS.. -> OUTCOME` comment of a fixture (`;;` in
    /// WAT, `//` in C and C++). The outcome is the results separated by
    /// spaces, or `throw` for an exception that leaves the export.
    struct Call {
        export: String,
        args: Vec<i32>,
        outcome: String,
    }

    impl Call {
        fn show(&self, outcome: &str) -> String {
            format!("{} {:?} -> {outcome}", self.export, self.args)
        }
    }

    fn calls_in(source: &str, comment: &str) -> Vec<Call> {
        let marker = format!("{comment} expect ");
        source
            .lines()
            .filter_map(|line| line.trim().strip_prefix(&marker))
            .map(|line| {
                let (call, outcome) = line.split_once("->").expect("`->` in expect line");
                let mut words = call.split_whitespace();
                Call {
                    export: words.next().expect("export name").to_owned(),
                    args: words.map(|w| w.parse().expect("i32 argument")).collect(),
                    outcome: outcome.trim().to_owned(),
                }
            })
            .collect()
    }

    fn translate(legacy: &[u8]) -> (Vec<u8>, usize) {
        let mut module = Module::from_buffer(legacy).expect("walrus parses the legacy module");
        assert!(has_legacy_eh(&module), "fixture has no legacy instruction");
        let count = translate_legacy_to_exnref(&mut module).expect("translation");
        assert!(!has_legacy_eh(&module), "legacy instructions left in the IR");
        (module.emit_wasm(), count)
    }

    /// Validation with the legacy proposal switched off is the check that no
    /// `try`, `catch`, `rethrow` or `delegate` survived into the binary.
    fn validate_exnref(wasm: &[u8]) {
        let features = (WasmFeatures::default() | WasmFeatures::EXCEPTIONS) - WasmFeatures::LEGACY_EXCEPTIONS;
        if let Err(e) = Validator::new_with_features(features).validate_all(wasm) {
            panic!("translated module is not valid exnref wasm: {e}");
        }
    }

    fn run_exnref(wasm: &[u8], calls: &[Call]) -> Vec<String> {
        use wasmtime::{Config, Engine, Instance, Store, ThrownException, Val};

        let engine = Engine::new(Config::new().wasm_exceptions(true)).expect("engine");
        let module = wasmtime::Module::new(&engine, wasm).expect("wasmtime compiles the module");
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiation");
        calls
            .iter()
            .map(|call| {
                let func = instance
                    .get_func(&mut store, &call.export)
                    .unwrap_or_else(|| panic!("no export `{}`", call.export));
                let args: Vec<Val> = call.args.iter().map(|&a| Val::I32(a)).collect();
                let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
                let outcome = match func.call(&mut store, &args, &mut results) {
                    Ok(()) => results
                        .iter()
                        .map(|v| match v {
                            Val::I32(v) => v.to_string(),
                            Val::I64(v) => v.to_string(),
                            other => panic!("unexpected result {other:?}"),
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
                    Err(e) if e.is::<ThrownException>() => {
                        store.take_pending_exception();
                        "throw".to_owned()
                    }
                    Err(e) => format!("trap: {e}"),
                };
                call.show(&outcome)
            })
            .collect()
    }

    /// Runs the untranslated module under Node, whose engine implements the
    /// legacy instructions; `None` when there is no `node` to ask.
    fn run_legacy(wasm: &[u8], calls: &[Call]) -> Option<Vec<String>> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("legacy.wasm");
        std::fs::write(&path, wasm).expect("writing module for node");
        let request: Vec<(&str, &[i32])> = calls.iter().map(|c| (c.export.as_str(), c.args.as_slice())).collect();
        let request = serde_json::to_string(&request).expect("encoding the calls");
        let output = match Command::new("node").arg(fixtures().join("run-legacy.mjs")).arg(&path).arg(request).output()
        {
            Ok(output) => output,
            Err(e) => {
                eprintln!("skipping the legacy half: cannot run `node` ({e})");
                return None;
            }
        };
        assert!(output.status.success(), "node failed: {}", String::from_utf8_lossy(&output.stderr));
        let outcomes: Vec<String> = serde_json::from_slice(&output.stdout).expect("node prints a JSON array");
        Some(calls.iter().zip(&outcomes).map(|(call, outcome)| call.show(outcome)).collect())
    }

    /// Translates `legacy` and checks the result under wasmtime, and the
    /// original under Node, against the expectations; returns the number of
    /// rewritten `try` blocks.
    fn check_module(name: &str, legacy: &[u8], calls: &[Call]) -> usize {
        assert!(!calls.is_empty(), "{name} states no expectations");
        let expected: Vec<String> = calls.iter().map(|c| c.show(&c.outcome)).collect();

        let (exnref, count) = translate(legacy);
        validate_exnref(&exnref);
        assert_eq!(run_exnref(&exnref, calls), expected, "{name} translated, under wasmtime");
        if let Some(outcomes) = run_legacy(legacy, calls) {
            assert_eq!(outcomes, expected, "{name} untranslated, under node");
        }
        count
    }

    fn check_fixture(name: &str, tries: usize) {
        let source = std::fs::read_to_string(fixtures().join(name)).expect("reading fixture");
        let legacy = wat::parse_str(&source).unwrap_or_else(|e| panic!("{name}: {e}"));
        let count = check_module(name, &legacy, &calls_in(&source, ";;"));
        assert_eq!(count, tries, "{name}: number of rewritten `try` blocks");
    }

    #[test]
    fn exnref_catch_clauses() {
        check_fixture("catch.wat", 4);
    }

    #[test]
    fn exnref_block_types() {
        check_fixture("blocktypes.wat", 4);
    }

    #[test]
    fn exnref_rethrow() {
        check_fixture("rethrow.wat", 12);
    }

    #[test]
    fn exnref_delegate() {
        check_fixture("delegate.wat", 27);
    }

    #[test]
    fn exnref_branches() {
        check_fixture("branches.wat", 7);
    }

    #[test]
    fn exnref_nesting() {
        check_fixture("nested.wat", 7);
    }

    /// Compiles and links fixture sources into a module with no imports, or
    /// returns `None` when `compiler` cannot be run here.
    fn build(compiler: &str, flags: &[&str], sources: &[&str]) -> Option<Vec<u8>> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let wasm = dir.path().join("out.wasm");
        let output = Command::new(compiler)
            .args(["--target=wasm32-wasi", "-O2"])
            .args(flags)
            .args(["-nostdlib", "-fuse-ld=lld", "-Wl,--no-entry"])
            .args(sources.iter().map(|s| fixtures().join(s)))
            .arg("-o")
            .arg(&wasm)
            .output();
        match output {
            Ok(output) if output.status.success() => Some(std::fs::read(&wasm).expect("reading the linked module")),
            Ok(output) => panic!("{compiler} failed on {sources:?}: {}", String::from_utf8_lossy(&output.stderr)),
            Err(e) => {
                eprintln!("skipping: cannot run {compiler} ({e})");
                None
            }
        }
    }

    fn expectations_in(source: &str) -> Vec<Call> {
        let text = std::fs::read_to_string(fixtures().join(source)).expect("reading fixture");
        calls_in(&text, "//")
    }

    /// How many `delegate` and `rethrow` instructions a module has, so that a
    /// compiled fixture can be seen to still produce them.
    fn delegates_and_rethrows(wasm: &[u8]) -> (usize, usize) {
        let (mut delegates, mut rethrows) = (0, 0);
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.expect("parsing") {
                let mut ops = body.get_operators_reader().expect("reading code");
                while !ops.eof() {
                    match ops.read().expect("reading operator") {
                        wasmparser::Operator::Delegate { .. } => delegates += 1,
                        wasmparser::Operator::Rethrow { .. } => rethrows += 1,
                        _ => {}
                    }
                }
            }
        }
        (delegates, rethrows)
    }

    /// What the translation is for: setjmp/longjmp as clang 19 lowers them.
    #[test]
    fn exnref_setjmp_longjmp_from_clang() {
        let sjlj = ["-mllvm", "-wasm-enable-sjlj", "-mexception-handling"];
        let Some(legacy) = build("clang-19", &sjlj, &["sjlj.c", "sjlj-rt.c"]) else {
            return;
        };
        let count = check_module("sjlj.c", &legacy, &expectations_in("sjlj.c"));
        assert!(count > 0, "clang emitted no `try` for setjmp");
    }

    /// The compiler-generated shapes of `rethrow` and `delegate`, which
    /// setjmp/longjmp alone rarely produces.
    #[test]
    fn exnref_cxx_exceptions_from_clang() {
        let Some(legacy) = build("clang++-19", &["-fwasm-exceptions"], &["cxx-eh.cpp", "cxx-eh-rt.cpp"]) else {
            return;
        };
        let (delegates, rethrows) = delegates_and_rethrows(&legacy);
        assert!(delegates > 0 && rethrows > 0, "cxx-eh.cpp no longer yields delegate and rethrow");
        check_module("cxx-eh.cpp", &legacy, &expectations_in("cxx-eh.cpp"));
    }
}
