// Figure 5: the extension's start-up cost and its language server's response times.
//
// 1. Activation events: none is `*`, each names one of the product's views, commands, tasks,
//    webviews, languages or files.
// 2. Bundle size: the JavaScript in dist/ (the WASM files are not counted), as built and as
//    esbuild would write it minified, with the largest inputs of dist/extension.js.
// 3. Activation time in a real VS Code: code-server 1.139 (the VS Code tests' install) opens an
//    empty workspace with this repository as the extension under development, and the test
//    runner's bench/vscode/activation-index.cjs times `extension.activate()`: loading
//    dist/extension.js and running activate(). Each run starts a fresh code-server.
// 4. The language server (dist/server.js over stdio, as the extension starts it): code actions
//    on a TF-RMM handler.c, and hovers in a 100,000-line RMM console log.
//
// Environment: CCA_DATA_DIR, BENCH_ACTIVATION_RUNS (default 3), BENCH_ROUNDS (requests per
// kind, default 200).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { URLSearchParams } from 'node:url';
import { format } from 'node:util';
import {
  dataDir,
  describeMachine,
  envNumber,
  formatMs,
  load,
  printTable,
  root,
  summarise,
} from './lib.mjs';

const require = createRequire(import.meta.url);
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

/** Checks each activation event against what package.json contributes. */
function checkActivationEvents() {
  const contributes = manifest.contributes ?? {};
  const views = Object.values(contributes.views ?? {})
    .flat()
    .map((view) => view.id);
  const commands = (contributes.commands ?? []).map((command) => command.command);
  const tasks = (contributes.taskDefinitions ?? []).map((task) => task.type);
  const languages = (contributes.languages ?? []).map((language) => language.id);
  const problems = [];
  for (const event of manifest.activationEvents ?? []) {
    const [kind, value = ''] = event.split(/:(.*)/s);
    const own =
      (kind === 'onView' && views.includes(value)) ||
      (kind === 'onCommand' && commands.includes(value)) ||
      (kind === 'onTaskType' && tasks.includes(value)) ||
      (kind === 'onLanguage' && languages.includes(value)) ||
      (kind === 'onWebviewPanel' && value.startsWith('ccaRealmStudio.')) ||
      (kind === 'workspaceContains' && value !== '' && value !== '**' && value !== '**/*');
    if (!own) problems.push(event);
  }
  return { events: manifest.activationEvents ?? [], problems };
}

/** Sizes of the JavaScript bundles in dist/, and of the same bundles minified by esbuild. */
async function bundleSizes() {
  const { build } = require('esbuild');
  const entryPoints = {
    cli: path.join(root, 'extension/cli/main.ts'),
    'emulated-realm': path.join(root, 'extension/cli/emulated-realm.ts'),
    extension: path.join(root, 'extension/vscode/extension.ts'),
    server: path.join(root, 'extension/server/server.ts'),
  };
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'cca-bench-bundle-'));
  try {
    // The options of scripts/build.mjs, plus minify and a metafile.
    const result = await build({
      entryPoints,
      external: ['vscode', 'cpu-features', '*.node'],
      outdir,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      metafile: true,
      logLevel: 'silent',
    });
    const rows = Object.keys(entryPoints).map((name) => {
      const file = `${name}.js`;
      const built = statSync(path.join(root, 'dist', file), { throwIfNoEntry: false })?.size;
      return { file, built: built ?? NaN, minified: statSync(path.join(outdir, file)).size };
    });
    const output = Object.entries(result.metafile.outputs).find(([file]) =>
      file.endsWith('extension.js'),
    )?.[1];
    // Bytes per package (or per project folder) in the minified extension.js.
    const byPackage = new Map();
    for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const key = match ? match[1] : input.split('/').slice(0, 2).join('/');
      byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
    }
    const largest = [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 8);
    return { rows, largest };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Starts code-server with the activation index and returns the time it printed. */
