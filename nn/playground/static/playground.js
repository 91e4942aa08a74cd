// The Playground's front end: an ES module with no dependencies and no build step.
//
// It only draws. Every number comes from Python (nn.playground.Session) as a JSON message,
// and every click goes back as one: {type: "tick" | "step" | "reset" | "set" | "point" |
// "export" | "hello"}. Two hosts give it a `model` with send(message) and on("msg:custom", f):
// anywidget in Jupyter (the default export's render), and the standalone server over HTTP
// (standalone(), which also keeps the settings in the page's URL so a setup can be shared).

const NEG = [245, 147, 34];   // orange: negative values / class 0
const MID = [232, 234, 235];
const POS = [8, 119, 189];    // blue: positive values / class 1
const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REG_RATES = [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const NODE = 34;              // size of a neuron's picture, px
const SVG_NS = "http://www.w3.org/2000/svg";
const ICONS = {
  play: '<svg width="20" height="20" viewBox="0 0 20 20"><path d="M5 3 L17 10 L5 17 Z" fill="currentColor"/></svg>',
  pause: '<svg width="20" height="20" viewBox="0 0 20 20"><rect x="4" y="3" width="4" height="14" fill="currentColor"/>' +
         '<rect x="12" y="3" width="4" height="14" fill="currentColor"/></svg>',
  step: '<svg width="18" height="18" viewBox="0 0 20 20"><path d="M4 3 L13 10 L4 17 Z" fill="currentColor"/>' +
        '<rect x="14" y="3" width="3" height="14" fill="currentColor"/></svg>',
  reset: '<svg width="18" height="18" viewBox="0 0 20 20"><path d="M15.5 10 A5.5 5.5 0 1 1 10 4.5 L10 2 L14 5.5 L10 9 ' +
         'L10 6.5 A3.5 3.5 0 1 0 13.5 10 Z" fill="currentColor"/></svg>',
};
function icon(name) {
  const span = document.createElement("span");
  span.innerHTML = ICONS[name];
  return span.firstChild;
}

function colour(v) {
  const t = Math.max(-1, Math.min(1, v));
  const [a, b] = t < 0 ? [MID, NEG] : [MID, POS];
  const f = Math.abs(t);
  return [0, 1, 2].map(i => Math.round(a[i] + (b[i] - a[i]) * f));
}
const rgb = c => `rgb(${c[0]},${c[1]},${c[2]})`;
const fmt = x => (x === null || x === undefined) ? "–" : (Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0))
  ? Number(x).toExponential(2) : Number(x).toPrecision(4).replace(/\.?0+$/, "");

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "on") for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f);
    else if (k === "style") e.style.cssText = v;
    else if (v !== false && v !== null && v !== undefined) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
  return e;
}
function s(tag, attrs = {}) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

