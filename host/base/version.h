#ifndef GANTRY_VERSION_H
#define GANTRY_VERSION_H
#define GANTRY_VERSION "0.7.0"
#if defined(GANTRY_VM_luajit)
#define GANTRY_VM_NAME "LuaJIT 2.1"
#else
#define GANTRY_VM_NAME "Lua 5.4"
#endif
#endif
