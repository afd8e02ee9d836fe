import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { makeThumbnailPng } from '../../core/images/thumbnail';
import type { ImageResult } from '../../core/protocol/client';
import { listResultsFiles, readResultsFile, thumbnailPath } from '../../core/results';
import { renderResultsPage, type ImageRow, type RunChoice } from './results-html';

/** Identifies the results webview, also for restoring it after a reload. */
export const resultsViewType = 'ccaRealmStudio.results';

interface PanelState {
  run?: string;
}

/**
 * The "Realm Results" webview: one run at a time, chosen from the runs saved under
 * `.cca/results/`, and updated live while a batch runs.
 */
export class ResultsPanel implements vscode.WebviewPanelSerializer<PanelState> {
  private panel: vscode.WebviewPanel | undefined;
  private selectedRun: string | undefined;
  private live: { file: string; results: ImageResult[] } | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly baseDir: () => string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Opens the view, or brings it to the front, showing `run` or the newest run. */
  async show(run?: string): Promise<void> {
    if (run) this.selectedRun = run;
    if (this.panel) {
      this.panel.reveal(undefined, true);
    } else {
      const panel = vscode.window.createWebviewPanel(
        resultsViewType,
        'Realm Results',
        { viewColumn: vscode.ViewColumn.Active, preserveFocus: true },
        this.webviewOptions(),
      );
      this.attach(panel);
    }
    await this.render();
  }

  /** Restores the view after a window reload. */
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: PanelState): Promise<void> {
    panel.webview.options = this.webviewOptions();
    this.selectedRun = state?.run;
    this.attach(panel);
    await this.render();
  }

  /** Shows a batch as it runs; results arrive through `addLiveResult`. */
  async startLive(file: string): Promise<void> {
    this.live = { file, results: [] };
    await this.show(file);
  }

  async addLiveResult(result: ImageResult): Promise<void> {
    this.live?.results.push(result);
    if (this.selectedRun === this.live?.file) await this.render();
  }

  async endLive(): Promise<void> {
    this.live = undefined;
    await this.render();
  }

  dispose(): void {
    this.panel?.dispose();
  }

  private webviewOptions(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [
        vscode.Uri.joinPath(this.extensionUri, 'media'),
        vscode.Uri.file(path.join(this.baseDir(), '.cca')),
      ],
    };
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    panel.onDidDispose(() => {
      if (this.panel === panel) this.panel = undefined;
    });
    panel.webview.onDidReceiveMessage((message: unknown) => this.onMessage(message));
  }

  private async onMessage(message: unknown): Promise<void> {
    if (typeof message !== 'object' || message === null) return;
    const { type, run, path: imagePath } = message as Record<string, unknown>;
    if (type === 'selectRun' && typeof run === 'string') {
      this.selectedRun = run;
      await this.render();
    } else if (type === 'openImage' && typeof imagePath === 'string') {
      await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(imagePath));
    }
  }

  private async render(): Promise<void> {
    const panel = this.panel;
    if (!panel) return;
    const files = await listResultsFiles(this.baseDir());
    if (this.live && !files.includes(this.live.file)) files.unshift(this.live.file);
    const selected =
      this.selectedRun && files.includes(this.selectedRun) ? this.selectedRun : files[0];
    this.selectedRun = selected;

    const running = selected !== undefined && selected === this.live?.file;
    let results: ImageResult[] = [];
    let invalidLines = 0;
    if (running && this.live) {
      results = this.live.results;
    } else if (selected) {
      const stored = await readResultsFile(selected);
      results = stored.results;
      invalidLines = stored.invalidLines;
      if (invalidLines > 0) this.log.warn(`${selected}: ${invalidLines} unreadable line(s)`);
    }

    const webview = panel.webview;
    const rows = await Promise.all(
      results.map((result, position) => this.toRow(webview, selected ?? '', result, position)),
    );
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    panel.webview.html = renderResultsPage(
      { runs: files.map(describeRun), selectedRun: selected, running, rows, invalidLines },
      {
        cspSource: webview.cspSource,
        scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'results.js')).toString(),
        styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'results.css')).toString(),
      },
    );
  }

  private async toRow(
    webview: vscode.Webview,
    resultsFile: string,
    result: ImageResult,
    position: number,
  ): Promise<ImageRow> {
    const thumbnail = await ensureThumbnail(result.image, thumbnailPath(resultsFile, position));
    return {
      name: path.basename(result.image),
      path: result.image,
      thumbnail: thumbnail
        ? webview.asWebviewUri(vscode.Uri.file(thumbnail)).toString()
        : undefined,
      top5: result.top5,
      ms: result.ms,
      error: result.error,
    };
  }
}

/**
 * Returns the thumbnail's path, writing it first from the image when it is missing. Returns
 * undefined when the image is gone or cannot be decoded.
 */
export async function ensureThumbnail(
  image: string,
  thumbnail: string,
): Promise<string | undefined> {
  if (existsSync(thumbnail)) return thumbnail;
  try {
    const png = makeThumbnailPng(await readFile(image), image);
    await mkdir(path.dirname(thumbnail), { recursive: true });
    await writeFile(thumbnail, png);
    return thumbnail;
  } catch {
    return undefined;
  }
}

function describeRun(file: string): RunChoice {
  // Results files are named `<ISO time with - for : and .>-<random>.jsonl`.
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})/.exec(path.basename(file));
  const label = match ? `${match[1]} ${match[2]}:${match[3]}:${match[4]} UTC` : path.basename(file);
  return { id: file, label };
}
