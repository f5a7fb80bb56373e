// The chat page in Debian's chromium, driven by playwright-core: settings,
// a streamed answer, the thinking block, stop, regenerate, conversations
// kept across a reload, safe rendering of hostile text, and nothing fetched
// from anywhere but the server. Saves a screenshot as a test artifact.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { config, startServer, metrics, waitFor, requirePackage } = require('./helpers');

const { chromium } = requirePackage('playwright-core');
const CHROMIUM = process.env.DSEEK_CHROMIUM || '/usr/bin/chromium';

test('web chat page in chromium', { timeout: 150000 }, async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`FAIL: chromium not found at ${CHROMIUM}; run scripts/install_deps.sh (Debian package chromium)`);
  }
  // R1 template, and a default bias on </think> so the random model's answers
  // have both a reasoning part and an answer; a fixed seed keeps them stable.
  const server = await startServer(['--chat-template', config.r1Template(), '-c', '2048', '--parallel', '2',
    '--logit-bias', `${config.thinkEnd}=5`, '--seed', '7']);
  t.after(() => server.stop());

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dseek-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1200, height: 800 },
  });
  t.after(async () => { await context.close(); fs.rmSync(profile, { recursive: true, force: true }); });

  const outside = [];
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(server.url)) return route.continue();
    outside.push(u);
    return route.abort();
  });
  const page = context.pages()[0] || await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });

  await page.goto(server.url + '/');
  await page.waitForFunction(() => document.getElementById('model-name').textContent === 'model');

  // Settings: a short answer and a system prompt.
  await page.click('#open-settings');
  await page.fill('#set-max-tokens', '40');
  await page.fill('#set-system', 'You are terse.');
  await page.click('#save-settings');

  // Type a prompt, see the streamed answer.
  await page.fill('#prompt', 'Hello! Who are you?');
  await page.press('#prompt', 'Enter');
  await page.locator('#stop').waitFor({ state: 'visible' });
  await page.locator('.message.assistant .content').first().waitFor();
  await page.waitForFunction(() => {
    const c = document.querySelector('.message.assistant .content');
    return c && c.textContent.length > 0;
  }, null, { timeout: 30000 });
  await page.locator('#send').waitFor({ state: 'visible', timeout: 30000 });
  const answer = await page.locator('.message.assistant .content').first().textContent();
  assert.ok(answer.length > 0);
  assert.equal(await page.locator('.message.user .content').first().textContent(), 'Hello! Who are you?');

  // The reasoning sits in a collapsed "thinking" block; open it.
  const thinking = page.locator('.message.assistant details.thinking').first();
  await thinking.waitFor({ state: 'visible' });
  assert.equal(await thinking.getAttribute('open'), null);
  await thinking.locator('summary').click();
  assert.notEqual(await thinking.getAttribute('open'), null);
  const thought = await thinking.locator('.thinking-body').textContent();
  assert.ok(thought.length > 0, 'empty thinking block');
  assert.ok(await thinking.locator('.thinking-body').isVisible());

  const shot = path.join(config.artifacts(), 'web-chat.png');
  await page.screenshot({ path: shot, fullPage: false });
  console.log('screenshot:', shot);

  // Stop a long generation.
  await page.click('#open-settings');
  await page.fill('#set-max-tokens', '1500');
  await page.click('#save-settings');
  await page.fill('#prompt', 'Now write a very long story.');
  await page.press('#prompt', 'Enter');
  await page.waitForFunction(() => {
    const all = document.querySelectorAll('.message.assistant');
    const last = all[all.length - 1];
    return all.length === 2 && last && (last.querySelector('.content').textContent.length > 20 ||
      last.querySelector('.thinking-body').textContent.length > 20);
  }, null, { timeout: 30000 });
  const stoppedAt = Date.now();
  await page.click('#stop');
  await page.locator('#send').waitFor({ state: 'visible', timeout: 5000 });
  await page.waitForFunction(() => {
    const notes = document.querySelectorAll('.message.assistant .note');
    return notes.length && notes[notes.length - 1].textContent.includes('stopped');
  });
  const freedMs = await waitFor(async () => {
    const m = await metrics(server.url);
    return m.dseek_requests_active === 0 && m.dseek_requests_queued === 0;
  }, 5000, 'the stopped answer to free its slot');
  console.log(`stop: slot free ${Date.now() - stoppedAt} ms after the click (${freedMs} ms of polling)`);
  const m = await metrics(server.url);
  assert.ok(m.dseek_completion_tokens_total < 1000, 'the stopped answer kept generating');

  // Regenerate the last answer (short again).
  await page.click('#open-settings');
  await page.fill('#set-max-tokens', '12');
  await page.click('#save-settings');
  await page.click('.message.assistant .regenerate');
  await page.locator('#stop').waitFor({ state: 'visible' });
  await page.locator('#send').waitFor({ state: 'visible', timeout: 30000 });
  assert.equal(await page.locator('.message.assistant').count(), 2);
  const note = await page.locator('.message.assistant .note').last().textContent();
  assert.match(note, /12 tokens/);

  // Conversations survive a reload (localStorage).
  await page.click('#new-chat');
  await page.fill('#prompt', 'Second conversation');
  await page.press('#prompt', 'Enter');
  await page.locator('#send').waitFor({ state: 'visible', timeout: 30000 });
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('#conversations li').length === 2);
  await page.locator('#conversations .conv-title', { hasText: 'Hello! Who are you?' }).click();
  assert.equal(await page.locator('.message').count(), 4);

  // Hostile text in a stored answer renders as text; markdown still formats.
  await page.evaluate(() => {
    const all = JSON.parse(localStorage.getItem('dseek.conversations.v1'));
    all.unshift({ id: 'x', title: 'xss', messages: [
      { role: 'user', content: '<img src=x onerror="window.__pwned=1">' },
      { role: 'assistant', reasoning: '<script>window.__pwned=2</script>',
        content: '<img src=x onerror="window.__pwned=3"> **bold**\n```js\nalert("<b>hi</b>")\n```' }] });
    localStorage.setItem('dseek.conversations.v1', JSON.stringify(all));
  });
  await page.reload();
  await page.locator('.message.assistant strong').waitFor();
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator('#messages img').count(), 0);
  assert.equal(await page.locator('#messages script').count(), 0);
  assert.match(await page.locator('.code-block code').textContent(), /alert\("<b>hi<\/b>"\)/);

  assert.deepEqual(outside, [], 'the page fetched something from outside the server');
  assert.deepEqual(pageErrors, [], 'errors in the page');
});
