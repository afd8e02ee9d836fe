import path from 'node:path';
import { runDemo } from './demo';
import { FolderLockedError } from '../core/protocol/lock';
import { ResultsFileExistsError } from '../core/results';
import { InputError } from './inputs';

const usage = `Usage: node dist/cli.js <command> [options]

Commands:
  demo   classify images in the emulated realm (npm run demo -- --help for options)
`;

// The bundle is dist/cli.js and the tsc output is out/cli/main.js, so the repository root is
// one folder up from dist/ or two folders up from out/cli/.
function findRepositoryRoot(): string {
  const candidate = path.resolve(__dirname, '..');
  return path.basename(candidate) === 'out' ? path.resolve(candidate, '..') : candidate;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo':
      return runDemo(rest, findRepositoryRoot());
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(usage);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`Unknown command "${command}".\n${usage}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const code = (error as { code?: unknown }).code;
    const expected =
      error instanceof InputError ||
      error instanceof FolderLockedError ||
      error instanceof ResultsFileExistsError ||
      (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`Error: ${message}\n`);
    if (!expected && error instanceof Error && error.stack)
      process.stderr.write(`${error.stack}\n`);
    process.exitCode = 2;
  },
);
