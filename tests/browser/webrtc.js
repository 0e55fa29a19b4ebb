#!/usr/bin/env node
// Drives headless Chromium through one WebRTC offer/answer against a test's ICE-lite endpoint.
//
// The test (Rust, tests/webrtc/ or dtls-ffi/tests/) owns the endpoint; this script owns the
// browser. They talk in JSON lines:
//   stdout  {"browser_pid": N}            Chromium's PID, so the test can kill it whatever happens
//   stdout  {"offer": "<sdp>"}            the browser's offer (fake microphone, one audio m-line)
//   stdin   {"answer": "<sdp>"}           the endpoint's answer
//   stdout  {"result": {...}}             states, getStats() reports, then exit 0
//   stdout  {"error": "..."}              on any failure or timeout, then exit 1
//
// Options: --timeout-ms N (whole run, default 30000), --min-inbound N (wait until the browser has
// received N RTP packets on its inbound-rtp, default 0), --hold-ms N (keep the call up N ms after
// it connected, before reading the stats).
//
// Chromium is started here (not by Playwright's launcher) so its PID is known; Playwright only
// connects over CDP. Environment: CHROMIUM (default /usr/bin/chromium).
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

function option(name, dflt) {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`${name} needs a number`);
  return v;
}

const TIMEOUT_MS = option('--timeout-ms', 30000);
const MIN_INBOUND = option('--min-inbound', 0);
const HOLD_MS = option('--hold-ms', 0);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

let browserProc = null;
let userDataDir = null;
let server = null;

function browserRunning() {
  return browserProc && browserProc.exitCode === null && browserProc.signalCode === null;
}

function cleanup() {
  if (browserRunning()) {
    try {
      browserProc.kill('SIGKILL');
    } catch (_) {
      /* already gone */
    }
  }
  if (server) server.close();
  // Chromium may still be writing its profile while it dies; a leftover temp dir is no failure.
  if (userDataDir) {
    try {
      fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 });
    } catch (_) {
      /* left in the temp dir */
    }
  }
}

// Browser.close lets Chromium end (and reap) its own child processes; SIGKILL only if it hangs.
async function closeBrowser(browser) {
  if (!browserRunning()) return;
  const exited = new Promise((r) => browserProc.once('exit', r));
  try {
    const cdp = await browser.newBrowserCDPSession();
    await cdp.send('Browser.close').catch(() => {});
  } catch (_) {
    /* fall through to the kill */
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
}

function fail(msg) {
  emit({ error: String(msg) });
  cleanup();
  process.exit(1);
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => fail(`driver got ${sig}`));
const deadline = setTimeout(() => fail(`driver timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS);

// The page must be a secure context for getUserMedia: http://127.0.0.1 is one, data: URLs are not.
const PAGE = `<!doctype html><meta charset="utf-8"><title>dtls webrtc</title>
<script>
window.pc = null;
window.makeOffer = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  window.pc = pc;
  for (const t of stream.getTracks()) pc.addTransceiver(t, { direction: 'sendrecv', streams: [stream] });
  await pc.setLocalDescription(await pc.createOffer());
  // Wait for gathering so the offer is complete (an ICE-lite peer only answers checks anyway).
  if (pc.iceGatheringState !== 'complete') {
    await new Promise((resolve) => {
      const t = setTimeout(resolve, 3000);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
      });
    });
  }
  return pc.localDescription.sdp;
};
window.applyAnswer = async (sdp) => {
  await window.pc.setRemoteDescription({ type: 'answer', sdp });
};
window.waitConnected = async (ms) => {
  const pc = window.pc;
  const start = Date.now();
  while (pc.connectionState !== 'connected') {
    if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
      throw new Error('connectionState ' + pc.connectionState);
    }
    if (Date.now() - start > ms) throw new Error('not connected after ' + ms + ' ms: ' + pc.connectionState);
    await new Promise((r) => setTimeout(r, 50));
  }
};
window.inboundPackets = async () => {
  let n = 0;
  (await window.pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') n += r.packetsReceived || 0; });
  return n;
};
window.snapshot = async () => {
  const pc = window.pc;
  const reports = [];
  (await pc.getStats()).forEach((r) => reports.push(r));
  return {
    connectionState: pc.connectionState,
    iceConnectionState: pc.iceConnectionState,
    signalingState: pc.signalingState,
    stats: reports,
  };
};
</script>`;

function startBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium)`);
  }
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dtls-chromium-'));
  const args = [
    '--headless',
    '--no-sandbox', // the tests run as root
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--no-default-browser-check',
    // This machine has no network but the registries: keep Chromium from trying.
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
    `--user-data-dir=${userDataDir}`,
    '--remote-debugging-port=0',
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection',
    'about:blank',
  ];
  browserProc = spawn(CHROMIUM, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  emit({ browser_pid: browserProc.pid });
  return new Promise((resolve, reject) => {
    let log = '';
    browserProc.on('error', (e) => reject(new Error(`cannot start ${CHROMIUM}: ${e.message}`)));
    browserProc.on('exit', (code, sig) => reject(new Error(`Chromium exited (${code ?? sig}) before DevTools was up: ${log.slice(-2000)}`)));
    browserProc.stderr.setEncoding('utf8');
    browserProc.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(log);
      if (m) resolve(m[1]);
    });
  });
}

function servePage() {
  return new Promise((resolve) => {
    server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    });
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}/`));
  });
}

function readAnswer() {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: process.stdin });
    let got = false;
    rl.once('line', (line) => {
      got = true;
      rl.close();
      try {
        const msg = JSON.parse(line);
        if (typeof msg.answer !== 'string') throw new Error('no "answer" field');
        resolve(msg.answer);
      } catch (e) {
        reject(new Error(`bad answer line: ${e.message}`));
      }
    });
    rl.once('close', () => {
      if (!got) reject(new Error('stdin closed before an answer came'));
    });
  });
}

async function main() {
  const { chromium } = require('playwright-core');
  const wsEndpoint = await startBrowser();
  const url = await servePage();
  const browser = await chromium.connectOverCDP(wsEndpoint);
  const context = browser.contexts()[0] || (await browser.newContext());
  const page = await context.newPage();
  page.on('console', (m) => process.stderr.write(`[page] ${m.text()}\n`));
  await page.goto(url);

  emit({ offer: await page.evaluate(() => window.makeOffer()) });
  const answer = await readAnswer();
  await page.evaluate((sdp) => window.applyAnswer(sdp), answer);
  await page.evaluate((ms) => window.waitConnected(ms), Math.max(1000, TIMEOUT_MS - 2000));

  const started = Date.now();
  while (MIN_INBOUND > 0 && (await page.evaluate(() => window.inboundPackets())) < MIN_INBOUND) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const left = HOLD_MS - (Date.now() - started);
  if (left > 0) await new Promise((r) => setTimeout(r, left));

  const result = await page.evaluate(() => window.snapshot());
  await page.evaluate(() => window.pc.close());
  emit({ result });
  clearTimeout(deadline);
  await closeBrowser(browser);
  cleanup();
  process.exit(0);
}

main().catch((e) => fail(e && e.stack ? e.stack : e));
