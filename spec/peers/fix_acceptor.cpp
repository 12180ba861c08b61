// fix_acceptor: a scripted FIX 4.4 counterparty for gantry's specs, on
// Debian's QuickFIX 1.15.1. The contract (command line, script, record) is
// spec/peers/README.md; internals in docs/testing-fix.md.
//
// Things a reader must know:
// - One session. QuickFIX runs it on its own thread (ThreadedSocketAcceptor);
//   the main thread polls the control file and the stop flags. All order
//   state is under g_mu. QuickFIX calls toApp/toAdmin/onLogout while it holds
//   its session mutex, so those never take g_mu (only the record's own leaf
//   lock): g_mu is always taken before the session's, never after.
// - The record is the acceptor's memory: started again with the same
//   --record, it replays it to rebuild order numbers, working orders,
//   positions, prices and the faults already fired, so a restart continues
//   where the last run stopped (QuickFIX's --store does the same for the
//   sequence numbers).
// - QuickFIX 1.15.1 cannot bind an acceptor to one address; the bind() below
//   (it interposes on libc's for libquickfix) puts every IPv4 listener on
//   127.0.0.1 and notes the port the kernel chose for port 0.
#include <quickfix/Application.h>
#include <quickfix/FileStore.h>
#include <quickfix/Log.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/ThreadedSocketAcceptor.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "peer_common.h"

using peer::Obj;

static std::atomic<int> g_bound_port{0};

// libquickfix binds its listener to INADDR_ANY; keep the test peer on loopback.
extern "C" int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
  struct sockaddr_in lo;
  if (addr && addr->sa_family == AF_INET && len >= (socklen_t)sizeof lo) {
    memcpy(&lo, addr, sizeof lo);
    lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    long rc = syscall(SYS_bind, fd, (struct sockaddr *)&lo, (socklen_t)sizeof lo);
    if (rc == 0) {
      struct sockaddr_in got;
      socklen_t gl = sizeof got;
      if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0) g_bound_port = ntohs(got.sin_port);
    }
    return (int)rc;
  }
  return (int)syscall(SYS_bind, fd, addr, len);
}

// ------------------------------------------------------------------ script

enum StepKind { S_AUTO, S_PENDING, S_ACK, S_FILL, S_REST, S_CANCEL, S_EXPIRE, S_DFD, S_REJECT, S_IGNORE };

struct Step {
  explicit Step(StepKind k = S_AUTO) : kind(k) {}
  StepKind kind;
  double qty = 0; // S_FILL: 0 = all that is left
  double px = 0;  // S_FILL: 0 = the default price
  std::string text;
};

struct Fault {
  std::string kind;
  long at = 0;
  long count = 2, begin = 1, end = 0, code = 3;
  bool before = false; // drop: before answering K (the answers wait in the store)
  std::string text;
};

struct Tick {
  std::string symbol;
  double price;
  long after;
};

struct Script {
  std::map<std::string, double> prices;
  std::vector<Step> deflt{Step{S_AUTO}};
  std::map<std::string, std::vector<Step>> by_symbol;
  std::map<long, std::vector<Step>> by_order, on_cancel, on_replace;
  std::vector<Fault> faults;
  std::vector<Tick> ticks_after;
};

struct Order {
  long n = 0, k = 0;
  std::string order_id, clordid, symbol;
  char side = '1', type = '1', tif = '0', status = 'A';
  double qty = 0, price = 0, cum = 0, notional = 0;
  bool working = true;
  double leaves() const { return working ? qty - cum : 0; }
  double avg() const { return cum > 0 ? notional / cum : 0; }
};

struct Position {
  double qty = 0, avg = 0, cash = 0, realized = 0;
};

static std::recursive_mutex g_mu;
static peer::Record g_rec;
static Script g_script;
static std::vector<Order> g_orders;                 // index n-1
static std::map<std::string, long> g_by_clordid;   // every ClOrdID an order had -> n
static std::map<std::string, Position> g_positions;
static std::set<std::string> g_fired;              // "kind@K" of faults fired, "tick@N"
static long g_k = 0, g_exec = 0;
static FIX::SessionID g_sid;
static bool g_have_sid = false;
static std::atomic<int> g_exit_code{-1};
static std::atomic<bool> g_logged_on{false};
static volatile sig_atomic_t g_stop = 0;

static const char *side_name(char s)
{
  switch (s) {
  case '1': return "buy";
  case '2': return "sell";
  case '5': return "short";
  case '6': return "short_exempt";
  default: return "other";
  }
}

static const char *type_name(char t)
{
  switch (t) {
  case '1': return "market";
  case '2': return "limit";
  case '3': return "stop";
  case '4': return "stop_limit";
  default: return "other";
  }
}

static const char *tif_name(char t)
{
  switch (t) {
  case '0': return "day";
  case '1': return "gtc";
  case '3': return "ioc";
  case '4': return "fok";
  case '6': return "gtd";
  default: return "other";
  }
}

static char code_of(const std::string &name, const char *const names[], const char *codes)
{
  for (int i = 0; names[i]; i++)
    if (name == names[i]) return codes[i];
  return '?';
}

