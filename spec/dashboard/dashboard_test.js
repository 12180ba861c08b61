// Drives the host's dashboard in headless Chromium (Debian's /usr/bin/chromium)
// for spec/dashboard_spec.lua. Environment: GANTRY_URL (http://127.0.0.1:PORT),
// READ_TOKEN, RISK_TOKEN, OUT_DIR (the screenshot and Chromium's profile go
// there). Prints one line per check ("ok ..." / "not ok ...") and exits 1 on
// any failure. Every wait is bounded.
"use strict";
const puppeteer = require("puppeteer-core");
const path = require("path");

const url = process.env.GANTRY_URL, out = process.env.OUT_DIR;
const READ = process.env.READ_TOKEN, RISK = process.env.RISK_TOKEN;
let failed = 0;
function check(cond, what) {
  console.log((cond ? "ok " : "not ok ") + what);
  if (!cond) failed++;
}

async function status() {
  const r = await fetch(url + "/api/status", { headers: { Authorization: "Bearer " + READ } });
  return r.json();
}

// The page re-renders its tables on every refresh (a token typed in starts
// one): a button found just before may be gone by the click; find it again.
async function clickFresh(page, selector) {
  for (let i = 0; ; i++) {
    try { return await page.click(selector); } catch (e) {
      if (i >= 5 || !String(e).includes("detached")) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    timeout: 30000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--user-data-dir=" + path.join(out, "chromium-profile")],
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(10000);
    await page.setViewport({ width: 1280, height: 900 });
    const errors = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("requestfailed", (r) => errors.push("request failed: " + r.url()));
    const dialogs = [];
    page.on("dialog", async (d) => { dialogs.push(d.message()); await d.accept(); });

    const resp = await page.goto(url + "/dashboard", { waitUntil: "load" });
    check(resp.status() === 200, "the page loads (200)");
    check(resp.headers()["content-security-policy"].includes("default-src 'self'"), "it is served with a CSP");
    // a read token typed in: the figures come
    await page.type("#token", READ);
    await page.click("#use");
    await page.waitForFunction(() => document.body.dataset.loaded && document.querySelector("#strategies tbody tr"));
    await page.waitForFunction(() => document.querySelector("#chart").dataset.points >= 2, { timeout: 10000 });
    check(errors.length === 0, "no console error while loading: " + JSON.stringify(errors));

    // the page's figures equal /api/status (the feed has ended: they stand still)
    await new Promise((r) => setTimeout(r, 1200));
    const st = await status();
    const seen = await page.evaluate(() => {
      const rows = {};
      for (const tr of document.querySelectorAll("#strategies tbody tr")) {
        const f = {};
        for (const td of tr.querySelectorAll("td[data-field]")) f[td.dataset.field] = td.textContent;
        rows[tr.dataset.strategy] = f;
      }
      const pos = {};
      for (const tr of document.querySelectorAll("#positions tbody tr"))
        pos[tr.dataset.strategy + "/" + tr.dataset.symbol] = tr.querySelector("td[data-field=qty]").textContent;
      return { events: document.querySelector("#events").textContent, mode: document.querySelector("#mode").textContent,
               rows, pos, orders: document.querySelectorAll("#orders tbody tr").length };
    });
    check(seen.events === String(st.events), `events ${seen.events} = ${st.events}`);
    check(seen.mode === st.mode, `mode ${seen.mode} = ${st.mode}`);
    if (st.venue) { // live: the FIX session's state and sequence numbers
      const v = await page.evaluate(() => ["venue", "venue-out", "venue-in"].map((id) => document.getElementById(id).textContent));
      check(v[0] === st.venue.state && v[1] === String(st.venue.next_out) && v[2] === String(st.venue.next_in),
            `venue ${v.join(" ")} = ${st.venue.state} ${st.venue.next_out} ${st.venue.next_in}`);
    }
    let openOrders = 0;
    for (const s of st.strategies) {
      const r = seen.rows[s.name] || {};
      check(r.state === s.state, `${s.name} state ${r.state} = ${s.state}`);
      check(r.version === String(s.version), `${s.name} version ${r.version} = ${s.version}`);
      check(r.hash === s.hash, `${s.name} hash ${r.hash} = ${s.hash}`);
      check(r.equity === s.equity.toFixed(2), `${s.name} equity ${r.equity} = ${s.equity.toFixed(2)}`);
      check(r.pnl === s.pnl.toFixed(2), `${s.name} pnl ${r.pnl} = ${s.pnl.toFixed(2)}`);
      check(r.orders === String(s.orders) && r.fills === String(s.fills), `${s.name} orders and fills`);
      for (const sym of Object.keys(s.positions))
        check(seen.pos[s.name + "/" + sym] === String(s.positions[sym]), `${s.name} ${sym} position ${seen.pos[s.name + "/" + sym]} = ${s.positions[sym]}`);
      openOrders += s.open_orders.length;
    }
    check(seen.orders === openOrders, `working orders ${seen.orders} = ${openOrders}`);
    const name = st.strategies[0].name;
    const halt = `#strategies button[data-verb=halt][data-strategy="${name}"]`;

    // no token: the button is refused, nothing sent
    await page.click("#forget");
    await clickFresh(page, halt);
    await page.waitForFunction(() => document.querySelector("#message").textContent.startsWith("refused"));
    check((await page.$eval("#message", (e) => e.textContent)).includes("needs a token"), "without a token the button is refused");
    check((await status()).strategies[0].state === "running", "and the strategy still runs");
    // a read token: asked to confirm, then refused by the host (403)
    await page.type("#token", READ);
    await page.click("#use");
    await clickFresh(page, halt);
    await page.waitForFunction(() => document.querySelector("#message").textContent.startsWith("refused (403)"));
    check(dialogs.length === 1 && dialogs[0] === `halt ${name}?`, "the halt asks for confirmation: " + JSON.stringify(dialogs));
    check((await status()).strategies[0].state === "running", "a read token does not halt");
    // a risk token: it halts
    await page.type("#token", RISK);
    await page.click("#use");
    await clickFresh(page, halt);
    await page.waitForFunction(() => document.querySelector("#message").textContent.endsWith(": done"));
    check((await status()).strategies[0].state === "halted", "a risk token halts");
    await page.waitForFunction((n) => {
      const td = document.querySelector(`#strategies tr[data-strategy="${n}"] td[data-field=state]`);
      return td && td.textContent === "halted";
    }, {}, name);
    check(true, "the page shows the strategy halted");
    const shot = path.join(out, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log("screenshot " + shot);
  } finally {
    await browser.close();
  }
}

const timer = setTimeout(() => { console.log("not ok timed out"); process.exit(1); }, 90000);
main().then(() => { clearTimeout(timer); console.log(failed ? `${failed} failed` : "all ok"); process.exit(failed ? 1 : 0); },
            (e) => { clearTimeout(timer); console.log("not ok " + (e && e.stack || e)); process.exit(1); });
