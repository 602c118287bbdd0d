/*
 * MedSegText case viewer: the film and the lesion mask on one <canvas>, with window/level,
 * invert, wheel zoom, drag to pan, fit and 1:1, a lesion fill and a contour-only outline.
 *
 * Why plain JavaScript in a static file: every control here changes only the display, so it
 * must answer at once, with no websocket round trip per step (a Reflex state var per slider
 * step dropped key presses). The portal's CSP runs scripts from 'self' only, so this is a file
 * in frontend/assets/, loaded on every page and idle until a viewer appears.
 *
 * The page (portal/components/viewer.py) renders the markup: a `.msv-viewer` element whose
 * data-film / data-mask hold the /media links, and controls marked with data-act, data-layer,
 * data-opacity and aria-keyshortcuts. This script wires them and never calls the server except
 * to load those two images, once each: every use of a /media link mints a one-time ticket and
 * is audited as a download, so the pixels are kept here and never fetched again.
 */
(() => {
  "use strict";

  const FILL_RGB = [255, 48, 48];     // the portal's lesion red (components/viewer.py)
  const OUTLINE_RGB = [255, 220, 0];  // the contour colour of inference/overlay.py
  const MIN_SCALE = 0.05;
  const MAX_SCALE = 32;
  const WHEEL_STEP = 0.0015;          // zoom factor per wheel pixel: one notch (100) = x0.86
  const ZOOM_BUTTON = 1.25;
  const WW_RANGE = [1, 1024];
  const WC_RANGE = [-256, 512];
  const viewers = new Map();          // root element -> Viewer

  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

  /* The DICOM linear VOI function (PS3.3 C.11.2.1.2) on 0..255 display values, as a lookup
   * table: exact on pixel values, unlike a CSS brightness/contrast filter. W 256 / C 128 is the
   * identity. */
  function windowTable(ww, wc, invert) {
    const table = new Uint8ClampedArray(256);
    const low = wc - 0.5 - (ww - 1) / 2;
    const high = wc - 0.5 + (ww - 1) / 2;
    for (let v = 0; v < 256; v++) {
      const y = v <= low ? 0 : v > high ? 255
        : Math.round(((v - (wc - 0.5)) / (ww - 1) + 0.5) * 255);
      table[v] = invert ? 255 - y : y;
    }
    return table;
  }

  function canvasOf(width, height) {
    const c = document.createElement("canvas");
    c.width = width;
    c.height = height;
    return c;
  }

  /* One image's pixels, fetched once. colorSpaceConversion "none" keeps the stored values. */
  async function loadPixels(url, signal) {
    const r = await fetch(url, {credentials: "same-origin", cache: "no-store", signal});
    if (!r.ok) throw new Error((await r.text()).trim() || `HTTP ${r.status}`);
    const bitmap = await createImageBitmap(await r.blob(),
      {colorSpaceConversion: "none", premultiplyAlpha: "none"});
    const g = canvasOf(bitmap.width, bitmap.height).getContext("2d", {willReadFrequently: true});
    g.drawImage(bitmap, 0, 0);
    bitmap.close();
    return g.getImageData(0, 0, g.canvas.width, g.canvas.height);
  }

  /* The two lesion layers at the mask's size. Fill: every mask pixel. Outline: a mask pixel
   * with a 4-neighbour outside the mask, as thick as the server's overlay draws it (1 px per
   * 400 px of the longer side; the image border does not count as outside). */
  function lesionLayers(mask) {
    const {width: w, height: h, data} = mask;
    const on = new Uint8Array(w * h);
    for (let i = 0; i < on.length; i++) on[i] = data[i * 4] > 127 ? 1 : 0;
    let inner = on;
    for (let k = Math.max(1, Math.round(Math.max(w, h) / 400)); k > 0; k--) {
      const next = new Uint8Array(w * h);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const i = y * w + x;
          next[i] = inner[i] && (y === 0 || inner[i - w]) && (y === h - 1 || inner[i + w])
            && (x === 0 || inner[i - 1]) && (x === w - 1 || inner[i + 1]) ? 1 : 0;
        }
      }
      inner = next;
    }
    const paint = (pick, rgb) => {
      const c = canvasOf(w, h);
      const g = c.getContext("2d");
      const img = g.createImageData(w, h);
      for (let i = 0; i < on.length; i++) {
        if (!pick(i)) continue;
        img.data.set(rgb, i * 4);
        img.data[i * 4 + 3] = 255;
      }
      g.putImageData(img, 0, 0);
      return c;
    };
    return {fill: paint((i) => on[i], FILL_RGB),
            outline: paint((i) => on[i] && !inner[i], OUTLINE_RGB)};
  }

  class Viewer {
    constructor(root) {
      this.root = root;
      this.stage = root.querySelector("[data-stage]");
      this.canvas = root.querySelector("canvas");
      this.ctx = this.canvas.getContext("2d", {alpha: false});
      this.status = root.querySelector("[data-status]");
      const preset = root.querySelector("[data-act=preset][data-default]");
      this.defaults = preset ? [+preset.dataset.ww, +preset.dataset.wc] : [256, 128];
      this.tool = "pan";
      this.layers = {fill: {show: true, alpha: 0.3}, outline: {show: true, alpha: 1}};
      for (const name of Object.keys(this.layers)) this.readLayer(name);
      this.film = this.source = this.lesion = null;
      this.resetWindow();
      this.wire();
      this.open(root.dataset.film || "", root.dataset.mask || "");
    }

    /* A new case (or new links): forget the old pixels and load the new ones. */
    async open(film, mask) {
      this.filmUrl = film;
      this.maskUrl = mask;
      if (this.abort) this.abort.abort();
      this.abort = new AbortController();
      const {signal} = this.abort;
      this.film = this.source = this.lesion = null;
      this.say("loading", "Loading the image…");
      this.schedule();
      if (!film) return;
      try {
        const [pixels, maskPixels] = await Promise.all([loadPixels(film, signal),
          mask ? loadPixels(mask, signal).catch((e) => e) : null]);
        if (signal.aborted) return;
        this.source = pixels;
        this.film = canvasOf(pixels.width, pixels.height);
        this.windowed = this.film.getContext("2d").createImageData(pixels.width, pixels.height);
        this.lesion = maskPixels instanceof ImageData ? lesionLayers(maskPixels) : null;
        this.dirtyWindow = true;
        this.fit();
        this.say("ready", maskPixels instanceof Error
          ? `The lesion mask could not be loaded: ${maskPixels.message}` : "");
      } catch (e) {
        if (!signal.aborted) this.say("error", `The image could not be loaded: ${e.message}`);
      }
    }

    say(state, message) {
      this.root.dataset.state = state;
      if (!this.status) return;
      this.status.textContent = message;
      this.status.hidden = !message;
    }

    wire() {
      const c = this.canvas;
      c.addEventListener("contextmenu", (e) => e.preventDefault());  // right-drag is W/L
      // the middle button pans; without this it would start the browser's autoscroll
      c.addEventListener("mousedown", (e) => { if (e.button === 1) e.preventDefault(); });
      c.addEventListener("wheel", (e) => this.onWheel(e), {passive: false});
      c.addEventListener("pointerdown", (e) => this.onDown(e));
      c.addEventListener("pointermove", (e) => this.onMove(e));
      c.addEventListener("pointerup", () => { this.drag = null; });
      c.addEventListener("pointercancel", () => { this.drag = null; });
      c.addEventListener("dblclick", () => this.fit());
      this.root.addEventListener("click", (e) => {
        const b = e.target.closest("[data-act]");
        if (b && this.root.contains(b)) this.act(b.dataset.act, b);
      });
      // "input" fires on every slider step and checkbox change, before any server would know
      this.root.addEventListener("input", (e) => {
        const name = e.target.dataset.layer || e.target.dataset.opacity;
        if (name in this.layers) {
          this.readLayer(name);
          this.schedule();
        }
      });
      this.resize = new ResizeObserver(() => this.schedule(true));
      this.resize.observe(this.stage);
    }

    readLayer(name) {
      const show = this.root.querySelector(`[data-layer=${name}]`);
      const opacity = this.root.querySelector(`[data-opacity=${name}]`);
      if (show) this.layers[name].show = show.checked;
      if (opacity) this.layers[name].alpha = clamp(+opacity.value / 100, 0, 1);
      const out = this.root.querySelector(`[data-out=${name}]`);
      if (out && opacity) out.textContent = `${opacity.value} %`;
    }

    act(what, button) {
      if (what === "fit") this.fit();
      else if (what === "one") this.oneToOne();
      else if (what === "zoom-in" || what === "zoom-out") {
        this.zoomAt(what === "zoom-in" ? ZOOM_BUTTON : 1 / ZOOM_BUTTON,
                    this.canvas.width / 2, this.canvas.height / 2);
      } else if (what === "reset") {
        this.resetWindow();
        this.fit();
      } else if (what === "invert") this.setWindow(this.ww, this.wc, !this.invert);
      else if (what === "preset") this.setWindow(+button.dataset.ww, +button.dataset.wc,
                                                 this.invert);
      else if (what === "tool") this.setTool(button.dataset.tool);
    }

    setTool(tool) {
      this.tool = tool;
      for (const b of this.root.querySelectorAll("[data-act=tool]")) {
        b.setAttribute("aria-pressed", String(b.dataset.tool === tool));
      }
      this.canvas.dataset.tool = tool;
    }

    resetWindow() {
      this.setWindow(this.defaults[0], this.defaults[1], false);
    }

    setWindow(ww, wc, invert) {
      this.ww = Math.round(clamp(ww, ...WW_RANGE));
      this.wc = Math.round(clamp(wc, ...WC_RANGE));
      this.invert = invert;
      this.dirtyWindow = true;
      this.schedule();
    }

    /* The canvas in device pixels: 1:1 means one film pixel per screen pixel. */
    size() {
      const ratio = window.devicePixelRatio || 1;
      const w = Math.max(1, Math.round(this.stage.clientWidth * ratio));
      const h = Math.max(1, Math.round(this.stage.clientHeight * ratio));
      if (this.canvas.width !== w || this.canvas.height !== h) {
        this.canvas.width = w;
        this.canvas.height = h;
      }
      return [w, h];
    }

    fit() {
      if (!this.film) return;
      const [w, h] = this.size();
      this.scale = clamp(Math.min(w / this.film.width, h / this.film.height), MIN_SCALE,
                         MAX_SCALE);
      this.tx = (w - this.film.width * this.scale) / 2;
      this.ty = (h - this.film.height * this.scale) / 2;
      this.fitted = true;  // stays fitted when the window is resized, until zoomed or panned
      this.schedule();
    }

    /* 1:1 about the film point at the centre, on whole pixels so nothing is resampled. */
    oneToOne() {
      if (!this.film) return;
      const [w, h] = this.size();
      const fx = (w / 2 - this.tx) / this.scale;
      const fy = (h / 2 - this.ty) / this.scale;
      this.scale = 1;
      this.tx = Math.round(w / 2 - fx);
      this.ty = Math.round(h / 2 - fy);
      this.fitted = false;
      this.schedule();
    }

    /* Zoom by `factor`, keeping the film point under (px, py) (canvas pixels) in place. */
    zoomAt(factor, px, py) {
      if (!this.film) return;
      const scale = clamp(this.scale * factor, MIN_SCALE, MAX_SCALE);
      this.tx = px - (px - this.tx) * (scale / this.scale);
      this.ty = py - (py - this.ty) * (scale / this.scale);
      this.scale = scale;
      this.fitted = false;
      this.schedule();
    }

    onWheel(e) {
      e.preventDefault();  // the wheel zooms the film, not the page
      const r = this.canvas.getBoundingClientRect();
      const ratio = this.canvas.width / r.width;
      const lines = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
      this.zoomAt(Math.exp(-e.deltaY * lines * WHEEL_STEP),
                  (e.clientX - r.left) * ratio, (e.clientY - r.top) * ratio);
    }

    /* Left: the chosen tool; middle: pan; right: window/level (as OHIF). Window/level:
     * right = wider window (less contrast), down = higher level (darker), 1 per CSS pixel. */
    onDown(e) {
      const mode = e.button === 2 ? "wl" : e.button === 1 ? "pan" : e.button === 0 ? this.tool
        : null;
      if (!mode || !this.film) return;
      e.preventDefault();
      this.canvas.setPointerCapture(e.pointerId);
      this.drag = {mode, x: e.clientX, y: e.clientY, tx: this.tx, ty: this.ty, ww: this.ww,
                   wc: this.wc};
    }

    onMove(e) {
      const d = this.drag;
      if (!d) return;
      const dx = e.clientX - d.x;
      const dy = e.clientY - d.y;
      if (d.mode === "pan") {
        const ratio = window.devicePixelRatio || 1;
        this.tx = d.tx + dx * ratio;
        this.ty = d.ty + dy * ratio;
        this.fitted = false;
        this.schedule();
      } else {
        this.setWindow(d.ww + dx, d.wc + dy, this.invert);
      }
    }

    /* Draw at most once per frame, however many events came in. */
    schedule(resized = false) {
      this.resized = this.resized || resized;
      if (this.frame) return;
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        if (this.resized && this.fitted) this.fit();
        this.resized = false;
        this.draw();
      });
    }

    applyWindow() {
      const table = windowTable(this.ww, this.wc, this.invert);
      const src = this.source.data;
      const out = this.windowed.data;
      for (let i = 0; i < src.length; i += 4) {
        out[i] = table[src[i]];
        out[i + 1] = table[src[i + 1]];
        out[i + 2] = table[src[i + 2]];
        out[i + 3] = 255;
      }
      this.film.getContext("2d").putImageData(this.windowed, 0, 0);
      this.dirtyWindow = false;
    }

    draw() {
      const [w, h] = this.size();
      const g = this.ctx;
      g.setTransform(1, 0, 0, 1, 0, 0);
      g.globalAlpha = 1;
      g.fillStyle = "#000";
      g.fillRect(0, 0, w, h);
      if (this.film) {
        if (this.dirtyWindow) this.applyWindow();
        const fw = this.film.width;
        const fh = this.film.height;
        g.setTransform(this.scale, 0, 0, this.scale, this.tx, this.ty);
        g.imageSmoothingEnabled = true;  // exact anyway at 1:1 on whole pixels
        g.drawImage(this.film, 0, 0);
        g.imageSmoothingEnabled = false;  // lesion edges stay crisp; the mask may be smaller
        for (const name of ["fill", "outline"]) {
          const layer = this.layers[name];
          if (!this.lesion || !layer.show || layer.alpha <= 0) continue;
          g.globalAlpha = layer.alpha;
          g.drawImage(this.lesion[name], 0, 0, fw, fh);
        }
        g.globalAlpha = 1;
      }
      this.report();
    }

    /* Readouts for people, and the same numbers as data-* for tests and tools. */
    report() {
      const c = this.canvas.dataset;
      const on = !!this.film;
      Object.assign(c, {scale: on ? this.scale.toFixed(4) : "", tx: on ? this.tx.toFixed(2) : "",
                        ty: on ? this.ty.toFixed(2) : "", ww: this.ww, wc: this.wc,
                        invert: String(this.invert)});
      const zoom = this.root.querySelector("[data-out=zoom]");
      if (zoom) zoom.textContent = on ? `${Math.round(this.scale * 100)}%` : "";
      const preset = [...this.root.querySelectorAll("[data-act=preset]")].find(
        (b) => +b.dataset.ww === this.ww && +b.dataset.wc === this.wc);
      for (const b of this.root.querySelectorAll("[data-act=preset]")) {
        b.setAttribute("aria-pressed", String(b === preset));
      }
      const wl = this.root.querySelector("[data-out=window]");
      if (wl) {
        wl.textContent = `W ${this.ww} · L ${this.wc}`
          + (preset ? ` (${preset.dataset.name})` : "") + (this.invert ? " · inverted" : "");
      }
      const invert = this.root.querySelector("[data-act=invert]");
      if (invert) invert.setAttribute("aria-pressed", String(this.invert));
    }
  }

  /* Shortcuts: a key presses the viewer control whose aria-keyshortcuts names it, unless the
   * person is typing (text fields) or holds a modifier (browser shortcuts stay theirs). */
  function onKey(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t instanceof Element && t.closest(
      "textarea, select, [contenteditable], input:not([type=range]):not([type=checkbox])")) {
      return;
    }
    const viewer = [...viewers.values()].find((v) => v.root.isConnected);
    if (!viewer) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    const control = [...viewer.root.querySelectorAll("[aria-keyshortcuts]")].find(
      (el) => el.getAttribute("aria-keyshortcuts").toLowerCase().split(" ").includes(key));
    if (!control || control.disabled) return;
    e.preventDefault();
    control.click();  // a checkbox toggles and fires "input", as a person's click does
  }

  /* React renders and replaces the markup at will: find viewers as they come and go. */
  function scan() {
    for (const [root, v] of viewers) {
      if (!root.isConnected) {
        v.resize.disconnect();
        if (v.abort) v.abort.abort();
        viewers.delete(root);
      }
    }
    for (const root of document.querySelectorAll(".msv-viewer")) {
      const v = viewers.get(root);
      if (!v) viewers.set(root, new Viewer(root));
      else if (v.filmUrl !== (root.dataset.film || "") || v.maskUrl !== (root.dataset.mask || "")) {
        v.open(root.dataset.film || "", root.dataset.mask || "");
      }
    }
  }

  let pending = false;
  const observer = new MutationObserver(() => {
    if (pending) return;
    pending = true;
    queueMicrotask(() => { pending = false; scan(); });
  });

  function start() {
    observer.observe(document.documentElement, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["data-film", "data-mask"],
    });
    document.addEventListener("keydown", onKey);
    scan();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