// Parses one script or control line into g_script. Returns "" or an error.
static std::string parse_steps(const std::vector<std::string> &t, size_t from, std::vector<Step> &out,
                               bool reply, const std::string &line)
{
  out.clear();
  for (size_t i = from; i < t.size(); i++) {
    const std::string &w = t[i];
    Step s{S_AUTO};
    if (w == "reject") {
      s.kind = S_REJECT;
      // the rest of the line after this token is the text
      size_t at = 0;
      for (size_t j = 0; j <= i; j++) at = line.find(t[j], at) + t[j].size();
      std::string rest = at < line.size() ? line.substr(at) : "";
      size_t b = rest.find_first_not_of(" \t");
      s.text = b == std::string::npos ? "" : rest.substr(b);
      while (!s.text.empty() && (s.text.back() == ' ' || s.text.back() == '\r')) s.text.pop_back();
      out.push_back(s);
      return "";
    }
    if (reply) {
      if (w == "ack") s.kind = S_ACK;
      else if (w == "pending") s.kind = S_PENDING;
      else if (w == "ignore") s.kind = S_IGNORE;
      else return "unknown reply '" + w + "' (ack, pending, reject, ignore)";
      out.push_back(s);
      continue;
    }
    if (w == "auto") s.kind = S_AUTO;
    else if (w == "pending") s.kind = S_PENDING;
    else if (w == "ack") s.kind = S_ACK;
    else if (w == "rest") s.kind = S_REST;
    else if (w == "cancel") s.kind = S_CANCEL;
    else if (w == "expire") s.kind = S_EXPIRE;
    else if (w == "dfd") s.kind = S_DFD;
    else if (w.compare(0, 4, "fill") == 0) {
      s.kind = S_FILL;
      std::string r = w.substr(4);
      size_t atp = r.find('@');
      std::string q = atp == std::string::npos ? r : r.substr(0, atp);
      if (!q.empty()) {
        if (q[0] != '=' || !peer::parse_num(q.substr(1), s.qty) || s.qty <= 0)
          return "bad fill size in '" + w + "' (fill=QTY)";
      }
      if (atp != std::string::npos && (!peer::parse_num(r.substr(atp + 1), s.px) || s.px <= 0))
        return "bad fill price in '" + w + "' (fill@PX)";
    } else
      return "unknown step '" + w + "'";
    out.push_back(s);
  }
  if (out.empty()) return "no steps";
  return "";
}

static std::string kv(const std::string &w, const char *key, std::string &val)
{
  size_t l = strlen(key);
  if (w.compare(0, l, key) == 0 && w.size() > l && w[l] == '=') {
    val = w.substr(l + 1);
    return "ok";
  }
  return "";
}

static void apply_tick(const std::string &sym, double px);

// One line. control = true when it comes from --control (then `stop` and
// a tick act at once).
static std::string parse_line(const std::string &raw, bool control)
{
  std::string line = raw.substr(0, raw.find('#'));
  std::vector<std::string> t = peer::split_ws(line);
  if (t.empty()) return "";
  const std::string &c = t[0];
  long n = 0;
  double px = 0;
  if (c == "price" || c == "tick") {
    if (t.size() < 3 || !peer::parse_num(t[2], px) || px <= 0)
      return c + " needs SYMBOL PRICE (a positive number)";
    long after = 0;
    for (size_t i = 3; i < t.size(); i++) {
      std::string v;
      if (kv(t[i], "after", v).empty() || !peer::parse_int(v, after) || after <= 0)
        return "unknown " + c + " option '" + t[i] + "' (after=N)";
    }
    if (c == "price" && t.size() > 3) return "price takes SYMBOL PRICE only";
    if (c == "price") g_script.prices[t[1]] = px;
    else if (after > 0) g_script.ticks_after.push_back(Tick{t[1], px, after});
    else if (control) apply_tick(t[1], px);
    else g_script.prices[t[1]] = px;
    return "";
  }
  if (c == "default") return parse_steps(t, 1, g_script.deflt, false, line);
  if (c == "symbol") {
    if (t.size() < 3) return "symbol needs SYMBOL STEPS...";
    return parse_steps(t, 2, g_script.by_symbol[t[1]], false, line);
  }
  if (c == "order" || c == "cancel" || c == "replace") {
    if (t.size() < 3 || !peer::parse_int(t[1], n) || n <= 0)
      return c + " needs N (an order number from 1) and " + (c == "order" ? "STEPS" : "a REPLY");
    auto &m = c == "order" ? g_script.by_order : c == "cancel" ? g_script.on_cancel : g_script.on_replace;
    std::vector<Step> st;
    std::string e = parse_steps(t, 2, st, c != "order", line);
    if (e.empty()) m[n] = st;
    return e;
  }
  if (c == "fault") {
    if (t.size() < 3) return "fault needs KIND at=K";
    Fault f;
    f.kind = t[1];
    static const char *kinds[] = {"drop", "gap", "resend", "lowseq", "logout", "exit"};
    bool known = false;
    for (const char *k : kinds) known = known || f.kind == k;
    if (!known) return "unknown fault '" + f.kind + "' (drop gap resend lowseq logout exit)";
    for (size_t i = 2; i < t.size(); i++) {
      std::string v;
      long *dst = nullptr;
      if (!kv(t[i], "at", v).empty()) dst = &f.at;
      else if (!kv(t[i], "count", v).empty()) dst = &f.count;
      else if (!kv(t[i], "begin", v).empty()) dst = &f.begin;
      else if (!kv(t[i], "end", v).empty()) dst = &f.end;
      else if (!kv(t[i], "code", v).empty()) dst = &f.code;
      else if (f.kind == "drop" && t[i] == "before") {
        f.before = true;
        continue;
      } else if (f.kind == "logout") {
        for (size_t j = i; j < t.size(); j++) f.text += (j > i ? " " : "") + t[j];
        break;
      } else
        return "unknown fault option '" + t[i] + "'";
      if (!peer::parse_int(v, *dst) || *dst < 0) return "bad number in '" + t[i] + "'";
    }
    if (f.at <= 0) return "fault needs at=K (K from 1)";
    if (f.kind == "gap" && f.count <= 0) return "fault gap needs count >= 1";
    if (f.kind == "exit" && (f.code <= 0 || f.code > 125)) return "fault exit code must be 1..125";
    g_script.faults.push_back(f);
    return "";
  }
  if (c == "stop" && control) {
    g_stop = 1;
    return "";
  }
  return "unknown directive '" + c + "'";
}

static bool load_script(const std::string &path)
{
  std::ifstream in(path);
  if (!in) {
    fprintf(stderr, "fix_acceptor: %s: cannot read the script: %s\n", path.c_str(), strerror(errno));
    return false;
  }
  std::string line;
  int no = 0;
  while (std::getline(in, line)) {
    no++;
    std::string e = parse_line(line, false);
    if (!e.empty()) {
      fprintf(stderr, "fix_acceptor: %s:%d: %s\n", path.c_str(), no, e.c_str());
      return false;
    }
  }
  return true;
}

