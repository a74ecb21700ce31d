//! Minifies the package's hand-written JavaScript as it is written out:
//! `hosts/npm` stays readable, with its comments, while the files a page
//! downloads stay within the glue's size budget (tests/npm/size.test.js).

use anyhow::{bail, Result};
use oxc_allocator::Allocator;
use oxc_codegen::{Codegen, CodegenOptions};
use oxc_minifier::{Minifier, MinifierOptions};
use oxc_parser::Parser;
use oxc_span::SourceType;

/// `source`, an ES module called `name`, minified (names mangled, comments
/// dropped). Fails if the source does not parse.
pub fn minify(name: &str, source: &str) -> Result<String> {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, SourceType::mjs()).parse();
    if let Some(error) = parsed.diagnostics.first() {
        bail!("{name} does not parse as an ES module: {error}");
    }
    let mut program = parsed.program;
    let minified = Minifier::new(MinifierOptions::default()).minify(&allocator, &mut program);
    Ok(Codegen::new().with_options(CodegenOptions::minify()).with_scoping(minified.scoping).build(&program).code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_exports_and_behaviour() {
        let out = minify(
            "m.js",
            "// note\nexport function twice(value) {\n  const doubled = value * 2;\n  return doubled;\n}\n",
        )
        .unwrap();
        assert!(out.contains("export function twice("), "{out}");
        assert!(!out.contains("note") && !out.contains("doubled"), "{out}");
    }

    #[test]
    fn keeps_a_hashbang_line() {
        let out = minify("cli.js", "#!/usr/bin/env node\n// note\nconsole.log(1);\n").unwrap();
        assert!(out.starts_with("#!/usr/bin/env node\n"), "{out}");
        assert!(!out.contains("note"), "{out}");
    }

    #[test]
    fn rejects_what_does_not_parse() {
        let error = minify("bad.js", "export function (").unwrap_err();
        assert!(error.to_string().contains("bad.js does not parse"), "{error}");
    }
}
