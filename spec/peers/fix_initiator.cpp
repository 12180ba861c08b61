// fix_initiator: a small QuickFIX 4.4 initiator. spec/fix_peer_spec.lua uses
// it to prove fix_acceptor (logon, orders, each scripted behaviour), and the
// benchmark uses its --bench mode for QuickFIX's own order round trip, the
// figure gantry's FIX initiator is measured against. Usage in
// spec/peers/README.md.
//
// Things a reader must know: QuickFIX calls back on its connection thread;
// the orders file runs on the main thread, which waits (bounded) on a
// condition variable for logons and reports. In --bench mode the next order
// is sent from the callback that received the fill, so no thread hand-off is
// inside the measured round trip.
#include <quickfix/Application.h>
#include <quickfix/FileStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/ThreadedSocketInitiator.h>

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <sstream>

#include "peer_common.h"

using peer::Obj;

static double now_us()
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static std::string field(const FIX::FieldMap &m, int tag)
{
  return m.isSetField(tag) ? m.getField(tag) : std::string();
}

static std::string utc_now() { return FIX::UtcTimeStampConvertor::convert(FIX::UtcTimeStamp(), 3); }

struct Bench {
  long total = 0, warmup = 0, done = 0;
  std::string symbol = "XYZ", qty = "1";
  std::string clordid;
  double t0 = 0;
  std::vector<double> rtt;
};

class Initiator : public FIX::Application {
public:
  std::mutex mu;
  std::condition_variable cv;
  long logons = 0, reports = 0;
  bool logged_on = false;
  std::string refused; // the text of a Logout that came instead of a Logon
  std::string user, password, prefix;
  peer::Record out;
  FIX::SessionID sid;
  bool bench = false;
  Bench b;

  void onCreate(const FIX::SessionID &s) override { sid = s; }
  void onLogon(const FIX::SessionID &) override
  {
    out.put(Obj("logon"));
    std::lock_guard<std::mutex> g(mu);
    logons++;
    logged_on = true;
    cv.notify_all();
  }
  void onLogout(const FIX::SessionID &) override
  {
    out.put(Obj("logout"));
    std::lock_guard<std::mutex> g(mu);
    logged_on = false;
    cv.notify_all();
  }
  void toAdmin(FIX::Message &m, const FIX::SessionID &) override
  {
    if (field(m.getHeader(), 35) == "A" && !user.empty()) {
      m.setField(553, user);
      m.setField(554, password);
    }
  }
  void toApp(FIX::Message &, const FIX::SessionID &) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message &m, const FIX::SessionID &) throw(
      FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::RejectLogon) override
  {
    std::string type = field(m.getHeader(), 35);
    if (type == "0") return;
    Obj o("admin");
    o.str("type", type).i("seq", atol(field(m.getHeader(), 34).c_str()));
    if (type == "3") o.i("ref_seq", atol(field(m, 45).c_str())).str("text", field(m, 58));
    if (type == "5") o.str("text", field(m, 58));
    out.put(o);
    if (type == "5") {
      // a Logout before the Logon: refused (bad credentials, sequence too low, ...)
      std::lock_guard<std::mutex> g(mu);
      if (!logged_on && logons == 0) {
        refused = field(m, 58).empty() ? "no reason given" : field(m, 58);
        cv.notify_all();
      }
    }
  }
  void fromApp(const FIX::Message &m, const FIX::SessionID &) throw(
      FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::UnsupportedMessageType) override
  {
    std::string type = field(m.getHeader(), 35);
    if (bench) {
      on_bench(m, type);
      return;
    }
    Obj o("app");
    o.str("msg", type).i("seq", atol(field(m.getHeader(), 34).c_str()))
        .b("poss_dup", field(m.getHeader(), 43) == "Y").str("clordid", field(m, 11))
        .str("orig_clordid", field(m, 41)).str("order_id", field(m, 37)).str("ord_status", field(m, 39))
        .str("text", field(m, 58));
    if (type == "8") {
      o.str("exec_id", field(m, 17)).str("exec_type", field(m, 150)).str("symbol", field(m, 55))
          .str("side", field(m, 54)).str("qty", field(m, 38)).str("price", field(m, 44))
          .str("last_qty", field(m, 32)).str("last_px", field(m, 31)).str("cum_qty", field(m, 14))
          .str("leaves_qty", field(m, 151)).str("avg_px", field(m, 6)).str("mass_id", field(m, 584))
          .str("tot", field(m, 911)).str("last_rpt", field(m, 912)).str("rej_reason", field(m, 103));
    } else if (type == "9") {
      o.str("response_to", field(m, 434)).str("reason", field(m, 102));
    }
    out.put(o);
    std::lock_guard<std::mutex> g(mu);
    reports++;
    cv.notify_all();
  }

  // One market buy, timed from here to its fill.
  void bench_send()
  {
    b.clordid = prefix + "-" + std::to_string(b.done + 1);
    FIX::Message d;
    d.getHeader().setField(35, "D");
    d.setField(11, b.clordid);
    d.setField(55, b.symbol);
    d.setField(54, "1");
    d.setField(60, utc_now());
    d.setField(38, b.qty);
    d.setField(40, "1");
    d.setField(59, "0");
    b.t0 = now_us();
    FIX::Session::sendToTarget(d, sid);
  }

  void on_bench(const FIX::Message &m, const std::string &type)
  {
    if (type != "8" || field(m, 11) != b.clordid || field(m, 39) != "2") return;
    double t = now_us() - b.t0;
    if (b.done >= b.warmup) b.rtt.push_back(t);
    b.done++;
    if (b.done < b.total + b.warmup) {
      bench_send();
    } else {
      std::lock_guard<std::mutex> g(mu);
      cv.notify_all();
    }
  }
};