// ------------------------------------------------------------------ replay

static double fnum(const std::map<std::string, std::string> &m, const char *k)
{
  auto it = m.find(k);
  return it == m.end() ? 0 : atof(it->second.c_str());
}

// A whole number from a record field; anything out of range (a torn or
// foreign line) reads 0 rather than overflowing the conversion.
static long lnum(const std::map<std::string, std::string> &m, const char *k)
{
  double v = fnum(m, k);
  return v >= -1e15 && v <= 1e15 ? (long)v : 0;
}

static std::string fstr(const std::map<std::string, std::string> &m, const char *k)
{
  auto it = m.find(k);
  return it == m.end() ? "" : it->second;
}

static bool is_terminal(char st) { return st == '2' || st == '4' || st == '8' || st == 'C' || st == '3'; }

// One record line into the state (a line that is not one of ours: false).
static bool replay_line(const std::string &line)
{
  static const char *sides[] = {"buy", "sell", "short", "short_exempt", nullptr};
  static const char *types[] = {"market", "limit", "stop", "stop_limit", nullptr};
  static const char *tifs[] = {"day", "gtc", "ioc", "fok", "gtd", nullptr};
  std::map<std::string, std::string> m;
  if (!peer::parse_flat(line, m)) return false;
  std::string t = fstr(m, "t");
  long k = lnum(m, "k");
  if (k > g_k) g_k = k;
  if (t == "order") {
    Order o;
    o.n = lnum(m, "n");
    o.k = k;
    o.order_id = fstr(m, "order_id");
    o.clordid = fstr(m, "clordid");
    o.symbol = fstr(m, "symbol");
    o.side = code_of(fstr(m, "side"), sides, "1256");
    o.type = code_of(fstr(m, "type"), types, "1234");
    o.tif = code_of(fstr(m, "tif"), tifs, "01346");
    o.qty = fnum(m, "qty");
    o.price = fnum(m, "price");
    if (o.n != (long)g_orders.size() + 1) return true;
    g_by_clordid[o.clordid] = o.n;
    g_orders.push_back(o);
  } else if (t == "exec") {
    long n = lnum(m, "n");
    std::string id = fstr(m, "exec_id");
    if (id.size() > 1 && atol(id.c_str() + 1) > g_exec) g_exec = atol(id.c_str() + 1);
    if (n < 1 || n > (long)g_orders.size()) return true;
    Order &o = g_orders[n - 1];
    std::string st = fstr(m, "ord_status"), et = fstr(m, "exec_type");
    if (et == "I") return true;
    o.status = st.empty() ? o.status : st[0];
    o.cum = fnum(m, "cum_qty");
    o.notional = o.cum * fnum(m, "avg_px");
    o.qty = fnum(m, "qty");
    o.price = fnum(m, "price");
    // a pending cancel/replace report carries the request's ClOrdID; the
    // order keeps its own until the request is acknowledged
    if (et != "6" && et != "E") o.clordid = fstr(m, "clordid");
    g_by_clordid[fstr(m, "clordid")] = n;
    o.working = !is_terminal(o.status);
  } else if (t == "cancel_request" || t == "replace_request") {
    long n = lnum(m, "n");
    if (n >= 1 && n <= (long)g_orders.size()) g_by_clordid[fstr(m, "clordid")] = n;
  } else if (t == "position") {
    Position &p = g_positions[fstr(m, "symbol")];
    p.qty = fnum(m, "qty");
    p.avg = fnum(m, "avg_px");
    p.cash = fnum(m, "cash");
    p.realized = fnum(m, "realized");
  } else if (t == "tick") {
    g_script.prices[fstr(m, "symbol")] = fnum(m, "price");
    if (m.count("after")) g_fired.insert("tick@" + fstr(m, "after") + "@" + fstr(m, "symbol"));
  } else if (t == "fault") {
    g_fired.insert(fstr(m, "kind") + "@" + fstr(m, "at"));
  }
  return true;
}

// Rebuilds the state of an earlier run from its record.
static void replay(const std::string &path, bool &restarted)
{
  std::ifstream in(path);
  restarted = false;
  std::string line;
  int no = 0;
  while (in && std::getline(in, line)) {
    no++;
    if (line.empty()) continue;
    if (!replay_line(line))
      fprintf(stderr, "fix_acceptor: %s:%d: not a record line (left as it is)\n", path.c_str(), no);
    else
      restarted = true;
  }
}

// ------------------------------------------------------------------ sending

static FIX::Session *session()
{
  return g_have_sid ? FIX::Session::lookupSession(g_sid) : nullptr;
}

static void send(FIX::Message &m)
{
  if (!g_have_sid) return;
  try {
    FIX::Session::sendToTarget(m, g_sid);
  } catch (std::exception &e) {
    fprintf(stderr, "fix_acceptor: send failed: %s\n", e.what());
  }
}

static std::string next_exec_id() { return "E" + std::to_string(++g_exec); }

static void record_position(const std::string &sym)
{
  const Position &p = g_positions[sym];
  g_rec.put(Obj("position").str("symbol", sym).n("qty", p.qty).n("avg_px", p.avg).n("cash", p.cash)
              .n("realized", p.realized));
}

// The initiator's position after one of its fills.
static void book_fill(const Order &o, double q, double px)
{
  Position &p = g_positions[o.symbol];
  double sq = o.side == '1' ? q : -q;
  p.cash -= sq * px;
  if (p.qty == 0 || (p.qty > 0) == (sq > 0)) {
    double aq = fabs(p.qty) + q;
    p.avg = (fabs(p.qty) * p.avg + q * px) / aq;
    p.qty += sq;
  } else {
    double closing = std::min(q, fabs(p.qty));
    p.realized += closing * (px - p.avg) * (p.qty > 0 ? 1 : -1);
    p.qty += sq;
    if (fabs(p.qty) < 1e-12) {
      p.qty = 0;
      p.avg = 0;
    } else if ((p.qty > 0) == (sq > 0)) {
      p.avg = px; // crossed through flat: the rest opened at px
    }
  }
}