async function activateOnce() {
  const codeServer = await import(path.join(root, 'scripts/vscode-test/code-server.mjs'));
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'cca-bench-activation-'));
  const folders = ['workspace', 'user-data', 'extensions'].map((name) =>
    path.join(workspace, name),
  );
  for (const folder of folders) mkdirSync(folder);
  const [emptyWorkspace, userDataDir, extensionsDir] = folders;
  let server;
  let browser;
  try {
    server = await codeServer.startCodeServer({
      workspace: emptyWorkspace,
      extensionsDir,
      userDataDir,
      smokeTestDriver: true,
    });
    browser = await codeServer.launchChromium();
    let resolveReport;
    const reported = new Promise((resolve) => (resolveReport = resolve));
    await browser.page.exposeFunction('codeAutomationExit', (code) =>
      resolveReport(new Error(`the extension host exited (${code}) without a time`)),
    );
    await browser.page.exposeFunction('codeAutomationLog', (_type, args) => {
      const text = format(...(Array.isArray(args) ? args : [args]));
      const match = /BENCH-ACTIVATION (\{.*\})/.exec(text);
      if (match) resolveReport(JSON.parse(match[1]));
    });
    const remote = (file) => `vscode-remote://127.0.0.1:${server.port}${file}`;
    const payload = [
      ['extensionDevelopmentPath', remote(root)],
      ['extensionTestsPath', remote(path.join(import.meta.dirname, 'vscode/activation-index.cjs'))],
      ['skipWelcome', 'true'],
    ];
    const query = new URLSearchParams({ folder: emptyWorkspace, payload: JSON.stringify(payload) });
    await browser.page.goto(`http://127.0.0.1:${server.port}/?${query}`);
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(new Error('no activation time within 120 s')), 120_000);
    });
    const report = await Promise.race([reported, timeout]);
    clearTimeout(timer);
    if (report instanceof Error) throw report;
    return report;
  } finally {
    await browser?.close();
    await server?.stop();
    rmSync(workspace, { recursive: true, force: true });
  }
}

/** Builds a TF-RMM v0.4.0 handler.c: every v0.4 command in the table, amid ordinary C code. */
function buildHandlerC() {
  const { RMI_COMMANDS_V0_4_0 } = load('core/rmm/rmi-commands.js');
  const filler = (name) => [
    `/* ${name}: argument checks before the call, as in runtime/core/handler.c. */`,
    `static unsigned long ${name}(unsigned long x1, unsigned long x2)`,
    '{',
    '\tif (x1 == 0UL) {',
    '\t\treturn RMI_ERROR_INPUT;',
    '\t}',
    '\treturn x1 + x2;',
    '}',
    '',
  ];
  const lines = ['#include <smc-rmi.h>', '#include <status.h>', ''];
  for (let index = 0; index < 40; index += 1) lines.push(...filler(`helper_${index}`));
  lines.push(
    '#define HANDLER(_id, _in, _out, _fn, _exec, _error)\t\\',
    '\t[SMC_RMM_##_id] = { .fn = (void *)_fn, .log_exec = _exec, .log_error = _error }',
    '',
    'static const struct smc_handler smc_handlers[] = {',
  );
  const tableStart = lines.length;
  for (const [index, command] of RMI_COMMANDS_V0_4_0.entries()) {
    const comma = index === RMI_COMMANDS_V0_4_0.length - 1 ? '' : ',';
    const fn = `smc_${command.name.toLowerCase()}`;
    lines.push(`\tHANDLER(${command.name},\t\t2, 0, ${fn},\t\tfalse, true)${comma}`);
  }
  lines.push('};', '');
  for (let index = 40; index < 80; index += 1) lines.push(...filler(`helper_${index}`));
  return { text: lines.join('\n'), tableStart, entries: RMI_COMMANDS_V0_4_0.length };
}

