// Takes what the test board needs out of an unpacked Debian arm64 kernel package: the kernel
// Image and the modules of the 9p shared folder, checked against modules.builtin and against
// the dependencies that each module records.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from './debian.mjs';

/**
 * The modules that a 9p share over virtio-pci needs, in load order, each after the ones it
 * depends on. Debian builds them as modules. A module that a kernel has built in is left out.
 */
export const SHARE_MODULES = [
  'virtio_pci_modern_dev',
  'virtio_pci_legacy_dev',
  'virtio_pci',
  'netfs',
  'fscache',
  '9pnet',
  '9pnet_virtio',
  '9p',
];

/** Returns the module name of a module path (the kernel treats `-` and `_` alike). */
function moduleName(file) {
  return path
    .basename(file)
    .replace(/\.ko(\.\w+)?$/, '')
    .replaceAll('-', '_');
}

/**
 * Returns the modules that a .ko file depends on, from the `depends=` entry of its .modinfo
 * section. The package has no modules.dep, which depmod writes only when it is installed.
 */
function readModuleDependencies(koFile) {
  const binary = readFileSync(koFile);
  const start = binary.indexOf(Buffer.from('\0depends='));
  if (start < 0) return [];
  const end = binary.indexOf(0, start + 1);
  const value = binary.subarray(start + '\0depends='.length, end).toString('latin1');
  return value.split(',').filter(Boolean).map(moduleName);
}

/**
 * Copies the kernel Image and SHARE_MODULES from `unpackedDir` (a `dpkg-deb -x` of the kernel
 * package) into `outputDir`: `Image`, `modules/<name>.ko` and `modules.json` (the load order).
 * Throws when a module is neither a file nor built in, or needs a module loaded after it.
 */
export async function extractKernelParts(unpackedDir, outputDir) {
  const bootDir = path.join(unpackedDir, 'boot');
  const images = existsSync(bootDir)
    ? readdirSync(bootDir).filter((name) => name.startsWith('vmlinuz-'))
    : [];
  if (images.length !== 1) {
    throw new Error(`expected one boot/vmlinuz-* in the kernel package, found ${images.length}`);
  }
  const release = images[0].slice('vmlinuz-'.length);
  const modulesDir = path.join(unpackedDir, 'lib', 'modules', release);
  const builtin = new Set(
    readFileSync(path.join(modulesDir, 'modules.builtin'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(moduleName),
  );
  const moduleFiles = new Map(
    readdirSync(modulesDir, { recursive: true })
      .filter((file) => /\.ko(\.xz)?$/.test(file))
      .map((file) => [moduleName(file), path.join(modulesDir, file)]),
  );

  // Debian's arm64 vmlinuz is an uncompressed Image, which QEMU's -kernel takes as it is.
  await mkdir(path.join(outputDir, 'modules'), { recursive: true });
  await copyFile(path.join(bootDir, images[0]), path.join(outputDir, 'Image'));

  const loaded = [];
  for (const name of SHARE_MODULES) {
    if (builtin.has(name)) continue;
    const source = moduleFiles.get(name);
    if (!source) {
      throw new Error(`kernel ${release} has module ${name} neither as a file nor built in`);
    }
    const target = path.join(outputDir, 'modules', `${name}.ko`);
    await copyModule(source, target);
    const notLoaded = readModuleDependencies(target).filter(
      (dependency) => !loaded.includes(dependency) && !builtin.has(dependency),
    );
    if (notLoaded.length > 0) {
      throw new Error(
        `kernel ${release}: module ${name} needs ${notLoaded.join(', ')}, ` +
          'which is not loaded before it',
      );
    }
    loaded.push(name);
  }

  const parts = { release, modules: loaded };
  await writeFile(path.join(outputDir, 'modules.json'), `${JSON.stringify(parts, null, 2)}\n`);
  return parts;
}

/** Copies a module to `target`, decompressing it when the kernel package ships it with xz. */
async function copyModule(source, target) {
  if (source.endsWith('.ko')) {
    await copyFile(source, target);
    return;
  }
  // Decompressed here, so that /init does not depend on busybox's xz support.
  await runCommand('xz', ['--decompress', '--keep', '--force', source]);
  await copyFile(source.slice(0, -'.xz'.length), target);
}
