// Starts the extension's real language client (vscode-languageclient, from
// `npm ci`) against a real `flowc lsp`, with a stand-in for the VS Code API,
// and checks that activation spawns `flowc lsp --stdio`, completes the
// protocol's `initialize` handshake without showing an error, that the
// restart command starts a fresh server, and that deactivation stops it.
//
// Run from editors/vscode after `npm ci`, with a built flowc:
//   FLOWC=../../target/debug/flowc node test/client.test.js
"use strict";

const childProcess = require("child_process");
const Module = require("module");
const path = require("path");

const flowc = path.resolve(process.env.FLOWC || path.join(__dirname, "../../../target/debug/flowc"));

// ----- a stand-in for the `vscode` module -----------------------------------

const calls = [];
const commands = {};

/** An object whose every property is another such object, callable and constructible. */
function stub(name) {
  return new Proxy(function () {}, {
    get(_target, prop) {
      if (prop === "then") return undefined; // not a promise
      if (prop === Symbol.iterator) return function* () {};
      if (prop === Symbol.toPrimitive) return () => name;
      const full = `${name}.${String(prop)}`;
      if (full === "vscode.workspace.getConfiguration") {
        return (section) => ({
          get: (key, fallback) => (section === "flow.server" && key === "path" ? flowc : fallback),
          has: () => false,
        });
      }
      if (full === "vscode.workspace.workspaceFolders") return undefined;
      if (full === "vscode.workspace.textDocuments") return [];
      if (full === "vscode.window.visibleTextEditors") return [];
      if (full === "vscode.version") return "1.90.0";
      return stub(full);
    },
    apply(_target, _this, args) {
      calls.push(name);
      if (name === "vscode.commands.registerCommand") commands[args[0]] = args[1];
      return stub(`${name}()`);
    },
    construct() {
      return stub(`new ${name}`);
    },
  });
}

const vscode = stub("vscode");
const realLoad = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === "vscode") return vscode;
  return realLoad.call(this, request, parent, isMain);
};

// Record the servers the client starts.
const spawned = [];
const realSpawn = childProcess.spawn;
childProcess.spawn = function (command, args, options) {
  const child = realSpawn.call(this, command, args, options);
  spawned.push({ command, args, child });
  return child;
};

// ----- the checks ------------------------------------------------------------

function check(condition, message) {
  if (!condition) {
    console.error(`client test failed: ${message}`);
    process.exit(1);
  }
}

async function main() {
  const timer = setTimeout(() => check(false, "no answer within 30 s"), 30000);
  const extension = require("../extension.js");
  await extension.activate({ subscriptions: [] });
  const errors = () => calls.filter((name) => name === "vscode.window.showErrorMessage").length;
  check(errors() === 0, "activation showed an error (is FLOWC a working flowc?)");
  check(spawned.length === 1, `activation spawned ${spawned.length} processes`);
  check(spawned[0].command === flowc, `spawned ${spawned[0].command}`);
  check(
    JSON.stringify(spawned[0].args) === JSON.stringify(["lsp", "--stdio"]),
    `spawned with ${JSON.stringify(spawned[0].args)}`
  );
  check(spawned[0].child.exitCode === null, "the server exited after initialize");

  check(typeof commands["flow.restartServer"] === "function", "no restart command");
  await commands["flow.restartServer"]();
  check(errors() === 0, "the restart showed an error");
  check(spawned.length === 2, "the restart did not start a new server");

  await extension.deactivate();
  // The client sends shutdown and exit; the server must end by itself.
  const ended = await new Promise((resolve) => {
    const server = spawned[1].child;
    if (server.exitCode !== null) return resolve(server.exitCode);
    server.on("exit", (code) => resolve(code));
  });
  check(ended === 0, `the server exited with ${ended} after shutdown`);
  clearTimeout(timer);
  console.log("client ok: flowc lsp --stdio started, restarted and stopped");
}

main().catch((error) => check(false, error && error.stack ? error.stack : String(error)));