// Sends (and records) one ExecutionReport for o as it now stands.
// FIX has no empty fields: an empty value is left out.
static void setf(FIX::FieldMap &m, int tag, const std::string &v)
{
  if (!v.empty()) m.setField(tag, v);
}

static void exec_report(Order &o, char exec_type, double last_qty, double last_px, const std::string &text,
                        const std::string &orig = "", const std::string &extra_id = "",
                        int tot = -1, bool last_rpt = false)
{
  std::string eid = next_exec_id();
  FIX::Message m;
  m.getHeader().setField(35, "8");
  m.setField(37, o.order_id);
  m.setField(17, eid);
  m.setField(150, std::string(1, exec_type));
  m.setField(39, std::string(1, o.status));
  setf(m, 11, o.clordid);
  if (!orig.empty()) m.setField(41, orig);
  setf(m, 55, o.symbol);
  m.setField(54, std::string(1, o.side));
  m.setField(38, peer::num(o.qty));
  m.setField(40, std::string(1, o.type));
  if (o.type == '2') m.setField(44, peer::num(o.price));
  m.setField(59, std::string(1, o.tif));
  m.setField(151, peer::num(o.leaves()));
  m.setField(14, peer::num(o.cum));
  m.setField(6, peer::num(o.avg()));
  if (exec_type == 'F') {
    m.setField(32, peer::num(last_qty));
    m.setField(31, peer::num(last_px));
  }
  if (exec_type == '8') m.setField(103, "99");
  if (!text.empty()) setf(m, 58, text);
  if (exec_type == 'I' && tot >= 0) {
    setf(m, 584, extra_id);
    m.setField(911, std::to_string(tot));
    if (last_rpt) m.setField(912, "Y");
  } else if (exec_type == 'I' && !extra_id.empty()) {
    m.setField(790, extra_id);
  }
  m.setField(60, FIX::UtcTimeStampConvertor::convert(FIX::UtcTimeStamp(), 3));
  g_rec.put(Obj("exec").i("n", o.n).str("order_id", o.order_id).str("exec_id", eid).str("clordid", o.clordid)
              .str("orig_clordid", orig).str("exec_type", std::string(1, exec_type))
              .str("ord_status", std::string(1, o.status)).str("symbol", o.symbol).str("side", side_name(o.side))
              .n("qty", o.qty).n("price", o.price).n("last_qty", exec_type == 'F' ? last_qty : 0)
              .n("last_px", exec_type == 'F' ? last_px : 0).n("cum_qty", o.cum).n("leaves_qty", o.leaves())
              .n("avg_px", o.avg()).str("text", text));
  send(m);
}

static void fill(Order &o, double q, double px)
{
  if (q > o.leaves()) q = o.leaves();
  if (q <= 0) return;
  o.cum += q;
  o.notional += q * px;
  bool done = o.qty - o.cum <= 1e-12;
  o.status = done ? '2' : '1';
  if (done) o.working = false;
  book_fill(o, q, px);
  exec_report(o, 'F', q, px, "");
  record_position(o.symbol);
}

static bool have_price(const std::string &sym, double &px)
{
  auto it = g_script.prices.find(sym);
  if (it == g_script.prices.end()) return false;
  px = it->second;
  return true;
}

static bool marketable(const Order &o, double &px)
{
  if (!have_price(o.symbol, px)) return false;
  if (o.type == '1') return true;
  return o.side == '1' ? o.price >= px : o.price <= px;
}

static char worked_status(const Order &o) { return o.cum > 0 ? '1' : '0'; }

static void reject(Order &o, const std::string &text)
{
  o.status = '8';
  o.working = false;
  exec_report(o, '8', 0, 0, text.empty() ? "rejected by script" : text);
}

static void run_steps(Order &o, const std::vector<Step> &steps)
{
  for (const Step &s : steps) {
    if (!o.working && s.kind != S_REST) return;
    double px = 0;
    switch (s.kind) {
    case S_AUTO:
      if (o.type == '1' && !have_price(o.symbol, px)) {
        reject(o, "no price for " + o.symbol);
        return;
      }
      o.status = '0';
      exec_report(o, '0', 0, 0, "");
      if (marketable(o, px)) fill(o, o.leaves(), px);
      break;
    case S_PENDING:
      o.status = 'A';
      exec_report(o, 'A', 0, 0, "");
      break;
    case S_ACK:
      o.status = worked_status(o);
      exec_report(o, '0', 0, 0, "");
      break;
    case S_FILL:
      px = s.px;
      if (px <= 0) {
        if (o.type == '2') px = o.price;
        else if (!have_price(o.symbol, px)) {
          reject(o, "no price for " + o.symbol);
          return;
        }
      }
      fill(o, s.qty > 0 ? s.qty : o.leaves(), px);
      break;
    case S_REST:
    case S_IGNORE:
      break;
    case S_CANCEL:
      o.status = '4';
      o.working = false;
      exec_report(o, '4', 0, 0, "");
      break;
    case S_EXPIRE:
      o.status = 'C';
      o.working = false;
      exec_report(o, 'C', 0, 0, "");
      break;
    case S_DFD:
      o.status = '3';
      o.working = false;
      exec_report(o, '3', 0, 0, "");
      break;
    case S_REJECT:
      reject(o, s.text);
      return;
    }
  }
}

// Resting limit orders in sym that px crosses fill at their own limit, oldest first.
static void apply_tick(const std::string &sym, double px)
{
  g_script.prices[sym] = px;
  g_rec.put(Obj("tick").str("symbol", sym).n("price", px));
  for (Order &o : g_orders) {
    if (o.symbol != sym || !o.working || o.type != '2') continue;
    if (o.status == 'A' || o.status == 'E' || o.status == '6') continue;
    if (o.side == '1' ? o.price >= px : o.price <= px) fill(o, o.leaves(), o.price);
  }
}

// ------------------------------------------------------------------ faults