static void usage(const char *why)
{
  fprintf(stderr,
          "fix_initiator: %s\n"
          "usage: fix_initiator --port N --store DIR --sender ID --target ID --out FILE [--host H]\n"
          "                     [--heartbeat S] [--username U --password-file F] [--reset] [--timeout S]\n"
          "                     (--orders FILE | --bench N [--symbol SYM] [--qty Q])\n",
          why);
  exit(2);
}

struct Sent {
  std::string clordid, symbol, side, type, price, qty, order_id;
};

static bool wait_until(Initiator &app, double timeout_s, const std::function<bool()> &pred)
{
  std::unique_lock<std::mutex> l(app.mu);
  return app.cv.wait_for(l, std::chrono::milliseconds((long)(timeout_s * 1000)), pred);
}

// Runs the orders file; returns "" or what went wrong (FILE:LINE: ...).
static std::string run_orders(Initiator &app, const std::string &path, double timeout)
{
  std::ifstream in(path);
  if (!in) return path + ": cannot read the orders file";
  std::vector<Sent> sent;
  std::string line;
  int no = 0, ids = 0;
  auto next_id = [&] { return app.prefix + "-" + std::to_string(++ids); };
  while (std::getline(in, line)) {
    no++;
    std::string where = path + ":" + std::to_string(no) + ": ";
    std::vector<std::string> t = peer::split_ws(line.substr(0, line.find('#')));
    if (t.empty()) continue;
    std::map<std::string, std::string> opt;
    for (size_t i = 1; i < t.size(); i++) {
      size_t eq = t[i].find('=');
      if (eq != std::string::npos) opt[t[i].substr(0, eq)] = t[i].substr(eq + 1);
    }
    FIX::Message m;
    const std::string &c = t[0];
    long n = 0;
    if ((c == "cancel" || c == "replace" || c == "status") &&
        (t.size() < 2 || !peer::parse_int(t[1], n) || n < 1 || n > (long)sent.size()))
      return where + c + " needs the number of an order sent earlier";
    if (c == "buy" || c == "sell") {
      if (t.size() < 3) return where + c + " needs SYMBOL QTY";
      Sent s{next_id(), t[1], c == "buy" ? "1" : "2", opt.count("limit") ? "2" : "1",
             opt.count("limit") ? opt["limit"] : "", t[2], ""};
      std::string tif = opt.count("tif") ? opt["tif"] : "day";
      m.getHeader().setField(35, "D");
      m.setField(11, s.clordid);
      m.setField(55, s.symbol);
      m.setField(54, s.side);
      m.setField(60, utc_now());
      m.setField(38, s.qty);
      m.setField(40, s.type);
      if (!s.price.empty()) m.setField(44, s.price);
      m.setField(59, tif == "gtc" ? "1" : tif == "ioc" ? "3" : tif == "fok" ? "4" : "0");
      sent.push_back(s);
    } else if (c == "cancel" || c == "replace") {
      Sent &s = sent[n - 1];
      std::string id = next_id();
      m.getHeader().setField(35, c == "cancel" ? "F" : "G");
      m.setField(41, s.clordid);
      m.setField(11, id);
      m.setField(55, s.symbol);
      m.setField(54, s.side);
      m.setField(60, utc_now());
      if (c == "replace") {
        if (opt.count("qty")) s.qty = opt["qty"];
        if (opt.count("price")) s.price = opt["price"];
        m.setField(40, s.type);
        if (!s.price.empty()) m.setField(44, s.price);
      }
      m.setField(38, s.qty);
      s.clordid = id;
    } else if (c == "status") {
      Sent &s = sent[n - 1];
      m.getHeader().setField(35, "H");
      m.setField(11, s.clordid);
      m.setField(55, s.symbol);
      m.setField(54, s.side);
      m.setField(790, "S" + std::to_string(no));
    } else if (c == "mass") {
      m.getHeader().setField(35, "AF");
      m.setField(584, "M" + std::to_string(no));
      m.setField(585, "7");
    } else if (c == "wait") {
      long want = 0;
      if (opt.count("reports") && peer::parse_int(opt["reports"], want)) {
        if (!wait_until(app, timeout, [&] { return app.reports >= want; }))
          return where + "timed out waiting for " + std::to_string(want) + " reports (" +
                 std::to_string(app.reports) + " came)";
      } else if (opt.count("logons") && peer::parse_int(opt["logons"], want)) {
        if (!wait_until(app, timeout, [&] { return app.logons >= want && app.logged_on; }))
          return where + "timed out waiting for logon " + std::to_string(want);
      } else
        return where + "wait needs reports=R or logons=N";
      continue;
    } else if (c == "sleep") {
      long ms = 0;
      if (t.size() < 2 || !peer::parse_int(t[1], ms) || ms < 0) return where + "sleep needs MS";
      usleep((useconds_t)ms * 1000);
      continue;
    } else if (c == "logout") {
      break;
    } else {
      return where + "unknown command '" + c + "'";
    }
    if (!wait_until(app, timeout, [&] { return app.logged_on; })) return where + "not logged on";
    try {
      FIX::Session::sendToTarget(m, app.sid);
    } catch (std::exception &e) {
      return where + "send failed: " + e.what();
    }
  }
  return "";
}

