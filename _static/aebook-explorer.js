/* The book's explorers, live in the page: no kernel, no server, nothing from another host.
 *
 * aebook.webexport writes each explorer into a chapter's cell output as
 * <div class="aebook-explorer"><script type="application/json">{...}</script></div>. This script,
 * which Jupyter Book loads on every page from _static/, turns each such div into the view that
 * aebook.explore draws in Python: the same controls and panels, drawn over a backdrop that is the
 * Python figure itself. The networks run in a short forward pass (nn.Linear and elementwise
 * activations), noise and prior draws come from a seeded mulberry32; aebook/webformat.py holds
 * the numpy twins of both, which the browser check (tests/browser) compares with the page.
 *
 * For tests and the curious: each mounted div gets .aebook = {spec, values, outputs, set(values),
 * lastMs}; set() updates synchronously and returns the outputs (Float32Arrays).
 */
(() => {
  "use strict";
  const FORMAT = 1;

  // ---- arrays, as aebook.webformat.pack writes them
  function bytes(b64) {
    const bin = atob(b64), out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function half(h) { // IEEE float16 bits -> number
    const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    if (e === 0) return s * f * 2 ** -24;
    if (e === 31) return f ? NaN : s * Infinity;
    return s * (1 + f / 1024) * 2 ** (e - 15);
  }
  function unpack(p) { // -> Float32Array, with .shape
    const raw = bytes(p.data), n = p.shape.reduce((a, b) => a * b, 1);
    let out;
    if (p.dtype === "f32") out = new Float32Array(raw.buffer, 0, n);
    else if (p.dtype === "f16") {
      const h = new Uint16Array(raw.buffer, 0, n);
      out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = half(h[i]);
    } else if (p.dtype === "i8") {
      // one scale per p.group entries of a row; rows are whole groups
      const q = new Int8Array(raw.buffer, 0, n), scale = unpack({dtype: "f32", shape: [n / p.group], data: p.scale});
      out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = q[i] * scale[(i / p.group) | 0];
    } else throw new Error(`unknown dtype ${p.dtype}`);
    out.shape = p.shape;
    return out;
  }

  // ---- networks: y = x W^T + b as dot products of W's rows (out, in) with four inputs at a time
  const ACT = {
    relu: v => (v > 0 ? v : 0), sigmoid: v => 1 / (1 + Math.exp(-v)), tanh: Math.tanh,
    silu: v => v / (1 + Math.exp(-v)), softplus: v => (v > 20 ? v : Math.log1p(Math.exp(v))),
  };
  function prepare(net) {
    return net.layers.map(l => {
      if (l.op !== "linear") {
        if (!ACT[l.op]) throw new Error(`unknown layer ${l.op}`);
        return {act: ACT[l.op]};
      }
      const w = unpack(l.w);
      return {w, b: unpack(l.b), out: w.shape[0], inp: w.shape[1]};
    });
  }
  function linear({w, b, inp, out}, x, n) {
    const y = new Float32Array(n * out);
    let r = 0;
    for (; r + 4 <= n; r += 4) { // four rows share each load of a weight
      const o0 = r * inp, o1 = o0 + inp, o2 = o1 + inp, o3 = o2 + inp;
      for (let j = 0; j < out; j++) {
        const wo = j * inp;
        let s0 = b[j], s1 = b[j], s2 = b[j], s3 = b[j];
        for (let i = 0; i < inp; i++) {
          const wi = w[wo + i];
          s0 += wi * x[o0 + i]; s1 += wi * x[o1 + i]; s2 += wi * x[o2 + i]; s3 += wi * x[o3 + i];
        }
        y[r * out + j] = s0; y[(r + 1) * out + j] = s1; y[(r + 2) * out + j] = s2; y[(r + 3) * out + j] = s3;
      }
    }
    for (; r < n; r++) {
      const o = r * inp;
      for (let j = 0; j < out; j++) {
        const wo = j * inp;
        let s = b[j];
        for (let i = 0; i < inp; i++) s += w[wo + i] * x[o + i];
        y[r * out + j] = s;
      }
    }
    return y;
  }
  function forward(layers, x, n) { // x: n rows -> Float32Array of n rows
    let h = x;
    for (const l of layers) {
      if (l.act) {
        const g = new Float32Array(h.length);
        for (let i = 0; i < h.length; i++) g[i] = l.act(h[i]);
        h = g;
      } else h = linear(l, h, n);
    }
    return h;
  }

  // ---- the generator and the corruptions of aebook.webformat
  function mulberry32(seed) {
    let a = seed | 0;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t = (t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  function normals(rng, n) {
    const out = new Float64Array(n + (n % 2));
    for (let i = 0; i < n; i += 2) {
      const u = rng(), v = rng(), r = Math.sqrt(-2 * Math.log(1 - u));
      out[i] = r * Math.cos(2 * Math.PI * v);
      out[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
    return out.subarray(0, n);
  }
  function corrupt(kind, x, level, seed) {
    const out = new Float32Array(x);
    if (level === 0) return out;
    const rng = mulberry32(seed);
    if (kind === "gaussian") {
      const z = normals(rng, x.length);
      for (let i = 0; i < x.length; i++) out[i] = x[i] + level * z[i];
    } else if (kind === "masking") {
      for (let i = 0; i < x.length; i++) if (rng() < level) out[i] = 0;
    } else if (kind === "salt-and-pepper") {
      for (let i = 0; i < x.length; i++) {
        const hit = rng() < level, salt = rng() < 0.5;
        if (hit) out[i] = salt ? 1 : 0;
      }
    } else throw new Error(`unknown corruption ${kind}`);
    return out;
  }

  // ---- fields of the point views: (x1, x2) -> [v1, v2]
  function field(spec) {
    if (spec.op === "residual") {
      const layers = prepare(spec.net);
      return (a, b) => {
        const r = forward(layers, new Float32Array([a, b]), 1);
        return [spec.scale * (r[0] - Math.fround(a)), spec.scale * (r[1] - Math.fround(b))];
      };
    }
    if (spec.op === "mixture-score") {
      const mu = unpack(spec.means), s = unpack(spec.stds), w = unpack(spec.weights), k = s.length;
      return (a, b) => {
        const lp = [], pull = [];
        for (let i = 0; i < k; i++) {
          const dx = a - mu[2 * i], dy = b - mu[2 * i + 1], v = s[i] * s[i];
          lp.push(Math.log(w[i]) - (dx * dx + dy * dy) / (2 * v) - Math.log(2 * Math.PI * v));
          pull.push([-dx / v, -dy / v]);
        }
        const top = Math.max(...lp), e = lp.map(l => Math.exp(l - top)), z = e.reduce((p, q) => p + q, 0);
        return [0, 1].map(d => e.reduce((acc, ei, i) => acc + (ei / z) * pull[i][d], 0));
      };
    }
    if (spec.op === "nearest") {
      const p = unpack(spec.points), m = p.length / 2;
      return (a, b) => {
        let best = Infinity, at = 0;
        for (let i = 0; i < m; i++) {
          const d = (p[2 * i] - a) ** 2 + (p[2 * i + 1] - b) ** 2;
          if (d < best) { best = d; at = i; }
        }
        return [p[2 * at] - Math.fround(a), p[2 * at + 1] - Math.fround(b)];
      };
    }
    throw new Error(`unknown field ${spec.op}`);
  }

  // ---- drawing, in CSS pixels of the figure (the canvas has figure.scale device pixels per one)
  const fmt = v => (typeof v === "number" ? String(Math.round(v * 1e6) / 1e6) : String(v));
  function tile(images, n, ncols) { // aebook.plotting.tile_images: 28 x 28 tiles, 1 px gaps (blank)
    const rows = Math.ceil(n / ncols), w = ncols * 29 - 1, h = rows * 29 - 1;
    const canvas = document.createElement("canvas");
    canvas.width = w; canvas.height = h;
    const ctx = canvas.getContext("2d"), img = ctx.createImageData(w, h);
    for (let k = 0; k < n; k++) {
      const r0 = Math.floor(k / ncols) * 29, c0 = (k % ncols) * 29;
      for (let p = 0; p < 784; p++) {
        // matplotlib's "gray" with vmin 0, vmax 1: 256 levels, clipped
        const v = images[k * 784 + p], g = Math.min(255, Math.max(0, Math.floor(v * 256)));
        const o = 4 * ((r0 + Math.floor(p / 28)) * w + c0 + (p % 28));
        img.data[o] = img.data[o + 1] = img.data[o + 2] = g;
        img.data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    return canvas;
  }
  function toPx(panel, a, b) {
    const [x0, y0, w, h] = panel.box, [l, r] = panel.xlim, [bot, top] = panel.ylim;
    return [x0 + ((a - l) / (r - l)) * w, y0 + ((top - b) / (top - bot)) * h];
  }
  function fromPx(panel, px, py) {
    const [x0, y0, w, h] = panel.box, [l, r] = panel.xlim, [bot, top] = panel.ylim;
    const clamp = (v, a, b) => Math.min(Math.max(v, Math.min(a, b)), Math.max(a, b));
    return [clamp(l + ((px - x0) / w) * (r - l), l, r), clamp(top - ((py - y0) / h) * (top - bot), bot, top)];
  }
  function arrow(ctx, panel, a, b, u, v, style) { // a quiver arrow (scale_units "xy"), head 3 x 5
    const [px, py] = toPx(panel, a, b), [qx, qy] = toPx(panel, a + u, b + v);
    const len = Math.hypot(qx - px, qy - py), w = style.width * panel.box[2];
    if (len < 1e-9) return;
    const k = Math.min(1, len / (5 * w)), hl = 5 * w * k, hw = 1.5 * w * k, ha = 4.5 * w * k;
    const c = (qx - px) / len, s = (qy - py) / len;
    const pts = [[0, -w / 2], [len - ha, -w / 2], [len - hl, -hw], [len, 0], [len - hl, hw], [len - ha, w / 2], [0, w / 2]];
    ctx.save();
    ctx.globalAlpha = style.alpha;
    ctx.fillStyle = style.color;
    ctx.beginPath();
    pts.forEach(([x, y], i) => ctx[i ? "lineTo" : "moveTo"](px + c * x - s * y, py + s * x + c * y));
    ctx.closePath();
    ctx.fill();
    ctx.restore();
  }

  // ---- the views: each returns {compute(values) -> outputs, draw(ctx, outputs), texts(values, outputs)}
  const VIEWS = {
    latent(spec) {
      const d = spec.data, layers = prepare(d.decoder), base = unpack(d.base), [d1, d2] = d.dims;
      const [n1, n2] = spec.controls.map(c => c.name), P = spec.figure.panels;
      return {
        drag: {panel: P.map, names: [n1, n2]},
        compute(v) {
          const h = new Float32Array(base);
          h[d1] = v[n1]; h[d2] = v[n2];
          return {h, image: forward(layers, h, 1)};
        },
        draw(ctx, v, out) {
          const [x0, y0, w, h] = P.image.box;
          ctx.drawImage(tile(out.image, 1, 1), x0, y0, w, h);
          const [px, py] = toPx(P.map, v[n1], v[n2]), r = 6.1;
          ctx.save();
          ctx.strokeStyle = "#000"; ctx.lineWidth = 2.2;
          ctx.beginPath(); ctx.moveTo(px - r, py); ctx.lineTo(px + r, py); ctx.moveTo(px, py - r); ctx.lineTo(px, py + r);
          ctx.stroke(); ctx.restore();
        },
        texts: (v, out) => ({title: `decoded: g(h), h = (${out.h[d1].toFixed(2)}, ${out.h[d2].toFixed(2)})`}),
      };
    },
    interpolation(spec) {
      const d = spec.data, layers = prepare(d.decoder), [ha, hb] = d.h.map(unpack), [xa, xb] = d.x.map(unpack);
      const k = ha.length, n = d.n_samples, P = spec.figure.panels;
      return {
        compute(v) {
          const h = new Float32Array(k);
          for (let i = 0; i < k; i++) h[i] = (1 - v.t) * ha[i] + v.t * hb[i];
          const codes = Float32Array.from(normals(mulberry32(v.seed), n * k));
          return {interpolated: forward(layers, h, 1), codes, samples: forward(layers, codes, n)};
        },
        draw(ctx, v, out) {
          const line = new Float32Array(3 * 784);
          line.set(xa, 0); line.set(out.interpolated, 784); line.set(xb, 1568);
          for (const [name, imgs, m] of [["line", line, 3], ["prior", out.samples, n]]) {
            const [x0, y0, w, h] = P[name].box;
            ctx.drawImage(tile(imgs, m, m), x0, y0, w, h);
          }
        },
        texts: v => ({title: `x_a, g((1 − t) f(x_a) + t f(x_b)) at t = ${fmt(v.t)}, x_b`}),
      };
    },
    noise(spec) {
      const d = spec.data, x = unpack(d.x), n = x.shape[0], nets = {}, P = spec.figure.panels;
      const net = name => (nets[name] ??= prepare(d.nets[name])); // decoded when first chosen
      const sigmoid = ACT.sigmoid;
      return {
        compute(v) {
          const xt = corrupt(d.kinds[v.corruption], x, v.level, d.seed);
          const out = {corrupted: xt, DAE: forward(net(v.corruption), xt, n)};
          if (d.rows.includes("plain AE")) out["plain AE"] = forward(net("plain AE"), xt, n);
          out.errors = {};
          for (const row of d.rows) {
            let e = 0;
            for (let i = 0; i < x.length; i++) e += (out[row][i] - x[i]) ** 2;
            out.errors[row] = e / n;
          }
          return out;
        },
        draw(ctx, v, out) {
          for (const row of d.rows) {
            const [x0, y0, w, h] = P[row].box;
            ctx.drawImage(tile(out[row], n, n), x0, y0, w, h);
          }
        },
        texts: (v, out) => ({title: `${v.corruption}, level ${fmt(v.level)}\nerror to the clean digits: ` +
          d.rows.map(r => `${r} ${out.errors[r].toFixed(1)}`).join(" · ")}),
      };
    },
    point(spec) {
      const d = spec.data, P = spec.figure.panels, fields = {};
      for (const [s, fs] of Object.entries(d.fields)) fields[s] = fs.map(field);
      return {
        drag: {panel: P.plane, names: ["x1", "x2"]},
        compute(v) {
          const out = {};
          fields[v.setting].forEach((f, i) => { out[d.arrows[i].name] = Float32Array.from(f(v.x1, v.x2)); });
          return out;
        },
        draw(ctx, v, out) {
          const [x0, y0, w, h] = P.plane.box;
          ctx.save();
          ctx.beginPath(); ctx.rect(x0, y0, w, h); ctx.clip(); // as matplotlib clips to the axes
          for (let i = d.arrows.length - 1; i >= 0; i--) { // the first field on top
            const a = out[d.arrows[i].name];
            arrow(ctx, P.plane, v.x1, v.x2, d.scale * a[0], d.scale * a[1], d.arrows[i]);
          }
          const [px, py] = toPx(P.plane, v.x1, v.x2);
          ctx.fillStyle = "#000";
          ctx.beginPath(); ctx.arc(px, py, 2.2, 0, 2 * Math.PI); ctx.fill();
          ctx.restore();
        },
        texts(v, out) {
          let title = `${v.setting}, x = (${v.x1.toFixed(2)}, ${v.x2.toFixed(2)})`;
          if (d.arrows.length > 1) {
            const [u, w] = [out[d.arrows[0].name], out[d.arrows[1].name]];
            const nu = Math.hypot(u[0], u[1]), nw = Math.hypot(w[0], w[1]);
            title += ": cosine " + (Math.min(nu, nw) < d.zero ? "undefined" : ((u[0] * w[0] + u[1] * w[1]) / (nu * nw)).toFixed(2));
          }
          return {title};
        },
      };
    },
  };

  // ---- the explorer: controls, the figure (backdrop + what the view draws), texts, status
  let count = 0;
  function el(tag, props = {}, parent = null) {
    const e = Object.assign(document.createElement(tag), props);
    if (parent) parent.appendChild(e);
    return e;
  }
  function mount(root) {
    if (root.aebook) return;
    const status = el("p", {className: "aebook-explorer-status"});
    let spec;
    try {
      spec = JSON.parse(root.querySelector("script.aebook-explorer-data").textContent);
      if (spec.format !== FORMAT) throw new Error(`data of format ${spec.format}, this script reads ${FORMAT}`);
    } catch (err) {
      status.textContent = `This explorer could not start: ${err.message}`;
      root.appendChild(status);
      return;
    }
    const id = `aebook-explorer-${++count}`, fig = spec.figure, view = VIEWS[spec.kind](spec);
    root.querySelector(".aebook-explorer-note")?.remove();
    const controls = el("div", {className: "aebook-explorer-controls", role: "group",
                                 ariaLabel: "controls of the explorer"}, root);
    const box = el("div", {className: "aebook-explorer-figure"}, root);
    box.style.width = `${fig.width}px`;
    box.style.aspectRatio = `${fig.width} / ${fig.height}`;
    const canvas = el("canvas", {width: fig.width * fig.scale, height: fig.height * fig.scale}, box);
    canvas.setAttribute("role", "img");
    const texts = {};
    for (const [name, t] of Object.entries(fig.texts)) {
      texts[name] = el("div", {className: "aebook-explorer-text"}, box);
      Object.assign(texts[name].style, {left: `${(100 * t.x) / fig.width}%`, top: `${(100 * t.top) / fig.height}%`,
                                         fontSize: `${t.size}px`});
    }
    root.appendChild(status);
    const values = {}, inputs = {};
    for (const c of spec.controls) {
      values[c.name] = c.value;
      if (c.options.length < 2) continue; // nothing to choose, as in aebook.views.show
      const wrap = el("div", {className: "aebook-explorer-control"}, controls);
      el("label", {htmlFor: `${id}-${c.name}`, textContent: c.name}, wrap);
      if (c.options.every(o => typeof o === "number")) {
        const input = el("input", {type: "range", id: `${id}-${c.name}`, min: 0, max: c.options.length - 1, step: 1,
                                   value: c.options.indexOf(c.value)}, wrap);
        const shown = el("output", {htmlFor: input.id}, wrap);
        input.addEventListener("input", () => update({[c.name]: c.options[+input.value]}));
        inputs[c.name] = {input, shown, sync(v) {
          let best = 0;
          c.options.forEach((o, i) => { if (Math.abs(o - v) < Math.abs(c.options[best] - v)) best = i; });
          input.value = best;
          shown.textContent = fmt(Math.round(v * 1000) / 1000);
          input.setAttribute("aria-valuetext", fmt(v));
        }};
      } else {
        const input = el("select", {id: `${id}-${c.name}`}, wrap);
        c.options.forEach(o => el("option", {value: o, textContent: o}, input));
        input.value = c.value;
        input.addEventListener("change", () => update({[c.name]: input.value}));
        inputs[c.name] = {input, sync(v) { input.value = v; }};
      }
    }
    const ctx = canvas.getContext("2d"), backdrop = new Image();
    let outputs = null;
    function draw() {
      ctx.setTransform(fig.scale, 0, 0, fig.scale, 0, 0);
      ctx.imageSmoothingEnabled = true;
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, fig.width, fig.height);
      if (backdrop.complete && backdrop.naturalWidth) ctx.drawImage(backdrop, 0, 0, fig.width, fig.height);
      ctx.imageSmoothingEnabled = false;
      view.draw(ctx, values, outputs);
    }
    function update(changes = {}) {
      const t0 = performance.now();
      Object.assign(values, changes);
      outputs = view.compute(values);
      draw();
      const t = view.texts(values, outputs);
      for (const [name, text] of Object.entries(t)) texts[name].textContent = text;
      canvas.setAttribute("aria-label", Object.values(t).join(" "));
      for (const [name, c] of Object.entries(inputs)) c.sync(values[name]);
      api.lastMs = performance.now() - t0;
      status.textContent = `Runs in your browser: updated in ${api.lastMs.toFixed(1)} ms` +
        (root.dataset.weight ? `; this explorer adds ${Math.round(root.dataset.weight / 1000)} kB to the page.` : ".");
      return outputs;
    }
    if (view.drag) { // drag the point over the panel; the sliders follow
      const {panel, names} = view.drag;
      const move = e => {
        const r = canvas.getBoundingClientRect(), k = fig.width / r.width;
        const [px, py] = [(e.clientX - r.left) * k, (e.clientY - r.top) * k], [x0, y0, w, h] = panel.box;
        if (e.type === "pointerdown" && (px < x0 || px > x0 + w || py < y0 || py > y0 + h)) return;
        if (e.type === "pointermove" && !canvas.hasPointerCapture(e.pointerId)) return;
        if (e.type === "pointerdown") canvas.setPointerCapture(e.pointerId);
        const [a, b] = fromPx(panel, px, py);
        update({[names[0]]: a, [names[1]]: b});
        e.preventDefault();
      };
      canvas.addEventListener("pointerdown", move);
      canvas.addEventListener("pointermove", move);
      canvas.style.touchAction = "none";
    }
    const api = {spec, values, get outputs() { return outputs; }, lastMs: null,
                 set: changes => update(changes)};
    root.aebook = api;
    backdrop.onload = draw;
    backdrop.src = fig.backdrop;
    update();
  }
  function mountAll() { document.querySelectorAll(".aebook-explorer").forEach(mount); }
  window.aebookExplorer = {mountAll, unpack, forward, prepare, mulberry32, corrupt, field};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