static void fire(Fault &f, bool before_answer)
{
  std::string key = f.kind + "@" + std::to_string(f.at);
  if (g_fired.count(key)) return;
  if ((f.kind == "gap" || f.before) != before_answer) return;
  g_fired.insert(key);
  g_rec.put(Obj("fault").str("kind", f.kind).i("at", f.at));
  FIX::Session *s = session();
  if (!s) return;
  if (f.kind == "gap") {
    s->setNextSenderMsgSeqNum(s->getExpectedSenderNum() + (int)f.count);
  } else if (f.kind == "drop") {
    s->disconnect();
  } else if (f.kind == "resend") {
    FIX::Message m;
    m.getHeader().setField(35, "2");
    m.setField(7, std::to_string(f.begin));
    m.setField(16, std::to_string(f.end));
    send(m);
  } else if (f.kind == "lowseq") {
    // Send at next-2, then put back the stored message that number had and
    // the counter, so a later resend is unaffected.
    int next = s->getExpectedSenderNum();
    int low = next - 2 >= 1 ? next - 2 : 1;
    std::vector<std::string> kept;
    s->getStore()->get(low, low, kept);
    s->setNextSenderMsgSeqNum(low);
    FIX::Message m;
    m.getHeader().setField(35, "0");
    send(m);
    if (!kept.empty()) const_cast<FIX::MessageStore *>(s->getStore())->set(low, kept[0]);
    s->setNextSenderMsgSeqNum(next);
  } else if (f.kind == "logout") {
    s->logout(f.text);
  } else if (f.kind == "exit") {
    g_exit_code = (int)f.code; // the main thread exits once QuickFIX has counted the message
  }
}

static void faults_at(long k, bool before_answer)
{
  for (Fault &f : g_script.faults)
    if (f.at == k) fire(f, before_answer);
}

static void ticks_after(long n)
{
  for (const Tick &t : g_script.ticks_after) {
    std::string key = "tick@" + std::to_string(t.after) + "@" + t.symbol;
    if (t.after != n || g_fired.count(key)) continue;
    g_fired.insert(key);
    g_script.prices[t.symbol] = t.price;
    g_rec.put(Obj("tick").str("symbol", t.symbol).n("price", t.price).i("after", t.after));
    for (Order &o : g_orders) {
      if (o.symbol != t.symbol || !o.working || o.type != '2') continue;
      if (o.status == 'A' || o.status == 'E' || o.status == '6') continue;
      if (o.side == '1' ? o.price >= t.price : o.price <= t.price) fill(o, o.leaves(), o.price);
    }
  }
}

// ------------------------------------------------------------------ messages

static std::string field(const FIX::FieldMap &m, int tag)
{
  return m.isSetField(tag) ? m.getField(tag) : std::string();
}

static double dfield(const FIX::FieldMap &m, int tag)
{
  double v = 0;
  return m.isSetField(tag) && peer::parse_num(m.getField(tag), v) ? v : 0;
}

static void cancel_reject(const std::string &clordid, const std::string &orig, const Order *o, bool replace,
                          int reason, const std::string &text)
{
  FIX::Message m;
  m.getHeader().setField(35, "9");
  m.setField(37, o ? o->order_id : "NONE");
  setf(m, 11, clordid);
  setf(m, 41, orig);
  m.setField(39, std::string(1, o ? o->status : '8'));
  m.setField(434, replace ? "2" : "1");
  m.setField(102, std::to_string(reason));
  if (!text.empty()) setf(m, 58, text);
  g_rec.put(Obj("cancel_reject").i("n", o ? o->n : 0).str("clordid", clordid).str("orig_clordid", orig)
              .str("response_to", replace ? "replace" : "cancel").i("reason", reason).str("text", text));
  send(m);
}

static long find_order(const std::string &clordid)
{
  auto it = g_by_clordid.find(clordid);
  return it == g_by_clordid.end() ? 0 : it->second;
}

static void on_new_order(const FIX::Message &msg, long k)
{
  Order o;
  o.k = k;
  o.clordid = field(msg, 11);
  o.symbol = field(msg, 55);
  std::string s = field(msg, 54), ty = field(msg, 40), tf = field(msg, 59);
  o.side = s.empty() ? '?' : s[0];
  o.type = ty.empty() ? '?' : ty[0];
  o.tif = tf.empty() ? '0' : tf[0];
  o.qty = dfield(msg, 38);
  o.price = dfield(msg, 44);
  bool possdup = field(msg.getHeader(), 43) == "Y";
  if (possdup && g_by_clordid.count(o.clordid)) return; // seen already: a resend
  o.n = (long)g_orders.size() + 1;
  o.order_id = "O" + std::to_string(o.n);
  g_orders.push_back(o);
  Order &r = g_orders.back();
  g_rec.put(Obj("order").i("k", k).i("n", r.n).str("order_id", r.order_id).str("clordid", r.clordid)
              .str("symbol", r.symbol).str("side", side_name(r.side)).n("qty", r.qty).str("type", type_name(r.type))
              .n("price", r.price).str("tif", tif_name(r.tif)).str("account", field(msg, 1))
              .i("seq", atol(field(msg.getHeader(), 34).c_str())).b("poss_dup", possdup));
  bool dup = g_by_clordid.count(r.clordid) > 0;
  g_by_clordid.emplace(r.clordid, r.n);
  faults_at(k, true);
  if (dup) reject(r, "duplicate ClOrdID");
  else if (r.type != '1' && r.type != '2') reject(r, "unsupported order type");
  else if (r.side != '1' && r.side != '2' && r.side != '5' && r.side != '6') reject(r, "unsupported side");
  else if (!(r.qty > 0)) reject(r, "quantity must be positive");
  else if (r.type == '2' && !(r.price > 0)) reject(r, "limit price must be positive");
  else {
    auto bo = g_script.by_order.find(r.n);
    auto bs = g_script.by_symbol.find(r.symbol);
    const std::vector<Step> &steps = bo != g_script.by_order.end() ? bo->second
                                     : bs != g_script.by_symbol.end() ? bs->second
                                                                      : g_script.deflt;
    run_steps(r, steps);
    if (r.working && (r.tif == '3' || r.tif == '4') && r.status != 'A') {
      r.status = '4';
      r.working = false;
      exec_report(r, '4', 0, 0, r.tif == '3' ? "IOC remainder cancelled" : "FOK not filled");
    }
  }
  ticks_after(r.n);
  faults_at(k, false);
}