// A picture sent as base64 bytes (0…255 ↦ −1…1), drawn on a grid×grid canvas, then scaled.
function decode(b64) {
  const bin = atob(b64);
  const out = new Float32Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i) / 127.5 - 1;
  return out;
}
function paint(canvas, b64, grid, discretize = false) {
  const key = b64 + (discretize ? "d" : "");
  if (canvas._painted === key) return;  // the same picture as last time (an input feature, a paused net)
  canvas._painted = key;
  const values = decode(b64);
  const small = document.createElement("canvas");
  small.width = small.height = grid;
  const cx = small.getContext("2d");
  const img = cx.createImageData(grid, grid);
  for (let i = 0; i < values.length; i++) {
    const v = discretize ? Math.sign(values[i]) : values[i];
    const c = colour(v * 0.85);
    img.data.set([c[0], c[1], c[2], 255], 4 * i);
  }
  cx.putImageData(img, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}

function select(id, options, value, onchange, label = x => x) {
  const e = h("select", {id, on: {change: () => onchange(e.value)}},
    options.map(o => h("option", {value: String(o), selected: String(o) === String(value)}, String(label(o)))));
  return e;
}

export function mount(model, el, {urlState = false} = {}) {
  const st = {settings: null, options: null, playing: false, waiting: false, frame: null, graph: null,
              stepIndex: 0, frames: 0, fpsStart: performance.now(), fps: 0, archKey: "", hoverEdge: null};
  el.classList.add("pg-root");
  el.innerHTML = "";
  const send = msg => model.send(msg);

  // -- layout ------------------------------------------------------------------------------
  const playBtn = h("button", {id: "pg-play", class: "pg-play", title: "play / pause",
                               on: {click: () => setPlaying(!st.playing)}}, icon("play"));
  const header = h("div", {class: "pg-header"},
    h("button", {id: "pg-reset", title: "reset the network", on: {click: () => { setPlaying(false); send({type: "reset"}); }}}, icon("reset")),
    playBtn,
    h("button", {id: "pg-step", title: "train one epoch", on: {click: () => { setPlaying(false); send({type: "step"}); }}}, icon("step")),
    h("div", {class: "pg-counter"}, h("label", {}, "Epoch"), h("span", {id: "pg-epoch"}, "0"),
      h("small", {id: "pg-steps"}, "")),
    h("div", {class: "pg-controls", id: "pg-controls"}));
  const dataCol = h("div", {class: "pg-col pg-data", id: "pg-data"});
  const netSvg = s("svg", {class: "pg-edges"});
  const net = h("div", {class: "pg-net", id: "pg-net"}, netSvg);
  const tooltip = h("div", {class: "pg-tooltip", id: "pg-tooltip", style: "display:none"});
  const outCanvas = h("canvas", {id: "pg-output", width: 300, height: 300});
  const curve = h("canvas", {id: "pg-curve", width: 300, height: 70});
  const metrics = h("div", {class: "pg-metrics", id: "pg-metrics"});
  const outCol = h("div", {class: "pg-col pg-out"},
    h("h4", {}, "Output"), metrics, curve,
    h("div", {class: "pg-hint"}, h("span", {class: "pg-swatch", style: "background:#222"}), " test loss  ",
      h("span", {class: "pg-swatch", style: "background:#999"}), " training loss"), h("div", {class: "pg-canvas-wrap"}, outCanvas),
    h("div", {class: "pg-legend"}, h("span", {class: "pg-neg"}, "−1"), h("span", {class: "pg-scale"}),
      h("span", {class: "pg-pos"}, "+1")),
    h("label", {}, h("input", {type: "checkbox", id: "pg-show-test",
                               on: {change: e => send({type: "set", settings: {show_test: e.target.checked}})}}),
      " show test data"),
    h("label", {}, h("input", {type: "checkbox", id: "pg-discretize",
                               on: {change: e => send({type: "set", settings: {discretize: e.target.checked}})}}),
      " discretize output"),
    h("p", {class: "pg-hint"}, "Click a point to see its computation graph."));
  const flow = h("canvas", {id: "pg-flow", width: 520, height: 90});
  const flowPanel = h("div", {class: "pg-panel pg-flow"},
    h("h4", {}, "Gradient flow: mean |∂C/∂w| per layer, last 120 steps"), flow,
    h("div", {class: "pg-hint"}, h("span", {class: "pg-swatch", style: "background:rgb(40,80,220)"}), " vanishing (< 10⁻³)  ",
      h("span", {class: "pg-swatch", style: "background:rgb(215,232,215)"}), " healthy  ",
      h("span", {class: "pg-swatch", style: "background:rgb(240,50,40)"}), " exploding (> 1)"));
  const graphPanel = h("div", {class: "pg-panel pg-graph", id: "pg-graph", style: "display:none"});
  const codePanel = h("div", {class: "pg-panel pg-code", id: "pg-code-panel", style: "display:none"});
  const error = h("div", {class: "pg-error", id: "pg-error", style: "display:none"});
  const status = h("div", {class: "pg-status"}, h("span", {id: "pg-fps"}, ""),
    h("button", {id: "pg-export", on: {click: () => send({type: "export"})}}, "Export as code"));
  el.append(header, error, h("div", {class: "pg-main"}, dataCol, h("div", {class: "pg-col pg-middle"}, net), outCol),
            h("div", {class: "pg-bottom"}, flowPanel, status), graphPanel, codePanel, tooltip);

  function setPlaying(on) {
    st.playing = on;
    playBtn.replaceChildren(icon(on ? "pause" : "play"));
    playBtn.classList.toggle("pg-on", on);
    if (!on) el.querySelector("#pg-fps").textContent = "";
    if (on && !st.waiting) tick();
  }
  function tick() {
    if (!st.playing) return;
    st.waiting = true;
    send({type: "tick"});
  }
  const set = changes => send({type: "set", settings: changes});

  // -- controls ----------------------------------------------------------------------------
  function buildControls() {
    const o = st.options, v = st.settings;
    const controls = el.querySelector("#pg-controls");
    controls.innerHTML = "";
    const field = (label, input) => h("div", {class: "pg-field"}, h("label", {}, label), input);
    controls.append(
      field("Learning rate", select("pg-lr", LEARNING_RATES.includes(v.lr) ? LEARNING_RATES : [...LEARNING_RATES, v.lr].sort((a, b) => a - b),
        v.lr, x => set({lr: Number(x)}))),
      field("Optimizer", select("pg-optimizer", o.optimizers, v.optimizer, x => set({optimizer: x}))),
      field("Activation", select("pg-activation", o.activations, v.activation, x => set({activation: x}))),
      field("Regularization", select("pg-regularization", o.regularizations, v.regularization, x => set({regularization: x}))),
      field("Reg. rate", select("pg-reg-rate", REG_RATES.includes(v.reg_rate) ? REG_RATES : [...REG_RATES, v.reg_rate].sort((a, b) => a - b),
        v.reg_rate, x => set({reg_rate: Number(x)}))),
      field("Problem", select("pg-problem", Object.keys(o.datasets), v.problem, x => set({problem: x}))),
      field("Loss", select("pg-loss", o.losses[v.problem], v.loss, x => set({loss: x}))),
      field("Init", select("pg-init", o.inits, v.init, x => set({init: x}))),
      field("Batch norm", h("input", {type: "checkbox", id: "pg-batch-norm", checked: v.batch_norm,
                                      on: {change: e => set({batch_norm: e.target.checked})}})),
      field("Edges", select("pg-edge-mode", ["weights", "gradients"], v.edge_mode, x => set({edge_mode: x}))));
    dataCol.innerHTML = "";
    const slider = (id, label, min, max, step, value, show, apply) => {
      const out = h("span", {class: "pg-value"}, show(value));
      const input = h("input", {type: "range", id, min, max, step, value,
                                on: {input: e => { out.textContent = show(Number(e.target.value)); },
                                     change: e => apply(Number(e.target.value))}});
      return h("div", {class: "pg-slider"}, h("label", {}, label, ": ", out), input);
    };
    dataCol.append(h("h4", {}, "Data"),
      h("div", {class: "pg-datasets"}, o.datasets[v.problem].map(d => h("button", {
        class: "pg-dataset" + (d === v.dataset ? " pg-on" : ""), id: `pg-dataset-${d}`,
        on: {click: () => set({dataset: d})}}, d))),
      slider("pg-ratio", "Training data", 10, 90, 10, Math.round(v.train_ratio * 100), x => `${x}%`, x => set({train_ratio: x / 100})),
      slider("pg-noise", "Noise", 0, 50, 5, Math.round(v.noise * 100), x => String(x), x => set({noise: x / 100})),
      slider("pg-batch", "Batch size", 1, 30, 1, v.batch_size, x => String(x), x => set({batch_size: x})),
      slider("pg-samples", "Points", 50, 600, 50, v.samples, x => String(x), x => set({samples: x})),
      h("div", {class: "pg-field"}, h("label", {}, "Seed"), h("input", {type: "number", id: "pg-seed", min: 0, value: v.seed,
        on: {change: e => set({seed: Math.max(0, Math.floor(Number(e.target.value) || 0))})}}),
        h("button", {id: "pg-regenerate", title: "new data and weights",
                     on: {click: () => set({seed: Math.floor(Math.random() * 100000)})}}, "regenerate")));
    el.querySelector("#pg-show-test").checked = v.show_test;
    el.querySelector("#pg-discretize").checked = v.discretize;
  }

  function syncControls() {
    const v = st.settings;
    const put = (id, x) => { const e = el.querySelector("#" + id); if (e && e.value !== String(x)) e.value = String(x); };
    put("pg-optimizer", v.optimizer); put("pg-activation", v.activation); put("pg-regularization", v.regularization);
    put("pg-loss", v.loss); put("pg-init", v.init); put("pg-edge-mode", v.edge_mode); put("pg-seed", v.seed);
    put("pg-ratio", Math.round(v.train_ratio * 100)); put("pg-noise", Math.round(v.noise * 100));
    put("pg-batch", v.batch_size); put("pg-samples", v.samples);
    for (const [id, x] of [["pg-ratio", `${Math.round(v.train_ratio * 100)}%`], ["pg-noise", String(Math.round(v.noise * 100))],
                           ["pg-batch", String(v.batch_size)], ["pg-samples", String(v.samples)]]) {
      el.querySelector("#" + id).parentElement.querySelector(".pg-value").textContent = x;
    }
    el.querySelector("#pg-batch-norm").checked = v.batch_norm;
    el.querySelector("#pg-show-test").checked = v.show_test;
    el.querySelector("#pg-discretize").checked = v.discretize;
    for (const b of el.querySelectorAll(".pg-dataset")) b.classList.toggle("pg-on", b.id === `pg-dataset-${v.dataset}`);
  }

  // -- the network ---------------------------------------------------------------------------
  let layout = null;
  function buildNetwork() {
    const v = st.settings, o = st.options;
    const feats = Object.keys(o.features);
    const cols = [feats.length, ...v.hidden, 1];
    const rowH = 52, top = 64, left = 64;
    // Columns share the room there is (a notebook is narrower than a browser window).
    const room = net.parentElement ? net.parentElement.clientWidth - 24 : 0;
    const colW = room > 0 ? Math.max(72, Math.min(130, (room - left - NODE - 16) / (cols.length - 1))) : 110;
    const width = left + colW * (cols.length - 1) + NODE + 16;
    const height = top + rowH * Math.max(...cols, 4) + 10;
    net.style.width = width + "px";
    net.style.height = height + "px";
    netSvg.setAttribute("width", width);
    netSvg.setAttribute("height", height);
    for (const c of [...net.querySelectorAll(".pg-node, .pg-layer-head")]) c.remove();
    netSvg.innerHTML = "";
    layout = {nodes: [], edges: [], canvases: []};
    cols.forEach((n, c) => {
      const x = left + c * colW;
      const nodes = [];
      for (let j = 0; j < n; j++) {
        const y = top + j * rowH;
        let canvas, node;
        if (c === 0) {
          const f = feats[j], on = v.features.includes(f);
          canvas = h("canvas", {width: NODE, height: NODE});
          node = h("div", {class: "pg-node pg-feature" + (on ? " pg-on" : ""), id: `pg-feature-${f}`,
                           title: on ? "click to remove this input" : "click to add this input",
                           style: `left:${x}px;top:${y}px`,
                           on: {click: () => {
                             const cur = st.settings.features;
                             const next = on ? cur.filter(g => g !== f) : [...cur, f];
                             if (next.length) set({features: next});
                           }}}, canvas, h("span", {class: "pg-feature-label"}, o.features[f]));
          nodes.push({x, y, canvas, feature: f, on});
        } else {
          canvas = h("canvas", {width: NODE, height: NODE});
          node = h("div", {class: "pg-node" + (c === cols.length - 1 ? " pg-output-node" : ""),
                           id: `pg-node-${c}-${j}`, style: `left:${x}px;top:${y}px`}, canvas);
          nodes.push({x, y, canvas});
        }
        net.append(node);
      }
      layout.nodes.push(nodes);
      if (c > 0 && c < cols.length - 1) {
        const k = c - 1;
        const change = d => {
          const hidden = [...st.settings.hidden];
          hidden[k] = Math.max(1, Math.min(o.max_neurons, hidden[k] + d));
          set({hidden});
        };
        net.append(h("div", {class: "pg-layer-head", style: `left:${x - 22}px;top:4px`},
          h("button", {class: "pg-small", id: `pg-add-neuron-${k}`, on: {click: () => change(1)}}, "+"),
          h("button", {class: "pg-small", id: `pg-remove-neuron-${k}`, on: {click: () => change(-1)}}, "−"),
          h("div", {}, `${v.hidden[k]} neuron${v.hidden[k] > 1 ? "s" : ""}`)));
      }
    });
    net.append(h("div", {class: "pg-layer-head pg-layers-control", style: `left:${left + colW - 10}px;top:-30px`},
      h("button", {class: "pg-small", id: "pg-add-layer", on: {click: () => {
        const hid = st.settings.hidden;
        if (hid.length < o.max_layers) set({hidden: [...hid, 2]});
      }}}, "+"),
      h("button", {class: "pg-small", id: "pg-remove-layer", on: {click: () => {
        const hid = st.settings.hidden;
        if (hid.length) set({hidden: hid.slice(0, -1)});
      }}}, "−"),
      h("span", {id: "pg-layer-count"}, ` ${v.hidden.length} hidden layer${v.hidden.length === 1 ? "" : "s"}`)));
    // Edges: from every active input (then neuron) to every neuron of the next column.
    const active = layout.nodes[0].filter(n => n.on);
    const sources = [active, ...layout.nodes.slice(1)];
    for (let c = 1; c < sources.length; c++) {
      sources[c].forEach((to, j) => sources[c - 1].forEach((from, i) => {
        const x1 = from.x + NODE, y1 = from.y + NODE / 2, x2 = to.x, y2 = to.y + NODE / 2, m = (x1 + x2) / 2;
        const d = `M${x1},${y1} C${m},${y1} ${m},${y2} ${x2},${y2}`;
        const path = s("path", {d, class: "pg-edge"});
        const hit = s("path", {d, class: "pg-edge-hit", "data-layer": c - 1, "data-to": j, "data-from": i});
        hit.addEventListener("mousemove", e => showEdge(e, c - 1, j, i));
        hit.addEventListener("mouseleave", () => { tooltip.style.display = "none"; });
        netSvg.append(path, hit);
        layout.edges.push({path, layer: c - 1, to: j, from: i});
      }));
    }
  }
  function showEdge(e, layer, to, from) {
    const f = st.frame;
    if (!f) return;
    const w = f.weights[layer][to][from], g = f.grads[layer][to][from];
    tooltip.innerHTML = "";
    tooltip.append(h("div", {}, `w${layer + 1}[${to + 1},${from + 1}] = ${fmt(w)}`),
                   h("div", {}, `∂C/∂w = ${fmt(g)}`));
    const box = el.getBoundingClientRect();
    tooltip.style.left = (e.clientX - box.left + 12) + "px";
    tooltip.style.top = (e.clientY - box.top + 12) + "px";
    tooltip.style.display = "block";
    tooltip.dataset.weight = String(w);
  }
  function drawNetwork(f) {
    const v = st.settings;
    layout.nodes[0].forEach(n => paint(n.canvas, f.feature_pictures[n.feature], f.grid));
    f.pictures.forEach((layer, c) => layer.forEach((b64, j) => {
      const n = layout.nodes[c + 1][j];
      if (n) paint(n.canvas, b64, f.grid);
    }));
    const outNode = layout.nodes[layout.nodes.length - 1][0];
    paint(outNode.canvas, f.output, f.grid, v.discretize);
    const byGrad = v.edge_mode === "gradients";
    let gmax = 1e-12;
    if (byGrad) for (const L of f.grads) for (const row of L) for (const g of row) gmax = Math.max(gmax, Math.abs(g || 0));
    for (const e of layout.edges) {
      const row = (byGrad ? f.grads : f.weights)[e.layer]?.[e.to];
      const val = row ? row[e.from] : 0;
      const t = byGrad ? (val || 0) / gmax : Math.tanh(val || 0);
      e.path.setAttribute("stroke", rgb(colour(t)));
      e.path.setAttribute("stroke-width", String(0.5 + 5 * Math.abs(t)));
      e.path.setAttribute("data-value", String(val));
    }
  }

  // -- output, curve, flow -------------------------------------------------------------------
  function toPixel(f, x, y) {
    const [x0, x1, y0, y1] = f.extent;
    return [(x - x0) / (x1 - x0) * outCanvas.width, (y1 - y) / (y1 - y0) * outCanvas.height];
  }
  function drawOutput(f) {
    const v = st.settings;
    outCanvas._painted = null;  // the points are drawn over it: always start from a fresh picture
    paint(outCanvas, f.output, f.grid, v.discretize);
    const ctx = outCanvas.getContext("2d");
    const regression = v.problem === "regression";
    let ymax = 1e-9;
    if (regression) for (const p of [...f.points.train, ...f.points.test]) ymax = Math.max(ymax, Math.abs(p[2]));
    const dot = (p, test) => {
      const [px, py] = toPixel(f, p[0], p[1]);
      const c = regression ? colour(p[2] / ymax) : (p[2] > 0.5 ? POS : NEG);
      ctx.beginPath();
      ctx.arc(px, py, 3.5, 0, 2 * Math.PI);
      ctx.fillStyle = rgb(c);
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = test ? "black" : "white";
      ctx.stroke();
    };
    f.points.train.forEach(p => dot(p, false));
    if (v.show_test) f.points.test.forEach(p => dot(p, true));
    if (st.graph) {
      const [px, py] = toPixel(f, st.graph.point[0], st.graph.point[1]);
      ctx.beginPath();
      ctx.arc(px, py, 7, 0, 2 * Math.PI);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#222";
      ctx.stroke();
    }
  }
  function drawCurve(f) {
    const ctx = curve.getContext("2d"), W = curve.width, H = curve.height;
    ctx.clearRect(0, 0, W, H);
    const hist = f.history;
    if (hist.length < 2) return;
    let max = 1e-9;
    for (const [, a, b] of hist) max = Math.max(max, a || 0, b || 0);
    const last = hist[hist.length - 1][0] || 1;
    const line = (k, color) => {
      ctx.beginPath();
      hist.forEach((p, i) => {
        const x = p[0] / last * (W - 2) + 1, y = H - 2 - (p[k] || 0) / max * (H - 6);
        if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      });
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.stroke();
    };
    line(2, "#222");
    line(1, "#999");

  }
  function drawFlow(f) {
    const ctx = flow.getContext("2d"), W = flow.width;
    ctx.clearRect(0, 0, W, flow.height);
    const rows = f.weights.length, label = 70, n = 120, rowH = 20;
    if (flow.height !== 4 + rows * rowH) { flow.height = 4 + rows * rowH; return drawFlow(f); }
    ctx.font = "11px sans-serif";
    ctx.textBaseline = "middle";
    for (let r = 0; r < rows; r++) {
      const y = 2 + r * rowH;
      ctx.fillStyle = "#444";
      const latest = f.flow.length ? f.flow[f.flow.length - 1][r] : null;
      ctx.fillText(`layer ${r + 1}`, 2, y + rowH / 2);
      f.flow.forEach((col, i) => {
        const g = col[r];
        // |g| below 1e-3 shades to blue (vanishing: 1e-7 is full), above 1 to red (exploding: 100 is full);
        // in between a layer learns at a healthy pace and stays pale green.
        const lg = Math.log10(Math.abs(g) || 1e-30);
        const t = lg < -3 ? -Math.min(1, (-3 - lg) / 4) : lg > 0 ? Math.min(1, lg / 2) : 0;
        const c = t < 0 ? [Math.round(215 + 175 * t), Math.round(230 + 150 * t), Math.round(225 + 5 * t)]
                        : t > 0 ? [Math.round(230 + 10 * t), Math.round(225 - 175 * t), Math.round(215 - 175 * t)]
                                : [215, 232, 215];
        ctx.fillStyle = rgb(c);
        ctx.fillRect(label + (n - f.flow.length + i) * ((W - label - 60) / n), y, (W - label - 60) / n + 0.5, rowH - 2);
      });
      ctx.fillStyle = "#444";
      ctx.fillText(latest === null ? "" : fmt(latest), W - 56, y + rowH / 2);
    }
  }
  function drawMetrics(f) {
    const m = f.metrics;
    metrics.innerHTML = "";
    metrics.append(
      h("div", {}, "Test loss ", h("b", {id: "pg-test-loss", "data-value": String(m.test_loss)}, fmt(m.test_loss))),
      h("div", {}, "Training loss ", h("b", {id: "pg-train-loss", "data-value": String(m.train_loss)}, fmt(m.train_loss))));
    if (m.test_accuracy !== undefined) {
      metrics.append(h("div", {}, "Test accuracy ", h("b", {id: "pg-test-accuracy", "data-value": String(m.test_accuracy)},
        `${(100 * m.test_accuracy).toFixed(1)}%`), "  Training ",
        h("b", {id: "pg-train-accuracy"}, `${(100 * m.train_accuracy).toFixed(1)}%`)));
    }
    el.querySelector("#pg-epoch").textContent = String(f.epoch).padStart(4, "0");
    el.querySelector("#pg-steps").textContent = ` ${f.step} steps`;
    el.querySelector("#pg-steps").dataset.value = String(f.step);
  }

  outCanvas.addEventListener("click", e => {
    const f = st.frame;
    if (!f) return;
    const r = outCanvas.getBoundingClientRect();
    const cx = (e.clientX - r.left) * outCanvas.width / r.width, cy = (e.clientY - r.top) * outCanvas.height / r.height;
    let best = null, bestD = 100;
    const consider = (p, index) => {
      const [px, py] = toPixel(f, p[0], p[1]);
      const d = (px - cx) ** 2 + (py - cy) ** 2;
      if (d < bestD) { bestD = d; best = index; }
    };
    f.points.train.forEach((p, i) => consider(p, i));
    if (st.settings.show_test) f.points.test.forEach((p, i) => consider(p, f.points.train.length + i));
    if (best !== null) send({type: "point", index: best});
  });

  // -- a point's graph and its backward pass -------------------------------------------------
  function drawGraph() {
    const g = st.graph;
    graphPanel.style.display = "block";
    graphPanel.innerHTML = "";
    const colW = 160, rowH = 46, top = 10, boxW = 118, boxH = 36;
    const rows = Math.max(...g.units.map(c => c.length));
    const W = colW * g.units.length + 10, H = top + rows * rowH + 10;
    const svg = s("svg", {width: W, height: H, class: "pg-graph-svg", id: "pg-graph-svg"});
    const pos = (c, j) => [10 + c * colW, top + j * rowH + (rows - g.units[c].length) * rowH / 2];
    const step = g.steps[st.stepIndex];
    const hot = new Set(step ? [step.unit] : []), warm = new Set(step ? step.parents.map(p => p.unit) : []);
    for (const e of g.edges) {
      const [x1, y1] = pos(...e.from), [x2, y2] = pos(...e.to);
      const t = e.grad === null ? 0 : Math.tanh(10 * e.grad);
      const line = s("line", {x1: x1 + boxW, y1: y1 + boxH / 2, x2, y2: y2 + boxH / 2,
                              stroke: e.grad === null ? "#bbb" : rgb(colour(t)), "stroke-width": 1 + 2 * Math.abs(t)});
      if (e.name) {
        const title = s("title", {});
        title.textContent = `${e.name} = ${fmt(e.w)}, ∂C/∂${e.name} = ${fmt(e.grad)}`;
        line.append(title);
      }
      svg.append(line);
    }
    g.units.forEach((col, c) => col.forEach((u, j) => {
      const [x, y] = pos(c, j);
      const cls = "pg-unit" + (hot.has(u.id) ? " pg-hot" : warm.has(u.id) ? " pg-warm" : "");
      const grp = s("g", {class: cls, "data-unit": u.id});
      grp.append(s("rect", {x, y, width: boxW, height: boxH, rx: 5}));
      const t1 = s("text", {x: x + 5, y: y + 14}), t2 = s("text", {x: x + 5, y: y + 29, class: "pg-grad"});
      t1.textContent = `${u.name || u.kind} = ${fmt(u.value)}`;
      t2.textContent = `∂C/∂${(u.name || "").replace(/[0-9]*\[.*$/, "")} = ${fmt(u.grad)}`;
      grp.append(t1, t2);
      if (u.z !== null) {
        const title = s("title", {});
        title.textContent = `z = ${fmt(u.z)}, ∂C/∂z = ${fmt(u.z_grad)}`;
        grp.append(title);
      }
      svg.append(grp);
    }));
    const nav = (label, id, to) => h("button", {id, on: {click: () => { st.stepIndex = Math.max(0, Math.min(g.steps.length - 1, to())); drawGraph(); }}}, label);
    const table = h("table", {class: "pg-step-table", id: "pg-step-table"});
    if (step) {
      table.append(h("tr", {}, h("th", {}, "node"), h("th", {}, "value"), h("th", {}, "∂C/∂node (upstream)")),
        h("tr", {class: "pg-step-node"}, h("td", {}, step.name), h("td", {"data-value": String(step.value)}, fmt(step.value)),
          h("td", {class: "pg-upstream", "data-value": String(step.upstream)}, fmt(step.upstream))));
      if (step.parents.length) {
        table.append(h("tr", {}, h("th", {}, "parent"), h("th", {}, "local ∂node/∂parent"), h("th", {}, "contribution")));
        for (const p of step.parents) {
          table.append(h("tr", {class: "pg-step-parent"}, h("td", {}, p.name),
            h("td", {class: "pg-local", "data-value": String(p.local)}, fmt(p.local)),
            h("td", {class: "pg-contribution", "data-value": String(p.contribution)}, fmt(p.contribution))));
        }
      }
    }
    const split = g.split === "train" ? "training" : "test";
    graphPanel.append(
      h("h4", {}, `Point ${g.index} (${split}, label ${fmt(g.label)}): C = ${fmt(g.loss)}`,
        h("button", {class: "pg-close", id: "pg-graph-close", on: {click: () => { st.graph = null; graphPanel.style.display = "none"; }}}, "×")),
      h("p", {class: "pg-hint"}, "Each box is a neuron's output a = σ(z) with ∂C/∂a after backward; edges are weights coloured by ∂C/∂w (hover for numbers). Step through backward: each node passes ∂C/∂node × ∂node/∂parent to its parents."),
      h("div", {class: "pg-graph-scroll"}, svg),
      h("div", {class: "pg-stepper"}, nav("|◀", "pg-step-first", () => 0), nav("◀ back", "pg-step-back", () => st.stepIndex - 1),
        h("span", {id: "pg-step-index", "data-value": String(st.stepIndex)}, `step ${st.stepIndex + 1} / ${g.steps.length}`),
        nav("next ▶", "pg-step-next", () => st.stepIndex + 1), nav("▶|", "pg-step-last", () => g.steps.length - 1)),
      h("pre", {id: "pg-step-text"}, step ? step.text : ""), table);
  }

  function showCode(code) {
    codePanel.style.display = "block";
    codePanel.innerHTML = "";
    const area = h("textarea", {id: "pg-code", rows: 24, spellcheck: "false", readonly: true});
    area.value = code;
    if (st.blob) URL.revokeObjectURL(st.blob);
    const blob = st.blob = URL.createObjectURL(new Blob([code], {type: "text/x-python"}));
    codePanel.append(h("h4", {}, "This run as code",
      h("button", {class: "pg-close", on: {click: () => { codePanel.style.display = "none"; }}}, "×")),
      h("p", {class: "pg-hint"}, "Runs with this library and reproduces the run from the same seed."),
      h("div", {}, h("button", {id: "pg-copy", on: {click: () => navigator.clipboard?.writeText(code)}}, "Copy"), " ",
        h("a", {href: blob, download: "playground_run.py"}, "Download playground_run.py")),
      area);
  }

  // -- messages from Python ------------------------------------------------------------------
  function onMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "settings") {
      st.settings = msg.settings;
      st.options = msg.options;
      // Controls are rebuilt only when their choices change (another problem type); otherwise
      // their values are updated in place, so focus and open menus survive a reply.
      const controlsKey = JSON.stringify([msg.settings.problem, msg.settings.lr, msg.settings.reg_rate]);
      if (controlsKey !== st.controlsKey) { st.controlsKey = controlsKey; buildControls(); } else syncControls();
      const key = JSON.stringify([msg.settings.features, msg.settings.hidden]);
      if (key !== st.archKey) { st.archKey = key; buildNetwork(); }
      if (urlState) writeUrl(msg.settings);
    } else if (msg.type === "frame") {
      st.frame = msg;
      // Ask for the next picture before drawing this one: Python trains while the page draws.
      st.waiting = false;
      if (st.playing) tick();
      const t0 = performance.now();
      if (layout) { drawNetwork(msg); drawOutput(msg); drawCurve(msg); drawFlow(msg); drawMetrics(msg); }
      st.drawMs = 0.9 * (st.drawMs || 0) + 0.1 * (performance.now() - t0);
      st.frames++;
      const now = performance.now();
      if (now - st.fpsStart > 1000) {
        st.fps = st.frames * 1000 / (now - st.fpsStart);
        st.frames = 0;
        st.fpsStart = now;
        const fps = el.querySelector("#pg-fps");
        fps.textContent = st.playing ? `${st.fps.toFixed(1)} updates/s` : "";
        fps.dataset.value = String(st.fps);
        fps.dataset.drawMs = String(st.drawMs);
      }
    } else if (msg.type === "graph") {
      st.graph = msg;
      st.stepIndex = 0;
      drawGraph();
      if (st.frame) drawOutput(st.frame);
    } else if (msg.type === "code") {
      showCode(msg.code);
    } else if (msg.type === "error") {
      error.textContent = msg.message;
      if (st.settings) syncControls();  // the refused value goes back to the one in force
      else send({type: "hello"});       // a setup from the URL was refused: start from the defaults
      error.style.display = "block";
      clearTimeout(st.errorTimer);
      st.errorTimer = setTimeout(() => { error.style.display = "none"; }, 6000);
      st.waiting = false;
      if (st.playing) setTimeout(tick, 100);
    }
  }
  model.on("msg:custom", onMessage);

  const fromUrl = urlState ? readUrl() : null;
  if (fromUrl) send({type: "set", settings: fromUrl}); else send({type: "hello"});
  return () => { st.playing = false; };
}

