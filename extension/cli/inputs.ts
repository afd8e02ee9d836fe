import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Image file extensions the client accepts; other files in a folder are skipped. */
export const imageExtensions = ['.bmp', '.png', '.jpg', '.jpeg'];

/** The demo's model, labels and images, resolved to paths. */
export interface DemoInputs {
  model: string;
  labels: string;
  images: string[];
  /** Describes where the defaults came from, for messages. */
  source: 'flags' | 'CCA_DATA_DIR' | 'repository';
}

export interface InputFlags {
  model?: string;
  labels?: string;
  /** Image files or folders named on the command line. */
  images: string[];
}

/** Raised for missing or unusable input; the message tells the user how to fix it. */
export class InputError extends Error {}

// The realm's model and labels, as GuaranTEE's realm/ folder ships them; not committed here.
const repositoryModel = path.join('realm', 'mobilenet_v1_1.0_224.tflite');
const repositoryLabels = path.join('realm', 'labels.txt');
const repositoryImages = path.join('normal_world', 'input_data');
const dataDirModel = path.join('models', 'mobilenet_v1_0.75_192_quant.tflite');

/**
 * Resolves the inputs: command-line flags first, then the data folder named by CCA_DATA_DIR
 * (`models/`, `labels/`, `images/`), then the repository's `realm/` and
 * `normal_world/input_data/`. Each value falls back on its own.
 */
export function resolveInputs(
  flags: InputFlags,
  env: NodeJS.ProcessEnv,
  repositoryRoot: string,
): DemoInputs {
  const dataDir = env.CCA_DATA_DIR ? path.resolve(env.CCA_DATA_DIR) : undefined;
  if (dataDir && !existsSync(dataDir)) {
    throw new InputError(`CCA_DATA_DIR is set to ${dataDir}, which does not exist.`);
  }
  const fallback = (dataPart: string, repositoryPart: string): string =>
    dataDir ? path.join(dataDir, dataPart) : path.join(repositoryRoot, repositoryPart);

  const model = flags.model ?? fallback(dataDirModel, repositoryModel);
  const labels = flags.labels ?? fallback(path.join('labels', 'labels.txt'), repositoryLabels);
  const imageSources =
    flags.images.length > 0 ? flags.images : [fallback('images', repositoryImages)];

  requireFile(model, 'Model', modelHint);
  requireFile(labels, 'Labels file', modelHint);
  const images = imageSources.flatMap(listImages);
  if (images.length === 0) {
    throw new InputError(
      `No images (${imageExtensions.join(', ')}) found in ${imageSources.join(', ')}.`,
    );
  }
  let source: DemoInputs['source'] = 'repository';
  if (dataDir) source = 'CCA_DATA_DIR';
  if (flags.model) source = 'flags';
  return { model, labels, images, source };
}

const modelHint =
  'The realm classifies with MobileNet v1 (mobilenet_v1_1.0_224.tflite and labels.txt), which ' +
  "GuaranTEE's checkout keeps in its realm/ folder and TensorFlow's hosted models offer for " +
  'download. Copy them into realm/, pass --model FILE --labels FILE, or set CCA_DATA_DIR to a ' +
  'folder with models/, labels/ and images/.';

function requireFile(file: string, what: string, hint: string): void {
  if (!existsSync(file)) throw new InputError(`${what} not found: ${file}\n${hint}`);
  if (!statSync(file).isFile()) throw new InputError(`${what} is not a file: ${file}`);
}

/** Lists the images a command-line argument names: the file itself, or a folder's images. */
function listImages(source: string): string[] {
  if (!existsSync(source)) throw new InputError(`Image or folder not found: ${source}`);
  if (!statSync(source).isDirectory()) return [path.resolve(source)];
  return readdirSync(source)
    .filter((name) => imageExtensions.includes(path.extname(name).toLowerCase()))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((name) => path.resolve(source, name));
}
