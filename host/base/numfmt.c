#include "numfmt.h"

#include <math.h>
#include <stdio.h>

static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10};

char *numfmt(char *p, double v, int decimals)
{
	if (decimals > 10)
		decimals = 10;
	if (decimals < 0)
		decimals = 0;
	double a = fabs(v);
	while (decimals > 0 && !(a * p10[decimals] < 9e18)) // cppcheck-suppress arrayIndexOutOfBoundsCond
		decimals--;
	if (!(a * p10[decimals] < 9e18))
		return p + snprintf(p, 32, "%.17g", v);
	unsigned long long x = (unsigned long long)llround(a * p10[decimals]);
	if (v < 0 && x != 0)
		*p++ = '-';
	unsigned long long scale = (unsigned long long)p10[decimals];
	unsigned long long ip = x / scale, fp = x % scale;
	char tmp[24];
	int n = 0;
	do
		tmp[n++] = (char)('0' + ip % 10);
	while ((ip /= 10) > 0);
	while (n)
		*p++ = tmp[--n];
	if (fp) {
		*p++ = '.';
		/* fp != 0 means scale >= 10, so d starts at 1 or more */
		for (unsigned long long d = scale / 10; d > 0 && fp; d /= 10) {
			// cppcheck-suppress zerodivcond
			*p++ = (char)('0' + fp / d);
			fp %= d;
		}
	}
	return p;
}