static void on_cancel(const FIX::Message &msg, long k, bool replace)
{
  std::string clordid = field(msg, 11), orig = field(msg, 41);
  long n = find_order(orig);
  if (!n && msg.isSetField(37)) {
    std::string oid = field(msg, 37);
    if (oid.size() > 1 && oid[0] == 'O') n = atol(oid.c_str() + 1);
    if (n > (long)g_orders.size()) n = 0;
  }
  Obj req(replace ? "replace_request" : "cancel_request");
  req.i("k", k).i("n", n).str("clordid", clordid).str("orig_clordid", orig);
  if (replace) req.n("qty", dfield(msg, 38)).n("price", dfield(msg, 44));
  g_rec.put(req);
  if (n) g_by_clordid[clordid] = n;
  faults_at(k, true);
  Order *o = n ? &g_orders[n - 1] : nullptr;
  if (!o) {
    cancel_reject(clordid, orig, nullptr, replace, 1, "unknown order");
  } else if (!o->working) {
    cancel_reject(clordid, orig, o, replace, 0, "too late: order is no longer working");
  } else if (replace && dfield(msg, 38) > 0 && dfield(msg, 38) < o->cum) {
    cancel_reject(clordid, orig, o, replace, 99, "quantity below what is filled");
  } else {
    auto &rules = replace ? g_script.on_replace : g_script.on_cancel;
    auto it = rules.find(n);
    std::vector<Step> steps = it != rules.end() ? it->second : std::vector<Step>{Step{S_ACK}};
    for (const Step &s : steps) {
      if (s.kind == S_IGNORE) break;
      if (s.kind == S_REJECT) {
        cancel_reject(clordid, orig, o, replace, 0, s.text.empty() ? "rejected by script" : s.text);
        break;
      }
      if (s.kind == S_PENDING) {
        // 11 is the request's ClOrdID, 41 the order's (FIX 4.4); the order
        // keeps its ClOrdID until the request is acknowledged.
        std::string cur = o->clordid;
        o->status = replace ? 'E' : '6';
        o->clordid = clordid;
        exec_report(*o, replace ? 'E' : '6', 0, 0, "", orig);
        o->clordid = cur;
        continue;
      }
      // ack
      o->clordid = clordid;
      if (!replace) {
        o->status = '4';
        o->working = false;
        exec_report(*o, '4', 0, 0, "", orig);
      } else {
        if (dfield(msg, 38) > 0) o->qty = dfield(msg, 38);
        if (msg.isSetField(44)) o->price = dfield(msg, 44);
        o->status = o->qty - o->cum <= 1e-12 ? '2' : worked_status(*o);
        if (o->status == '2') o->working = false;
        exec_report(*o, '5', 0, 0, "", orig);
        double px = 0;
        if (o->working && marketable(*o, px)) fill(*o, o->leaves(), px);
      }
      break;
    }
  }
  faults_at(k, false);
}

static void status_report(Order &o, const std::string &req_id)
{
  exec_report(o, 'I', 0, 0, "", "", req_id);
}

static void on_status(const FIX::Message &msg, long k)
{
  std::string clordid = field(msg, 11);
  long n = find_order(clordid);
  std::string oid = field(msg, 37);
  if (!n && oid.size() > 1 && oid[0] == 'O') {
    n = atol(oid.c_str() + 1);
    if (n > (long)g_orders.size()) n = 0;
  }
  g_rec.put(Obj("status_request").i("k", k).i("n", n).str("clordid", clordid));
  faults_at(k, true);
  std::string req_id = field(msg, 790);
  if (n) {
    status_report(g_orders[n - 1], req_id);
  } else {
    Order u;
    u.order_id = "NONE";
    u.clordid = clordid;
    u.symbol = field(msg, 55);
    std::string s = field(msg, 54);
    u.side = s.empty() ? '1' : s[0];
    u.status = '8';
    u.working = false;
    exec_report(u, 'I', 0, 0, "unknown order", "", req_id);
  }
  faults_at(k, false);
}

static void on_mass_status(const FIX::Message &msg, long k)
{
  std::string id = field(msg, 584);
  g_rec.put(Obj("mass_status_request").i("k", k).str("id", id));
  faults_at(k, true);
  std::vector<Order *> w;
  for (Order &o : g_orders)
    if (o.working) w.push_back(&o);
  if (w.empty()) {
    Order u;
    u.order_id = "NONE";
    u.status = '8';
    u.working = false;
    exec_report(u, 'I', 0, 0, "no working orders", "", id, 0, true);
  }
  for (size_t i = 0; i < w.size(); i++)
    exec_report(*w[i], 'I', 0, 0, "", "", id, (int)w.size(), i + 1 == w.size());
  faults_at(k, false);
}

// ------------------------------------------------------------------ QuickFIX

// Incoming messages marked PossDupFlag=Y never reach fromApp/fromAdmin when
// QuickFIX has already seen their numbers, so the log is where a resend is seen.
class RecordLog : public FIX::Log {
public:
  explicit RecordLog(FILE *f) : f_(f) {}
  void clear() override {}
  void backup() override {}
  void onIncoming(const std::string &s) override
  {
    write("in ", s);
    if (s.find("\00143=Y\001") == std::string::npos) return;
    Obj o("poss_dup");
    o.str("type", tag(s, "35")).i("seq", atol(tag(s, "34").c_str()));
    std::string ns = tag(s, "36");
    if (!ns.empty()) o.i("new_seq", atol(ns.c_str())).b("gap_fill", tag(s, "123") == "Y");
    std::string cl = tag(s, "11");
    if (!cl.empty()) o.str("clordid", cl);
    g_rec.put(o);
  }
  void onOutgoing(const std::string &s) override { write("out", s); }
  void onEvent(const std::string &s) override { write("ev ", s); }

private:
  static std::string tag(const std::string &s, const char *t)
  {
    std::string k = std::string("\001") + t + "=";
    size_t p = s.find(k);
    if (p == std::string::npos) return "";
    p += k.size();
    size_t e = s.find('\001', p);
    return s.substr(p, e == std::string::npos ? std::string::npos : e - p);
  }
  void write(const char *dir, std::string s)
  {
    if (!f_) return;
    std::lock_guard<std::mutex> g(mu_);
    for (char &c : s)
      if (c == '\001') c = '|';
    fprintf(f_, "%s %s\n", dir, s.c_str());
    fflush(f_);
  }
  FILE *f_;
  std::mutex mu_;
};