int main(int argc, char **argv)
{
  std::map<std::string, std::string> a;
  static const char *opts[] = {"--port", "--store", "--sender", "--target", "--out", "--host", "--heartbeat",
                               "--username", "--password-file", "--timeout", "--orders", "--bench",
                               "--symbol", "--qty", nullptr};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--reset") == 0) {
      a["reset"] = "Y";
      continue;
    }
    bool known = false;
    for (int j = 0; opts[j]; j++) known = known || strcmp(argv[i], opts[j]) == 0;
    if (!known) usage((std::string("unknown argument '") + argv[i] + "'").c_str());
    if (i + 1 >= argc) usage((std::string(argv[i]) + " needs a value").c_str());
    a[argv[i] + 2] = argv[i + 1];
    i++;
  }
  for (const char *req : {"port", "store", "sender", "target", "out"})
    if (!a.count(req)) usage((std::string("--") + req + " is required").c_str());
  if (a.count("orders") == a.count("bench")) usage("give one of --orders FILE and --bench N");
  long port = 0, hb = 30, bench_n = 0;
  double timeout = 10;
  if (!peer::parse_int(a["port"], port) || port < 1 || port > 65535) usage("--port must be 1..65535");
  if (a.count("heartbeat") && (!peer::parse_int(a["heartbeat"], hb) || hb < 1)) usage("--heartbeat must be >= 1");
  if (a.count("timeout") && (!peer::parse_num(a["timeout"], timeout) || timeout <= 0))
    usage("--timeout must be > 0 seconds");
  if (a.count("bench") && (!peer::parse_int(a["bench"], bench_n) || bench_n < 1)) usage("--bench must be >= 1");

  Initiator app;
  if (a.count("username")) {
    std::string line;
    if (!a.count("password-file") || !peer::read_first_line(a["password-file"], line)) {
      fprintf(stderr, "fix_initiator: --username needs a readable --password-file\n");
      return 2;
    }
    app.user = a["username"];
    app.password = line;
  }
  // ClOrdIDs unique across runs that share a store: the start time in ms.
  app.prefix = "Q" + std::to_string((long long)(now_us() / 1000));
  if (!app.out.open(a["out"])) {
    fprintf(stderr, "fix_initiator: %s: cannot write: %s\n", a["out"].c_str(), strerror(errno));
    return 2;
  }
  if (bench_n) {
    app.bench = true;
    app.b.total = bench_n;
    app.b.warmup = std::min(200L, bench_n / 10 + 1);
    if (a.count("symbol")) app.b.symbol = a["symbol"];
    if (a.count("qty")) app.b.qty = a["qty"];
    app.b.rtt.reserve((size_t)bench_n);
  }
  std::stringstream cfg;
  cfg << "[DEFAULT]\nConnectionType=initiator\nSocketConnectHost=" << (a.count("host") ? a["host"] : "127.0.0.1")
      << "\nSocketConnectPort=" << port << "\nHeartBtInt=" << hb
      << "\nReconnectInterval=1\nSocketNodelay=Y\nStartTime=00:00:00\nEndTime=00:00:00\nFileStorePath="
      << a["store"] << "\nUseDataDictionary=Y\nDataDictionary=" << PEER_DICT << "\n"
      << (a.count("reset") ? "ResetOnLogon=Y\n" : "") << "[SESSION]\nBeginString=FIX.4.4\nSenderCompID="
      << a["sender"] << "\nTargetCompID=" << a["target"] << "\n";
  signal(SIGPIPE, SIG_IGN);
  FIX::ThreadedSocketInitiator *ini = nullptr;
  try {
    FIX::SessionSettings settings(cfg);
    static FIX::FileStoreFactory store(settings);
    ini = new FIX::ThreadedSocketInitiator(app, store, settings);
    ini->start();
  } catch (std::exception &e) {
    fprintf(stderr, "fix_initiator: cannot start: %s\n", e.what());
    return 1;
  }
  int rc = 0;
  if (!wait_until(app, timeout, [&] { return app.logged_on || !app.refused.empty(); }) || !app.logged_on) {
    if (!app.refused.empty())
      fprintf(stderr, "fix_initiator: no logon: refused: %s\n", app.refused.c_str());
    else
      fprintf(stderr, "fix_initiator: no logon within %g s (127.0.0.1:%ld)\n", timeout, port);
    rc = 1;
  } else if (bench_n) {
    app.bench_send();
    bool ok = wait_until(app, timeout + (double)bench_n * 0.01,
                         [&] { return app.b.done >= app.b.total + app.b.warmup; });
    if (!ok) {
      fprintf(stderr, "fix_initiator: bench timed out after %ld fills\n", app.b.done);
      rc = 1;
    } else {
      std::vector<double> &r = app.b.rtt;
      std::sort(r.begin(), r.end());
      auto pct = [&](double p) { return r[std::min(r.size() - 1, (size_t)(p * (double)r.size()))]; };
      printf("fix_quickfix_rtt: n=%zu p50=%.1f p99=%.1f p999=%.1f us\n", r.size(), pct(0.50), pct(0.99),
             pct(0.999));
    }
  } else {
    std::string e = run_orders(app, a["orders"], timeout);
    if (!e.empty()) {
      fprintf(stderr, "fix_initiator: %s\n", e.c_str());
      rc = 1;
    }
  }
  // Log out and wait for the answer (bounded), then leave without
  // Initiator::stop(), which sleeps in whole seconds (about 2 s a run).
  FIX::Session *s = FIX::Session::lookupSession(app.sid);
  if (s && s->isLoggedOn()) {
    // Session::logout() would wait for the session's next one-second tick:
    // the Logout goes out at once instead.
    FIX::Message lo;
    lo.getHeader().setField(35, "5");
    FIX::Session::sendToTarget(lo, app.sid);
    wait_until(app, 2, [&] { return !app.logged_on; });
  }
  app.out.close();
  fflush(stdout);
  fflush(stderr);
  _exit(rc);
}
