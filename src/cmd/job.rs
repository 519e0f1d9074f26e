//! What the subcommands that compile one job share: reading the `.flow`
//! file, the one analysis with its diagnostics on standard error, reading
//! the job's `extern fn` tool modules and compiling it into a package, and
//! the report of a program that checks but cannot be compiled.

use flow_compiler::Analysis;
use flow_compiler::codegen::CodegenError;
use flow_compiler::package::{self, JobPackage, ToolFiles};
use flow_lang::{FileId, render};

use super::Exit;
use super::check::{Unreadable, print_human, summary};
use crate::disk::{DiskProvider, display_path, read_source, read_tool_module};
use crate::term::Terminal;

/// Reads and analyses the job `file`, printing every diagnostic. Returns the
/// analysis and the root's file id, or the exit status when the file cannot
/// be read or the program has errors (with the summary line printed).
pub fn analyze_job(file: &str, terminal: &Terminal) -> Result<(Analysis, FileId), Exit> {
    let path = display_path(file);
    let mut provider = DiskProvider::new();
    match read_source(&path) {
        Ok(text) => provider.preload(path.clone(), text),
        Err(reason) => {
            print_human(&[Unreadable { path, reason }], &[], None, terminal.render);
            return Err(Exit::Errors);
        }
    }
    let analysis = flow_compiler::analyze(std::slice::from_ref(&path), &provider);
    if !analysis.diagnostics.is_empty() {
        print_human(&[], &analysis.diagnostics, Some(&analysis), terminal.render);
    }
    if analysis.has_errors() {
        let errors = analysis.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = analysis.diagnostics.len() - errors;
        eprintln!(
            "{}",
            summary(errors, warnings, analysis.sources.len(), terminal.render)
        );
        return Err(Exit::Errors);
    }
    let root = analysis.sources.find(&path).ok_or(Exit::Errors)?;
    Ok((analysis, root))
}

/// Compiles an analysed job into its package: reads the tool modules its
/// `extern fn`s name (the compiler does no IO), then checks, links and
/// generates. Problems are printed; the error is the exit status.
pub fn compile_job(
    analysis: &Analysis,
    root: FileId,
    terminal: &Terminal,
) -> Result<JobPackage, Exit> {
    let files: ToolFiles = package::tool_paths(analysis, root)
        .into_iter()
        .map(|path| {
            let bytes = read_tool_module(&path);
            (path, bytes)
        })
        .collect();
    package::build_with_tools(analysis, root, &files).map_err(|error| match error {
        CodegenError::Tools(diagnostics) => {
            print_human(&[], &diagnostics, Some(analysis), terminal.render);
            eprintln!(
                "{}",
                summary(
                    diagnostics.len(),
                    0,
                    analysis.sources.len(),
                    terminal.render
                )
            );
            Exit::Errors
        }
        other => report_codegen_error(&other, terminal),
    })
}

/// Reports a program the checker accepted but the code generator cannot
/// compile: E0701 for what is not supported yet, E0703–E0705 for tool
/// modules, E0702 for a compiler bug.
pub fn report_codegen_error(error: &CodegenError, terminal: &Terminal) -> Exit {
    let code = match error {
        CodegenError::Unsupported(_) => "E0701",
        CodegenError::Tools(diagnostics) => diagnostics
            .first()
            .map_or("E0703", |diagnostic| diagnostic.code.as_str()),
        _ => "E0702",
    };
    eprintln!(
        "{}",
        render::render_message(
            code,
            flow_lang::Severity::Error,
            &error.to_string(),
            None,
            terminal.render
        )
    );
    Exit::Errors
}