class RecordLogFactory : public FIX::LogFactory {
public:
  explicit RecordLogFactory(const std::string &dir)
  {
    if (!dir.empty()) f_ = fopen((dir + "/messages.log").c_str(), "a");
  }
  ~RecordLogFactory() override
  {
    if (f_) fclose(f_);
  }
  bool ok(const std::string &dir) const { return dir.empty() || f_; }
  FIX::Log *create() override { return new RecordLog(f_); }
  FIX::Log *create(const FIX::SessionID &) override { return new RecordLog(f_); }
  void destroy(FIX::Log *l) override { delete l; }

private:
  FILE *f_ = nullptr;
};

struct LogonInfo {
  int heartbtint = 0;
  bool reset = false;
  std::string username;
};

class Acceptor : public FIX::Application {
public:
  std::string user, password; // empty: no check
  LogonInfo pending;

  void onCreate(const FIX::SessionID &sid) override
  {
    std::lock_guard<std::recursive_mutex> g(g_mu);
    g_sid = sid;
    g_have_sid = true;
  }
  void onLogon(const FIX::SessionID &sid) override
  {
    FIX::Session *s = FIX::Session::lookupSession(sid);
    g_logged_on = true;
    g_rec.put(Obj("logon").str("sender", sid.getTargetCompID().getValue())
                .str("target", sid.getSenderCompID().getValue()).i("heartbtint", pending.heartbtint)
                .b("reset", pending.reset).str("username", pending.username)
                .i("in_seq", s ? s->getExpectedTargetNum() : 0).i("out_seq", s ? s->getExpectedSenderNum() : 0));
  }
  void onLogout(const FIX::SessionID &) override
  {
    g_logged_on = false;
    g_rec.put(Obj("logout"));
  }
  void toAdmin(FIX::Message &, const FIX::SessionID &) override {}
  void toApp(FIX::Message &, const FIX::SessionID &) throw(FIX::DoNotSend) override {}

  void fromAdmin(const FIX::Message &m, const FIX::SessionID &) throw(
      FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::RejectLogon) override
  {
    std::string type = field(m.getHeader(), 35);
    Obj o("admin");
    o.str("type", type).i("seq", atol(field(m.getHeader(), 34).c_str()))
        .b("poss_dup", field(m.getHeader(), 43) == "Y");
    if (type == "0" || type == "1") o.str("test_req_id", field(m, 112));
    else if (type == "2") o.i("begin", atol(field(m, 7).c_str())).i("end", atol(field(m, 16).c_str()));
    else if (type == "3")
      o.i("ref_seq", atol(field(m, 45).c_str())).i("reason", atol(field(m, 373).c_str())).str("text", field(m, 58));
    else if (type == "4") o.i("new_seq", atol(field(m, 36).c_str())).b("gap_fill", field(m, 123) == "Y");
    else if (type == "5") o.str("text", field(m, 58));
    else if (type == "A") {
      pending.heartbtint = atoi(field(m, 108).c_str());
      pending.reset = field(m, 141) == "Y";
      pending.username = field(m, 553);
      o.i("heartbtint", pending.heartbtint).b("reset", pending.reset);
    }
    g_rec.put(o);
    if (type == "A" && !user.empty() && (field(m, 553) != user || field(m, 554) != password)) {
      g_rec.put(Obj("logon_refused").str("reason", "bad credentials").str("username", field(m, 553)));
      throw FIX::RejectLogon("bad credentials");
    }
  }

  void fromApp(const FIX::Message &m, const FIX::SessionID &) throw(
      FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::UnsupportedMessageType) override
  {
    std::string type = field(m.getHeader(), 35);
    std::lock_guard<std::recursive_mutex> g(g_mu);
    if (type == "D") on_new_order(m, ++g_k);
    else if (type == "F") on_cancel(m, ++g_k, false);
    else if (type == "G") on_cancel(m, ++g_k, true);
    else if (type == "H") on_status(m, ++g_k);
    else if (type == "AF") on_mass_status(m, ++g_k);
    else throw FIX::UnsupportedMessageType();
  }
};

// ------------------------------------------------------------------ main

#ifndef PEER_FUZZ
static void usage(const char *why)
{
  fprintf(stderr,
          "fix_acceptor: %s\n"
          "usage: fix_acceptor --script FILE --store DIR --record FILE --sender ID --target ID\n"
          "                    [--port N] [--control FILE] [--password-file FILE] [--log DIR] [--dict FILE|none]\n"
          "(spec/peers/README.md)\n",
          why);
  exit(2);
}

static void on_signal(int) { g_stop = 1; }

// Runs the lines appended to the control file since the last look.
static void poll_control(const std::string &path, long &offset, std::string &partial, int &line_no)
{
  FILE *f = fopen(path.c_str(), "r");
  if (!f) return;
  if (fseek(f, offset, SEEK_SET) == 0) {
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
      offset += (long)got;
      partial.append(buf, got);
    }
  }
  fclose(f);
  size_t nl;
  while ((nl = partial.find('\n')) != std::string::npos) {
    std::string line = partial.substr(0, nl);
    partial.erase(0, nl + 1);
    line_no++;
    std::lock_guard<std::recursive_mutex> g(g_mu);
    std::string e = parse_line(line, true);
    if (!e.empty()) {
      fprintf(stderr, "fix_acceptor: %s:%d: %s\n", path.c_str(), line_no, e.c_str());
      g_rec.put(Obj("control_error").i("line", line_no).str("message", e));
    }
  }
}

