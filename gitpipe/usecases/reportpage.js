// gitpipe report: draws the data block of this page. Every text from the
// project goes in through textContent or an attribute, never as markup.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("gitpipe-data").textContent);
  // The SVG namespace is read from an <svg> the HTML parser made.
  const SVG = document.getElementById("dag-svg").namespaceURI;
  const GLYPHS = ["\u2717", "!", "\u25cb", "\u2713"];  // failed, stale, never run, up to date
  const NODE_W = 200, NODE_H = 40, GAP_X = 60, GAP_Y = 14, PAD = 10;
  const REASONS_SHOWN = 12;
  const tip = document.getElementById("tip");

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    setAll(node, attrs, text);
    return node;
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    setAll(node, attrs, text);
    return node;
  }
  function setAll(node, attrs, text) {
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
  }
  function fit(text, width) {
    const most = Math.floor(width / 7);
    return text.length > most ? text.slice(0, most - 1) + "\u2026" : text;
  }
  function seconds(value) {
    return value < 10 ? value.toFixed(2) + " s" : value < 120 ? value.toFixed(1) + " s"
      : (value / 60).toFixed(1) + " min";
  }
  function taskState(name) { return data.tasks[name] || [null, []]; }
  function stateName(index) { return index === null ? "unknown" : data.states[index]; }
  function countsText(counts) {
    return counts.map((n, i) => n ? n + " " + data.states[i] : "").filter(Boolean).join(", ");
  }
  function worst(counts) {
    const index = counts.findIndex((n) => n > 0);
    return index < 0 ? null : index;
  }

  // The tooltip: on hover and on keyboard focus, for nodes, cells and bars.
  function showTip(target, lines, reasons) {
    tip.replaceChildren();
    lines.forEach((line, i) => tip.appendChild(el(i ? "div" : "strong", {}, line)));
    if (reasons && reasons.length) {
      const list = el("ul");
      reasons.slice(0, REASONS_SHOWN).forEach((r) => list.appendChild(el("li", {}, r)));
      if (reasons.length > REASONS_SHOWN) {
        list.appendChild(el("li", {}, "\u2026 and " + (reasons.length - REASONS_SHOWN) + " more"));
      }
      tip.appendChild(list);
    }
    const box = target.getBoundingClientRect();
    tip.hidden = false;
    const left = Math.min(box.right + 8, window.innerWidth - tip.offsetWidth - 8);
    const top = Math.min(box.top, window.innerHeight - tip.offsetHeight - 8);
    tip.style.left = Math.max(0, left) + "px";
    tip.style.top = Math.max(0, top) + "px";
  }
  function hideTip() { tip.hidden = true; }
  function delegate(root, selector, describe, activate) {
    const find = (event) => event.target.closest ? event.target.closest(selector) : null;
    const over = (event) => { const hit = find(event); if (hit) showTip(hit, ...describe(hit)); };
    root.addEventListener("mouseover", over);
    root.addEventListener("focusin", over);
    root.addEventListener("mouseout", (event) => { if (find(event)) hideTip(); });
    root.addEventListener("focusout", hideTip);
    root.addEventListener("click", (event) => { const hit = find(event); if (hit) activate(hit); });
    root.addEventListener("keydown", (event) => {
      const hit = find(event);
      if (hit && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        activate(hit);
      }
    });
  }

  function legend(items) {
    const list = el("ul", { class: "legend" });
    items.forEach(([cls, glyph, label]) => {
      const item = el("li");
      item.appendChild(el("span", { class: "swatch " + cls, "aria-hidden": "true" }, glyph));
      item.appendChild(el("span", {}, label));
      list.appendChild(item);
    });
    return list;
  }
  const stateLegend = () => legend(data.states.map((s, i) => ["s" + i, GLYPHS[i], s]));

  function summary() {
    const section = document.getElementById("summary");
    data.messages.forEach((m) => section.appendChild(el("p", { class: "message", role: "status" }, m)));
    const totals = data.states.map(() => 0);
    Object.values(data.tasks).forEach(([index]) => { if (index !== null) totals[index] += 1; });
    section.appendChild(el("p", {}, Object.keys(data.tasks).length + " tasks: " +
      (countsText(totals) || "none")));
  }

  // The graph -----------------------------------------------------------------
  const nodesById = new Map(data.dag.nodes.map((n) => [n.id, n]));
  function place(node) {
    return [PAD + node.layer * (NODE_W + GAP_X), PAD + node.row * (NODE_H + GAP_Y)];
  }
  function nodeLines(node) {
    if (!node.grouped) {
      const [index, reasons] = taskState(node.id);
      return [[node.title, stateName(index)], reasons];
    }
    return [[node.title, countsText(node.counts)], []];
  }
  function drawDag() {
    const section = document.getElementById("dag");
    section.insertBefore(stateLegend(), section.querySelector(".scroll"));
    const root = document.getElementById("dag-svg");
    const layers = Math.max(0, ...data.dag.nodes.map((n) => n.layer + 1));
    const rows = data.dag.rows;
    root.setAttribute("width", PAD * 2 + layers * (NODE_W + GAP_X));
    root.setAttribute("height", PAD * 2 + rows * (NODE_H + GAP_Y));
    const edges = svg("g", { class: "edges" });
    data.dag.edges.forEach(([a, b, via]) => {
      const points = [place(nodesById.get(a)), ...via.map(([layer, row]) =>
        place({ layer: layer, row: row })), place(nodesById.get(b))];
      let d = "";
      for (let i = 1; i < points.length; i++) {
        const [x1, y1] = points[i - 1], [x2, y2] = points[i];
        const sx = i === 1 ? x1 + NODE_W : x1 + NODE_W / 2, sy = y1 + NODE_H / 2;
        const tx = i === points.length - 1 ? x2 : x2 + NODE_W / 2, ty = y2 + NODE_H / 2;
        const mid = (sx + tx) / 2;
        d += (i === 1 ? `M${sx},${sy}` : ` L${sx},${sy}`) + ` C${mid},${sy} ${mid},${ty} ${tx},${ty}`;
      }
      edges.appendChild(svg("path", { class: "edge", "data-from": a, "data-to": b, d: d }));
    });
    root.appendChild(edges);
    const nodes = svg("g", { class: "nodes" });
    data.dag.nodes.forEach((node) => {
      const index = node.grouped ? worst(node.counts) : taskState(node.id)[0];
      const [x, y] = place(node);
      const [lines] = nodeLines(node);
      const g = svg("g", { class: "node s" + index, "data-id": node.id, tabindex: 0,
        role: "button", transform: `translate(${x},${y})`,
        "aria-label": lines.join(": ") });
      if (node.grouped) g.setAttribute("aria-expanded", "false");
      g.appendChild(svg("rect", { width: NODE_W, height: NODE_H }));
      const name = node.grouped ? node.id + " \u00b7 " + node.tasks.length + " " + node.kind
        : node.title;
      g.appendChild(svg("text", { x: 8, y: 16 }, fit(GLYPHS[index] + " " + name, NODE_W - 10)));
      g.appendChild(svg("text", { x: 8, y: 32, class: "sub" }, fit(lines[1], NODE_W - 10)));
      if (node.grouped) g.appendChild(shares(node.counts));
      nodes.appendChild(g);
    });
    root.appendChild(nodes);
    delegate(root, "g.node", (g) => nodeLines(nodesById.get(g.dataset.id)), select);
    document.getElementById("find").addEventListener("change", (event) => find(event.target));
  }
  function find(input) {
    const wanted = input.value.trim();
    const node = data.dag.nodes.find((n) => n.id === wanted) ||
      data.dag.nodes.find((n) => n.id.includes(wanted));
    const g = node && wanted ? document.querySelector(`g.node[data-id="${CSS.escape(node.id)}"]`)
      : null;
    input.setCustomValidity(g || !wanted ? "" : "no such stage");
    if (!g) return;
    g.scrollIntoView({ block: "center", inline: "center" });
    select(g);
    g.focus({ preventScroll: true });
  }
  // A collapsed node's tasks per state, as a bar along its bottom edge.
  function shares(counts) {
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    const bar = svg("g", { class: "shares", "aria-hidden": "true" });
    let x = 1;
    counts.forEach((count, index) => {
      if (!count) return;
      const width = ((NODE_W - 2) * count) / total;
      bar.appendChild(svg("rect", { class: "share s" + index, x: x, y: NODE_H - 5,
        width: width, height: 4 }));
      x += width;
    });
    return bar;
  }
  function select(g) {
    document.querySelectorAll("g.node.selected").forEach((n) => n.classList.remove("selected"));
    g.classList.add("selected");
    const node = nodesById.get(g.dataset.id);
    const details = document.getElementById("details");
    details.replaceChildren();
    const [lines, reasons] = nodeLines(node);
    details.appendChild(el("h3", {}, lines.join(": ")));
    if (!node.grouped) {
      details.appendChild(reasonList(reasons));
      return;
    }
    g.setAttribute("aria-expanded", "true");
    const members = el("ul", { class: "members", "aria-label": node.id + ": its tasks" });
    node.tasks.forEach((task) => {
      const [index] = taskState(task);
      const key = task.slice(task.indexOf("@") + 1);
      const item = el("li");
      item.appendChild(el("button", { class: "s" + index, "data-task": task, type: "button",
        "aria-label": task + ": " + stateName(index) }, GLYPHS[index] + " " + key));
      members.appendChild(item);
    });
    details.appendChild(members);
    details.appendChild(el("div", { id: "member-reasons" }));
  }
  function reasonList(reasons) {
    const list = el("ul", { class: "reasons" });
    reasons.forEach((r) => list.appendChild(el("li", {}, r)));
    return list;
  }
  function taskLines(task) {
    const [index, reasons] = taskState(task);
    return [[task, stateName(index)], reasons];
  }
  function showTask(task) {
    const box = document.getElementById("member-reasons") || document.getElementById("details");
    box.replaceChildren();
    const [lines, reasons] = taskLines(task);
    box.appendChild(el("h4", {}, lines.join(": ")));
    box.appendChild(reasonList(reasons));
  }

  // The grid ------------------------------------------------------------------
  function drawGrids() {
    const section = document.getElementById("grid");
    if (!data.grid.length) {
      section.appendChild(el("p", { class: "note" }, "No partitioned or foreach stages."));
      return;
    }
    section.appendChild(stateLegend());
    data.grid.forEach((grid) => {
      section.appendChild(el("h3", {}, grid.kind === "items" ? "Foreach items" : "Partitions"));
      const table = el("table", { class: "grid" });
      const head = el("tr");
      head.appendChild(el("th", {}, "stage"));
      grid.keys.forEach((key) => head.appendChild(el("th", { scope: "col" }, key)));
      table.appendChild(el("thead")).appendChild(head);
      const body = el("tbody");
      grid.rows.forEach((row) => {
        const line = el("tr");
        line.appendChild(el("th", { scope: "row" }, row.stage));
        row.cells.forEach((task) => {
          if (task === null) { line.appendChild(el("td", { class: "none" })); return; }
          const index = taskState(task)[0];
          line.appendChild(el("td", { class: "s" + index, "data-task": task, tabindex: -1,
            "aria-label": task + ": " + stateName(index) }, GLYPHS[index]));
        });
        body.appendChild(line);
      });
      table.appendChild(body);
      const scroll = el("div", { class: "scroll" });
      scroll.appendChild(table);
      section.appendChild(scroll);
      delegate(table, "td[data-task]", (td) => taskLines(td.dataset.task),
        (td) => showTask(td.dataset.task));
      const first = table.querySelector("td[data-task]");
      if (first) first.tabIndex = 0;
      table.addEventListener("keydown", arrows);
    });
  }

  // One tab stop per grid; the arrow keys move from cell to cell.
  const STEPS = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
  function arrows(event) {
    const step = STEPS[event.key];
    const cell = event.target.closest ? event.target.closest("td") : null;
    if (!step || !cell) return;
    const row = cell.parentElement, rows = [...row.parentElement.rows];
    const next = rows[rows.indexOf(row) + step[0]]?.cells[cell.cellIndex + step[1]];
    if (!next || !next.dataset.task) return;
    event.preventDefault();
    cell.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }

  // The timeline --------------------------------------------------------------
  const RESULT_GLYPH = { ran: "\u2713", restored: "\u21ba", failed: "\u2717" };
  function drawTimeline() {
    const section = document.getElementById("timeline");
    const line = data.timeline;
    if (!line) {
      section.appendChild(el("p", { class: "note" }, "No run history yet."));
      return;
    }
    section.appendChild(el("p", { class: "note" }, "Started " + line.started + ", " +
      line.bars.length + (line.bars.length === 1 ? " run over " : " runs over ") + seconds(line.span) + " on " + line.lanes +
      (line.lanes === 1 ? " slot." : " concurrent slots.")));
    section.appendChild(legend([["ran", RESULT_GLYPH.ran, "ran"],
      ["restored", RESULT_GLYPH.restored, "restored from the run-cache"],
      ["failed", RESULT_GLYPH.failed, "failed"]]));
    const LANE = 24, LEFT = 60, WIDTH = Math.max(900, Math.min(12000, line.bars.length * 10));
    const scale = WIDTH / Math.max(line.span, 0.001);
    const root = svg("svg", { id: "timeline-svg", width: LEFT + WIDTH + 60,
      height: 30 + line.lanes * LANE, role: "img",
      "aria-label": "timeline of the last repro or backfill" });
    const axis = svg("g", { class: "axis" });
    for (let i = 0; i <= 5; i++) {
      const x = LEFT + (WIDTH * i) / 5;
      axis.appendChild(svg("line", { x1: x, x2: x, y1: 14, y2: 20 + line.lanes * LANE }));
      axis.appendChild(svg("text", { x: x + 2, y: 11 }, seconds((line.span * i) / 5)));
    }
    for (let lane = 0; lane < line.lanes; lane++) {
      axis.appendChild(svg("text", { x: 2, y: 36 + lane * LANE }, "slot " + (lane + 1)));
    }
    root.appendChild(axis);
    const bars = svg("g", { class: "bars" });
    line.bars.forEach((bar, i) => {
      const x = LEFT + bar.start * scale, width = Math.max(2, bar.duration * scale);
      const g = svg("g", { class: "bar " + bar.result, "data-task": bar.task, "data-index": i,
        tabindex: 0, transform: `translate(${x},${20 + bar.lane * LANE})`,
        "aria-label": bar.task + ": " + bar.result + ", " + seconds(bar.duration) });
      g.appendChild(svg("rect", { width: width, height: LANE - 6 }));
      const label = (RESULT_GLYPH[bar.result] || "") + " " + bar.task + " " + seconds(bar.duration);
      if (width > 40) g.appendChild(svg("text", { x: 3, y: 13 }, fit(label, width - 4)));
      bars.appendChild(g);
    });
    root.appendChild(bars);
    const scroll = el("div", { class: "scroll" });
    scroll.appendChild(root);
    section.appendChild(scroll);
    const describe = (g) => {
      const bar = line.bars[Number(g.dataset.index)];
      return [[bar.task, bar.result + " in " + seconds(bar.duration),
        "from " + seconds(bar.start) + " after the start, slot " + (bar.lane + 1)], []];
    };
    delegate(root, "g.bar", describe, (g) => showTip(g, ...describe(g)));
  }

  // The metrics ---------------------------------------------------------------
  function drawMetrics() {
    const section = document.getElementById("metrics");
    const table = data.metrics;
    if (!table) {
      section.appendChild(el("p", { class: "note" }, "No stage declares a metrics file " +
        "(an out with cache: false)."));
      return;
    }
    const grid = el("table", { class: "metrics" });
    const head = el("tr");
    ["commit", "date", "subject", ...table.columns, "problems"].forEach((c) =>
      head.appendChild(el("th", { scope: "col" }, c)));
    grid.appendChild(el("thead")).appendChild(head);
    const body = el("tbody");
    table.rows.forEach((row) => {
      const line = el("tr");
      [row.commit, row.date, row.subject].forEach((v) => line.appendChild(el("td", {}, v)));
      table.columns.forEach((c) => {
        const value = row.values[c];
        line.appendChild(el("td", { class: typeof value === "number" ? "num" : "" },
          value === undefined ? "\u2014" : String(value)));
      });
      line.appendChild(el("td", { class: "problem" }, row.problems.join("; ")));
      body.appendChild(line);
    });
    grid.appendChild(body);
    const scroll = el("div", { class: "scroll" });
    scroll.appendChild(grid);
    section.appendChild(scroll);
  }

  summary();
  drawDag();
  drawGrids();
  drawTimeline();
  drawMetrics();
  document.getElementById("details").addEventListener("click", (event) => {
    const button = event.target.closest ? event.target.closest("button[data-task]") : null;
    if (button) showTask(button.dataset.task);
  });
  document.body.dataset.ready = "true";
})();
