// peer_common.h: what the QuickFIX test peers (fix_acceptor, fix_initiator)
// share: a JSON-lines writer that flushes every line, a flat JSON object
// reader for the record (the acceptor rebuilds its state from it on restart),
// number formatting, and command-line helpers.
//
// Test tooling in C++ (QuickFIX is C++); not part of gantry. Header-only:
// each peer is one translation unit.
#ifndef GANTRY_PEER_COMMON_H
#define GANTRY_PEER_COMMON_H

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace peer {

// A number as the record prints it: up to 12 significant digits, no
// exponent for ordinary prices and sizes, "0" for -0.
inline std::string num(double v)
{
  if (v == 0) return "0";
  char b[64];
  snprintf(b, sizeof b, "%.12g", v);
  return b;
}

inline std::string jstr(const std::string &s)
{
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
    case '"': o += "\\\""; break;
    case '\\': o += "\\\\"; break;
    case '\n': o += "\\n"; break;
    case '\t': o += "\\t"; break;
    default:
      if (c < 0x20) {
        char b[8];
        snprintf(b, sizeof b, "\\u%04x", c);
        o += b;
      } else {
        o += (char)c;
      }
    }
  }
  return o + "\"";
}

// One JSON object under construction: fields in the order they are added.
class Obj {
public:
  explicit Obj(const std::string &type) { s_ = "{\"t\":" + jstr(type); }
  Obj &str(const char *k, const std::string &v) { return raw(k, jstr(v)); }
  Obj &n(const char *k, double v) { return raw(k, num(v)); }
  Obj &i(const char *k, long long v) { return raw(k, std::to_string(v)); }
  Obj &b(const char *k, bool v) { return raw(k, v ? "true" : "false"); }
  Obj &raw(const char *k, const std::string &v)
  {
    s_ += ",\"";
    s_ += k;
    s_ += "\":";
    s_ += v;
    return *this;
  }
  std::string text() const { return s_ + "}"; }

private:
  std::string s_;
};

// Appends lines to a file, each flushed at once (a spec reads it while the
// peer runs; a peer killed with SIGKILL loses nothing it wrote). Thread-safe.
class Record {
public:
  // Appends; a last line left without its newline (a peer killed while
  // writing it) is ended first, so the next line starts on its own.
  bool open(const std::string &path)
  {
    f_ = fopen(path.c_str(), "a+");
    if (!f_) return false;
    if (fseek(f_, -1, SEEK_END) == 0 && fgetc(f_) != '\n') {
      fseek(f_, 0, SEEK_END);
      fputc('\n', f_);
      fflush(f_);
    }
    return true;
  }
  void put(const Obj &o)
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!f_) return;
    std::string t = o.text();
    fputs(t.c_str(), f_);
    fputc('\n', f_);
    fflush(f_);
  }
  void close()
  {
    std::lock_guard<std::mutex> g(mu_);
    if (f_) fclose(f_);
    f_ = nullptr;
  }

private:
  FILE *f_ = nullptr;
  std::mutex mu_;
};

// A flat JSON object (our own record lines): key -> value text, strings
// unescaped, numbers and booleans as written. Returns false on anything else.
inline bool parse_flat(const std::string &s, std::map<std::string, std::string> &out)
{
  size_t i = 0, n = s.size();
  auto ws = [&] { while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) i++; };
  auto str = [&](std::string &v) -> bool {
    if (i >= n || s[i] != '"') return false;
    i++;
    while (i < n && s[i] != '"') {
      if (s[i] == '\\') {
        if (++i >= n) return false;
        char c = s[i];
        if (c == 'n') v += '\n';
        else if (c == 't') v += '\t';
        else if (c == 'u') {
          if (i + 4 >= n) return false;
          v += (char)strtol(s.substr(i + 1, 4).c_str(), nullptr, 16);
          i += 4;
        } else v += c;
        i++;
      } else {
        v += s[i++];
      }
    }
    if (i >= n) return false;
    i++;
    return true;
  };
  ws();
  if (i >= n || s[i++] != '{') return false;
  for (;;) {
    ws();
    if (i < n && s[i] == '}') return true;
    std::string k, v;
    if (!str(k)) return false;
    ws();
    if (i >= n || s[i++] != ':') return false;
    ws();
    if (i < n && s[i] == '"') {
      if (!str(v)) return false;
    } else {
      while (i < n && s[i] != ',' && s[i] != '}') v += s[i++];
      while (!v.empty() && v.back() == ' ') v.pop_back();
    }
    out[k] = v;
    ws();
    if (i < n && s[i] == ',') { i++; continue; }
    if (i < n && s[i] == '}') return true;
    return false;
  }
}

// A strict decimal: the whole token, finite. Quantities and prices in
// scripts and on the command line.
inline bool parse_num(const std::string &t, double &v)
{
  if (t.empty()) return false;
  char *end = nullptr;
  errno = 0;
  v = strtod(t.c_str(), &end);
  return errno == 0 && end && *end == '\0' && v == v && v < 1e15 && v > -1e15;
}

inline bool parse_int(const std::string &t, long &v)
{
  if (t.empty()) return false;
  char *end = nullptr;
  errno = 0;
  v = strtol(t.c_str(), &end, 10);
  return errno == 0 && end && *end == '\0';
}

inline std::vector<std::string> split_ws(const std::string &line)
{
  std::vector<std::string> t;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') j++;
    if (j > i) t.push_back(line.substr(i, j - i));
    i = j;
  }
  return t;
}

// The first line of a file, trimmed (secrets: a password file).
inline bool read_first_line(const std::string &path, std::string &line)
{
  FILE *f = fopen(path.c_str(), "r");
  if (!f) return false;
  char b[1024];
  bool ok = fgets(b, sizeof b, f) != nullptr;
  fclose(f);
  if (!ok) return false;
  line = b;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return true;
}

} // namespace peer

#endif
