/*
 * hexdigit.h - the value of a hexadecimal digit, for the parsers that read
 * escapes (JSON \u, Go regexp \x).
 */
#ifndef NFQWALL_HEXDIGIT_H
#define NFQWALL_HEXDIGIT_H

/* hex_digit - 0 to 15, or -1 when @c is no hexadecimal digit. */
static inline int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif /* NFQWALL_HEXDIGIT_H */