/**
 * Builds an RMM console log of `lineCount` lines: the console captures of the data folder
 * repeated, with an RMI call line in TF-RMM v0.4's format after every ninth line. Returns the
 * text and the numbers of the RMI call lines.
 */
function buildLog(lineCount) {
  const logDir = path.join(dataDir(), 'console-logs');
  const captured = readdirSync(logDir)
    .filter((name) => name.endsWith('.txt'))
    .sort()
    .flatMap((name) => readFileSync(path.join(logDir, name), 'utf8').split('\n'));
  const calls = [
    (i) =>
      `SMC_RMM_REC_CREATE            ${(0x88232d000 + i * 0x1000).toString(16)} 8817b2000 88231a000 > RMI_SUCCESS`,
    (i) =>
      `SMC_RMM_DATA_CREATE           ${(0x880000000 + i * 0x1000).toString(16)} 8817b2000 40000000 88100000 > RMI_ERROR_INPUT`,
    () => 'SMC_RMM_REALM_ACTIVATE        8817b2000 > RMI_SUCCESS',
    (i) =>
      `SMC_RMM_RTT_READ_ENTRY        8817b2000 ${(i * 0x200000).toString(16)} 3 > RMI_ERROR_RTT 2`,
  ];
  const lines = [];
  const rmiLines = [];
  for (let index = 0; lines.length < lineCount; index += 1) {
    if (index % 10 === 9) {
      rmiLines.push(lines.length);
      lines.push(calls[index % calls.length](index));
    } else {
      lines.push(captured[index % captured.length]);
    }
  }
  return { text: lines.join('\n') + '\n', rmiLines };
}

/** Times requests to dist/server.js, each from sending to the reply. */
async function measureLanguageServer(requests) {
  const {
    StreamMessageReader,
    StreamMessageWriter,
    createMessageConnection,
  } = require('vscode-jsonrpc/node');
  const child = spawn(process.execPath, [path.join(root, 'dist', 'server.js'), '--stdio'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const connection = createMessageConnection(
    new StreamMessageReader(child.stdout),
    new StreamMessageWriter(child.stdin),
  );
  const diagnostics = new Map();
  connection.onNotification('textDocument/publishDiagnostics', (params) => {
    diagnostics.get(params.uri)?.(params);
  });
  connection.listen();
  const timed = async (method, params) => {
    const started = performance.now();
    const result = await connection.sendRequest(method, params);
    return { ms: performance.now() - started, result };
  };
  const open = (uri, languageId, text) => {
    const published = new Promise((resolve) => diagnostics.set(uri, resolve));
    const started = performance.now();
    void connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId, version: 1, text },
    });
    return published.then(() => performance.now() - started);
  };

  try {
    await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: null,
      capabilities: {},
    });
    await connection.sendNotification('initialized', {});

    const handler = buildHandlerC();
    const handlerUri = 'file:///work/rme-stack/rmm/runtime/core/handler.c';
    const handlerOpenMs = await open(handlerUri, 'c', handler.text);
    const actionTimes = [];
    for (let index = 0; index < requests; index += 1) {
      const line = handler.tableStart + (index % handler.entries);
      const { ms, result } = await timed('textDocument/codeAction', {
        textDocument: { uri: handlerUri },
        range: { start: { line, character: 2 }, end: { line, character: 2 } },
        context: { diagnostics: [] },
      });
      if (!Array.isArray(result) || result.length < 2)
        throw new Error(`no code actions on line ${line}`);
      actionTimes.push(ms);
    }

    const log = buildLog(100_000);
    const logUri = 'file:///work/rme-stack/logs/aemfvp-a-rme/uart3.log';
    const logOpenMs = await open(logUri, 'rmm-log', log.text);
    const hoverTimes = [];
    for (let index = 0; index < requests; index += 1) {
      const line = log.rmiLines[Math.floor((index * log.rmiLines.length) / requests)];
      const { ms, result } = await timed('textDocument/hover', {
        textDocument: { uri: logUri },
        position: { line, character: 12 },
      });
      if (!result) throw new Error(`no hover on line ${line}`);
      hoverTimes.push(ms);
    }
    return {
      handlerLines: handler.text.split('\n').length,
      handlerOpenMs,
      actions: summarise(actionTimes),
      logOpenMs,
      hovers: summarise(hoverTimes),
      logBytes: Buffer.byteLength(log.text),
    };
  } finally {
    connection.dispose();
    child.kill();
  }
}

