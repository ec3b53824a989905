/* haul dashboard script: live fragments, API calls, the directory browser, the load plot.
 *
 * Plain ES2017 with no dependencies and no build step. Pages are rendered by
 * the server; this script only (1) re-fetches the fragments marked
 * data-live so tables follow the queue without a reload, and (2) sends
 * actions to the JSON API with the session's token as a Bearer header.
 */
(function () {
  "use strict";

  function meta(name) {
    const el = document.querySelector(`meta[name="${name}"]`);
    return el ? el.getAttribute("content") : "";
  }

  const TOKEN = meta("haul-token");
  const API = meta("haul-api");
  const SITE_API = meta("haul-site-api");

  function flash(text, kind) {
    const box = document.getElementById("flash");
    if (!box) return;
    const msg = document.createElement("div");
    msg.className = "msg" + (kind === "error" ? " error" : "");
    msg.textContent = text;
    box.appendChild(msg);
    setTimeout(() => msg.remove(), kind === "error" ? 8000 : 4000);
  }

  async function call(method, url, body) {
    const opts = { method, headers: { Authorization: `Bearer ${TOKEN}` } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(url, opts);
    if (r.status === 401) {
      location.href = "/web/login?next=" + encodeURIComponent(location.pathname + location.search);
      throw new Error("session expired");
    }
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
    if (!r.ok) {
      const detail = data && data.detail ? data.detail : `${r.status} ${r.statusText}`;
      const err = new Error(detail);
      err.status = r.status;
      throw err;
    }
    return data;
  }

  const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

  /* -- live fragments ------------------------------------------------------- */

  const refreshers = [];

  function liveRegion(el) {
    let busy = false;
    async function refresh() {
      if (busy || document.hidden) return;
      busy = true;
      try {
        const r = await fetch(el.dataset.live, { credentials: "same-origin" });
        if (r.status === 401) {
          location.href = "/web/login?next=" + encodeURIComponent(location.pathname + location.search);
          return;
        }
        if (r.ok) {
          const html = await r.text();
          if (html !== el.dataset.last) {
            el.innerHTML = html;
            el.dataset.last = html;
            el.dispatchEvent(new CustomEvent("haul:refreshed", { bubbles: true }));
          }
        }
      } catch (e) {
        /* the server may be restarting; try again next tick */
      } finally {
        busy = false;
      }
    }
    setInterval(refresh, Number(el.dataset.every || 2000));
    refreshers.push(refresh);
    return refresh;
  }

  function refreshAll() { refreshers.forEach((r) => r()); }

  /* -- jobs page ------------------------------------------------------------ */

  function initJobs() {
    const rows = document.getElementById("jobs-rows");
    const form = document.getElementById("job-filters");
    const refresh = liveRegion(rows);
    form.addEventListener("change", () => {
      const params = new URLSearchParams();
      for (const [k, v] of new FormData(form).entries()) if (v) params.append(k, v);
      const q = params.toString();
      rows.dataset.live = "/web/fragments/jobs" + (q ? "?" + q : "");
      history.replaceState(null, "", "/web/jobs" + (q ? "?" + q : ""));
      refresh();
    });
  }

  /* -- one job -------------------------------------------------------------- */

  function initJob() {
    const live = document.getElementById("job-live");
    const actions = document.getElementById("job-actions");
    const jobId = actions.dataset.job;
    liveRegion(live);

    function syncButtons() {
      const summary = document.getElementById("job-summary");
      const status = summary ? summary.dataset.status : "";
      const terminal = ["DONE", "FAILED", "CANCELLED"].includes(status);
      const allowed = {
        pause: !terminal && status !== "PAUSED",
        resume: status === "PAUSED",
        retry: status === "FAILED" || status === "CANCELLED",
        finish: !terminal,
        cancel: !terminal,
      };
      actions.querySelectorAll("button[data-verb]").forEach((b) => {
        b.disabled = !allowed[b.dataset.verb];
      });
    }
    syncButtons();
    live.addEventListener("haul:refreshed", () => { syncButtons(); explain(); });

    actions.addEventListener("click", async (ev) => {
      const b = ev.target.closest("button[data-verb]");
      if (!b) return;
      if (b.dataset.confirm && !confirm(b.dataset.confirm)) return;
      b.disabled = true;
      try {
        const job = await call("POST", `${API}/jobs/${jobId}/${b.dataset.verb}`, {});
        flash(`Job ${jobId}: ${b.dataset.verb} sent; now ${job.status}`);
      } catch (e) {
        flash(`Job ${jobId}: ${b.dataset.verb} refused: ${e.message}`, "error");
      }
      refreshAll();
    });

    const card = document.getElementById("attempts-card");
    const box = document.getElementById("attempts");
    live.addEventListener("click", async (ev) => {
      const b = ev.target.closest("button.show-attempts");
      if (!b) return;
      const r = await fetch(`/web/fragments/jobs/${jobId}/elements/${b.dataset.element}/attempts`,
        { credentials: "same-origin" });
      box.innerHTML = r.ok ? await r.text() : `<p class="error">${r.status}</p>`;
      card.hidden = false;
      card.scrollIntoView({ behavior: "smooth", block: "nearest" });
    });
    document.getElementById("attempts-close").addEventListener("click", () => { card.hidden = true; });

    let lastExplain = 0;
    async function explain() {
      if (Date.now() - lastExplain < 5000) return;
      lastExplain = Date.now();
      const el = document.getElementById("explain");
      try {
        const x = await call("GET", `${API}/jobs/${jobId}/explain`);
        const parts = [x.summary];
        if (x.position !== null && x.position !== undefined) parts.push(`queue position ${x.position}`);
        for (const l of x.limits) parts.push(`${l.limit}: ${l.detail}`);
        el.textContent = parts.join(" · ");
      } catch (e) {
        el.textContent = e.message;
      }
    }
    explain();
  }

  /* -- new job: sites, the directory browser, submission ---------------------- */

  function joinPath(dir, name) {
    if (!dir || dir === ".") return name;
    return dir.replace(/\/+$/, "") + "/" + name;
  }
  function parentPath(path) {
    const p = path.replace(/\/+$/, "");
    if (p === "" || p === "/" || p === "~") return p || "/";
    const i = p.lastIndexOf("/");
    if (i < 0) return "~";
    return i === 0 ? "/" : p.slice(0, i);
  }
  function baseName(path) {
    const p = path.replace(/\/+$/, "");
    return p.slice(p.lastIndexOf("/") + 1) || p;
  }

  /* Lists a directory by running a LIST job and reading its output, then deletes the job. */
  async function listDirectory(siteId, path, onStatus) {
    const job = await call("POST", `${API}/list`, {
      src_siteid: Number(siteId), src_filepath: path, extra_opts: { depth: 1 }, priority: 0,
    });
    try {
      const deadline = Date.now() + 120000;
      let status = job.status;
      while (!["DONE", "FAILED", "CANCELLED"].includes(status)) {
        if (Date.now() > deadline) throw new Error("no worker listed the directory within 2 minutes");
        await sleep(300);
        status = (await call("GET", `${API}/jobs/${job.id}/status`)).status;
        onStatus(status);
      }
      const out = await call("GET", `${API}/jobs/${job.id}/output`);
      const first = out && out[0];
      if (status !== "DONE") {
        const why = first && first.error ? first.error.message : status;
        throw new Error(why);
      }
      return first.listing || {};
    } finally {
      call("DELETE", `${API}/jobs/${job.id}`).catch(() => {});
    }
  }

  function initNew() {
    const form = document.getElementById("new-job");
    const typeSel = document.getElementById("job-type");
    const chosen = { src: [] };

    function sideEls(side) {
      return {
        site: document.getElementById(`${side}-site`),
        path: document.getElementById(`${side}-path`),
        browser: document.getElementById(`${side}-browser`),
      };
    }

    function defaultPath(side) {
      const { site, path } = sideEls(side);
      const opt = site.selectedOptions[0];
      if (opt && !path.value) path.value = opt.dataset.path || "/";
    }

    function renderChosen() {
      const box = document.getElementById("src-chosen");
      box.innerHTML = "";
      if (!chosen.src.length) return;
      box.append("Chosen: ");
      for (const p of chosen.src) {
        const chip = document.createElement("span");
        chip.className = "chip";
        chip.textContent = p;
        box.append(chip);
      }
      const clear = document.createElement("button");
      clear.type = "button";
      clear.className = "link";
      clear.textContent = "clear";
      clear.onclick = () => { chosen.src = []; renderChosen(); };
      box.append(clear);
    }

    function syncType() {
      const t = typeSel.value;
      const needsDst = t === "COPY" || t === "RENAME";
      document.getElementById("side-dst").hidden = !needsDst;
      document.getElementById("dst-label").textContent = t === "RENAME" ? "New path" : "Into directory";
      document.getElementById("dst-help").textContent = t === "RENAME"
        ? "The full new path of the file or directory."
        : "Each chosen source lands under this directory with its own name (as `haul copy SRC DIR/` does).";
      document.querySelectorAll(".opt-copy").forEach((el) => { el.hidden = t !== "COPY" && !(t === "RENAME" && el.classList.contains("opt-rename")); });
      document.querySelectorAll(".opt-list").forEach((el) => { el.hidden = t !== "LIST"; });
    }
    typeSel.addEventListener("change", syncType);
    syncType();

    ["src", "dst"].forEach((side) => {
      const els = sideEls(side);
      defaultPath(side);
      els.site.addEventListener("change", () => {
        els.path.value = "";
        defaultPath(side);
        els.browser.hidden = true;
        if (side === "src") { chosen.src = []; renderChosen(); }
      });
    });

    async function browse(side, path) {
      const els = sideEls(side);
      els.browser.hidden = false;
      els.browser.innerHTML = `<div class="head"><span class="where">${escapeHtml(path)}</span><span class="muted small listing-status">listing…</span></div>`;
      const statusEl = els.browser.querySelector(".listing-status");
      let listing;
      try {
        listing = await listDirectory(els.site.value, path, (s) => { statusEl.textContent = s.toLowerCase() + "…"; });
      } catch (e) {
        els.browser.innerHTML = `<div class="head"><span class="where">${escapeHtml(path)}</span></div><p class="error" style="padding:.5rem">${escapeHtml(e.message)}</p>`;
        return;
      }
      const key = Object.prototype.hasOwnProperty.call(listing, path) ? path
        : Object.keys(listing).find((k) => k.replace(/\/+$/, "") === path.replace(/\/+$/, ""));
      const parentKey = Object.keys(listing).find((k) => k.replace(/\/+$/, "") === parentPath(path).replace(/\/+$/, ""));
      const isFile = key === undefined && parentKey !== undefined &&
        listing[parentKey].some((e) => e.name === baseName(path) && !e.is_dir);
      if (isFile) {
        // A file: the listing is keyed by its parent directory.
        els.path.value = path;
        if (side === "src") { chosen.src = [path]; renderChosen(); }
        els.browser.innerHTML = `<div class="head"><span class="where">${escapeHtml(path)}</span><span class="small">is a file; chosen</span></div>`;
        return;
      }
      els.path.value = path;
      const entries = (key === undefined ? [] : listing[key]).slice().sort((a, b) => (b.is_dir - a.is_dir) || a.name.localeCompare(b.name));
      const head = document.createElement("div");
      head.className = "head";
      head.innerHTML = `<button type="button" class="up">Up</button><span class="where">${escapeHtml(path)}</span>`;
      const pick = document.createElement("button");
      pick.type = "button";
      pick.className = "choose-here";
      pick.textContent = side === "src" ? "Choose this directory" : "Use this directory";
      head.append(pick);
      if (side === "src") {
        const many = document.createElement("button");
        many.type = "button";
        many.className = "choose-selected";
        many.textContent = "Choose selected";
        head.append(many);
        many.onclick = () => {
          const picked = [...els.browser.querySelectorAll("input.pick:checked")].map((c) => c.value);
          if (!picked.length) { flash("Tick the files or directories to choose first", "error"); return; }
          chosen.src = picked;
          renderChosen();
        };
      }
      const list = document.createElement("ul");
      if (!entries.length) list.innerHTML = `<li class="muted">(empty directory)</li>`;
      for (const e of entries) {
        const full = joinPath(path, e.name);
        const li = document.createElement("li");
        li.className = e.is_dir ? "dir" : "file";
        li.dataset.path = full;
        const tick = side === "src" ? `<input type="checkbox" class="pick" value="${escapeAttr(full)}">` : "";
        const label = e.is_dir ? `<a href="#" class="name open">${escapeHtml(e.name)}</a>` : `<span class="name">${escapeHtml(e.name)}</span>`;
        const size = e.is_dir ? "" : `<span class="small muted">${fmtBytes(e.size)}</span>`;
        const choose = side === "src" || e.is_dir ? `<button type="button" class="link choose">choose</button>` : "";
        li.innerHTML = `${tick}${label}${size}${choose}`;
        list.append(li);
      }
      els.browser.innerHTML = "";
      els.browser.append(head, list);
      head.querySelector(".up").onclick = () => browse(side, parentPath(path));
      pick.onclick = () => choose(side, path);
      list.addEventListener("click", (ev) => {
        const li = ev.target.closest("li");
        if (!li) return;
        if (ev.target.classList.contains("open")) { ev.preventDefault(); browse(side, li.dataset.path); }
        if (ev.target.classList.contains("choose")) choose(side, li.dataset.path);
      });
    }

    function choose(side, path) {
      const els = sideEls(side);
      els.path.value = path;
      if (side === "src") { chosen.src = [path]; renderChosen(); }
      flash(`${side === "src" ? "Source" : "Destination"}: ${path}`);
    }

    document.querySelectorAll("button.browse").forEach((b) => {
      b.addEventListener("click", () => {
        const side = b.dataset.side;
        defaultPath(side);
        browse(side, sideEls(side).path.value.trim() || "/");
      });
    });

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const t = typeSel.value;
      const src = sideEls("src");
      const dst = sideEls("dst");
      const sources = chosen.src.length ? chosen.src : [src.path.value.trim()].filter(Boolean);
      if (!sources.length) { flash("Choose a source path first", "error"); return; }
      const opts = {};
      if (t === "COPY") {
        opts.overwrite = document.getElementById("opt-overwrite").checked;
        opts.checksum = document.getElementById("opt-checksum").value;
      } else if (t === "RENAME") {
        opts.overwrite = document.getElementById("opt-overwrite").checked;
      } else if (t === "LIST") {
        opts.depth = Number(document.getElementById("opt-depth").value || 1);
      }
      const base = {
        type: t,
        src_siteid: Number(src.site.value),
        priority: Number(document.getElementById("opt-priority").value),
        max_tries: Number(document.getElementById("opt-tries").value || 2),
        extra_opts: opts,
      };
      const dstPath = dst.path.value.trim();
      if ((t === "COPY" || t === "RENAME") && !dstPath) { flash("Choose a destination first", "error"); return; }
      const button = document.getElementById("submit-job");
      button.disabled = true;
      const ids = [];
      try {
        for (const s of sources) {
          const body = Object.assign({}, base, { src_filepath: s });
          if (t === "COPY") {
            body.dst_siteid = Number(dst.site.value);
            body.dst_filepath = joinPath(dstPath, baseName(s));
          } else if (t === "RENAME") {
            body.dst_filepath = dstPath;
          }
          const job = await call("POST", `${API}/jobs`, body);
          ids.push(job.id);
        }
        location.href = "/web/jobs?submitted=" + ids.join(",");
      } catch (e) {
        flash(`Not submitted: ${e.message}`, "error");
        button.disabled = false;
      }
    });
  }

  /* -- sites ---------------------------------------------------------------- */

  function initSites() {
    document.getElementById("new-site").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = ev.target;
      const body = {
        site_name: f.site_name.value.trim(),
        site_desc: f.site_desc.value.trim(),
        endpoints: f.endpoints.value.split(/\s+/).filter(Boolean),
        def_path: f.def_path.value.trim() || "/",
        public: f.public.checked,
      };
      try {
        await call("POST", `${SITE_API}/site`, body);
        location.reload();
      } catch (e) {
        flash(`Site not added: ${e.message}`, "error");
      }
    });
    document.querySelectorAll("form.credential-form").forEach((f) => {
      f.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const body = { lifetime: Number(f.hours.value || 12) * 3600 };
        for (const k of ["username", "password", "token", "access_key", "secret_key", "private_key"]) {
          if (f[k].value) body[k] = f[k].value;
        }
        try {
          await call("POST", `${SITE_API}/session/${f.dataset.site}`, body);
          f.reset();
          location.reload();
        } catch (e) {
          flash(`Credential not saved: ${e.message}`, "error");
        }
      });
    });
    document.querySelectorAll("button.forget").forEach((b) => {
      b.addEventListener("click", async () => {
        if (!confirm("Forget your credential for this site?")) return;
        try {
          await call("DELETE", `${SITE_API}/session/${b.dataset.site}`);
          location.reload();
        } catch (e) {
          flash(e.message, "error");
        }
      });
    });
  }

  /* -- queue: the load plot --------------------------------------------------- */

  const SERIES = ["pending", "queued", "running"];

  async function fetchLoad(range, typeId) {
    const params = new URLSearchParams({ started: range, page_size: "1000" });
    if (typeId) params.append("job_type_id", typeId);
    let url = `${API}/load?${params}`;
    const points = [];
    for (let page = 0; url && page < 50; page++) {
      const data = await call("GET", url);
      points.push(...data.results);
      url = data.next;
    }
    return points;
  }

  function drawPlot(el, points) {
    const W = 900, H = 280, L = 48, R = 16, T = 14, B = 30;
    if (!points.length) {
      el.innerHTML = `<p class="muted" id="plot-empty">No samples in this range yet; the sampler records one every few seconds to minutes.</p>`;
      return;
    }
    const xs = points.map((p) => Date.parse(p.time));
    const x0 = Math.min(...xs), x1 = Math.max(...xs);
    const top = Math.max(1, ...points.map((p) => Math.max(p.pending_count, p.queued_count, p.running_count)));
    // Round ticks (1, 2 or 5 times a power of ten), about four of them, and an
    // axis that ends on one: 0/10/20/30/40 rather than 0/8/17/25/33.
    const rough = top / 4;
    const mag = Math.pow(10, Math.floor(Math.log10(rough)));
    const step = Math.max(1, [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= rough) || 10 * mag);
    const ymax = Math.ceil(top / step) * step;
    const sx = (t) => L + (x1 === x0 ? (W - L - R) / 2 : ((t - x0) / (x1 - x0)) * (W - L - R));
    const sy = (v) => T + (1 - v / ymax) * (H - T - B);
    const parts = [];
    const ticks = [];
    for (let v = 0; v <= ymax; v += step) {
      ticks.push(v);
      const y = sy(v);
      parts.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${y}" y2="${y}"/>`);
      parts.push(`<text x="${L - 6}" y="${y + 4}" text-anchor="end">${v}</text>`);
    }
    parts.push(`<line class="axis" x1="${L}" x2="${L}" y1="${T}" y2="${H - B}"/>`);
    parts.push(`<line class="axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>`);
    const fmt = (t) => new Date(t).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    parts.push(`<text x="${L}" y="${H - 8}">${fmt(x0)}</text>`);
    parts.push(`<text x="${W - R}" y="${H - 8}" text-anchor="end">${fmt(x1)}</text>`);
    for (const s of SERIES) {
      const key = `${s}_count`;
      const pts = points.map((p) => `${sx(Date.parse(p.time)).toFixed(1)},${sy(p[key]).toFixed(1)}`);
      parts.push(`<polyline class="line ${s}" points="${pts.join(" ")}"/>`);
      const r = points.length > 200 ? 1.5 : 3;
      for (const p of points) {
        parts.push(`<circle class="point ${s}" r="${r}" cx="${sx(Date.parse(p.time)).toFixed(1)}" cy="${sy(p[key]).toFixed(1)}"><title>${p.time}: ${p[key]} ${s}</title></circle>`);
      }
    }
    el.innerHTML = `<svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" data-points="${points.length}" data-ticks="${ticks.join(",")}">${parts.join("")}</svg>`;
  }

  function initQueue() {
    liveRegion(document.getElementById("queue-live"));
    const el = document.getElementById("load-plot");
    const range = document.getElementById("load-range");
    const type = document.getElementById("load-type");
    async function redraw() {
      try {
        drawPlot(el, await fetchLoad(range.value, type.value));
      } catch (e) {
        el.innerHTML = `<p class="error">${escapeHtml(e.message)}</p>`;
      }
    }
    range.addEventListener("change", redraw);
    type.addEventListener("change", redraw);
    redraw();
    // Short ranges follow the sampler closely; long ones change slowly and cost more.
    setInterval(() => {
      const long = ["P7D", "P31D"].includes(range.value);
      if (!long || Date.now() % 60000 < 5000) redraw();
    }, 5000);
  }

  /* -- small helpers ---------------------------------------------------------- */

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  const escapeAttr = escapeHtml;
  function fmtBytes(n) {
    let v = Number(n || 0);
    for (const u of ["B", "kB", "MB", "GB", "TB"]) {
      if (v < 1000 || u === "TB") return u === "B" ? `${v} B` : `${v.toFixed(1)} ${u}`;
      v /= 1000;
    }
    return `${v} PB`;
  }

  const PAGES = { jobs: initJobs, job: initJob, new: initNew, sites: initSites, queue: initQueue };
  document.addEventListener("DOMContentLoaded", () => {
    const init = PAGES[document.body.dataset.page];
    if (init) init();
  });
  window.haul = { call, flash, listDirectory, refreshAll };
})();
