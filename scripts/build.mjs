// Bundles the command line and the emulated realm with esbuild into dist/, and copies the
// TensorFlow Lite WASM build beside them so that dist/ runs without node_modules lookups.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const quiet = process.argv.includes('--quiet');
const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const require = createRequire(import.meta.url);

await build({
  entryPoints: {
    cli: path.join(root, 'extension/cli/main.ts'),
    'emulated-realm': path.join(root, 'extension/cli/emulated-realm.ts'),
    extension: path.join(root, 'extension/vscode/extension.ts'),
    server: path.join(root, 'extension/server/server.ts'),
  },
  // VS Code provides this module to the extension host at run time. ssh2's optional native
  // addons (its crypto binding and cpu-features) stay out of the bundle: ssh2 loads them in
  // try/catch, so dist/ runs on its pure JavaScript code where they are absent.
  external: ['vscode', 'cpu-features', '*.node'],
  outdir: dist,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: quiet ? 'warning' : 'info',
});

// The Emscripten loader is required at run time by path, so it stays out of the bundle.
const wasmSource = path.join(
  path.dirname(require.resolve('@tensorflow/tfjs-tflite/package.json')),
  'wasm',
);
await mkdir(path.join(dist, 'wasm'), { recursive: true });
for (const file of ['tflite_web_api_cc_simd.js', 'tflite_web_api_cc_simd.wasm']) {
  await copyFile(path.join(wasmSource, file), path.join(dist, 'wasm', file));
}
if (!quiet) console.log(`built ${path.relative(root, dist)}/`);
