/*
 * libFuzzer target: the IRC -> XMPP sanitiser. The output must be valid
 * UTF-8 without a character XML 1.0 forbids, whatever the input and charset.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "irctext.h"
#include "ircutf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const char *s)
{
	size_t n = strlen(s), k;
	uint32_t cp;

	if (!ircutf8_valid(s, n))
		abort();
	while (n > 0) {
		k = ircutf8_decode(s, n, &cp);
		if (k == 0 || !irctext_xml_char_ok(cp))
			abort();
		s += k;
		n -= k;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *charsets[] = {NULL, "ISO-8859-1", "KOI8-R", "SHIFT_JIS", "UTF-8"};
	struct irctext_ctcp c;
	const char *in = (const char *)data;
	char *s;

	if (size == 0)
		return 0;
	/* First byte picks charset and flags; the rest is the text. */
	s = irctext_to_xmpp(in + 1, size - 1, charsets[(data[0] & 0x7f) % 5],
	                    data[0] & 0x80 ? IRCTEXT_STYLING : 0);
	check(s);
	free(s);
	if (irctext_ctcp_parse(in + 1, size - 1, &c) != IRCTEXT_CTCP_NONE) {
		if (c.cmd < in + 1 || c.cmd + c.cmd_len > in + size || c.args < in + 1 ||
		    c.args + c.args_len > in + size)
			abort();
		s = irctext_to_xmpp(c.args, c.args_len, NULL, 0);
		check(s);
		free(s);
	}
	return 0;
}
