// The microturn page: your microphone to a `microturn serve` session and its voice back.
//
// Speaks the server's Realtime subset (docs/realtime.md): pcm16 at 24 kHz both ways, the
// model's audio through a jitter buffer that is flushed when a response is cancelled or you
// start speaking over it, the two-sided transcript from the transcription and transcript
// deltas, the timeline and latency meters from `microturn.tick`, cards from `microturn.card`
// and function calls. A token, if the server wants one, goes in the URL: `/#token=...`.
// `window.microturn` exposes the page's counters (the Playwright test reads them).

const $ = (id) => document.getElementById(id);
const RATE = 24000;
const stats = { ticks: 0, userWords: 0, modelWords: 0, audioChunks: 0, played: 0, loud: 0, draws: 0, flushes: 0, errors: [] };
window.microturn = { stats };

let ws = null, ctx = null, mic = null, player = null, camTimer = null, sessionId = "";
const ticks = []; // the last 100 microturn.tick events
let userLine = null, modelLine = null, lastUserT = null, responseOpen = false;

function b64(buf) {
  let s = "";
  const u = new Uint8Array(buf);
  for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
  return btoa(s);
}

function pcm(b64s) {
  const raw = atob(b64s);
  const out = new Float32Array(raw.length >> 1);
  for (let i = 0; i < out.length; i++) {
    let v = raw.charCodeAt(2 * i) | (raw.charCodeAt(2 * i + 1) << 8);
    if (v >= 0x8000) v -= 0x10000;
    out[i] = v / 32768;
  }
  return out;
}

function send(ev) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(ev));
}

function line(who) {
  const div = document.createElement("div");
  div.className = `line ${who}`;
  div.innerHTML = `<span class="who">${who === "user" ? "you" : "model"}</span><span class="text"></span>`;
  $("transcript").appendChild(div);
  $("transcript").scrollTop = 1e9;
  return div;
}

function addText(div, text) {
  div.querySelector(".text").textContent += text;
  $("transcript").scrollTop = 1e9;
}

function card(kind, text) {
  const div = document.createElement("div");
  div.className = "card";
  div.innerHTML = `<div class="kind"></div><div class="body"></div>`;
  div.querySelector(".kind").textContent = kind;
  div.querySelector(".body").textContent = text;
  $("cards").prepend(div);
}

function flush() {
  if (player) player.port.postMessage({ flush: true });
  stats.flushes++;
}

function onEvent(e) {
  switch (e.type) {
    case "session.created":
      sessionId = e.session.id;
      $("status").textContent = `session ${sessionId}`;
      break;
    case "microturn.tick":
      stats.ticks++;
      ticks.push(e);
      if (ticks.length > 100) ticks.shift();
      $("tick").textContent = `${e.tick_ms} ms`;
      for (const x of e.events) if (x.kind === "user_text") lastUserT = x.t;
      draw();
      break;
    case "input_audio_buffer.speech_started":
      userLine = line("user");
      if (responseOpen) flush(); // you talk over it: what is buffered goes at once
      break;
    case "conversation.item.input_audio_transcription.delta":
      if (!userLine) userLine = line("user");
      addText(userLine, e.delta);
      stats.userWords++;
      break;
    case "conversation.item.input_audio_transcription.completed":
      userLine = null;
      break;
    case "response.created": {
      responseOpen = true;
      modelLine = line("model");
      const now = ticks.length ? ticks[ticks.length - 1].t + 0.2 : 0;
      if (lastUserT !== null) $("gap").textContent = `${Math.round((now - lastUserT) * 1000)} ms`;
      break;
    }
    case "response.output_audio.delta":
      stats.audioChunks++;
      if (player) player.port.postMessage(pcm(e.delta));
      break;
    case "response.output_audio_transcript.delta":
      if (modelLine) addText(modelLine, e.delta);
      stats.modelWords++;
      break;
    case "response.done":
      responseOpen = false;
      if (e.response.status === "cancelled") {
        flush();
        if (modelLine) modelLine.classList.add("cancelled");
      }
      modelLine = null;
      break;
    case "response.function_call_arguments.done":
      card(`call ${e.name}`, e.arguments);
      break;
    case "microturn.card":
      card(e.kind.replace("_", " "), e.text);
      break;
    case "microturn.session.resumed":
      $("status").textContent = `session ${sessionId} (resumed after ${e.gap_s} s)`;
      break;
    case "error":
      stats.errors.push(e.error.code);
      $("status").textContent = `error: ${e.error.message}`;
      break;
  }
}

