import { open } from 'node:fs/promises';
import * as vscode from 'vscode';
import type { ConsoleState } from '../../core/telnet/console';
import type { ConsoleManager, ConsoleTarget, ManagedConsole } from './manager';

// The earlier part of a UART file shown before the live output, in bytes.
const uartFileLimit = 4 * 1024 * 1024;

/**
 * A terminal bound to one console: shows its kept output, then the live output and each
 * connection state change, and sends keystrokes and the window size to the board.
 */
export class ConsoleTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private managed: ManagedConsole | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly manager: ConsoleManager,
    private readonly target: ConsoleTarget,
  ) {}

  open(dimensions: vscode.TerminalDimensions | undefined): void {
    this.start(dimensions).catch((error: unknown) => {
      this.status(
        `${this.target.label}: failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  }

  private async start(dimensions: vscode.TerminalDimensions | undefined): Promise<void> {
    this.status(`${this.target.label}: log file ${this.target.logFile}`);
    const managed = this.manager.open(this.target);
    this.managed = managed;
    if (this.target.uartFile && managed.uartFileEnd > 0) {
      await this.showUartFile(this.target.uartFile, managed.uartFileEnd);
    }

    this.subscriptions.push(
      managed.attach((text) => this.writeEmitter.fire(text)),
      toDisposable(managed.console.onState((state, detail) => this.showState(state, detail))),
    );
    this.showState(managed.console.state, '');
    if (dimensions) managed.console.resize(dimensions.columns, dimensions.rows);
  }

  close(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    void this.manager.close(this.target.key);
  }

  handleInput(data: string): void {
    this.managed?.console.write(data);
  }

  setDimensions(dimensions: vscode.TerminalDimensions): void {
    this.managed?.console.resize(dimensions.columns, dimensions.rows);
  }

  private showState(state: ConsoleState, detail: string): void {
    this.status(`${this.target.label}: ${state}${detail ? ` (${detail})` : ''}`);
  }

  private status(message: string): void {
    // Dim text on its own line, so it reads apart from the board's output.
    this.writeEmitter.fire(`\r\n\x1b[2m[CCA] ${message}\x1b[0m\r\n`);
  }

  private async showUartFile(file: string, end: number): Promise<void> {
    const start = Math.max(0, end - uartFileLimit);
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(end - start);
      await handle.read(buffer, 0, buffer.length, start);
      this.status(
        `earlier output from ${file}${start > 0 ? ` (last ${uartFileLimit} bytes)` : ''}`,
      );
      this.writeEmitter.fire(buffer.toString('utf8').replace(/\r?\n/g, '\r\n'));
      this.status('live output');
    } finally {
      await handle.close();
    }
  }
}

function toDisposable(subscription: { dispose(): void }): vscode.Disposable {
  return { dispose: () => subscription.dispose() };
}
