import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  ImageSourceNotFoundError,
  imageExtensions,
  isImageFile,
  listImages,
} from '../core/image-files';
import { checkTfliteModelFile } from '../core/realm-runtime/model-file';

/** The demo's model, labels and images, resolved to paths. */
export interface DemoInputs {
  model: string;
  labels: string;
  images: string[];
  /** Origin of the model path, for messages. */
  modelSource: InputSource;
  /** Origin of the image list, for messages. */
  imagesSource: InputSource;
}

export interface InputFlags {
  model?: string;
  labels?: string;
  /** Image files or folders named on the command line. */
  images: string[];
}

/** Origin of an input: a flag or argument, the data folder, or this repository. */
export type InputSource = 'arguments' | 'CCA_DATA_DIR' | 'repository';

/** Raised for missing or unusable input; the message explains the fix to the user. */
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
    throw new InputError(
      `CCA_DATA_DIR is set to ${dataDir}, which does not exist. Unset it, or point it at a ` +
        'folder with models/, labels/ and images/.',
    );
  }
  const fallback = (dataPart: string, repositoryPart: string): string =>
    dataDir ? path.join(dataDir, dataPart) : path.join(repositoryRoot, repositoryPart);

  const defaultSource: InputSource = dataDir ? 'CCA_DATA_DIR' : 'repository';
  const modelSource = flags.model ? 'arguments' : defaultSource;
  const imagesSource = flags.images.length > 0 ? 'arguments' : defaultSource;
  const model = flags.model ?? fallback(dataDirModel, repositoryModel);
  const labels = flags.labels ?? fallback(path.join('labels', 'labels.txt'), repositoryLabels);
  const imageSources =
    flags.images.length > 0 ? flags.images : [fallback('images', repositoryImages)];

  requireFile(model, 'Model', hints[modelSource]);
  requireFile(labels, 'Labels file', hints[flags.labels ? 'arguments' : defaultSource]);
  requireTfliteModel(model);
  const images = imageSources.flatMap(listImagesOf);
  if (images.length === 0) {
    throw new InputError(
      `No images (${imageExtensions.join(', ')}) found in ${imageSources.join(', ')}.`,
    );
  }
  return { model, labels, images, modelSource, imagesSource };
}

const hints: Record<InputSource, string> = {
  arguments: 'Check the path given on the command line.',
  CCA_DATA_DIR:
    'CCA_DATA_DIR must name a folder with models/, labels/ and images/; pass --model FILE ' +
    'and --labels FILE to use other files.',
  repository:
    'The realm classifies with MobileNet v1 (mobilenet_v1_1.0_224.tflite and labels.txt), ' +
    "which GuaranTEE's checkout keeps in its realm/ folder. Copy both into realm/, pass " +
    '--model FILE --labels FILE, or set CCA_DATA_DIR to a folder with models/, labels/ and ' +
    'images/.',
};

function requireTfliteModel(model: string): void {
  const problem = checkTfliteModelFile(model);
  if (problem) throw new InputError(problem);
}

function requireFile(file: string, what: string, hint: string): void {
  if (!existsSync(file)) throw new InputError(`${what} not found: ${file}\n${hint}`);
  if (!statSync(file).isFile()) throw new InputError(`${what} is not a file: ${file}`);
}

/** Lists the images a command-line argument names: the file itself, or a folder's images. */
function listImagesOf(source: string): string[] {
  if (existsSync(source) && !statSync(source).isDirectory() && !isImageFile(source)) {
    throw new InputError(
      `${source} is not an image file: name .bmp, .png, .jpg or .jpeg files, or a folder.`,
    );
  }
  try {
    return listImages(source);
  } catch (error) {
    if (error instanceof ImageSourceNotFoundError) throw new InputError(error.message);
    throw error;
  }
}
