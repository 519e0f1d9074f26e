// The Flow extension: starts `flowc lsp` for `.flow` files and restarts it
// when its settings change or on the "Flow: Restart the language server"
// command. Everything the editor shows beyond colours (diagnostics, hover,
// definitions, completion, formatting...) comes from the server, so the
// editor and `flowc check` always agree.
"use strict";

const path = require("path");
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

/** @type {LanguageClient | undefined} */
let client;

/**
 * The executable and arguments from the `flow.server.*` settings. A relative
 * path (one with a separator) is resolved against the first workspace folder,
 * so a project can point at its own build such as `target/debug/flowc`; a
 * bare name is left for the operating system to find on PATH.
 */
function serverCommand() {
  const settings = vscode.workspace.getConfiguration("flow.server");
  let command = settings.get("path", "flowc") || "flowc";
  const folders = vscode.workspace.workspaceFolders;
  const hasSeparator = command.includes("/") || command.includes("\\");
  if (hasSeparator && !path.isAbsolute(command) && folders && folders.length > 0) {
    command = path.join(folders[0].uri.fsPath, command);
  }
  const extraArgs = settings.get("extraArgs", []);
  return { command, args: ["lsp", ...extraArgs] };
}

function createClient() {
  const { command, args } = serverCommand();
  const executable = { command, args, transport: TransportKind.stdio };
  const serverOptions = { run: executable, debug: executable };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "flow" },
      { scheme: "untitled", language: "flow" },
    ],
    synchronize: {
      // Imported files that are not open are read from disk by the server;
      // telling it when they change keeps its diagnostics current.
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.flow"),
    },
  };
  // The id "flow" makes the client read the `flow.trace.server` setting.
  return new LanguageClient("flow", "Flow", serverOptions, clientOptions);
}

async function startClient() {
  client = createClient();
  try {
    await client.start();
  } catch (error) {
    const { command } = serverCommand();
    vscode.window.showErrorMessage(
      `Flow: could not start \`${command} lsp\` (${error.message || error}). ` +
        "Install flowc or set `flow.server.path`."
    );
  }
}

async function restartClient() {
  if (client) {
    const old = client;
    client = undefined;
    try {
      await old.stop();
    } catch (_error) {
      // A server that already exited cannot be stopped; start afresh anyway.
    }
  }
  await startClient();
}

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("flow.restartServer", restartClient),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("flow.server")) {
        restartClient();
      }
    })
  );
  await startClient();
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
