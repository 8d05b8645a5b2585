// tinyaudio page: record labelled clips and watch live classification. Plain JS, no build step.
'use strict';

const $ = (id) => document.getElementById(id);
const LABEL_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;
const state = { dataset: null, runs: [], live: null };
window.liveHistory = [];  // top label of every live message (read by the browser tests)

function setStatus(msg, isError = false) {
  const el = $('status');
  el.textContent = msg;
  el.className = isError ? 'error' : '';
}

async function api(path, opts = {}) {
  const res = await fetch(path, opts);
  const body = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
  return body;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- microphone
async function openMic() {
  const deviceId = $('mic-select').value;
  const audio = { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 };
  if (deviceId) audio.deviceId = { exact: deviceId };
  const stream = await navigator.mediaDevices.getUserMedia({ audio });
  await listMics();
  const ctx = new AudioContext();
  await ctx.audioWorklet.addModule('/static/worklet.js');
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, 'capture-processor');
  const mute = ctx.createGain();
  mute.gain.value = 0;
  source.connect(node).connect(mute).connect(ctx.destination);
  if (ctx.state !== 'running') await ctx.resume();
  return {
    ctx, stream, source, node,
    close() { stream.getTracks().forEach((t) => t.stop()); ctx.close(); },
  };
}

async function listMics() {
  const sel = $('mic-select');
  const current = sel.value;
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput');
  sel.innerHTML = '<option value="">default</option>';
  devices.forEach((d, i) => {
    if (!d.deviceId || d.deviceId === 'default') return;
    const o = new Option(d.label || `microphone ${i + 1}`, d.deviceId);
    sel.add(o);
  });
  sel.value = [...sel.options].some((o) => o.value === current) ? current : '';
}

// ---------------------------------------------------------------- audio helpers
function concat(chunks) {
  const n = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

async function resample(samples, fromRate, toRate) {
  if (fromRate === toRate) return samples;
  const n = Math.round(samples.length * toRate / fromRate);
  const off = new OfflineAudioContext(1, n, toRate);
  const buf = off.createBuffer(1, samples.length, fromRate);
  buf.copyToChannel(samples, 0);
  const src = off.createBufferSource();
  src.buffer = buf;
  src.connect(off.destination);
  src.start();
  return (await off.startRendering()).getChannelData(0).slice(0, n);
}

function encodeWav(samples, rate) {
  const view = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const str = (o, s) => [...s].forEach((ch, i) => view.setUint8(o + i, ch.charCodeAt(0)));
  str(0, 'RIFF'); view.setUint32(4, 36 + samples.length * 2, true); str(8, 'WAVE');
  str(12, 'fmt '); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  str(36, 'data'); view.setUint32(40, samples.length * 2, true);
  samples.forEach((s, i) => view.setInt16(44 + i * 2, Math.max(-1, Math.min(1, s)) * 32767, true));
  return new Blob([view], { type: 'audio/wav' });
}

function fft(re, im) {  // in-place radix-2, length a power of two
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { [re[i], re[j]] = [re[j], re[i]]; [im[i], im[j]] = [im[j], im[i]]; }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = -2 * Math.PI / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const c = Math.cos(ang * k), s = Math.sin(ang * k);
        const a = i + k, b = a + len / 2;
        const tr = re[b] * c - im[b] * s, ti = re[b] * s + im[b] * c;
        re[b] = re[a] - tr; im[b] = im[a] - ti; re[a] += tr; im[a] += ti;
      }
    }
  }
}

function color(v) {  // v in [0, 1] -> dark blue .. yellow
  const r = Math.round(255 * Math.min(1, Math.max(0, 1.8 * v - 0.5)));
  const g = Math.round(255 * Math.min(1, Math.max(0, 1.4 * v - 0.1)));
  const b = Math.round(255 * Math.max(0, Math.min(1, 0.5 + v)) * (1 - v * 0.8));
  return [r, g, b];
}

