// marginwatch dashboard: polls the API every 2 s and redraws. Plain DOM, inline SVG for the HF distribution and
// uPlot (served by this API, works offline) for the line charts. Every value from the API is inserted as text,
// never as HTML.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var SCENARIO_EVERY = 5; // polls between scenario refreshes (they run a stress test each)
  var HISTORY_EVERY = 5; // polls between history refreshes (snapshots are taken every 50 blocks)
  var HISTORY_LIMIT = 500;
  var CHART_H = 200;
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#3a63d8", "#e08a1e", "#2e9e5b", "#a64ac9", "#d64545", "#1b9aaa", "#7a5c3e", "#6b7483"];
  var BUCKET_COLORS = {
    "< 1": "#d64545",
    "1–1.05": "#d64545",
    "1.05–1.1": "#d64545",
    "1.1–1.25": "#e08a1e",
    "1.25–1.5": "#e08a1e",
    "1.5–2": "#e08a1e",
    "> 2": "#2e9e5b",
  };

  var polls = 0;
  var charts = {}; // host element id → uPlot instance
  var shownAccount = null;
  var assetsFilled = false;
  var stressBuilt = false;

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    setAttrs(n, attrs);
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) n.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return n;
  }

  function svgEl(tag, attrs, text) {
    var n = document.createElementNS(SVG, tag);
    setAttrs(n, attrs);
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function setAttrs(n, attrs) {
    Object.keys(attrs || {}).forEach(function (k) {
      // Styles go through the CSSOM: the page's CSP allows no inline style attributes.
      if (k === "style") {
        String(attrs[k])
          .split(";")
          .forEach(function (decl) {
            var i = decl.indexOf(":");
            if (i > 0) n.style.setProperty(decl.slice(0, i).trim(), decl.slice(i + 1).trim());
          });
      } else n.setAttribute(k, String(attrs[k]));
    });
  }

  function clear(n) {
    while (n.firstChild) n.removeChild(n.firstChild);
    return n;
  }

  function getJson(path) {
    return fetch(path, { cache: "no-store" }).then(function (r) {
      return r
        .json()
        .catch(function () {
          return null;
        })
        .then(function (body) {
          if (!r.ok) throw new Error(path.split("?")[0] + ": " + ((body && body.message) || r.status));
          return body;
        });
    });
  }

  function usd(s) {
    var x = Number(s);
    if (!Number.isFinite(x)) return "—";
    var abs = Math.abs(x);
    if (abs >= 1e9) return "$" + (x / 1e9).toFixed(2) + "B";
    if (abs >= 1e6) return "$" + (x / 1e6).toFixed(2) + "M";
    if (abs >= 1e4) return "$" + (x / 1e3).toFixed(1) + "k";
    return "$" + x.toFixed(2);
  }

  function pct(s) {
    return (Number(s) * 100).toFixed(1) + "%";
  }

  function short(a) {
    return a ? a.slice(0, 6) + "…" + a.slice(-4) : "";
  }

  /** Aave's bands: ≥ 3 green, 1.1–3 orange, < 1.1 red; unknown grey. */
  function hfClass(display) {
    if (display === "∞") return "hf-green";
    var x = Number(display);
    if (!Number.isFinite(x)) return "hf-unknown";
    if (x >= 3) return "hf-green";
    if (x >= 1.1) return "hf-orange";
    return "hf-red";
  }

  // ------------------------------------------------------------------ header

  function renderLastUpdated(r) {
    var t = new Date(Number(r.blockTimestamp) * 1000);
    var n = $("last-updated");
    n.textContent = "Last updated: block " + r.blockNumber + " at " + t.toISOString().replace("T", " ").slice(0, 19) + " UTC";
    n.setAttribute("data-block", r.blockNumber);
    n.setAttribute("data-timestamp", r.blockTimestamp);
  }

  function renderStatus(s) {
    var b = $("indexer-status");
    b.textContent = s.ready ? "following · lag " + (s.headLag || 0) : s.phase + (s.reason ? ": " + s.reason : "");
    b.className = "badge " + (s.ready ? "ok" : "bad");
    var q = $("keeper-queue");
    if (s.keeperQueue) {
      q.textContent =
        "Queue: " +
        Object.keys(s.keeperQueue)
          .map(function (k) {
            return k + " " + s.keeperQueue[k];
          })
          .join(" · ");
    } else {
      q.textContent = s.keeperQueueError ? "Queue unavailable: " + s.keeperQueueError : "No keeper queue connected.";
    }
  }

  // ------------------------------------------------------------------ audit (marginwatch's figures vs the pool's own views)

  function renderAudit(a) {
    var checks = $("audit-checks"),
      mism = $("audit-mismatches"),
      errs = $("audit-errors"),
      note = $("audit-note");
    var list = $("audit-mismatch-list");
    if (!a) {
      checks.textContent = "—";
      mism.textContent = "—";
      errs.textContent = "—";
      mism.className = "value";
      note.textContent = "Auditor off (AUDIT_SAMPLE_PER_BLOCK=0).";
      list.hidden = true;
      return;
    }
    var c = a.checks;
    checks.textContent = String(c.match + c.mismatch);
    mism.textContent = String(c.mismatch);
    mism.className = "value " + (c.mismatch > 0 ? "bad" : "ok");
    errs.textContent = String(c.error);
    note.textContent =
      "Sampled blocks: " +
      a.samples +
      " (" +
      a.samplePerBlock +
      " accounts each) · full passes over all " +
      a.coverage.accounts +
      " accounts: " +
      a.coverage.laps +
      (a.unpricedMatches ? " · stale-price refusals matched: " + a.unpricedMatches : "") +
      (a.openMismatches.length ? " · not ready: " + a.openMismatches.length + " account(s) still mismatched" : "");
    var body = clear(list.tBodies[0]);
    a.lastMismatches.forEach(function (m) {
      m.diffs.forEach(function (d, i) {
        body.appendChild(
          el("tr", {}, [
            el("td", {}, [i ? "" : m.blockNumber]),
            el("td", { class: "mono", title: m.account }, [i ? "" : short(m.account)]),
            el("td", {}, [d.field]),
            el("td", { class: "num" }, [d.marginwatch]),
            el("td", { class: "num" }, [d.pool]),
          ]),
        );
      });
    });
    list.hidden = a.lastMismatches.length === 0;
  }

  // ------------------------------------------------------------------ risk overview

  function renderKpis(r) {
    $("kpi-collateral").textContent = usd(r.totalCollateralUSD);
    $("kpi-debt").textContent = usd(r.totalDebtUSD);
    $("kpi-accounts").textContent = r.accounts.total + " (" + r.accounts.withDebt + ")";
    $("kpi-liquidatable").textContent = String(r.accounts.liquidatable);
    $("kpi-unknown").textContent = String(r.accounts.unknown);
    $("kpi-within20").textContent = usd(r.liquidatableWithin20PctUSD);
    $("kpi-bad-debt").textContent = usd(r.badDebt.underWaterUSD) + " / " + usd(r.badDebt.protocolDeficitUSD);
    $("kpi-concentration").textContent = pct(r.concentration.top10Share) + " / " + pct(r.concentration.top1PctShare);
  }

  function renderDistribution(buckets) {
    var svg = clear($("hf-distribution"));
    var W = 480,
      H = 230,
      left = 34,
      right = 8,
      top = 16,
      bottom = 44;
    var max = Math.max(
      1,
      Math.max.apply(
        null,
        buckets.map(function (b) {
          return b.accounts;
        }),
      ),
    );
    var slot = (W - left - right) / buckets.length;
    var plotH = H - top - bottom;
    svg.appendChild(svgEl("line", { x1: left, y1: top + plotH, x2: W - right, y2: top + plotH, class: "axis" }));
    [0, 0.5, 1].forEach(function (f) {
      var y = top + plotH - f * plotH;
      svg.appendChild(svgEl("line", { x1: left, y1: y, x2: W - right, y2: y, class: "axis", "stroke-dasharray": "2 3" }));
      svg.appendChild(svgEl("text", { x: left - 4, y: y + 4, "text-anchor": "end" }, String(Math.round(max * f))));
    });
    buckets.forEach(function (b, i) {
      var h = (b.accounts / max) * plotH;
      var x = left + i * slot + slot * 0.15;
      var g = svgEl("g", { "data-bucket": b.label });
      var rect = svgEl("rect", {
        x: x,
        y: top + plotH - h,
        width: slot * 0.7,
        height: Math.max(h, b.accounts > 0 ? 1 : 0),
        rx: 2,
        fill: BUCKET_COLORS[b.label] || "#3a63d8",
        "data-label": b.label,
        "data-accounts": b.accounts,
        "data-debt-usd": b.debtUSD,
      });
      rect.appendChild(svgEl("title", {}, "HF " + b.label + ": " + b.accounts + " accounts, debt " + usd(b.debtUSD)));
      g.appendChild(rect);
      g.appendChild(svgEl("text", { x: x + slot * 0.35, y: top + plotH - h - 4, "text-anchor": "middle" }, String(b.accounts)));
      g.appendChild(svgEl("text", { x: x + slot * 0.35, y: H - bottom + 16, "text-anchor": "middle" }, b.label));
      g.appendChild(svgEl("text", { x: x + slot * 0.35, y: H - bottom + 32, "text-anchor": "middle" }, usd(b.debtUSD)));
      svg.appendChild(g);
    });
  }

  // ------------------------------------------------------------------ charts (uPlot)

  /**
   * Draws `data` ([xs, ys1, ys2, …], xs ascending) into the element `id`: a new uPlot when the series change, else
   * setData on the one there. The host records what it shows (data-points, data-series) for tests and people.
   */
  function chart(id, series, data, opts) {
    var host = $(id);
    if (!host) return null;
    var labels = series
      .map(function (x) {
        return x.label;
      })
      .join("|");
    var c = charts[id];
    var o;
    if (c && c.marginwatchLabels === labels && host.contains(c.root)) {
      c.setData(data);
    } else {
      if (c) c.destroy();
      clear(host);
      o = {
        width: Math.max(240, host.clientWidth || 440),
        height: (opts && opts.height) || CHART_H,
        series: [{ label: (opts && opts.xName) || "block" }].concat(series),
        // One point (a single round, a single liquidation) gets a little room around it, not uPlot's default span.
        scales: { x: { time: false, range: xRange } },
        axes: [
          { label: (opts && opts.xLabel) || "block", size: 40, font: "11px system-ui", labelFont: "11px system-ui" },
          { size: 64, font: "11px system-ui", values: (opts && opts.yValues) || undefined },
        ],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
      };
      if (opts && opts.yRange) o.scales.y = { range: opts.yRange };
      c = new uPlot(o, data, host);
      c.marginwatchLabels = labels;
      charts[id] = c;
    }
    host.setAttribute("data-points", String(data[0].length));
    host.setAttribute("data-series", labels);
    return c;
  }

  function xRange(_u, min, max) {
    return min === max ? [min - 5, max + 5] : [min, max];
  }

  function line(label, color, extra) {
    var sr = { label: label, stroke: color, width: 2, points: { show: true, size: 4 }, spanGaps: false };
    Object.keys(extra || {}).forEach(function (k) {
      sr[k] = extra[k];
    });
    return sr;
  }

  function usdAxis(_u, vals) {
    return vals.map(function (v) {
      return usd(v);
    });
  }

  function resizeCharts() {
    Object.keys(charts).forEach(function (id) {
      var host = $(id);
      var c = charts[id];
      if (host && c && host.clientWidth) c.setSize({ width: Math.max(240, host.clientWidth), height: c.height });
    });
  }

  function renderCurve(curves, headline) {
    var xs = [0];
    if (curves[0])
      curves[0].steps.forEach(function (st) {
        xs.push(st.dropPct);
      });
    var series = [];
    var data = [xs];
    curves.forEach(function (c, i) {
      var base = Number(c.currentUSD);
      series.push(line(c.symbol || short(c.asset), COLORS[i % COLORS.length]));
      data.push(
        [base].concat(
          c.steps.map(function (st) {
            return base + Number(st.cumulativeCollateralUSD);
          }),
        ),
      );
    });
    chart("liquidation-curve", series, data, { xLabel: "price drop of the asset, % (others fixed)", xName: "drop %", yValues: usdAxis });
    $("liquidation-curve").setAttribute(
      "data-assets",
      series
        .map(function (x) {
          return x.label;
        })
        .sort()
        .join(","),
    );
    $("curve-note").textContent = "Collateral liquidatable as one asset's price falls. Within −20%: " + usd(headline) + ".";
  }

  // ------------------------------------------------------------------ risk over time, oracle prices, liquidations

  function blocksOf(rows) {
    return rows.map(function (r) {
      return Number(r.blockNumber);
    });
  }

  function renderRiskHistory(h) {
    var pts = h.snapshots.slice().reverse(); // newest first → oldest first
    var xs = blocksOf(pts);
    var labels = pts.length
      ? pts[0].distribution.map(function (b) {
          return b.label;
        })
      : [];
    var bucketData = [xs];
    var bucketSeries = labels.map(function (label, i) {
      bucketData.push(
        pts.map(function (p) {
          return p.distribution[i] ? p.distribution[i].accounts : null;
        }),
      );
      return line("HF " + label, BUCKET_COLORS[label] || COLORS[i % COLORS.length], {
        dash: i % 3 === 1 ? [6, 3] : i % 3 === 2 ? [2, 3] : undefined,
      });
    });
    chart("chart-hf-buckets", bucketSeries, bucketData);
    var field = function (f) {
      return pts.map(function (p) {
        return Number(f(p));
      });
    };
    chart(
      "chart-risk-usd",
      [
        line("debt at risk (HF < 1.1)", "#d64545"),
        line("liquidatable debt (HF < 1)", "#7a1f1f"),
        line("collateral liquidatable within −20%", "#e08a1e"),
        line("bad debt (under water)", "#a64ac9"),
        line("bad debt written off", "#6b7483", { dash: [4, 3] }),
      ],
      [
        xs,
        field(function (p) {
          return p.debtAtRiskUSD;
        }),
        field(function (p) {
          return p.liquidatableDebtUSD;
        }),
        field(function (p) {
          return p.liquidatableWithin20PctUSD;
        }),
        field(function (p) {
          return p.badDebt.underWaterUSD;
        }),
        field(function (p) {
          return p.badDebt.protocolDeficitUSD;
        }),
      ],
      { yValues: usdAxis },
    );
    $("risk-history-note").textContent = pts.length
      ? pts.length + " snapshots, blocks " + xs[0] + "–" + xs[xs.length - 1]
      : "no snapshot stored yet (one every 50 blocks)";
  }

  function renderOracleHistory(feeds) {
    var box = $("oracle-history");
    return Promise.all(
      feeds.map(function (f) {
        var key = f.symbol || f.asset;
        return getJson("/v1/oracles/" + encodeURIComponent(key) + "/rounds?limit=" + HISTORY_LIMIT).then(function (r) {
          var id = "chart-oracle-" + key;
          if (!$(id)) {
            box.appendChild(el("div", {}, [el("h3", {}, [key + " (USD)"]), el("div", { id: id, class: "chart", "data-symbol": key })]));
          }
          var rows = r.rounds
            .filter(function (x) {
              return x.priceUSD !== null;
            })
            .sort(function (a, b) {
              return Number(a.blockNumber) - Number(b.blockNumber) || Number(a.updatedAt) - Number(b.updatedAt);
            });
          chart(
            id,
            [line(key, COLORS[feeds.indexOf(f) % COLORS.length], { paths: uPlot.paths.stepped({ align: 1 }) })],
            [
              blocksOf(rows),
              rows.map(function (x) {
                return Number(x.priceUSD);
              }),
            ],
            { height: 120, yValues: usdAxis },
          );
        });
      }),
    );
  }

  function renderLiquidationHistory(l) {
    var byBlock = {};
    var blocks = [];
    l.liquidations.forEach(function (x) {
      var b = Number(x.blockNumber);
      if (!byBlock[b]) {
        byBlock[b] = 0;
        blocks.push(b);
      }
      byBlock[b]++;
    });
    blocks.sort(function (a, b) {
      return a - b;
    });
    var total = 0;
    var cumulative = blocks.map(function (b) {
      total += byBlock[b];
      return total;
    });
    chart(
      "chart-liquidations",
      [
        line("liquidations in block", "#d64545", { width: 0, points: { show: true, size: 7, fill: "#d64545" } }),
        line("cumulative", "#3a63d8", { paths: uPlot.paths.stepped({ align: 1 }) }),
      ],
      [
        blocks,
        blocks.map(function (b) {
          return byBlock[b];
        }),
        cumulative,
      ],
      { height: 160 },
    );
  }

  function renderAccountHistory(address, h) {
    var rows = h.history.slice().reverse();
    var hf = rows.map(function (x) {
      // No debt (∞) and unknown (?) have no point on the line.
      return x.healthFactor === "∞" || x.healthFactor === "?" ? null : Number(x.healthFactorWad) / 1e18;
    });
    var xs = blocksOf(rows);
    chart(
      "account-hf-chart",
      [
        line("health factor", "#3a63d8", { paths: uPlot.paths.stepped({ align: 1 }) }),
        line("liquidation (HF 1)", "#d64545", { width: 1, dash: [4, 3], points: { show: false } }),
      ],
      [
        xs,
        hf,
        xs.map(function () {
          return 1;
        }),
      ],
      {
        height: 160,
        yRange: [
          0,
          Math.max(
            2,
            Math.min(
              5,
              Math.max.apply(
                null,
                hf
                  .filter(function (x) {
                    return x !== null;
                  })
                  .concat([0]),
              ) * 1.1,
            ),
          ),
        ],
      },
    );
    $("account-hf-chart").setAttribute("data-account", address);
  }

  // ------------------------------------------------------------------ at-risk table and account card

  function atRiskQuery() {
    var q = ["limit=15"];
    var st = $("at-risk-status").value;
    var max = $("at-risk-max").value.trim();
    var asset = $("at-risk-asset").value;
    if (st) q.push("status=" + encodeURIComponent(st));
    if (max) q.push("maxHealthFactor=" + encodeURIComponent(max));
    if (asset) q.push("asset=" + encodeURIComponent(asset));
    return "/v1/accounts?" + q.join("&");
  }

  function renderAtRisk(list) {
    var body = clear($("at-risk").tBodies[0]);
    list.accounts.forEach(function (a) {
      var tr = el("tr", { class: "clickable", "data-account": a.account, "data-hf": a.healthFactor }, [
        el("td", { class: "mono", title: a.account }, [short(a.account)]),
        el("td", { class: "hf " + hfClass(a.healthFactor) }, [a.healthFactor]),
        el("td", {}, [a.status]),
        el("td", { class: "num" }, [usd(a.totalCollateralUSD)]),
        el("td", { class: "num" }, [usd(a.totalBorrowsUSD)]),
      ]);
      tr.addEventListener("click", function () {
        showAccount(a.account);
      });
      body.appendChild(tr);
    });
    if (!list.accounts.length) body.appendChild(el("tr", {}, [el("td", { colspan: 5, class: "note" }, ["No accounts match."])]));
    $("at-risk-total").textContent = list.total + " matching";
  }

  function showAccount(address) {
    var box = $("account-card");
    shownAccount = address;
    getJson("/v1/accounts/" + address)
      .then(function (c) {
        if (charts["account-hf-chart"]) {
          charts["account-hf-chart"].destroy();
          delete charts["account-hf-chart"];
        }
        clear(box);
        box.hidden = false;
        box.appendChild(
          el("h3", {}, [address + " — HF ", el("span", { class: "hf " + hfClass(c.healthFactor) }, [c.healthFactor]), " (" + c.status + ")"]),
        );
        box.appendChild(
          el("p", { class: "note" }, [
            "Collateral " +
              usd(c.totalCollateralUSD) +
              " · debt " +
              usd(c.totalBorrowsUSD) +
              " · available " +
              usd(c.availableBorrowsUSD) +
              " · net worth " +
              usd(c.netWorthUSD) +
              " · borrow power used " +
              c.borrowPowerUsedDisplay +
              " · LTV " +
              pct(c.currentLoanToValue) +
              " · LT " +
              pct(c.currentLiquidationThreshold) +
              (c.category ? " · eMode " + c.category.id + (c.category.label ? " (" + c.category.label + ")" : "") : ""),
          ]),
        );
        var rows = c.positions.map(function (p) {
          var lp = c.liquidationPrices.filter(function (l) {
            return l.asset === p.asset;
          })[0];
          return el("tr", {}, [
            el("td", {}, [p.symbol || short(p.asset)]),
            el("td", { class: "num" }, [
              p.collateralAmount + " (" + usd(p.collateralUSD) + ")" + (p.usedAsCollateral || p.collateral === "0" ? "" : " · not collateral"),
            ]),
            el("td", { class: "num" }, [p.debtAmount + " (" + usd(p.debtUSD) + ")"]),
            el("td", { class: "num" }, [
              lp && lp.liquidationPriceUSD ? "$" + Number(lp.liquidationPriceUSD).toFixed(2) + " (−" + lp.dropPct + "%)" : "—",
            ]),
          ]);
        });
        box.appendChild(
          el("table", {}, [
            el("thead", {}, [
              el("tr", {}, [
                el("th", {}, ["Asset"]),
                el("th", { class: "num" }, ["Collateral"]),
                el("th", { class: "num" }, ["Debt"]),
                el("th", { class: "num" }, ["Liquidation price"]),
              ]),
            ]),
            el("tbody", {}, rows),
          ]),
        );
        box.appendChild(
          el("p", { class: "note" }, [
            "What-if (all collateral): " +
              c.whatIf
                .map(function (w) {
                  return Math.round(w.shock * 100) + "% → HF " + w.healthFactor;
                })
                .join(" · "),
          ]),
        );
        box.appendChild(el("h4", {}, ["Health factor history (rows the indexer wrote: position, status or level changes)"]));
        box.appendChild(el("div", { id: "account-hf-chart", class: "chart" }));
        return refreshAccountHistory();
      })
      .catch(function (e) {
        showError(e);
      });
  }

  function refreshAccountHistory() {
    var address = shownAccount;
    if (!address || !$("account-hf-chart")) return Promise.resolve();
    return getJson("/v1/accounts/" + address + "/history?limit=" + HISTORY_LIMIT).then(function (h) {
      if (address === shownAccount) renderAccountHistory(address, h);
    });
  }

  // ------------------------------------------------------------------ oracles

  function renderOracles(o) {
    var box = clear($("oracles"));
    o.feeds.forEach(function (f) {
      var ratio = Number(f.ageRatio);
      var cls = f.status !== "fresh" ? f.status : ratio > 0.8 ? "warn" : "";
      var bar = el("div", { class: "bar " + cls, title: "age " + f.age + " s of heartbeat " + f.heartbeat + " s" }, [
        el("span", { style: "width:" + Math.min(100, Math.max(2, ratio * 100)).toFixed(1) + "%" }),
      ]);
      box.appendChild(
        el("div", { class: "feed", "data-symbol": f.symbol || f.asset, "data-status": f.status }, [
          el("strong", {}, [f.symbol || short(f.asset)]),
          el("span", { class: "mono" }, [f.priceUSD ? "$" + f.priceUSD : "—"]),
          el("div", {}, [bar, el("span", { class: "note" }, [f.age + "s / " + f.heartbeat + "s" + (f.reason ? " · " + f.reason : "")])]),
          el("span", { class: "status " + f.status }, [f.status]),
        ]),
      );
    });
    $("sequencer").textContent = "L2 sequencer: " + o.sequencer.status;
    if (!stressBuilt && o.feeds.length) buildStressForm(o.feeds);
    var sel;
    if (!assetsFilled && o.feeds.length) {
      sel = $("at-risk-asset");
      o.feeds.forEach(function (f) {
        sel.appendChild(el("option", { value: f.symbol || f.asset }, [f.symbol || short(f.asset)]));
      });
      assetsFilled = true;
    }
  }

  // ------------------------------------------------------------------ stress

  function buildStressForm(feeds) {
    var box = clear($("stress-inputs"));
    feeds.forEach(function (f) {
      box.appendChild(
        el("label", {}, [
          (f.symbol || short(f.asset)) + " % ",
          el("input", { type: "number", step: "1", min: "-99", max: "1000", value: "0", "data-asset": f.symbol || f.asset }),
        ]),
      );
    });
    stressBuilt = true;
  }

  function runStress(ev) {
    ev.preventDefault();
    var shocks = {};
    Array.prototype.forEach.call($("stress-inputs").querySelectorAll("input"), function (i) {
      var v = Number(i.value);
      if (i.value !== "" && v !== 0 && Number.isFinite(v)) shocks[i.getAttribute("data-asset")] = v / 100;
    });
    var out = $("stress-result");
    if (!Object.keys(shocks).length) {
      out.textContent = "Enter at least one non-zero shock.";
      return;
    }
    fetch("/v1/stress", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ shocks: shocks }) })
      .then(function (r) {
        return r.json().then(function (b) {
          if (!r.ok) throw new Error(b.message);
          return b;
        });
      })
      .then(function (r) {
        out.textContent =
          "At block " +
          r.blockNumber +
          ": " +
          r.accountsLiquidatable +
          " accounts liquidatable (" +
          r.newlyLiquidatable +
          " new), debt " +
          usd(r.debtLiquidatableUSD) +
          ", projected bad debt " +
          usd(r.projectedBadDebtUSD) +
          (r.unknownAccounts ? ", " + r.unknownAccounts + " unknown" : "");
      })
      .catch(function (e) {
        out.textContent = "Stress test failed: " + e.message;
      });
  }

  function renderScenarios(s) {
    var body = clear($("scenarios").tBodies[0]);
    s.scenarios.forEach(function (sc) {
      body.appendChild(
        el("tr", { "data-scenario": sc.id }, [
          el("td", {}, [sc.name]),
          el("td", { class: "num" }, [String(sc.result.accountsLiquidatable)]),
          el("td", { class: "num" }, [usd(sc.result.debtLiquidatableUSD)]),
          el("td", { class: "num" }, [usd(sc.result.projectedBadDebtUSD)]),
        ]),
      );
    });
  }

  // ------------------------------------------------------------------ history

  function renderLiquidations(l) {
    var body = clear($("liquidations").tBodies[0]);
    l.liquidations.forEach(function (x) {
      body.appendChild(
        el("tr", {}, [
          el("td", {}, [x.blockNumber]),
          el("td", { class: "mono", title: x.borrower }, [short(x.borrower)]),
          el("td", { class: "num" }, [Number(x.debtRepaidAmount).toFixed(2) + " " + (x.debtSymbol || "")]),
          el("td", { class: "num" }, [Number(x.collateralSeizedAmount).toFixed(4) + " " + (x.collateralSymbol || "")]),
        ]),
      );
    });
    if (!l.liquidations.length) body.appendChild(el("tr", {}, [el("td", { colspan: 4, class: "note" }, ["No liquidations yet."])]));
  }

  function renderOutcomes(o) {
    var body = clear($("keeper-outcomes").tBodies[0]);
    o.outcomes.forEach(function (x) {
      body.appendChild(
        el("tr", {}, [
          el("td", {}, [x.createdAt.replace("T", " ").slice(0, 19)]),
          el("td", { class: "mono", title: x.account }, [short(x.account)]),
          el("td", {}, [x.outcome]),
          el("td", { class: "note" }, [x.transactionHash ? short(x.transactionHash) : x.reason || ""]),
        ]),
      );
    });
    if (!o.outcomes.length) body.appendChild(el("tr", {}, [el("td", { colspan: 4, class: "note" }, ["No keeper jobs recorded."])]));
  }

  // ------------------------------------------------------------------ polling

  function showError(e) {
    var b = $("error-banner");
    if (e) {
      b.textContent = String(e.message || e);
      b.hidden = false;
    } else {
      b.hidden = true;
    }
  }

  function poll() {
    polls++;
    var jobs = [
      getJson("/v1/status").then(function (st) {
        renderStatus(st);
        renderAudit(st.audit);
      }),
      getJson("/v1/risk").then(function (r) {
        renderLastUpdated(r);
        renderKpis(r);
        renderDistribution(r.distribution);
        renderCurve(r.liquidationCurves, r.liquidatableWithin20PctUSD);
      }),
      getJson(atRiskQuery()).then(renderAtRisk),
      getJson("/v1/oracles").then(function (o) {
        renderOracles(o);
        if (polls % HISTORY_EVERY === 1) return renderOracleHistory(o.feeds);
      }),
      getJson("/v1/liquidations?limit=8").then(renderLiquidations),
      getJson("/v1/keeper/outcomes?limit=8").then(renderOutcomes),
    ];
    if (polls % SCENARIO_EVERY === 1) jobs.push(getJson("/v1/stress/scenarios").then(renderScenarios));
    if (polls % HISTORY_EVERY === 1) {
      jobs.push(getJson("/v1/risk/history?limit=" + HISTORY_LIMIT).then(renderRiskHistory));
      jobs.push(getJson("/v1/liquidations?limit=" + HISTORY_LIMIT).then(renderLiquidationHistory));
      jobs.push(refreshAccountHistory());
    }
    return Promise.allSettled(jobs).then(function (res) {
      var failed = res.filter(function (r) {
        return r.status === "rejected";
      })[0];
      showError(failed ? failed.reason : null);
    });
  }

  function loop() {
    poll().then(function () {
      setTimeout(loop, POLL_MS);
    });
  }

  $("stress-form").addEventListener("submit", runStress);
  window.addEventListener("resize", resizeCharts);
  $("at-risk-filter").addEventListener("submit", function (e) {
    e.preventDefault();
    poll();
  });
  ["at-risk-status", "at-risk-asset"].forEach(function (id) {
    $(id).addEventListener("change", function () {
      poll();
    });
  });
  loop();
})();
