/*
 * numfmt — numbers for CSV files, fast and exact enough to read back:
 * fixed point with at most `decimals` decimals, trailing zeros dropped
 * (102, 101.5, 2.02), correctly rounded from the double; %.17g beyond 9e18.
 */
#ifndef GANTRY_NUMFMT_H
#define GANTRY_NUMFMT_H

/* Writes into p (at least 32 bytes) and returns the end; no NUL. */
char *numfmt(char *p, double v, int decimals);

#endif
