-- gantry.play.json — JSON for playbooks: encode with sorted keys (so a
-- record line or a sweep key is the same bytes every time), decode what the
-- host writes (summary.json, ctl answers, sweep lines). Numbers: integers
-- print as integers, others with 17 significant digits (round-trips).
local M = {}

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function is_array(t)
  local n = #t
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then return false end
  end
  return n > 0 or next(t) == nil and getmetatable(t) == M.array_mt
end

M.array_mt = {}
function M.array(t) return setmetatable(t or {}, M.array_mt) end

local function num(v)
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  if math.type and math.type(v) == "integer" then return tostring(v) end
  if v % 1 == 0 and math.abs(v) < 2^53 then return string.format("%d", v) end
  return string.format("%.17g", v)
end

local function enc(v, out)
  local t = type(v)
  if t == "nil" then out[#out + 1] = "null"
  elseif t == "boolean" then out[#out + 1] = tostring(v)
  elseif t == "number" then out[#out + 1] = num(v)
  elseif t == "string" then out[#out + 1] = quote(v)
  elseif t == "table" then
    if is_array(v) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = ", " end
        enc(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = ", " end
        out[#out + 1] = quote(k)
        out[#out + 1] = ": "
        local val = v[k]
        if val == nil then val = v[tonumber(k)] end
        enc(val, out)
      end
      out[#out + 1] = "}"
    end
  else
    error("json: cannot encode a " .. t, 3)
  end
end

function M.encode(v)
  local out = {}
  enc(v, out)
  return table.concat(out)
end

-- decode ---------------------------------------------------------------

local function skip(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

local dec

local function decode_string(s, i)
  local out, j = {}, i + 1
  while true do
    local c = s:sub(j, j)
    if c == "" then error("json: unterminated string at byte " .. i) end
    if c == '"' then return table.concat(out), j + 1 end
    if c == "\\" then
      local e = s:sub(j + 1, j + 1)
      local map = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }
      if e == "u" then
        local code = tonumber(s:sub(j + 2, j + 5), 16) or 63
        out[#out + 1] = code < 128 and string.char(code) or "?"
        j = j + 6
      else
        out[#out + 1] = map[e] or e
        j = j + 2
      end
    else
      local k = s:find('["\\]', j) or #s + 1
      out[#out + 1] = s:sub(j, k - 1)
      j = k
    end
  end
end

dec = function(s, i)
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    local t = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == "}" then return t, i + 1 end
    while true do
      local k
      k, i = decode_string(s, skip(s, i))
      i = skip(s, i)
      if s:sub(i, i) ~= ":" then error("json: expected ':' at byte " .. i) end
      t[k], i = dec(s, i + 1)
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "}" then return t, i + 1 end
      if d ~= "," then error("json: expected ',' or '}' at byte " .. i) end
      i = i + 1
    end
  elseif c == "[" then
    local t = M.array()
    i = skip(s, i + 1)
    if s:sub(i, i) == "]" then return t, i + 1 end
    while true do
      t[#t + 1], i = dec(s, i)
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "]" then return t, i + 1 end
      if d ~= "," then error("json: expected ',' or ']' at byte " .. i) end
      i = i + 1
    end
  elseif c == '"' then
    return decode_string(s, i)
  elseif s:sub(i, i + 3) == "true" then return true, i + 4
  elseif s:sub(i, i + 4) == "false" then return false, i + 5
  elseif s:sub(i, i + 3) == "null" then return nil, i + 4
  else
    local j = (s:find("[^%deE%.%+%-]", i) or #s + 1) - 1
    local v = tonumber(s:sub(i, j))
    if j < i or not v then error("json: unexpected '" .. c .. "' at byte " .. i) end
    return v, j + 1
  end
end

function M.decode(s)
  local v, i = dec(s, 1)
  i = skip(s, i)
  if i <= #s then error("json: trailing text at byte " .. i) end
  return v
end

return M
