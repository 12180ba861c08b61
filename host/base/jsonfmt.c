#include "jsonfmt.h"

#include <stdio.h>

void json_quote(const char *s, json_sink put, void *ud)
{
	put(ud, "\"", 1);
	const char *run = s;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c != '"' && c != '\\' && c >= 0x20)
			continue;
		if (s > run)
			put(ud, run, (size_t)(s - run));
		char esc[8];
		int n = (c == '"' || c == '\\') ? snprintf(esc, sizeof esc, "\\%c", c)
						: snprintf(esc, sizeof esc, "\\u%04x", c);
		put(ud, esc, (size_t)n);
		run = s + 1;
	}
	if (s > run)
		put(ud, run, (size_t)(s - run));
	put(ud, "\"", 1);
}
