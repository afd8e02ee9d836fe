import { appendFile, open, readFile, writeFile } from 'node:fs/promises';
import { parseSignalling } from '../../../core/protocol/signalling';
import { realmLines, type Prediction } from '../../../core/protocol/output';

/** Test realm behaviour per image: predictions to print, a `FATAL:` exit, or no reply. */
export type Answer = (imagePath: string) => Prediction[] | 'fatal' | 'ignore';

export interface FakeRealmOptions {
  signallingFile: string;
  outputFile: string;
  /** Poll interval in milliseconds; the realm binary uses 5000. */
  pollMs: number;
  answer: Answer;
}

/**
 * The realm side as the realm binary behaves: polls signalling.txt, prints the same lines to
 * output.txt, and replies by truncating the signalling file in place and writing `processed`
 * (not atomically). It runs in the test process; `stop()` plays a realm that dies.
 */
export class FakeRealm {
  readonly handled: string[] = [];
  private running = true;
  private exitMessage: string | undefined;
  private readonly loop: Promise<void>;

  constructor(private readonly options: FakeRealmOptions) {
    this.loop = this.run();
  }

  /** Returns a message once the realm has stopped, as a process handle would. */
  status = (): string | undefined => this.exitMessage;

  async stop(): Promise<void> {
    this.running = false;
    this.exitMessage ??= 'the test realm stopped';
    await this.loop;
  }

  private async print(line: string): Promise<void> {
    await appendFile(this.options.outputFile, line + '\n');
  }

  private async run(): Promise<void> {
    await this.print(realmLines.loadedModel('/realm/model.tflite'));
    while (this.running) {
      await this.print(realmLines.checkState());
      const imagePath = await this.waitForQuery();
      if (imagePath === undefined) return;
      await this.print(realmLines.stateIsQuery(imagePath));
      const imageExists = await readFile(imagePath).then(
        () => true,
        () => false,
      );
      const answer = imageExists ? this.options.answer(imagePath) : 'fatal';
      if (answer === 'ignore') continue;
      if (answer === 'fatal') {
        await this.print(realmLines.fatalNotFound(imagePath));
        this.exitMessage = 'the test realm exited with code 1';
        this.running = false;
        return;
      }
      await this.print(realmLines.inputName(imagePath));
      await this.print(realmLines.appliedXnnpack());
      for (const prediction of answer) await this.print(realmLines.result(prediction));
      this.handled.push(imagePath);
      // The binary truncates and rewrites in place; a reader can see the file empty.
      const handle = await open(this.options.signallingFile, 'w');
      await handle.write('systemState: processed\n');
      await handle.close();
    }
  }

  private async waitForQuery(): Promise<string | undefined> {
    while (this.running) {
      const text = await readFile(this.options.signallingFile, 'utf8').catch(() => '');
      const signalling = parseSignalling(text);
      if (signalling.state === 'query' && signalling.fileName) return signalling.fileName;
      await this.print(realmLines.waitingForQuery());
      await new Promise((resolve) => setTimeout(resolve, this.options.pollMs));
    }
    return undefined;
  }
}

/** Writes a tiny valid 24-bit BMP (2x2) so the client can send it unchanged. */
export async function writeTinyBmp(file: string): Promise<void> {
  const rowSize = 8;
  const pixelBytes = rowSize * 2;
  const bytes = Buffer.alloc(54 + pixelBytes);
  bytes.write('BM', 0, 'ascii');
  bytes.writeUInt32LE(bytes.length, 2);
  bytes.writeUInt32LE(54, 10);
  bytes.writeUInt32LE(40, 14);
  bytes.writeInt32LE(2, 18);
  bytes.writeInt32LE(2, 22);
  bytes.writeUInt16LE(1, 26);
  bytes.writeUInt16LE(24, 28);
  bytes.writeUInt32LE(pixelBytes, 34);
  bytes.fill(0x80, 54);
  await writeFile(file, bytes);
}
