// fuzz_peer: libFuzzer target over what fix_acceptor reads from files: the
// record (replayed on restart) and script/control lines. The first byte
// picks which; the rest is lines. ASan and UBSan on.
//   make fuzz-peer-smoke    a short deterministic pass (spec/fix_peer_spec.lua)
#define PEER_FUZZ 1
#include "fix_acceptor.cpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1) return 0;
  uint8_t mode = data[0];
  std::string text((const char *)data + 1, size - 1);
  g_script = Script();
  g_orders.clear();
  g_by_clordid.clear();
  g_positions.clear();
  g_fired.clear();
  g_k = g_exec = 0;
  size_t at = 0;
  while (at <= text.size()) {
    size_t nl = text.find('\n', at);
    std::string line = text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (mode & 1) replay_line(line);
    else parse_line(line, (mode & 2) != 0);
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  // what a restarted acceptor does next with that state
  for (size_t n = 1; n <= g_orders.size() && n < 64; n++) ticks_after((long)n);
  return 0;
}