function drawWaveform(canvas, samples) {
  const g = canvas.getContext('2d'), w = canvas.width, h = canvas.height;
  g.fillStyle = '#fff'; g.fillRect(0, 0, w, h);
  g.strokeStyle = '#1d4ed8'; g.beginPath();
  const per = samples.length / w;
  for (let x = 0; x < w; x++) {
    let lo = 1, hi = -1;
    for (let i = Math.floor(x * per); i < Math.floor((x + 1) * per); i++) { lo = Math.min(lo, samples[i]); hi = Math.max(hi, samples[i]); }
    g.moveTo(x + 0.5, (1 - hi) * h / 2); g.lineTo(x + 0.5, (1 - lo) * h / 2 + 1);
  }
  g.stroke();
}

function drawSpectrogram(canvas, samples, nfft = 256) {
  const hop = nfft / 2, frames = Math.max(1, Math.floor((samples.length - nfft) / hop) + 1), bins = nfft / 2;
  const db = [];
  let max = -Infinity;
  for (let f = 0; f < frames; f++) {
    const re = new Float32Array(nfft), im = new Float32Array(nfft);
    for (let i = 0; i < nfft; i++) re[i] = (samples[f * hop + i] || 0) * (0.5 - 0.5 * Math.cos(2 * Math.PI * i / nfft));
    fft(re, im);
    const col = new Float32Array(bins);
    for (let k = 0; k < bins; k++) { col[k] = 10 * Math.log10(re[k] * re[k] + im[k] * im[k] + 1e-10); max = Math.max(max, col[k]); }
    db.push(col);
  }
  const g = canvas.getContext('2d'), w = canvas.width, h = canvas.height, img = g.createImageData(w, h);
  for (let x = 0; x < w; x++) {
    const col = db[Math.min(frames - 1, Math.floor(x * frames / w))];
    for (let y = 0; y < h; y++) {
      const v = Math.max(0, (col[Math.floor((h - 1 - y) * bins / h)] - (max - 80)) / 80);
      const [r, gg, b] = color(v), p = 4 * (y * w + x);
      img.data[p] = r; img.data[p + 1] = gg; img.data[p + 2] = b; img.data[p + 3] = 255;
    }
  }
  g.putImageData(img, 0, 0);
}

// ---------------------------------------------------------------- record view
async function loadDataset() {
  const d = await api('/api/dataset');
  state.dataset = d;
  $('root').textContent = d.root;
  $('dataset-rate').textContent = d.sample_rate;
  $('clip-len').textContent = d.clip_seconds;
  const sel = $('label-select'), current = sel.value;
  sel.innerHTML = '';
  d.labels.forEach((l) => sel.add(new Option(`${l.name} (${l.clips})`, l.name)));
  if ([...sel.options].some((o) => o.value === current)) sel.value = current;
  $('label-counts').textContent = d.labels.length
    ? `${d.labels.length} labels, ${d.labels.reduce((a, l) => a + l.clips, 0)} clips`
    : 'no labels yet: type a new label';
}

async function recordTake() {
  const label = $('new-label').value.trim() || $('label-select').value;
  if (!LABEL_RE.test(label)) { setStatus(`label ${JSON.stringify(label)} refused: use letters, digits, '_' or '-'`, true); return; }
  const btn = $('record-btn');
  btn.disabled = true;
  let mic;
  try {
    mic = await openMic();
    const rate = mic.ctx.sampleRate, need = Math.round(state.dataset.clip_seconds * rate);
    const chunks = [];
    let collecting = false, got = 0;
    mic.node.port.onmessage = (e) => { if (collecting) { chunks.push(e.data); got += e.data.length; } };
    for (let s = Number($('countdown').value) || 0; s > 0; s--) { $('countdown-display').textContent = s; await sleep(1000); }
    $('countdown-display').textContent = '● REC';
    collecting = true;
    while (got < need) await sleep(20);
    collecting = false;
    $('countdown-display').textContent = '';
    mic.close(); mic = null;
    const samples = await resample(concat(chunks).slice(0, need), rate, state.dataset.sample_rate);
    const saved = await api(`/api/clips?label=${encodeURIComponent(label)}`, {
      method: 'POST', headers: { 'Content-Type': 'audio/wav' }, body: encodeWav(samples, state.dataset.sample_rate),
    });
    addTake(saved, samples);
    setStatus(`saved ${saved.path} (${saved.duration_s} s at ${saved.sample_rate} Hz)`);
    $('new-label').value = '';
    await loadDataset();
    $('label-select').value = label;
  } catch (err) {
    setStatus(String(err.message || err), true);
  } finally {
    if (mic) mic.close();
    $('countdown-display').textContent = '';
    btn.disabled = false;
  }
}

