import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Returns why a file is not a TensorFlow Lite model, or undefined when it looks like one.
 * TensorFlow Lite flatbuffers carry the identifier `TFL3` at byte offset 4, so the check is
 * cheap enough to run before a realm starts on the file.
 */
export function checkTfliteModelFile(model: string): string | undefined {
  const header = Buffer.alloc(8);
  let fd: number;
  try {
    fd = openSync(model, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? `Model ${model} not found`
      : `Model ${model} cannot be read (${code})`;
  }
  try {
    readSync(fd, header, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1', 4, 8) !== 'TFL3') {
    return `Model ${model} is not a TensorFlow Lite model (no TFL3 identifier); choose a .tflite file`;
  }
  return undefined;
}
