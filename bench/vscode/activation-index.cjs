// Extension host side of the activation figure in bench/extension.mjs. code-server's test
// runner loads this file (extensionTestsPath) and calls run() before anything activates the
// extension under development. run() first waits until the built-in extensions that start with
// the window have activated, so that their work stays out of the measured time. Then it
// activates this extension and prints the time that took. With
// BENCH_ACTIVATION_PROFILE set to a folder, it also writes a CPU profile of the activation
// there (activation.cpuprofile), taken with Node's inspector.
const console = require('node:console');
const { writeFileSync } = require('node:fs');
const inspector = require('node:inspector');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const process = require('node:process');
const { setTimeout } = require('node:timers');
const vscode = require('vscode');

const extensionId = 'cca-realm-studio.cca-realm-studio';
/** Time for the window's own start-up activations, such as the built-in JSON and npm ones. */
const settleMs = 3000;

/** Runs `action` under the CPU profiler and writes the profile to `file`. */
async function profile(file, action) {
  const session = new inspector.Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  try {
    await action();
  } finally {
    const { profile: result } = await post('Profiler.stop');
    writeFileSync(file, JSON.stringify(result));
    session.disconnect();
  }
}

exports.run = async function run() {
  const extension = vscode.extensions.getExtension(extensionId);
  if (!extension) throw new Error(`extension ${extensionId} not found`);
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const wasActive = extension.isActive;
  const folder = process.env.BENCH_ACTIVATION_PROFILE;
  let ms = 0;
  const activate = async () => {
    const started = performance.now();
    await extension.activate();
    ms = performance.now() - started;
  };
  if (folder) await profile(path.join(folder, 'activation.cpuprofile'), activate);
  else await activate();
  console.log(`BENCH-ACTIVATION ${JSON.stringify({ ms, wasActive, version: vscode.version })}`);
};
