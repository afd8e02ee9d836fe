// End-to-end test of the installed extension in the code-server workbench, driven through
// headless Chromium: classify an image from the Explorer and read the results view.
// scripts/vscode-test/e2e.mjs starts code-server and sets the variables that ./driver reads.
// Screenshots go to CCA_E2E_SCREENSHOTS for a person to look at.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import type { Chromium } from '../../../scripts/vscode-test/code-server.mjs' with {
  'resolution-mode': 'import',
};
import { requireEnv, screenshot } from './driver';

const MODEL = 'mobilenet_v1_0.75_192_quant.tflite';
const IMAGE = 'image1.bmp';

/** Returns the label line that TensorFlow Lite ranks first for IMAGE with MODEL. */
function expectedTopLabel(): string {
  const file = path.join(requireEnv('CCA_DATA_DIR'), 'expected', 'top5.json');
  const expected = JSON.parse(readFileSync(file, 'utf8')) as Record<
    string,
    Record<string, { label: string }[]>
  >;
  const label = expected[MODEL]?.[IMAGE]?.[0]?.label;
  if (!label) throw new Error(`${file} has no top-5 for ${IMAGE} with ${MODEL}`);
  return label;
}

/**
 * Returns the content of the open webview. VS Code puts a webview in an iframe
 * (`iframe.webview`, with class `ready` once loaded) and its HTML in a second iframe
 * (`#active-frame`) inside that one. With more than one webview open, the locator fails as
 * ambiguous rather than reading the wrong one.
 */
function webviewContent(page: Page): FrameLocator {
  return page
    .locator('iframe.webview.ready')
    .contentFrame()
    .locator('iframe#active-frame')
    .contentFrame();
}

describe('workbench', () => {
  let browser: Chromium | undefined;
  let page: Page;

  before(async () => {
    const { launchChromium } = await import('../../../scripts/vscode-test/code-server.mjs');
    browser = await launchChromium();
    page = browser.page;
    page.setDefaultTimeout(60_000);
    await page.goto(requireEnv('CCA_E2E_URL'));
  });

  after(async () => {
    await browser?.close();
  });

  test('Explorer shows the images folder', async () => {
    const explorer = page.locator('.explorer-folders-view');
    const images = explorer.getByRole('treeitem', { name: 'images', exact: true });
    await images.waitFor();
    await screenshot(page, 'explorer.png');
    assert.equal(await images.isVisible(), true);
  });

  test('Classify in Realm shows the top label', async () => {
    const explorer = page.locator('.explorer-folders-view');
    const folder = explorer.getByRole('treeitem', { name: 'images', exact: true });
    if ((await folder.getAttribute('aria-expanded')) !== 'true') await folder.click();
    const image = explorer.getByRole('treeitem', { name: IMAGE, exact: true });
    await image.click({ button: 'right' });

    const menuItem = page.getByRole('menuitem', { name: 'Classify in Realm', exact: true });
    await menuItem.waitFor();
    await screenshot(page, 'context-menu.png');
    await menuItem.click();

    const tab = page.getByRole('tab', { name: /^Realm Results/ });
    await tab.waitFor();
    const results = webviewContent(page);
    const label = results.getByText(expectedTopLabel(), { exact: true }).first();
    await label.waitFor();
    await screenshot(page, 'realm-results.png');
    assert.equal(await label.isVisible(), true);
    assert.equal(await results.getByText(IMAGE, { exact: true }).first().isVisible(), true);
  });
});