// --free-port: a port free on 127.0.0.1 now (for a TLS terminator a spec
// puts in front; the caller retries if it is taken before it binds).
static int free_port()
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in lo;
  memset(&lo, 0, sizeof lo);
  lo.sin_family = AF_INET;
  lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t l = sizeof lo;
  if (fd < 0 || bind(fd, (struct sockaddr *)&lo, sizeof lo) != 0 || getsockname(fd, (struct sockaddr *)&lo, &l) != 0) {
    perror("fix_acceptor: --free-port");
    return 1;
  }
  printf("%d\n", ntohs(lo.sin_port));
  close(fd);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc == 2 && strcmp(argv[1], "--free-port") == 0) return free_port();
  std::map<std::string, std::string> a;
  static const char *opts[] = {"--script", "--store", "--record", "--sender", "--target", "--port",
                               "--control", "--password-file", "--log", "--dict", nullptr};
  for (int i = 1; i < argc; i++) {
    bool known = false;
    for (int j = 0; opts[j]; j++) known = known || strcmp(argv[i], opts[j]) == 0;
    if (!known) usage((std::string("unknown argument '") + argv[i] + "'").c_str());
    if (i + 1 >= argc) usage((std::string(argv[i]) + " needs a value").c_str());
    a[argv[i] + 2] = argv[i + 1];
    i++;
  }
  for (const char *req : {"script", "store", "record", "sender", "target"})
    if (!a.count(req)) usage((std::string("--") + req + " is required").c_str());
  long port = 0;
  if (a.count("port") && (!peer::parse_int(a["port"], port) || port < 0 || port > 65535))
    usage("--port must be 0..65535");
  Acceptor app;
  if (a.count("password-file")) {
    std::string line;
    if (!peer::read_first_line(a["password-file"], line)) {
      fprintf(stderr, "fix_acceptor: %s: cannot read the password file\n", a["password-file"].c_str());
      return 2;
    }
    std::vector<std::string> t = peer::split_ws(line);
    if (t.size() != 2) {
      fprintf(stderr, "fix_acceptor: %s:1: expected 'USERNAME PASSWORD'\n", a["password-file"].c_str());
      return 2;
    }
    app.user = t[0];
    app.password = t[1];
  }
  if (!load_script(a["script"])) return 2;
  bool restarted = false;
  replay(a["record"], restarted);
  if (!g_rec.open(a["record"])) {
    fprintf(stderr, "fix_acceptor: %s: cannot write the record: %s\n", a["record"].c_str(), strerror(errno));
    return 2;
  }
  std::string dict = a.count("dict") ? a["dict"] : std::string(PEER_DICT);
  if (dict != "none" && access(dict.c_str(), R_OK) != 0) {
    fprintf(stderr, "fix_acceptor: %s: cannot read the data dictionary\n", dict.c_str());
    return 2;
  }

  std::stringstream cfg;
  cfg << "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort=" << port
      << "\nSocketReuseAddress=Y\nSocketNodelay=Y\nStartTime=00:00:00\nEndTime=00:00:00\n"
      << "FileStorePath=" << a["store"] << "\n"
      << (dict == "none" ? "UseDataDictionary=N\n" : "UseDataDictionary=Y\nDataDictionary=" + dict + "\n")
      << "[SESSION]\nBeginString=FIX.4.4\nSenderCompID=" << a["sender"] << "\nTargetCompID=" << a["target"]
      << "\n";
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string logdir = a.count("log") ? a["log"] : "";
  RecordLogFactory logs(logdir);
  if (!logs.ok(logdir)) {
    fprintf(stderr, "fix_acceptor: %s: cannot write messages.log there\n", logdir.c_str());
    return 2;
  }
  FIX::ThreadedSocketAcceptor *acc = nullptr;
  try {
    FIX::SessionSettings settings(cfg);
    static FIX::FileStoreFactory store(settings);
    acc = new FIX::ThreadedSocketAcceptor(app, store, settings, logs);
    acc->start();
  } catch (std::exception &e) {
    fprintf(stderr, "fix_acceptor: cannot start on 127.0.0.1:%ld: %s\n", port, e.what());
    return 1;
  }
  int bound = g_bound_port.load();
  g_rec.put(Obj("start").i("port", bound).i("pid", getpid()).b("restarted", restarted));
  printf("port %d\nready\n", bound);
  fflush(stdout);

  long off = 0;
  std::string partial;
  int line_no = 0;
  while (!g_stop && g_exit_code < 0) {
    if (a.count("control")) poll_control(a["control"], off, partial, line_no);
    usleep(5000);
  }
  if (g_exit_code >= 0) {
    // A crash as the spec scripted it: no Logout. QuickFIX counts the
    // message that fired it just after fromApp returns; let it.
    usleep(100000);
    g_rec.put(Obj("stop").i("code", g_exit_code));
    g_rec.close();
    _exit(g_exit_code);
  }
  // A clean stop: Logout now and wait (2 s at most) for the answer, then
  // leave. Acceptor::stop() would wait in whole seconds, up to ten.
  if (g_logged_on) {
    FIX::Message lo;
    lo.getHeader().setField(35, "5");
    send(lo);
    for (int i = 0; i < 400 && g_logged_on; i++) usleep(5000);
  }
  {
    std::lock_guard<std::recursive_mutex> g(g_mu);
    for (const auto &kv : g_positions)
      g_rec.put(Obj("final").str("symbol", kv.first).n("qty", kv.second.qty).n("avg_px", kv.second.avg)
                  .n("cash", kv.second.cash).n("realized", kv.second.realized));
  }
  g_rec.put(Obj("stop").i("code", 0));
  g_rec.close();
  fflush(stdout);
  _exit(0);
}
#endif // PEER_FUZZ
