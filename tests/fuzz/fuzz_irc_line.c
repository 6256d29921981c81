/*
 * libFuzzer target: the IRC line parser. Whatever it accepts must hold
 * together, and a parsed command must format back into one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "ircmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The builder on arbitrary arguments (the input cut at NUL bytes: command,
 * then parameters): whatever it accepts is one line ending in CR LF, with
 * no other CR or LF, that parses back with as many parameters.
 */
static void
fuzz_builder(const uint8_t *data, size_t size)
{
	const char *args[IRCMSG_MAX_PARAMS + 2];
	struct ircmsg_out o = {0};
	struct ircmsg m;
	size_t nargs = 0, i = 0, n;
	char *copy, *line;

	copy = xmalloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	while (i <= size && nargs < IRCMSG_MAX_PARAMS + 2) {
		args[nargs++] = copy + i;
		i += strlen(copy + i) + 1;
	}
	o.command = args[0];
	o.params = args + 1;
	o.nparams = nargs - 1;
	o.flags = size > 0 && (data[0] & 1) ? IRCMSG_STRIP_CRLF : 0;
	if (ircmsg_format(&o, &line, &n) == IRCMSG_OK) {
		if (n < 2 || n > 512 || strlen(line) != n ||
		    strpbrk(line, "\r\n") != line + n - 2 || line[n - 1] != '\n')
			abort();
		if (ircmsg_parse(&m, line, n, 0) != IRCMSG_OK || m.nparams != o.nparams)
			abort();
		ircmsg_clear(&m);
		free(line);
	}
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ircmsg m, m2;
	struct ircmsg_isupport is;
	struct ircmsg_out o = {0};
	char *line;
	size_t i, n;

	fuzz_builder(data, size);
	if (ircmsg_parse(&m, (const char *)data, size, 0) != IRCMSG_OK)
		return 0;
	if (m.command == NULL || m.nparams > IRCMSG_MAX_PARAMS)
		abort();
	for (i = 0; i < m.nparams; i++)
		if (strpbrk(m.params[i], "\r\n") != NULL)
			abort();
	for (i = 0; i < m.ntags; i++)
		(void)strlen(m.tags[i].key), (void)strlen(m.tags[i].value);
	if (m.numeric == 5) {
		ircmsg_isupport_init(&is);
		(void)ircmsg_isupport_apply(&is, &m);
		(void)ircmsg_isupport_prefix_mode(&is, '@');
		(void)ircmsg_isupport_mode_type(&is, 'o');
	}
	if (m.nick != NULL)
		(void)ircmsg_nick_eq(IRCMSG_CASEMAP_RFC1459, m.source, m.nick);

	/* Re-format: one line, and it parses back to the same values. */
	o.tags = m.tags;
	o.ntags = m.ntags;
	o.command = m.command;
	o.params = m.params;
	o.nparams = m.nparams;
	o.flags = IRCMSG_STRIP_CRLF;
	if (ircmsg_format(&o, &line, &n) == IRCMSG_OK) {
		if (n < 2 || line[n - 2] != '\r' || line[n - 1] != '\n' ||
		    strpbrk(line, "\r\n") != line + n - 2)
			abort();
		if (ircmsg_parse(&m2, line, n, 0) != IRCMSG_OK)
			abort();
		if (m2.nparams != m.nparams || strcmp(m2.command, m.command) != 0)
			abort();
		for (i = 0; i < m.nparams; i++)
			if (strcmp(m2.params[i], m.params[i]) != 0)
				abort();
		for (i = 0; i < m.ntags; i++)
			if (strcmp(ircmsg_tag(&m2, m.tags[i].key), ircmsg_tag(&m, m.tags[i].key)) !=
			    0)
				abort();
		ircmsg_clear(&m2);
		free(line);
	}
	ircmsg_clear(&m);
	return 0;
}
