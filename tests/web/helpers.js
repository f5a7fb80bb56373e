// Shared by the node tests: start `dseek serve` on an ephemeral port, read
// server-sent events, read /metrics. Configuration comes from ctest's
// environment (tests/web/CMakeLists.txt).
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this test through ctest (tests/web/CMakeLists.txt)`);
  return v;
}

// Loads a package installed by the npm fixture, or fails with a clear message.
function requirePackage(name) {
  try {
    return require(name);
  } catch (e) {
    throw new Error(`FAIL: the npm package '${name}' is not installed (the web_npm_setup ctest fixture runs ` +
      `'npm ci' from tests/web/package-lock.json): ${e.message}`);
  }
}

const config = {
  binary: () => env('DSEEK_BINARY'),
  model: () => env('DSEEK_SERVE_MODEL'),
  r1Template: () => env('DSEEK_R1_TEMPLATE'),
  artifacts: () => { const d = env('DSEEK_ARTIFACTS'); fs.mkdirSync(d, { recursive: true }); return d; },
  thinkEnd: 128799,  // "</think>" in R1's tokenizer
};

// Resolves to {url, port, proc, log(), stop()} once the server listens.
function startServer(args = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(config.binary(), ['serve', config.model(), '--port', '0', '-t', '1', ...args],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    let settled = false;
    const timer = setTimeout(() => {
      if (!settled) { settled = true; proc.kill('SIGKILL'); reject(new Error('dseek serve did not start:\n' + log)); }
    }, 60000);
    proc.stderr.on('data', (d) => {
      log += d.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
      if (m && !settled) {
        settled = true;
        clearTimeout(timer);
        const port = Number(m[1]);
        const exited = new Promise((res) => proc.on('exit', (code, sig) => res({ code, sig })));
        resolve({
          url: `http://127.0.0.1:${port}`,
          port,
          proc,
          log: () => log,
          async stop() {
            if (proc.exitCode !== null) return { code: proc.exitCode };
            proc.kill('SIGTERM');
            const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
            const r = await exited;
            clearTimeout(t);
            return r;
          },
        });
      }
    });
    proc.on('exit', (code) => {
      if (!settled) { settled = true; clearTimeout(timer); reject(new Error(`dseek serve exited (${code}):\n${log}`)); }
    });
  });
}

// Reads an SSE response body; calls onEvent(json|'[DONE]') per event; checks framing.
async function readSse(res, onEvent) {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      if (ev.startsWith(':')) continue;
      if (!ev.startsWith('data: ')) throw new Error('malformed event: ' + JSON.stringify(ev));
      const data = ev.slice(6);
      if (onEvent(data === '[DONE]' ? '[DONE]' : JSON.parse(data)) === false) return false;
    }
  }
  if (buf.length) throw new Error('trailing bytes after the last event: ' + JSON.stringify(buf));
  return true;
}

async function metrics(url) {
  const text = await (await fetch(url + '/metrics')).text();
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m && !m[2]) out[m[1]] = Number(m[3]);
  }
  return out;
}

async function waitFor(fn, ms, what) {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 20));
  }
}

module.exports = { config, startServer, readSse, metrics, waitFor, requirePackage, path };