function addTake(saved, samples) {
  const div = document.createElement('div');
  div.className = 'take';
  div.dataset.path = saved.path;
  const meta = document.createElement('div');
  meta.className = 'meta';
  meta.innerHTML = `<b></b><br><small></small>`;
  meta.querySelector('b').textContent = saved.path;
  meta.querySelector('small').textContent = `${saved.duration_s} s, peak ${Math.max(...samples.map(Math.abs)).toFixed(2)}`;
  const wave = Object.assign(document.createElement('canvas'), { width: 320, height: 80, className: 'waveform' });
  const spec = Object.assign(document.createElement('canvas'), { width: 320, height: 80, className: 'spectrogram' });
  const player = document.createElement('audio');
  player.controls = true;
  player.src = URL.createObjectURL(encodeWav(samples, saved.sample_rate));
  const del = Object.assign(document.createElement('button'), { textContent: 'Delete', className: 'delete' });
  del.onclick = async () => {
    try {
      await api(`/api/clips/${encodeURIComponent(saved.label)}/${encodeURIComponent(saved.name)}`, { method: 'DELETE' });
      div.remove();
      setStatus(`deleted ${saved.path}`);
      await loadDataset();
    } catch (err) { setStatus(String(err.message || err), true); }
  };
  div.append(meta, wave, spec, player, del);
  $('takes').prepend(div);
  drawWaveform(wave, samples);
  drawSpectrogram(spec, samples);
}

// ---------------------------------------------------------------- live view
async function loadRuns() {
  const r = await api('/api/runs');
  state.runs = r.runs;
  const sel = $('run-select');
  sel.innerHTML = '';
  r.runs.forEach((run) => {
    const acc = run.int8_accuracy == null ? '' : `, int8 ${(100 * run.int8_accuracy).toFixed(1)}%`;
    sel.add(new Option(`${run.name} (${run.labels.length} labels, ${run.sample_rate} Hz${acc})`, run.name));
  });
  if (!r.runs.length) sel.add(new Option(`no runs in ${r.runs_dir}`, ''));
}

function buildBars(labels) {
  const bars = $('bars');
  bars.innerHTML = '';
  labels.forEach((l, i) => {
    const name = Object.assign(document.createElement('span'), { className: 'bar-label', textContent: l });
    const bar = Object.assign(document.createElement('div'), { className: 'bar' });
    bar.dataset.label = l;
    bar.append(document.createElement('div'));
    const val = Object.assign(document.createElement('span'), { className: 'bar-value', textContent: '0.00' });
    bars.append(name, bar, val);
  });
}

function showScores(msg, labels) {
  $('live-top').textContent = msg.top;
  $('live-score').textContent = msg.score.toFixed(2);
  $('live-level').textContent = `${msg.level_db} dBFS`;
  window.liveHistory.push(msg.top);
  for (const d of msg.detections || []) {
    const li = document.createElement('li');
    li.textContent = `${d.label}  ${d.score.toFixed(2)}  at ${d.time_s.toFixed(1)} s`;
    $('detections').prepend(li);
    while ($('detections').children.length > 8) $('detections').lastChild.remove();
  }
  const rows = $('bars').children;
  msg.scores.forEach((s, i) => {
    const top = labels[i] === msg.top;
    rows[3 * i].classList.toggle('top', top);
    rows[3 * i + 1].classList.toggle('top', top);
    rows[3 * i + 1].firstChild.style.width = `${(100 * s).toFixed(1)}%`;
    rows[3 * i + 2].textContent = s.toFixed(2);
  });
}

