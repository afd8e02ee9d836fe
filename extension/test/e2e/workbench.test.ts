// End-to-end test of the installed extension in the code-server workbench, driven through
// headless Chromium. scripts/vscode-test/e2e.mjs starts code-server and sets the variables
// read below. Screenshots go to CCA_E2E_SCREENSHOTS for a person to look at.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import type { Chromium } from '../../../scripts/vscode-test/code-server.mjs' with {
  'resolution-mode': 'import',
};

const MODEL = 'mobilenet_v1_0.75_192_quant.tflite';
const IMAGE = 'image1.bmp';
// Animations of the workbench (menus, panels, notifications) take about this long to settle.
const SETTLE_MS = 400;

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run this test through scripts/vscode-test/e2e.mjs`);
  return value;
}

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

async function screenshot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(SETTLE_MS);
  await page.screenshot({ path: path.join(requireEnv('CCA_E2E_SCREENSHOTS'), name) });
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
  test('Open FVP Consoles shows the board', async () => {
    const { freePorts, startQemuBoard } =
      await import('../../../scripts/test-peers/qemu-board.mjs');
    const ports = await freePorts(4);
    const board = await startQemuBoard({ ports, waitForClient: true });
    try {
      // The consoles read their ports from the workspace settings, as a user would set them.
      const settingsFile = path.join(requireEnv('CCA_E2E_WORKSPACE'), '.vscode', 'settings.json');
      const settings = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
      settings['ccaRealmStudio.consoles.ports'] = ports;
      writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
      await page.waitForTimeout(1000);

      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.fill('>CCA: Open FVP Consoles');
      await page
        .getByRole('option', { name: /CCA: Open FVP Consoles/ })
        .first()
        .waitFor();
      await page.keyboard.press('Enter');

      const terminalTab = page.getByText(/terminal_0 \(TF-A and normal world\)/).first();
      await terminalTab.waitFor();
      // The guest needs a few seconds under emulation to reach its login prompt.
      await page.waitForTimeout(8000);
      await screenshot(page, 'fvp-consoles.png');
      assert.equal(await terminalTab.isVisible(), true);
    } finally {
      await board.stop();
    }
  });
});