// -- the whole setup in the URL (standalone) -----------------------------------------------------
const LIST_KEYS = new Set(["features", "hidden"]);
const BOOL_KEYS = new Set(["batch_norm", "show_test", "discretize"]);
const TEXT_KEYS = new Set(["problem", "dataset", "activation", "init", "loss", "optimizer", "regularization", "edge_mode"]);
function writeUrl(settings) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(settings)) p.set(k, Array.isArray(v) ? v.join(",") : String(v));
  history.replaceState(null, "", location.pathname + location.search + "#" + p.toString());
}
function readUrl() {
  if (location.hash.length < 2) return null;
  const out = {};
  for (const [k, v] of new URLSearchParams(location.hash.slice(1))) {
    if (LIST_KEYS.has(k)) out[k] = v === "" ? [] : v.split(",").map(x => k === "hidden" ? Number(x) : x);
    else if (BOOL_KEYS.has(k)) out[k] = v === "true";
    else if (TEXT_KEYS.has(k)) out[k] = v;
    else out[k] = Number(v);
  }
  return out;
}

// -- hosts -----------------------------------------------------------------------------------------
function httpModel() {
  const listeners = [];
  let queue = Promise.resolve();
  return {
    on(name, f) { if (name === "msg:custom") listeners.push(f); },
    send(msg) {
      // One request at a time, in order: the session sees the page's messages as they were sent.
      queue = queue.then(async () => {
        let replies;
        try {
          const r = await fetch("api", {method: "POST", headers: {"Content-Type": "application/json"},
                                        body: JSON.stringify(msg), credentials: "same-origin"});
          replies = await r.json();
        } catch (e) {
          replies = [{type: "error", message: `the Playground server did not answer (${e}); is it still running?`}];
        }
        for (const m of replies) for (const f of listeners) f(m);
      });
    },
  };
}

export function standalone(el) {
  return mount(httpModel(), el, {urlState: true});
}

export default {
  render({model, el}) {
    return mount(model, el);
  },
};
