import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  escapeHtml,
  renderResultsPage,
  type ResultsPage,
} from '../../../vscode/inference/results-html';

const resources = {
  cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
  scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/results.js',
  styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/results.css',
};

function page(overrides: Partial<ResultsPage> = {}): ResultsPage {
  return {
    runs: [{ id: '/w/.cca/results/a.jsonl', label: '2026-12-04 16:00:00 UTC' }],
    selectedRun: '/w/.cca/results/a.jsonl',
    running: false,
    rows: [
      {
        name: 'image1.bmp',
        path: '/w/images/image1.bmp',
        thumbnail: 'https://file+.vscode-resource.vscode-cdn.net/w/.cca/thumbnails/a/0.png',
        top5: [{ index: 212, label: '212:vizsla, Hungarian pointer', confidence: 0.647059 }],
        ms: 21,
        error: null,
      },
    ],
    invalidLines: 0,
    ...overrides,
  };
}

describe('renderResultsPage', () => {
  test('strict CSP without inline code', () => {
    const html = renderResultsPage(page(), resources);
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src https:\/\/file\+\.vscode-resource\.vscode-cdn\.net(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.doesNotMatch(html, /<script>/, 'no inline script');
    assert.doesNotMatch(html, /style="/, 'no inline style');
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handler');
  });

  test('shows labels, confidence and time', () => {
    const html = renderResultsPage(page(), resources);
    assert.match(html, /212:vizsla, Hungarian pointer/);
    assert.match(html, /0\.6471/);
    assert.match(html, /21 ms/);
    assert.match(html, /class="bar w65"/);
  });

  test('escapes names, labels and errors', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const html = renderResultsPage(
      page({
        rows: [
          {
            name: `${evil}.bmp`,
            path: `/w/"${evil}.bmp`,
            top5: [],
            ms: null,
            error: `decode failed: <script>alert(2)</script>`,
          },
          {
            name: 'b.bmp',
            path: '/w/b.bmp',
            top5: [{ index: 1, label: '<b onclick="x()">goldfish</b>', confidence: 0.5 }],
            ms: 3,
            error: null,
          },
        ],
      }),
      resources,
    );
    assert.ok(!html.includes('<img src=x'), 'image name is escaped');
    assert.ok(!html.includes('<script>alert'), 'error is escaped');
    assert.ok(!html.includes('<b onclick'), 'label is escaped');
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;.bmp'));
    assert.ok(html.includes('&lt;b onclick=&quot;x()&quot;&gt;goldfish&lt;/b&gt;'));
  });

  test('a failed image shows its error', () => {
    const html = renderResultsPage(
      page({ rows: [{ name: 'a.bmp', path: '/a.bmp', top5: [], ms: null, error: 'timed out' }] }),
      resources,
    );
    assert.match(html, /<div class="error">timed out<\/div>/);
    assert.match(html, /1 image, 1 failed/);
  });

  test('no runs shows how to start', () => {
    const html = renderResultsPage(page({ runs: [], rows: [], selectedRun: undefined }), resources);
    assert.match(html, /No results yet/);
  });

  test('marks the running batch', () => {
    assert.match(renderResultsPage(page({ running: true }), resources), /classifying…/);
  });
});

describe('escapeHtml', () => {
  test('escapes the five HTML characters', () => {
    assert.equal(
      escapeHtml(`<a href="x">'&'</a>`),
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    );
  });
});