console.log(describeMachine());
console.log('Figure 5: extension start-up and language server\n');

const activation = checkActivationEvents();
console.log(`activation events: ${activation.events.join(', ')}`);
console.log(
  `target: only the product's own views, commands and files, no \`*\`: ` +
    `${activation.problems.length === 0 ? 'met' : `missed (${activation.problems.join(', ')})`}\n`,
);

const bundles = await bundleSizes();
const kb = (bytes) => (bytes / 1024).toFixed(0);
printTable([
  ['bundle', 'dist/ as built (KiB)', 'minified (KiB)'],
  ...bundles.rows.map((row) => [row.file, kb(row.built), kb(row.minified)]),
]);
const extensionCode = bundles.rows.filter((row) => row.file !== 'cli.js');
const builtTotal = extensionCode.reduce((sum, row) => sum + row.built, 0);
const minifiedTotal = extensionCode.reduce((sum, row) => sum + row.minified, 0);
console.log(
  `extension code (extension.js, server.js, emulated-realm.js; without cli.js and the WASM): ` +
    `${kb(builtTotal)} KiB as built, ${kb(minifiedTotal)} KiB minified`,
);
console.log(
  `largest parts of extension.js, minified (KiB): ` +
    bundles.largest.map(([name, bytes]) => `${name} ${kb(bytes)}`).join(', '),
);
console.log(
  `target: under 1 MB (1024 KiB): ${builtTotal < 1024 * 1024 ? 'met' : 'missed'} as built, ${minifiedTotal < 1024 * 1024 ? 'met' : 'missed'} minified\n`,
);

const runs = envNumber('BENCH_ACTIVATION_RUNS', 3);
const codeServerPaths = await import(path.join(root, 'scripts/vscode-test/paths.mjs'));
const codeServerEntry = codeServerPaths.codeServerEntry();
if (!statSync(codeServerEntry, { throwIfNoEntry: false })) {
  console.log(`activation: skipped, ${codeServerEntry} not found (run npm run test:setup)\n`);
} else {
  const times = [];
  let version = '';
  for (let run = 0; run < runs; run += 1) {
    const report = await activateOnce();
    if (report.wasActive) throw new Error('the extension was active before the index ran');
    times.push(report.ms);
    version = report.version;
  }
  const summary = summarise(times);
  console.log(
    `activation in code-server (VS Code ${version}), ${runs} fresh starts: ` +
      `${times.map((ms) => ms.toFixed(0)).join(', ')} ms, median ${summary.median.toFixed(0)} ms`,
  );
  console.log(`target: under 50 ms: ${summary.median < 50 ? 'met' : 'missed'}\n`);
}

const server = await measureLanguageServer(envNumber('BENCH_ROUNDS', 200));
console.log(`language server (dist/server.js over stdio, request to reply):`);
console.log(
  `  handler.c (${server.handlerLines} lines) open to diagnostics: ${server.handlerOpenMs.toFixed(1)} ms`,
);
console.log(`  code action on a table entry: ${formatMs(server.actions)}`);
console.log(
  `  100,000-line log (${(server.logBytes / 1e6).toFixed(1)} MB) open to diagnostics: ` +
    `${server.logOpenMs.toFixed(0)} ms`,
);
console.log(`  hover on an RMI line: ${formatMs(server.hovers)}`);
const slowest = Math.max(server.actions.p90, server.hovers.p90);
console.log(`target: answers under 10 ms (p90): ${slowest < 10 ? 'met' : 'missed'}`);
