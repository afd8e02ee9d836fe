/**
 * HTML of the results view. Pure functions without `vscode`, so unit tests render them in Node.
 * Every text from a file (image names, labels, errors, paths) goes through `escapeHtml`.
 */

/** One image's row in the view. */
export interface ImageRow {
  name: string;
  path: string;
  /** Webview URI of the PNG thumbnail; undefined when the image can no longer be read. */
  thumbnail?: string;
  top5: { index: number; label: string; confidence: number }[];
  ms: number | null;
  error: string | null;
}

/** A run to choose in the view's run list. */
export interface RunChoice {
  id: string;
  label: string;
}

export interface ResultsPage {
  runs: RunChoice[];
  selectedRun: string | undefined;
  /** True while the selected run is still classifying. */
  running: boolean;
  rows: ImageRow[];
  /** Lines of the results file that could not be read. */
  invalidLines: number;
}

/** Webview resources: the CSP source and the URIs of the view's script and style sheet. */
export interface PageResources {
  cspSource: string;
  scriptUri: string;
  styleUri: string;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * Renders the page. The content security policy allows only the webview's own resources:
 * no inline script or style, no remote content.
 */
export function renderResultsPage(page: ResultsPage, resources: PageResources): string {
  const source = escapeHtml(resources.cspSource);
  const csp = [
    "default-src 'none'",
    `img-src ${source}`,
    `style-src ${source}`,
    `script-src ${source}`,
  ].join('; ');
  const body = page.runs.length === 0 ? renderEmpty() : renderRun(page);

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(resources.styleUri)}">
<title>Realm Results</title>
</head>
<body>
${body}
<script src="${escapeHtml(resources.scriptUri)}"></script>
</body>
</html>`;
}

function renderEmpty(): string {
  return `<p class="empty">No results yet. Run <b>CCA: Classify Images in Realm…</b> or
right-click images in the Explorer and choose <b>Classify in Realm</b>.</p>`;
}

function renderRun(page: ResultsPage): string {
  const options = page.runs
    .map((run) => {
      const selected = run.id === page.selectedRun ? ' selected' : '';
      return `<option value="${escapeHtml(run.id)}"${selected}>${escapeHtml(run.label)}</option>`;
    })
    .join('\n');
  const rows = page.rows.map(renderRow).join('\n');
  const status = page.running ? '<span class="running">classifying…</span>' : '';
  const invalid =
    page.invalidLines > 0
      ? `<p class="warning">${page.invalidLines} line(s) of this results file could not be read.</p>`
      : '';
  return `<header>
<label for="run">Run</label>
<select id="run">${options}</select>
<span class="summary">${escapeHtml(summarise(page.rows))}</span>
${status}
</header>
${invalid}
<table>
<thead><tr><th>Image</th><th>Top-5 labels</th><th>Time</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

function renderRow(row: ImageRow): string {
  const thumbnail = row.thumbnail
    ? `<img class="thumbnail" src="${escapeHtml(row.thumbnail)}" alt="">`
    : '<div class="thumbnail missing"></div>';
  const name = `<a href="#" class="image-link" data-path="${escapeHtml(row.path)}" title="${escapeHtml(row.path)}">${escapeHtml(row.name)}</a>`;
  const labels = row.error
    ? `<div class="error">${escapeHtml(row.error)}</div>`
    : renderLabels(row.top5);
  const time = row.ms === null ? '–' : `${row.ms} ms`;
  return `<tr class="${row.error ? 'failed' : 'classified'}">
<td class="image">${thumbnail}${name}</td>
<td class="labels">${labels}</td>
<td class="time">${time}</td>
</tr>`;
}

function renderLabels(top5: ImageRow['top5']): string {
  if (top5.length === 0) return '<div class="none">No class scored 0.001 or more.</div>';
  const items = top5
    .map((p) => {
      const percent = Math.max(0, Math.min(100, p.confidence * 100));
      // The bar width is a class per whole percent, since the CSP forbids inline styles.
      const bar = `<span class="bar w${Math.round(percent)}"></span>`;
      return `<li>${bar}<span class="confidence">${p.confidence.toFixed(4)}</span> <span class="label">${escapeHtml(p.label)}</span></li>`;
    })
    .join('');
  return `<ol>${items}</ol>`;
}

function summarise(rows: readonly ImageRow[]): string {
  const failed = rows.filter((row) => row.error).length;
  const times = rows.flatMap((row) => (!row.error && row.ms !== null ? [row.ms] : []));
  const mean = times.length > 0 ? times.reduce((a, b) => a + b, 0) / times.length : undefined;
  const parts = [`${rows.length} image${rows.length === 1 ? '' : 's'}`, `${failed} failed`];
  if (mean !== undefined) parts.push(`mean ${Math.round(mean)} ms`);
  return parts.join(', ');
}