async function startLive() {
  const run = $('run-select').value;
  if (!run) { setStatus('no run selected: train one with `tinyaudio train --out runs/NAME`', true); return; }
  stopLive();
  $('live-start').disabled = true;
  try {
    const mic = await openMic();
    const rate = mic.ctx.sampleRate;
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${location.host}/ws/live?run=${encodeURIComponent(run)}&sample_rate=${rate}&dtype=float32`);
    ws.binaryType = 'arraybuffer';
    const live = { mic, ws, labels: [], raf: 0 };
    state.live = live;
    let pending = [], n = 0;
    mic.node.port.onmessage = (e) => {
      pending.push(e.data); n += e.data.length;
      if (n >= rate / 10) {
        if (ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 1 << 20) ws.send(concat(pending).buffer);
        pending = []; n = 0;
      }
    };
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.type === 'ready') {
        live.labels = msg.labels; buildBars(msg.labels);
        $('detections').innerHTML = '';
        setStatus(`live: ${msg.run}, ${msg.labels.length} labels, ${msg.window_s} s window every ${msg.hop_s} s, mic at ${rate} Hz`);
      } else if (msg.type === 'scores') showScores(msg, live.labels);
      else if (msg.type === 'waiting' && $('live-top').textContent === '–') $('live-score').textContent = `filling the window… ${msg.t.toFixed(1)} s`;
      else if (msg.type === 'error') setStatus(msg.error, true);
    };
    ws.onclose = () => { if (state.live === live) stopLive(); };
    const runInfo = state.runs.find((r) => r.name === run);
    scrollSpectrogram(live, Math.min(rate / 2, (runInfo && runInfo.sample_rate / 2) || rate / 2));
    $('live-stop').disabled = false;
  } catch (err) {
    setStatus(String(err.message || err), true);
    $('live-start').disabled = false;
  }
}

function scrollSpectrogram(live, maxHz) {
  const { ctx, source } = live.mic;
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  analyser.smoothingTimeConstant = 0;
  source.connect(analyser);
  const data = new Float32Array(analyser.frequencyBinCount);
  const canvas = $('live-spectrogram'), g = canvas.getContext('2d'), h = canvas.height, pxPerS = 100;
  const bins = Math.max(1, Math.floor(maxHz / (ctx.sampleRate / analyser.fftSize)));
  let last = performance.now(), carry = 0;
  const draw = (now) => {  // scrolls by wall time, so the time axis holds when frames are dropped
    carry += Math.max(0, now - last) * pxPerS / 1000;
    last = now;
    const step = Math.min(canvas.width, Math.floor(carry));
    carry -= step;
    if (!step) { live.raf = requestAnimationFrame(draw); return; }
    analyser.getFloatFrequencyData(data);
    g.drawImage(canvas, -step, 0);
    for (let y = 0; y < h; y++) {
      const db = data[Math.floor((h - 1 - y) * bins / h)];
      const [r, gg, b] = color(Math.max(0, Math.min(1, (db + 110) / 80)));
      g.fillStyle = `rgb(${r},${gg},${b})`;
      g.fillRect(canvas.width - step, y, step, 1);
    }
    live.raf = requestAnimationFrame(draw);
  };
  live.raf = requestAnimationFrame(draw);
}

function stopLive() {
  const live = state.live;
  state.live = null;
  if (live) {
    cancelAnimationFrame(live.raf);
    live.ws.close();
    live.mic.close();
  }
  $('live-start').disabled = false;
  $('live-stop').disabled = true;
}

// ---------------------------------------------------------------- tabs and start-up
function showView(name) {
  document.querySelectorAll('.view').forEach((v) => v.classList.toggle('hidden', v.id !== `view-${name}`));
  document.querySelectorAll('.tab').forEach((t) => t.classList.toggle('active', t.dataset.view === name));
  if (name !== 'live') stopLive();
}

document.querySelectorAll('.tab').forEach((t) => { t.onclick = () => { location.hash = t.dataset.view; }; });
window.addEventListener('hashchange', () => showView(location.hash.slice(1) || 'record'));
$('record-btn').onclick = recordTake;
$('live-start').onclick = startLive;
$('live-stop').onclick = stopLive;
showView(location.hash.slice(1) || 'record');
Promise.all([loadDataset(), loadRuns(), listMics()])
  .then(() => { document.body.dataset.ready = '1'; })
  .catch((err) => setStatus(String(err.message || err), true));