function draw() {
  const c = $("timeline"), g = c.getContext("2d");
  const W = c.width, H = c.height, span = 12, pxs = W / span;
  g.fillStyle = "#fff";
  g.fillRect(0, 0, W, H);
  if (!ticks.length) return;
  const end = ticks[ticks.length - 1].t + 0.2;
  g.font = "12px system-ui";
  const rows = [
    ["user_speaking", "user_text", 8, "#bee3f8", "#2b6cb0"],
    ["model_speaking", "model_text", 80, "#feebc8", "#c05621"],
  ];
  for (const [flag, kind, y, fill, ink] of rows) {
    for (const t of ticks) {
      const x = W - (end - t.t) * pxs;
      if (t[flag]) {
        g.fillStyle = fill;
        g.fillRect(x, y, 0.2 * pxs + 1, 60);
      }
      if (t.late) {
        g.fillStyle = "#e53e3e";
        g.fillRect(x, H - 4, 0.2 * pxs, 4);
      }
    }
    g.fillStyle = ink; // words after every box: a word lies in a later tick's span
    for (const t of ticks) {
      for (const w of t.events) {
        if (w.kind !== kind) continue;
        const row = Math.round(w.t / 0.05) % 3; // neighbours on different rows: no overlap
        g.fillText(w.text, W - (end - w.t) * pxs, y + 18 + 16 * row);
      }
    }
  }
  g.fillStyle = "#999";
  for (let s = Math.ceil(end - span); s <= end; s++) g.fillRect(W - (end - s) * pxs, 0, 1, 4);
  stats.draws++;
}

async function start() {
  $("connect").disabled = true;
  sessionId = "";
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  const protos = ["realtime"].concat(token ? [`openai-insecure-api-key.${token}`] : []);
  const proto = location.protocol === "https:" ? "wss" : "ws";
  ctx = new AudioContext({ sampleRate: RATE });
  await ctx.audioWorklet.addModule("/static/capture.js");
  player = new AudioWorkletNode(ctx, "player");
  player.connect(ctx.destination);
  player.port.onmessage = (e) => {
    stats.played = e.data.played;
    stats.loud = e.data.loud;
    $("buffer").textContent = `${Math.round((e.data.buffered / RATE) * 1000)} ms`;
  };
  const media = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
  });
  mic = media;
  const src = ctx.createMediaStreamSource(media);
  const capture = new AudioWorkletNode(ctx, "capture");
  src.connect(capture);
  openSocket(`${proto}://${location.host}/v1/realtime`, protos, capture);
  await ctx.resume();
}

let stopping = false;

function openSocket(url, protos, capture) {
  const resume = sessionId ? `?session_id=${sessionId}` : "";
  ws = new WebSocket(url + resume, protos);
  ws.onmessage = (m) => onEvent(JSON.parse(m.data));
  ws.onclose = (ev) => {
    if (stopping) return;
    if (ev.code === 1006 && sessionId) { // dropped: come back to the same session
      $("status").textContent = `reconnecting to ${sessionId} ...`;
      flush();
      setTimeout(() => openSocket(url, protos, capture), 1000);
    } else {
      $("status").textContent = `closed: ${ev.reason || ev.code}`;
      stop();
    }
  };
  ws.onopen = () => {
    send({ type: "session.update", session: { type: "realtime", audio: { input: { format: { type: "audio/pcm", rate: RATE } } } } });
    capture.port.onmessage = (m) => send({ type: "input_audio_buffer.append", audio: b64(m.data) });
    $("stop").disabled = false;
    if ($("camera").checked && !camTimer) camera();
  };
}

async function camera() {
  const v = $("preview");
  v.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
  v.hidden = false;
  const c = document.createElement("canvas");
  c.width = c.height = 160;
  camTimer = setInterval(() => {
    const side = Math.min(v.videoWidth, v.videoHeight);
    if (!side) return;
    c.getContext("2d").drawImage(v, (v.videoWidth - side) / 2, (v.videoHeight - side) / 2, side, side, 0, 0, 160, 160);
    const jpeg = c.toDataURL("image/jpeg", 0.7).split(",")[1];
    send({ type: "microturn.input_video_frame.append", image: jpeg });
  }, 200); // 5 fps: one frame per micro-turn
}

function stop() {
  stopping = true;
  if (camTimer) clearInterval(camTimer);
  camTimer = null;
  if (ws && ws.readyState === WebSocket.OPEN) ws.close(1000);
  ws = null;
  flush();
  if (mic) mic.getTracks().forEach((t) => t.stop());
  const v = $("preview");
  if (v.srcObject) v.srcObject.getTracks().forEach((t) => t.stop());
  if (ctx) ctx.close();
  ctx = player = mic = null;
  $("connect").disabled = false;
  $("stop").disabled = true;
  stopping = false;
}

$("connect").onclick = () => start().catch((err) => {
  $("status").textContent = `cannot start: ${err.message}`;
  $("connect").disabled = false;
});
$("stop").onclick = stop;
draw();
