// The vaekit explorer page: no build step, no libraries. Decoding happens in the server; this
// draws the latent map, sends positions and slider values, and shows what comes back.
// window.vaekitLast holds the last decode answer ({z, values, version}) for tests.
"use strict";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf"];
const state = { info: null, xy: [], labels: null, box: null, z: null, picks: [], pending: null,
                busy: false, version: 0 };
window.vaekitReady = false;
window.vaekitLast = null;

const $ = (id) => document.getElementById(id);

function say(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

async function api(path, body) {
  const opts = body === undefined ? {} : { method: "POST", body: JSON.stringify(body),
                                           headers: { "Content-Type": "application/json" } };
  const res = await fetch(path, opts);
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

function condition() {  // {class} for a labels run, {condition: [numbers]} for vectors
  if (state.info.classes) return { class: $("class").value };
  if (state.info.condition_mean) return { condition: $("vector").value.split(",").map(Number) };
  return {};
}

function klass() {
  return state.info.classes ? $("class").value : undefined;
}

// --- the map: data coordinates <-> canvas pixels, with a margin
function frame() {
  const xs = state.xy.map((p) => p[0]), ys = state.xy.map((p) => p[1]);
  const pad = (lo, hi) => { const m = (hi - lo) * 0.08 || 1; return [lo - m, hi + m]; };
  const [x0, x1] = pad(Math.min(...xs), Math.max(...xs));
  const [y0, y1] = pad(Math.min(...ys), Math.max(...ys));
  state.box = { x0, x1, y0, y1 };
}

function toPixel(p) {
  const c = $("map"), b = state.box;
  return [(p[0] - b.x0) / (b.x1 - b.x0) * c.width, (1 - (p[1] - b.y0) / (b.y1 - b.y0)) * c.height];
}

function toData(px, py) {
  const c = $("map"), b = state.box;
  return [b.x0 + px / c.width * (b.x1 - b.x0), b.y0 + (1 - py / c.height) * (b.y1 - b.y0)];
}

function drawMap(marker) {
  const c = $("map"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  state.xy.forEach((p, i) => {
    const [x, y] = toPixel(p);
    const l = state.labels ? state.labels[i] : 0;
    g.fillStyle = PALETTE[((l % 10) + 10) % 10] + "99";
    g.fillRect(x - 1.5, y - 1.5, 3, 3);
  });
  state.picks.forEach((i) => ring(g, toPixel(state.xy[i]), "#000"));
  if (marker) ring(g, marker, "#e53935");
}

function ring(g, [x, y], colour) {
  g.strokeStyle = colour; g.lineWidth = 2;
  g.beginPath(); g.arc(x, y, 6, 0, 2 * Math.PI); g.stroke();
}

function eventPixel(ev) {
  const r = $("map").getBoundingClientRect();
  return [(ev.clientX - r.left) * $("map").width / r.width, (ev.clientY - r.top) * $("map").height / r.height];
}

function nearest([x, y]) {
  let best = 0, dist = Infinity;
  state.xy.forEach((p, i) => {
    const [px, py] = toPixel(p), d = (px - x) ** 2 + (py - y) ** 2;
    if (d < dist) { dist = d; best = i; }
  });
  return best;
}

// --- decoding: one request in flight; the newest position waits for it
async function decode(body, marker) {
  if (marker) drawMap(marker);
  if (state.busy) { state.pending = body; return; }
  state.busy = true;
  try {
    const out = await api("/api/decode", { ...body, ...condition() });
    state.z = out.z;
    state.version += 1;
    $("decoded").src = out.image;
    $("decoded").dataset.version = String(state.version);
    window.vaekitLast = { z: out.z, values: out.values, version: state.version };
    syncSliders();
    say("decoded");
  } catch (e) {
    say(e.message, true);
  } finally {
    state.busy = false;
    if (state.pending) { const next = state.pending; state.pending = null; decode(next); }
  }
}

function syncSliders() {
  state.info.dims.forEach((d) => {
    const s = $("dim-" + d);
    if (s && document.activeElement !== s) s.value = state.z[d];
    if (s) $("out-" + d).textContent = Number(state.z[d]).toFixed(2);
  });
}

function buildSliders() {
  const box = $("sliders");
  state.info.dims.forEach((d) => {
    const row = document.createElement("div");
    row.className = "slider";
    const act = state.info.activity[d].toFixed(2);
    row.innerHTML = `<label for="dim-${d}">z${d} <small>(${act})</small></label>` +
      `<input type="range" id="dim-${d}" min="-4" max="4" step="0.05" value="0">` +
      `<output id="out-${d}">0.00</output>`;
    box.appendChild(row);
    row.querySelector("input").addEventListener("input", (ev) => {
      if (!state.z) return;
      const z = state.z.slice();
      z[d] = Number(ev.target.value);
      state.z = z;
      decode({ z });
    });
  });
}

function strip(target, images, captions) {
  target.innerHTML = "";
  images.forEach((src, i) => {
    const f = document.createElement("figure");
    f.innerHTML = `<img src="${src}" alt="">` + (captions ? `<figcaption>${captions[i]}</figcaption>` : "");
    target.appendChild(f);
  });
}

async function interpolate() {
  try {
    // decoded with the two examples' own classes (and the path between them), not the chooser's
    const q = new URLSearchParams({ i: $("from").value, j: $("to").value, steps: "10" });
    const out = await api("/api/interpolate?" + q);
    $("paths").innerHTML = "";
    for (const name of ["linear", "spherical"]) {
      const row = document.createElement("div");
      row.innerHTML = `<small>${name}</small><br>` + out[name].map((s) => `<img src="${s}" alt="">`).join("");
      $("paths").appendChild(row);
    }
    say("interpolated");
  } catch (e) { say(e.message, true); }
}

async function samples() {
  try {
    const k = klass(), q = new URLSearchParams({ n: "16", seed: String(Date.now() % 100000) });
    if (k !== undefined) q.set("class", k);
    strip($("samples"), (await api("/api/samples?" + q)).images);
    say("sampled");
  } catch (e) { say(e.message, true); }
}

async function anomalies() {
  try {
    say("scoring…");
    const out = await api("/api/anomalies?n=12");
    strip($("anomalous"), out.images, out.index.map((i, n) => `#${i}: ${out.score_nats[n].toFixed(1)}`));
    say("scored");
  } catch (e) { say(e.message, true); }
}

function legend() {
  const names = state.info.classes;
  if (!state.labels) return;
  const seen = [...new Set(state.labels)].sort((a, b) => a - b).slice(0, 20);
  for (const l of seen) {  // names come from the data: text, never HTML
    const span = document.createElement("span"), dot = document.createElement("i");
    dot.style.background = PALETTE[l % 10];
    span.append(dot, document.createTextNode(names ? names[l] : String(l)));
    $("legend").appendChild(span);
  }
}

async function start() {
  try {
    state.info = await api("/api/info");
    const pts = await api("/api/points");
    state.xy = pts.xy; state.labels = pts.labels;
    $("run").textContent = `${state.info.run}: latent ${state.info.latent_dim}, ${state.info.points} points`;
    $("axis").textContent = `(${state.info.axis} 1, 2)`;
    $("to").max = $("from").max = String(state.info.points - 1);
    if (state.info.classes) {
      $("class-row").hidden = false;
      for (const c of state.info.classes) {  // names come from the data: text, never HTML
        const o = document.createElement("option");
        o.textContent = c;
        $("class").appendChild(o);
      }
      $("class").addEventListener("change", () => state.z && decode({ z: state.z }));
    }
    if (state.info.condition_mean) {
      $("vector-row").hidden = false;
      $("vector").value = state.info.condition_mean.map((v) => Number(v).toPrecision(4)).join(", ");
      $("vector").addEventListener("change", () => state.z && decode({ z: state.z }));
    }
    frame(); drawMap(); legend(); buildSliders();
    let dragging = false;
    const at = (ev) => { const px = eventPixel(ev); decode({ xy: toData(...px) }, px); };
    $("map").addEventListener("pointerdown", (ev) => {
      if (ev.shiftKey) {
        state.picks = [...state.picks, nearest(eventPixel(ev))].slice(-2);
        if (state.picks.length === 2) { $("from").value = state.picks[0]; $("to").value = state.picks[1]; interpolate(); }
        drawMap();
        return;
      }
      dragging = true; at(ev);
    });
    $("map").addEventListener("pointermove", (ev) => { if (dragging) at(ev); });
    window.addEventListener("pointerup", () => { dragging = false; });
    $("interpolate").addEventListener("click", interpolate);
    $("sample").addEventListener("click", samples);
    $("anomalies").addEventListener("click", anomalies);
    await decode({ z: state.info.dims.map(() => 0) });
    window.vaekitReady = true;
    say("ready");
  } catch (e) { say(e.message, true); }
}

start();
